// Scheduled releases on the real Temporal CLI dev server, through `quad schedule ...` run in-process,
// with a worker running the real release workflow over stub activities.
import { Worker } from '@temporalio/worker';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../test/support/temporal-env';
import { stubActivities } from '../test/support/stub-activities';
import { workflowBundle, eventually } from '../test/support/release-harness';
import { parseConfig } from '../config/load';
import type { QuadConfig } from '../config/schema';
import { statusQuery } from '../contract/messages';
import { QuadService, QuadVersion } from '../contract/search-attributes';
import { Releases } from './releases';
import { runCli } from './cli';
import { InputError } from '../config/errors';
import { SCHEDULE_PREFIX, Schedules, type ScheduledRelease } from './schedules';

// A long first stage keeps a scheduled release running, so a second firing meets it.
const TEST_CONFIG = `
services:
  cart:
    poll_interval_seconds: 1
    rollout_plan:
      - { traffic_percent: 10, duration_minutes: 30 }
      - { traffic_percent: 100 }
  payments: {}
`;

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let cfg: QuadConfig;
let releases: Releases;
const taskQueue = `schedule-test-${process.pid}`;

beforeAll(async () => {
  const [e, bundle] = await Promise.all([localEnv(), workflowBundle()]);
  env = e;
  worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowBundle: bundle,
    activities: stubActivities().acts,
  });
  running = worker.run();
  cfg = parseConfig(TEST_CONFIG, 'test config');
  releases = new Releases(env.client, cfg, taskQueue);
}, 60_000);

afterAll(async () => {
  for await (const wf of env.client.workflow.list({ query: 'ExecutionStatus = "Running"' }))
    await env.client.workflow
      .getHandle(wf.workflowId)
      .terminate('test over')
      .catch(() => undefined);
  worker?.shutdown();
  await running;
  await env?.teardown();
});

async function quad(argv: string[], rel: Releases = releases) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    env: { QUAD_USER: 'ana' },
    config: cfg,
    releases: rel,
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

async function releasesOfCart(): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of env.client.workflow.list({ query: 'QuadService = "cart"' })) ids.push(wf.workflowId);
  return ids;
}

/** The ReleaseInput the workflow was started with, from its first history event. */
async function startInput(workflowId: string) {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const payload = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
  return JSON.parse(Buffer.from(payload.data!).toString('utf8'));
}

test('create → trigger starts the release with source schedule; a second firing while it runs is skipped; list; delete', async () => {
  const made = await quad([
    'schedule',
    'create',
    'tuesday',
    '--service',
    'cart',
    '--version',
    'v2.1.0',
    '--cron',
    '0 15 * * TUE',
    '--tz',
    'America/Los_Angeles',
    '--by',
    'ana',
    '--json',
  ]);
  expect(made.stderr).toBe('');
  expect(made.code).toBe(0);
  const doc = JSON.parse(made.stdout) as { scheduleId: string; nextRuns: string[] };
  expect(doc.scheduleId).toBe(`${SCHEDULE_PREFIX}tuesday`);
  // the next firing is a Tuesday, 15:00, in Los Angeles
  const next = new Date(doc.nextRuns[0]);
  expect(next.getTime()).toBeGreaterThan(Date.now());
  expect(
    new Intl.DateTimeFormat('en-US', { timeZone: 'America/Los_Angeles', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(next),
  ).toBe('Tue 15:00');

  const handle = env.client.schedule.getHandle(doc.scheduleId);
  const d = await handle.describe();
  expect(d.policies.overlap).toBe('SKIP');
  expect(d.spec.timezone).toBe('America/Los_Angeles');
  expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'scheduledReleaseWorkflow', workflowId: 'schedule:tuesday', taskQueue });
  expect(await releasesOfCart()).toEqual([]);

  // SKIP here too: a firing with the SDK's default (ALLOW_ALL) is not tracked as running by the
  // scheduler, so a later firing would not see it and would start a second release (seen on 1.29).
  await handle.trigger('SKIP');
  const [id] = await eventually(releasesOfCart, (ids) => ids.length === 1);
  // Temporal appends the firing time to the starter's ID; the release itself gets the service's real ID,
  // so the one-release-per-service guarantee holds for scheduled releases too.
  expect(id).toBe('release:cart');
  const input = await startInput(id);
  expect(input.request).toMatchObject({ service: 'cart', version: 'v2.1.0', source: 'schedule', requestedBy: 'ana' });
  const status = await eventually(
    () => env.client.workflow.getHandle(id).query(statusQuery),
    (s) => s.phase !== 'planning',
  );
  expect(status).toMatchObject({ service: 'cart', version: 'v2.1.0', status: 'running' });
  const sa = (await env.client.workflow.getHandle(id).describe()).typedSearchAttributes;
  expect([sa.get(QuadService), sa.get(QuadVersion)]).toEqual(['cart', 'v2.1.0']);

  // A second firing while the release runs: its starter finds release:cart running and skips.
  await new Promise((r) => setTimeout(r, 1100)); // a firing in another second, so a second starter id exists
  const fired = await quad(['schedule', 'trigger', 'tuesday']);
  expect(fired.code).toBe(0);
  const listed = await eventually(
    async () => JSON.parse((await quad(['schedule', 'list', '--json'])).stdout) as ScheduledRelease[],
    (rows) => rows.length === 1 && rows[0].recent.length === 2,
  );
  expect(listed[0]).toMatchObject({
    name: 'tuesday',
    service: 'cart',
    version: 'v2.1.0',
    cron: '0 15 * * TUE',
    timezone: 'America/Los_Angeles',
    requestedBy: 'ana',
    paused: false,
  });
  expect(listed[0].recent.every((r) => r.startsWith('schedule:tuesday-'))).toBe(true);
  const outcomes = await Promise.all(listed[0].recent.map((r) => env.client.workflow.getHandle(r).result()));
  expect(outcomes.map((o) => o.started).sort()).toEqual([false, true]);
  expect(outcomes.find((o) => !o.started).message).toBe('skipped: cart is already releasing (release:cart)');
  expect(await releasesOfCart()).toEqual([id]);
  // and a manual release of the service is refused while the scheduled one runs
  expect(await quad(['release', 'v2.2.0', '--service', 'cart'])).toMatchObject({ code: 2 });
  const plain = await quad(['schedule', 'list']);
  expect(plain.stdout).toMatch(/^tuesday\tcart v2\.1\.0\t"0 15 \* \* TUE" America\/Los_Angeles\tnext \d{4}-\d\d-\d\dT\d\d:00:00\.000Z\n$/);

  const gone = await quad(['schedule', 'delete', 'tuesday']);
  expect(gone).toMatchObject({ code: 0, stdout: 'deleted schedule tuesday\n' });
  await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  await eventually(
    async () => (await quad(['schedule', 'list'])).stdout,
    (s) => s === 'no release schedules\n',
  );
  expect(await quad(['schedule', 'delete', 'tuesday'])).toMatchObject({ code: 2, stderr: 'quad: no schedule named tuesday\n' });
  // the release it started goes on
  expect((await env.client.workflow.getHandle(id).query(statusQuery)).status).toBe('running');
});

