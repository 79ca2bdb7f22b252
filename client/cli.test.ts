// The `quad` CLI on the real Temporal CLI dev server, with a worker running the real release workflow
// over stub activities (a version ending in -bad breaches its guard). Most cases run runCli in-process;
// the real binary (bin/quad) is run for `config check`, a hostile version and one end-to-end pass:
// release → status --json → rollback → list --status rolled_back.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../test/support/temporal-env';
import { stubActivities } from '../test/support/stub-activities';
import { workflowBundle, eventually } from '../test/support/release-harness';
import { ROOT, temporalCliPath } from '../test/support/temporal-servers';
import { parseConfig } from '../config/load';
import type { QuadConfig } from '../config/schema';
import type { ReleaseActivities } from '../contract/activities';
import type { ReleaseStatus } from '../contract/messages';
import { Releases } from './releases';
import { runCli, type CliIO } from './cli';
import { CommandSigner, generateSigningKey, loadPrivateKey } from './signing';

/** ana's and mallory's signing keys, as `quad keygen` writes them; the configs trust their public halves. */
const keyDir = mkdtempSync(join(tmpdir(), 'quad-cli-keys-'));
const KEYS = Object.fromEntries(
  ['ana', 'mallory'].map((name) => {
    const { privatePem, publicLine } = generateSigningKey(name);
    const path = join(keyDir, `${name}.pem`);
    writeFileSync(path, privatePem, { mode: 0o600 });
    return [name, { path, publicLine }];
  }),
) as Record<'ana' | 'mallory', { path: string; publicLine: string }>;
const SIGNERS_YAML = `security:\n  signers:\n${Object.entries(KEYS)
  .map(([n, k]) => `    ${n}: { public_key: "${k.publicLine}" }`)
  .join('\n')}\n`;
const signerOf = (name: keyof typeof KEYS) => new CommandSigner(loadPrivateKey(KEYS[name].path, name));

const TEST_CONFIG = `
temporal: { web_ui_url: "http://127.0.0.1:8233" }
# no bake: these releases end at 100 % (the bake has tests of its own)
deployments: { bake_minutes: 0 }
feature_flag:
  name: dark_mode
  service: payments
  rollout_plan:
    - { users_percent: 10, duration_minutes: 0.005 }
    - { users_percent: 100 }
services:
  cart:
    approvers: [ana]
    poll_interval_seconds: 1
    rollout_plan:
      - { traffic_percent: 10, duration_minutes: 0.01 }
      - { traffic_percent: 100 }
  payments:
    approvers: [ana]
    poll_interval_seconds: 1
    rollout_plan:
      - { traffic_percent: 20, duration_minutes: 0.005 }
      - { traffic_percent: 100, team_approval: required }
${SIGNERS_YAML}`;

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let cfg: QuadConfig;
let releases: Releases;
const taskQueue = `cli-test-${process.pid}`;

/** Stub activities, except that a version ending in -bad breaches its first guard. */
function activities(): ReleaseActivities {
  const { acts } = stubActivities();
  return {
    ...acts,
    guard: (input) => (input.version.endsWith('-bad') ? stubActivities({ breachAt: [input.stage] }).acts.guard(input) : acts.guard(input)),
  };
}

beforeAll(async () => {
  const [e, bundle] = await Promise.all([localEnv(), workflowBundle()]);
  env = e;
  worker = await Worker.create({ connection: env.nativeConnection, namespace: 'default', taskQueue, workflowBundle: bundle, activities: activities() });
  running = worker.run();
  cfg = parseConfig(TEST_CONFIG, 'test config');
  releases = new Releases(env.client, cfg, taskQueue, signerOf('ana'));
}, 60_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function quad(argv: string[], over: Partial<CliIO> & { tty?: boolean } = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    stdout: { write: (s: string) => out.push(s), isTTY: over.tty ?? false },
    stderr: { write: (s: string) => err.push(s) },
    env: { QUAD_USER: 'ana' },
    config: cfg,
    releases,
    pollMs: 100,
    ...over,
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** Releases that must not be reached: proves input is refused before anything starts. */
const untouchable = new Proxy({} as Releases, {
  get: (_t, name) => () => {
    throw new Error(`Releases.${String(name)} must not be called`);
  },
});

describe('in-process', () => {
  test('release --wait follows a good version to 100 %: plain lines only when something changed, exit 0', async () => {
    let polls = 0;
    const counting = Object.assign(Object.create(releases), {
      status: (id: string) => {
        polls++;
        return releases.status(id);
      },
    }) as Releases;
    const r = await quad(['release', 'v2.0.0', '--service', 'cart', '--wait'], { releases: counting });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('started release:cart: cart v2.0.0 · canary');
    expect(r.stdout).toMatch(/Web UI: http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/release%3Acart\/[0-9a-f-]{36}\n/);
    expect(r.stdout).toContain('plan: canary 10 % 1s → full rollout 100 %');
    expect(r.stdout).toMatch(/rolling out · stage 1\/2 canary 10 % · traffic 10 % · window \d+s left/);
    expect(r.stdout).toContain('verdict PASS: judge says PASS');
    expect(r.stdout).toMatch(/released cart v2\.0\.0 · traffic 100 %\n$/);
    const statusLines = r.stdout.split('\n').filter((l) => /^\d\d:\d\d:\d\d cart v2\.0\.0 /.test(l));
    for (let i = 1; i < statusLines.length; i++) expect(statusLines[i].slice(9)).not.toBe(statusLines[i - 1].slice(9));
    expect(statusLines.length).toBeLessThan(polls); // the window was polled several times, printed once
  });

  test('a bad version rolls itself back: --json --wait gives one document, exit 1, traffic 0 %', async () => {
    const r = await quad(['release', 'v2.0.1-bad', '--service', 'cart', '--wait', '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { workflowId: string; url: string; status: ReleaseStatus; result: { status: string; reason: string } };
    expect(doc.workflowId).toBe('release:cart');
    expect(doc.result.status).toBe('rolled_back');
    expect(doc.result.reason).toContain('error rate 8 %');
    expect(doc.status.trafficPercent).toBe(0);
    expect(doc.status.lastVerdict?.verdict).toBe('FAIL');
  });

  test('approvals: status shows the wait, a second release and a non-approver are refused (2), ana approves, status follows on a TTY', async () => {
    const started = await quad(['release', 'v3.0.0', '--service', 'payments', '--reason', 'new card form']);
    expect(started.code).toBe(0);
    expect(started.stdout).toContain('follow it: quad status payments');
    await eventually(
      () => releases.status('payments'),
      (s) => s.phase === 'awaiting_approval',
    );

    const once = await quad(['status', 'payments', '--once']);
    expect(once.code).toBe(0);
    expect(once.stdout).toContain('awaiting approval · stage 1/2 canary 20 % · traffic 20 %');
    expect(once.stdout).toContain('last event: awaiting approval: full rollout 100 %');

    const second = await quad(['release', 'v3.0.1', '--service', 'payments']);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/^quad: payments v3\.0\.0 is already releasing \(canary 20 %, 20 % traffic\), started by ana just now/);

    const mallory = await quad(['approve', 'payments', '--by', 'mallory'], { releases: new Releases(env.client, cfg, taskQueue, signerOf('mallory')) });
    expect(mallory.code).toBe(2);
    expect(mallory.stderr).toBe('quad: approve refused: mallory is not an approver of payments\n');
    // ana's key cannot speak for mallory, nor mallory's for ana
    const claimed = await quad(['approve', 'payments', '--by', 'mallory']);
    expect(claimed).toEqual({ code: 2, stdout: '', stderr: 'quad: approve refused: the signature does not verify with key "mallory"\n' });
    const forged = await quad(['approve', 'payments', '--by', 'ana'], { releases: new Releases(env.client, cfg, taskQueue, signerOf('mallory')) });
    expect(forged).toEqual({ code: 2, stdout: '', stderr: 'quad: approve refused: the signature does not verify with key "ana"\n' });

    const ana = await quad(['approve', 'payments', '--reason', 'looks good']);
    expect(ana).toEqual({ code: 0, stdout: 'approved full rollout 100 %\n', stderr: '' });

    const follow = await quad(['status', 'payments'], { tty: true });
    expect(follow.code).toBe(0);
    expect(follow.stdout).toContain('approvals: ana (full rollout 100 %)');
    expect(follow.stderr).toBe('');
    expect(follow.stdout).toMatch(/released payments v3\.0\.0 · traffic 100 %\n$/);
  });

  test('flag-rollout dark_mode --wait ramps the flag to 100 %', async () => {
    const r = await quad(['flag-rollout', 'dark_mode', '--wait', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.workflowId).toBe('flag:dark_mode');
    expect(doc.result.status).toBe('succeeded');
    expect(doc.status.strategy).toBe('flag-ramp');
    expect(doc.status.trafficPercent).toBe(100);
  });

  test('list finds releases by service and status through the search attributes', async () => {
    const rows = await eventually(
      async () => JSON.parse((await quad(['list', '--service', 'cart', '--json'])).stdout) as { workflowId: string; version: string; status: string }[],
      (rs) => rs.length >= 2 && rs.every((x) => x.status !== 'running'),
    );
    expect(rows.map((x) => [x.version, x.status])).toEqual([
      ['v2.0.1-bad', 'rolled_back'],
      ['v2.0.0', 'succeeded'],
    ]);
    const table = await quad(['list', '--service', 'cart', '--status', 'rolled_back']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^RELEASE +VERSION +STRATEGY +STAGE +STATUS +STARTED +WEB UI\nrelease:cart +v2\.0\.1-bad +canary +canary 10 % +rolled_back /);
    expect(table.stdout.trim().split('\n')).toHaveLength(2);
  });

  test('commands on a finished or unknown release are refused in plain words', async () => {
    const done = await quad(['rollback', 'cart', '--by', 'ana']);
    expect(done).toEqual({ code: 2, stdout: '', stderr: 'quad: no running release of cart\n' });
    const unknown = await quad(['status', 'nowhere', '--json']);
    expect(unknown).toEqual({ code: 2, stdout: '', stderr: 'quad: no release of nowhere found\n' });
  });

  test.each([
    [['release', 'v1.2.3; rm -rf /', '-s', 'cart'], '"v1.2.3; rm -rf /" is not a version'],
    [['release', '', '-s', 'cart'], 'a version is required'],
    [['release', 'v' + '1'.repeat(299), '-s', 'cart'], 'version is 300 characters long; at most 128'],
    [['release', 'v1.2.3'], 'several services are configured (cart, payments): name one'],
    [['release', 'v1.2.3', '-s', 'nope'], 'unknown service "nope"; configured: cart, payments'],
    [['release', 'v1.2.3', '-s', 'cart', '--strategy', 'yolo'], "argument 'yolo' is invalid. Allowed choices are canary, blue-green"],
    [['release', 'v1.2.3', '-s', 'cart', '--by', 'ana; rm'], 'is not a user name or ID'],
    [['flag-rollout', 'light_mode'], 'no rollout plan for flag "light_mode"; configured: dark_mode'],
    [['list', '--status', 'exploded'], "argument 'exploded' is invalid"],
    [['list', '--limit', '0'], 'a whole number from 1 to 1000'],
    [['frobnicate'], "unknown command 'frobnicate'"],
  ])('bad input %j → exit 2, plain words, nothing started', async (argv, words) => {
    const r = await quad(argv, { releases: untouchable });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(words);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  // Names every object inherits are unknown services and flags, like any other name that is not configured.
  test.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('release --service %s → exit 2, unknown service, nothing started', async (name) => {
    const r = await quad(['release', 'v1.2.9', '--service', name], { releases: untouchable });
    expect(r).toEqual({ code: 2, stdout: '', stderr: `quad: unknown service ${JSON.stringify(name)}; configured: cart, payments\n` });
  });

  test.each(['__proto__', 'constructor', 'toString'])('flag-rollout %s → exit 2, no such flag, nothing started', async (name) => {
    const r = await quad(['flag-rollout', name], { releases: untouchable });
    expect(r).toEqual({ code: 2, stdout: '', stderr: `quad: no rollout plan for flag ${JSON.stringify(name)}; configured: dark_mode\n` });
  });

  test('keygen writes a new key (0600) once and prints its config entry; pubkey prints the same public half', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'quad-keygen-')), 'keys', 'ana.pem');
    const made = await quad(['keygen', '--out', out, '--name', 'ana'], { releases: untouchable });
    expect(made.code).toBe(0);
    const line = /public_key: "(ssh-ed25519 [A-Za-z0-9+/=]+) ana"/.exec(made.stdout)?.[1];
    expect(line).toBeDefined();
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(await quad(['pubkey', '--key', out], { releases: untouchable })).toEqual({ code: 0, stdout: `${line}\n`, stderr: '' });
    expect(await quad(['pubkey'], { releases: untouchable, env: { QUAD_SIGNING_KEY: out } })).toEqual({ code: 0, stdout: `${line}\n`, stderr: '' });
    expect(await quad(['keygen', '--out', out], { releases: untouchable })).toEqual({
      code: 2,
      stdout: '',
      stderr: `quad: ${out} exists; keygen never overwrites a key\n`,
    });
  });

  test('a command with no key to sign it is refused before anything is sent', async () => {
    const r = await quad(['rollback', 'cart', '--by', 'ana'], { config: { ...cfg }, releases: undefined, env: { QUAD_USER: 'ana', HOME: keyDir } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^quad: commands are signed, and no key was found: set QUAD_SIGNING_KEY/);
  });

  test('nobody to name: no --by and no $QUAD_USER / $USER → exit 2', async () => {
    const r = await quad(['rollback', 'cart'], { env: {}, releases: untouchable });
    expect(r).toEqual({ code: 2, stdout: '', stderr: 'quad: who is asking? pass --by NAME or set QUAD_USER\n' });
  });

  test('config check lists every problem with its path (exit 2), or says ok (exit 0)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quad-cli-'));
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'services:\n  checkout:\n    strategy: yolo\n    rollout_plan:\n      - { traffic_percent: 150 }\n    poll_interval_secs: 5\n');
    const r = await quad(['config', 'check', '--file', bad], { config: undefined });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}: 3 problems`);
    expect(r.stderr).toContain('services.checkout.strategy: expected one of "canary", "blue-green", "ab", "flag-ramp", found string "yolo"');
    expect(r.stderr).toContain('services.checkout.rollout_plan[0].traffic_percent:');
    expect(r.stderr).toContain('services.checkout: unknown key "poll_interval_secs"');
    const asJson = await quad(['--config', bad, 'config', 'check', '--json'], { config: undefined });
    expect(asJson.code).toBe(2);
    expect(JSON.parse(asJson.stdout)).toEqual({
      ok: false,
      file: bad,
      problems: expect.arrayContaining([expect.stringContaining('services.checkout.strategy')]),
    });
    const missingKey = join(dir, 'missing-key.yml');
    writeFileSync(missingKey, `security: { signers: { ana: { public_key_file: ${join(dir, 'nope.pub')} } } }\nservices: { cart: {} }\n`);
    const noKey = await quad(['config', 'check'], { config: undefined, env: { QUAD_CONFIG: missingKey } });
    expect(noKey).toEqual({ code: 2, stdout: '', stderr: `quad: security.signers.ana: cannot read public_key_file ${join(dir, 'nope.pub')}: ENOENT\n` });
    const good = join(dir, 'good.yml');
    writeFileSync(good, TEST_CONFIG);
    const ok = await quad(['config', 'check'], { config: undefined, env: { QUAD_CONFIG: good } });
    expect(ok).toEqual({ code: 0, stdout: `${good}: ok · services cart, payments · flags dark_mode\n`, stderr: '' });
  });
});

describe('the bin/quad binary', () => {
  const BIN = join(ROOT, 'bin', 'quad');
  const childEnv = () => {
    const e: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_TASK_QUEUE: taskQueue, QUAD_USER: 'ana' };
    delete e.QUAD_CONFIG;
    return e;
  };
  /** The repo config, trusting ana's and mallory's keys; QUAD_SIGNING_KEY says whose key the binary signs with. */
  const signedRepoConfig = () => {
    const file = join(keyDir, 'production-agent.yml');
    writeFileSync(file, readFileSync(join(ROOT, '.quad', 'production-agent.yml'), 'utf8') + '\n' + SIGNERS_YAML);
    return file;
  };
  const as = (who: keyof typeof KEYS) => ({ QUAD_CONFIG: signedRepoConfig(), QUAD_SIGNING_KEY: KEYS[who].path });
  const bin = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    new Promise<Run>((resolve) => {
      execFile(BIN, args, { cwd: ROOT, env: { ...childEnv(), ...extraEnv }, timeout: 20_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? (err as unknown as { code: number }).code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });

  test('config check of the repo config exits 0; a hostile version exits 2 with no stack', async () => {
    const [check, hostile] = await Promise.all([bin(['config', 'check']), bin(['release', 'v1.2.3; rm -rf /'])]);
    expect(check).toEqual({ code: 0, stdout: '.quad/production-agent.yml: ok · services checkout · flags dark_mode\n', stderr: '' });
    expect(hostile).toEqual({
      code: 2,
      stdout: '',
      stderr: 'quad: "v1.2.3; rm -rf /" is not a version: letters, digits and ._+- only, like v1.2.3, 3f9c2ab or 2026-12-01\n',
    });
  });

  test('end to end: release → status --json → a forged rollback (temporal CLI, wrong key) refused → rollback → list --status rolled_back', async () => {
    const rel = await bin(['release', 'v1.2.3', '--reason', 'e2e'], as('ana'));
    expect(rel.stderr).toBe('');
    expect(rel.code).toBe(0);
    expect(rel.stdout).toContain('started release:checkout: checkout v1.2.3 · canary');
    expect(rel.stdout).toContain('plan: canary 5 % 15m 00s → canary 25 % 30m 00s → full rollout 100 % (team approval)');
    const runId = /workflows\/release%3Acheckout\/([0-9a-f-]{36})/.exec(rel.stdout)?.[1];
    expect(runId).toBeDefined();

    const st = await bin(['status', '--json'], as('ana'));
    expect(st.code).toBe(0);
    const status = JSON.parse(st.stdout) as ReleaseStatus;
    expect(status).toMatchObject({ service: 'checkout', version: 'v1.2.3', requestedBy: 'ana', status: 'running' });

    // what anyone with access to the namespace can type: refused by the workflow itself, and recorded
    const typed = await new Promise<{ code: number; out: string }>((resolve) => {
      const args = ['workflow', 'signal', '--address', env.address, '--namespace', 'default', '--workflow-id', 'release:checkout'];
      execFile(temporalCliPath() ?? 'temporal', [...args, '--name', 'rollback', '--input', '{"by":"ana"}'], { timeout: 20_000 }, (err, out, errOut) =>
        resolve({ code: err ? 1 : 0, out: out + errOut }),
      );
    });
    expect(typed).toMatchObject({ code: 0 });
    const afterTyped = await eventually(
      () => env.client.workflow.getHandle('release:checkout', runId).query<ReleaseStatus>('status'),
      (s) => s.timeline.some((t) => t.event === 'rollback refused'),
    );
    expect(afterTyped.status).toBe('running');
    expect(afterTyped.timeline.find((t) => t.event === 'rollback refused')?.detail).toMatch(/^claimed by "ana": unsigned/);
    // mallory's key, ana's name
    const wrongKey = await bin(['rollback', 'checkout', '--by', 'ana'], as('mallory'));
    expect(wrongKey).toEqual({ code: 2, stdout: '', stderr: 'quad: rollback refused: the signature does not verify with key "ana"\n' });
    expect((await env.client.workflow.getHandle('release:checkout', runId).query<ReleaseStatus>('status')).status).toBe('running');

    const rb = await bin(['rollback', 'checkout', '--by', 'ana', '--reason', 'e2e test'], as('ana'));
    expect(rb).toEqual({ code: 0, stdout: 'rolling back\n', stderr: '' });
    const result = await env.client.workflow.getHandle('release:checkout', runId).result();
    expect(result.status).toBe('rolled_back');

    const found = await eventually(
      async () => {
        const ls = await bin(['list', '--status', 'rolled_back', '--json'], as('ana'));
        return JSON.parse(ls.stdout) as { workflowId: string; runId: string; status: string }[];
      },
      (rows) => rows.some((x) => x.runId === runId),
      10_000,
    );
    expect(found.find((x) => x.runId === runId)).toMatchObject({ workflowId: 'release:checkout', status: 'rolled_back' });
  });
});