test('bad input is refused with exit 2 before anything reaches Temporal; a duplicate name too', async () => {
  const untouchable = new Proxy({} as Releases, {
    get: () => {
      throw new Error('Temporal must not be reached');
    },
  });
  const base = ['schedule', 'create', 'nightly', '--service', 'payments', '--version', 'v1.0.0', '--cron', '0 3 * * *'];
  const refused = async (argv: string[], message: string) => {
    const r = await quad(argv, untouchable);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toBe(`quad: ${message}\n`);
  };
  await refused(
    [...base.slice(0, 6), 'v1.0; reboot', ...base.slice(7)],
    '"v1.0; reboot" is not a version: letters, digits and ._+- only, like v1.2.3, 3f9c2ab or 2026-12-01',
  );
  await refused(
    ['schedule', 'create', 'nightly', '--service', 'basket', '--version', 'v1.0.0', '--cron', '0 3 * * *'],
    'unknown service "basket"; configured: cart, payments',
  );
  await refused(
    ['schedule', 'create', 'nightly', '--service', '__proto__', '--version', 'v1.0.0', '--cron', '0 3 * * *'],
    'unknown service "__proto__"; configured: cart, payments',
  );
  await refused(
    ['schedule', 'create', 'nightly', '--service', 'constructor', '--version', 'v1.0.0', '--cron', '0 3 * * *'],
    'unknown service "constructor"; configured: cart, payments',
  );
  await refused(
    ['schedule', 'create', 'nightly', '--service', 'payments', '--version', 'v1.0.0', '--cron', 'every night'],
    '"every night" is not a cron expression: five fields, minute hour day month weekday, e.g. "0 15 * * TUE"',
  );
  await refused([...base, '--tz', 'Mars/Olympus'], '"Mars/Olympus" is not a time zone: write it like America/Los_Angeles or UTC');
  await refused([...base, '--by', 'ana; rm'], 'requested by: "ana; rm" is not a user name or ID');
  await refused(['schedule', 'create', 'no/slash', ...base.slice(3)], '"no/slash" is not a schedule name: use letters, digits, _ . - (at most 80)');

  // Schedules itself checks too, for callers other than the CLI: nothing is created
  for (const service of ['__proto__', 'toString']) {
    await expect(
      new Schedules(env.client, cfg, taskQueue).create({ name: 'proto', service, version: 'v1.0.0', cron: '0 3 * * *', requestedBy: 'ana' }),
    ).rejects.toThrow(new InputError(`unknown service ${JSON.stringify(service)}; configured: cart, payments`));
  }
  await expect(env.client.schedule.getHandle(`${SCHEDULE_PREFIX}proto`).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);

  // an hour of 99 passes the shape check; Temporal's own parser refuses it, in words, exit 2
  const odd = await quad(['schedule', 'create', 'odd', '--service', 'payments', '--version', 'v1.0.0', '--cron', '0 99 * * *']);
  expect(odd.code).toBe(2);
  expect(odd.stderr).toBe('quad: Temporal refused the schedule: Hour is not in range [0-23]\n');
  expect((await quad(['schedule', 'list'])).stdout).toBe('no release schedules\n');

  expect((await quad(base)).code).toBe(0);
  expect(await quad(base)).toMatchObject({
    code: 2,
    stderr: 'quad: a schedule named nightly already exists; delete it first (quad schedule delete nightly)\n',
  });
  expect((await quad(['schedule', 'delete', 'nightly'])).code).toBe(0);
});
