// Every command of every runbook in docs/runbooks, run for real: the dev server, the sandbox and a worker
// as child processes, `bin/quad` and the Temporal CLI as a person runs them (execFile with argv, never a
// shell). Each runbook gets a service brought into its situation (a release awaiting approval, one paused
// on INCONCLUSIVE, one whose undo failed, one baking at 100 %, a Slack app to restart with new secrets);
// its commands run in the order written, placeholders filled from the table below, and each one's exit
// code and output must be what the runbook says under it (`# exit N`, `# shows: text`). A command the
// table does not know, a placeholder it cannot fill, or a command with nothing said of it fails the test.
import { execFile, spawn } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { ROOT, temporalCliPath } from '../support/temporal-servers';
import { eventually } from '../support/release-harness';
import { startSandboxProcess, startWorkerProcess, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { startSlackFake, postSigned, type SlackFake } from '../support/slack-fake';
import { generateSigningKey } from '../../client/signing';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';
import type { ReleaseStatus } from '../../contract/messages';

jest.setTimeout(150_000);

const RUNBOOKS = join(ROOT, 'docs', 'runbooks');
const taskQueue = `e2e-runbooks-${process.pid}`;
const BASE = 'v1.2.2';
const OLD = { secret: 'old-signing-secret-0001', token: 'xoxb-old-token-0001' };
const NEW = { secret: 'new-signing-secret-0002', token: 'xoxb-new-token-0002' };

let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let worker: Child;
let slack: SlackFake;
let dir: ReturnType<typeof tempDir>;
let configFile: string;
let releases: Releases;

// ---- the runbooks, read as data ---------------------------------------------------------------------

interface Step {
  /** the command as written, placeholders and all */
  line: string;
  exit?: number;
  shows: string[];
  keepsRunning: boolean;
}

/** The commands of one runbook: every line of its ```sh blocks, each with the `# exit` / `# shows:` lines under it. */
function stepsOf(markdown: string, file: string): Step[] {
  const steps: Step[] = [];
  for (const block of markdown.matchAll(/^[ \t]*```sh[ \t]*\n([\s\S]*?)^[ \t]*```/gm)) {
    for (const raw of block[1].split('\n')) {
      const line = raw.trim();
      if (!line) continue;
      const last = steps.at(-1);
      const said = /^# (?:exit (\d+)|shows: (.+)|(keeps running))$/.exec(line);
      if (line.startsWith('#')) {
        if (!said || !last) throw new Error(`${file}: ${JSON.stringify(line)} is neither "# exit N", "# shows: text" nor "# keeps running" under a command`);
        if (said[1] !== undefined) last.exit = Number(said[1]);
        if (said[2] !== undefined) last.shows.push(said[2]);
        if (said[3] !== undefined) last.keepsRunning = true;
        continue;
      }
      steps.push({ line, shows: [], keepsRunning: false });
    }
  }
  return steps;
}

/** Words split as a shell would split these plain lines; anything a shell would interpret is refused. */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => {
    if (m[1] !== undefined) {
      if (/[$`\\]/.test(m[1])) throw new Error(`${JSON.stringify(line)}: "${m[1]}" would be expanded by a shell`);
      return m[1];
    }
    if (/[$`|;&()*'"\\<>]/.test(m[2].replace(/<[a-z-]+>/g, '')))
      throw new Error(`${JSON.stringify(line)}: ${JSON.stringify(m[2])} is shell syntax; a runbook command is a plain command line`);
    return m[2];
  });
}

/** <name> → its value in text the runbook says a command shows. */
const filled = (text: string, values: Fill) =>
  text.replace(/<([a-z-]+)>/g, (m, name: string) => (typeof values[name] === 'string' ? (values[name] as string) : m));

type Fill = Record<string, string | string[]>;

/** <name> → its value; a placeholder that is a whole word may stand for several words (a command). */
function fill(line: string, values: Fill): string[] {
  return words(line).flatMap((w) => {
    const whole = /^<([a-z-]+)>$/.exec(w);
    if (whole && Array.isArray(values[whole[1]])) return values[whole[1]] as string[];
    return [
      w.replace(/<([a-z-]+)>/g, (_m, name: string) => {
        const v = values[name];
        if (typeof v !== 'string') throw new Error(`${JSON.stringify(line)}: no value for <${name}> in the test's table`);
        return v;
      }),
    ];
  });
}

// ---- running a command -------------------------------------------------------------------------------

interface Ran {
  code: number;
  out: string;
}

/** The program a runbook names → what runs it here (the same program, by path). */
function program(argv: string[]): { file: string; args: string[] } {
  const [cmd, ...rest] = argv;
  if (cmd === 'quad') return { file: join(ROOT, 'bin', 'quad'), args: rest };
  if (cmd === 'temporal') return { file: temporalCliPath() ?? 'temporal', args: rest };
  // `npx tsx <file>` as the stack runs its children: node with tsx loaded, so the pid is the app's
  if (cmd === 'npx' && rest[0] === 'tsx') return { file: process.execPath, args: ['--import', 'tsx', ...rest.slice(1)] };
  if (cmd.startsWith('/')) return { file: cmd, args: rest };
  throw new Error(`no way to run ${JSON.stringify(cmd)} in this test`);
}

function run(argv: string[], childEnv: NodeJS.ProcessEnv): Promise<Ran> {
  const { file, args } = program(argv);
  return new Promise((resolve) =>
    execFile(file, args, { cwd: ROOT, env: childEnv, timeout: 90_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as NodeJS.ErrnoException).code ?? -1) : 0, out: `${stdout}${stderr}` }),
    ),
  );
}

/** A server the runbook starts (it keeps running): up once its output shows `until`, then `check`, then stopped. */
async function runServer(argv: string[], childEnv: NodeJS.ProcessEnv, until: string, check: (out: string) => Promise<void>): Promise<Ran> {
  const { file, args } = program(argv);
  const child = spawn(file, args, { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((r) => child.once('exit', (code) => r(code ?? -1)));
  try {
    await eventually(
      async () => out,
      (o) => o.includes(until) || child.exitCode !== null,
      30_000,
    );
    if (!out.includes(until)) return { code: child.exitCode ?? -1, out };
    await check(out);
    return { code: 0, out };
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

// ---- the situations ----------------------------------------------------------------------------------

const status = (service: string) => releases.status(service);
const until = (service: string, ok: (s: ReleaseStatus) => boolean, ms = 40_000) => eventually(() => status(service), ok, ms);
const quadEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  QUAD_CONFIG: configFile,
  TEMPORAL_ADDRESS: env.address,
  TEMPORAL_NAMESPACE: 'default',
  TEMPORAL_TASK_QUEUE: taskQueue,
  QUAD_SIGNING_KEY: join(dir.path, 'ana.pem'),
  QUAD_SLACK_HOST: '127.0.0.1',
  QUAD_SLACK_PORT: '0',
  SLACK_SIGNING_SECRET: OLD.secret,
  SLACK_BOT_TOKEN: OLD.token,
});
const quad = async (...args: string[]) => {
  const r = await run(['quad', ...args], quadEnv());
  if (r.code !== 0) throw new Error(`quad ${args.join(' ')}: exit ${r.code}: ${r.out}`);
  return r;
};
const start = (service: string, version: string) => releases.release({ service, version, requestedBy: 'ana', source: 'cli' });

interface Scenario {
  service: string;
  /** brings the service into the runbook's situation */
  setup?: () => Promise<void>;
  /** every command the runbook may hold, as written; what must be true before it runs, and what after */
  commands: Record<
    string,
    {
      before?: () => Promise<void>;
      /** runs beside the command (e.g. a person acting while it waits) */
      during?: () => Promise<void>;
      after?: (r: Ran) => Promise<void>;
      server?: (out: string) => Promise<void>;
    }
  >;
  values?: Fill;
}

const undoScript = () => join(dir.path, 'migrate.sh');
const lockFile = () => join(dir.path, 'db-locked');

const SCENARIOS: Record<string, Scenario> = {
  'release-stuck-waiting.md': {
    service: 'cart',
    setup: async () => {
      await start('cart', 'v1.3.0');
      await until('cart', (s) => s.phase === 'awaiting_approval');
    },
    commands: {
      'quad status <service> --once': {},
      'temporal workflow describe --workflow-id release:<service>': {},
      'temporal task-queue describe --task-queue <task-queue>': {},
      'quad approve <service> --by <approver>': { after: async () => void (await until('cart', (s) => s.phase !== 'awaiting_approval')) },
      // no traffic reaches cart: its first window is INCONCLUSIVE, and on_inconclusive: pause holds it
      'quad resume <service> --by <approver>': { before: async () => void (await until('cart', (s) => s.paused)) },
    },
  },
  'metrics-dark.md': {
    service: 'search',
    setup: async () => {
      await start('search', 'v1.3.0');
      await until('search', (s) => s.paused && s.lastVerdict?.verdict === 'INCONCLUSIVE');
    },
    commands: {
      'quad status <service> --once': {},
      'quad config check --live': {},
      'quad resume <service> --by <approver>': { after: async () => void (await until('search', (s) => !s.paused)) },
      'quad rollback <service> --by <approver> --reason "metrics dark"': {
        after: async () => void (await until('search', (s) => s.status === 'rolled_back')),
      },
    },
  },
  'undo-failed.md': {
    service: 'payments',
    values: { 'undo-command': [], 'previous-version': BASE },
    setup: async () => {
      writeFileSync(lockFile(), 'held by a long query\n');
      await start('payments', 'v1.3.0');
      await until('payments', (s) => s.phase === 'rolling_out' && s.trafficPercent > 0);
      await quad('rollback', 'payments', '--by', 'ana', '--reason', 'runbook test');
      await until('payments', (s) => s.status === 'rollback_failed', 60_000);
    },
    commands: {
      'quad status <service> --once': {},
      'quad list --status rollback_failed --service <service>': {},
      '<undo-command>': {
        before: async () => rmSync(lockFile()), // the cause fixed
        after: async () => expect(readFileSync(join(dir.path, 'migrations.log'), 'utf8')).toContain('down v1.3.0'),
      },
    },
  },
  'bad-release-at-100.md': {
    service: 'checkout',
    setup: async () => {
      await start('checkout', 'v2.0.0');
      await until('checkout', (s) => s.phase === 'baking');
    },
    commands: {
      'quad status <service> --once': {},
      'quad revert <service> --by <approver> --reason "checkout totals wrong"': {
        after: async () => {
          await until('checkout', (s) => s.status !== 'running');
          expect(await sandbox.traffic('checkout')).toMatchObject({ percent: 0 });
        },
      },
      // the bake over: a later version went through it and was promoted, the previous one retired
      'quad release <previous-version> --service <service> --by <approver> --wait': {
        before: async () => {
          await start('checkout', 'v2.0.1');
          await until('checkout', (s) => s.phase === 'baking');
          await quad('promote', 'checkout', '--by', 'ana');
          await until('checkout', (s) => s.status === 'succeeded');
        },
        // the test's own approver ends this bake early, so the --wait does not sit through it
        during: async () => {
          await until('checkout', (s) => s.version === BASE && s.phase === 'baking');
          await quad('promote', 'checkout', '--by', 'ana');
        },
        after: async () => expect(await sandbox.traffic('checkout')).toMatchObject({ version: BASE, percent: 100 }),
      },
    },
    values: { 'previous-version': BASE },
  },
  'rotate-slack-secrets.md': {
    service: 'cart',
    values: { 'new-signing-secret': NEW.secret, 'new-bot-token': NEW.token },
    commands: {
      'export SLACK_SIGNING_SECRET=<new-signing-secret>': {},
      'export SLACK_BOT_TOKEN=<new-bot-token>': {},
      'quad config check': {},
      'npx tsx client/slack/main.ts': {
        // the restarted app takes requests signed with the new secret and refuses the old one
        server: async (out) => {
          const url = /listening on (http:\/\/127\.0\.0\.1:\d+\/slack\/events)/.exec(out)![1];
          const body = JSON.stringify({ type: 'url_verification', token: 'x', challenge: 'rotated' });
          const fresh = await postSigned(url, body, 'application/json', NEW.secret);
          expect(fresh).toMatchObject({ status: 200 });
          expect(fresh.body).toContain('rotated');
          expect((await postSigned(url, body, 'application/json', OLD.secret)).status).toBe(401);
        },
      },
    },
  },
};

// ---- the stack ----------------------------------------------------------------------------------------

beforeAll(async () => {
  dir = tempDir('quad-e2e-runbooks-');
  const key = generateSigningKey('ana');
  writeFileSync(join(dir.path, 'ana.pem'), key.privatePem, { mode: 0o600 });
  // the failed step's undo, as a team's migration script: it cannot run while the database is locked
  writeFileSync(
    undoScript(),
    `#!/bin/sh\nif [ "$1" = down ] && [ -e "${lockFile()}" ]; then echo "database is locked" >&2; exit 1; fi\necho "$1 $2" >> "${join(dir.path, 'migrations.log')}"\n`,
  );
  chmodSync(undoScript(), 0o755);
  SCENARIOS['undo-failed.md'].values!['undo-command'] = [undoScript(), 'down', 'v1.3.0'];

  let bundle: string;
  [env, sandbox, bundle, slack] = await Promise.all([
    localEnv(),
    startSandboxProcess({ serve: { cart: BASE, search: BASE, payments: BASE, checkout: BASE } }),
    bundleFile(dir.path),
    startSlackFake({ token: NEW.token }),
  ]);
  const service = (over: Record<string, unknown>) => ({ approvers: ['ana'], poll_interval_seconds: 1, min_requests: 50, on_inconclusive: 'pause', ...over });
  const doc = {
    release_management: { approval_required: false },
    deployments: { bake_minutes: 0 },
    notifications: { file: join(dir.path, 'notices.jsonl') },
    temporal: { address: env.address, task_queue: taskQueue },
    security: { signers: { ana: { public_key: key.publicLine } } },
    providers: {
      sandbox: { url: sandbox.url },
      incidents: { type: 'file', path: join(dir.path, 'incidents.jsonl') },
      slack: { bot_token: '${SLACK_BOT_TOKEN}', signing_secret: '${SLACK_SIGNING_SECRET}', api_url: slack.apiUrl },
    },
    services: {
      cart: service({ rollout_plan: [{ traffic_percent: 25, duration_minutes: 0.05, team_approval: 'required' }, { traffic_percent: 100 }] }),
      // after the resume, a long second stage: still running when the runbook rolls it back
      search: service({
        rollout_plan: [{ traffic_percent: 25, duration_minutes: 0.05 }, { traffic_percent: 50, duration_minutes: 10 }, { traffic_percent: 100 }],
      }),
      payments: service({
        rollout_plan: [{ traffic_percent: 25, duration_minutes: 10 }, { traffic_percent: 100 }],
        dependencies: [
          {
            name: 'migrate',
            kind: 'command',
            args: { command: [undoScript(), 'up', '${version}'] },
            undo: { kind: 'command', args: { command: [undoScript(), 'down', '${version}'] } },
          },
        ],
      }),
      checkout: service({ rollout_plan: [{ traffic_percent: 100 }], bake_minutes: 1 }),
    },
  };
  configFile = join(dir.path, 'quad.yml');
  writeFileSync(configFile, JSON.stringify(doc, null, 2));
  releases = new Releases(env.client, loadConfig(configFile), taskQueue);
  worker = await startWorkerProcess({ configFile, address: env.address, taskQueue, bundle });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await sandbox?.stop();
  await slack?.close();
  await env?.teardown();
  dir?.remove();
}, 60_000);

const files = readdirSync(RUNBOOKS).filter((f) => f.endsWith('.md') && f !== 'README.md');

test('every runbook has its situation here, and the index lists every runbook', () => {
  expect(files.sort()).toEqual(Object.keys(SCENARIOS).sort());
  const index = readFileSync(join(RUNBOOKS, 'README.md'), 'utf8');
  for (const f of files) expect(index).toContain(`(${f})`);
  // the index itself has no command to run
  expect(stepsOf(index, 'README.md')).toEqual([]);
  // a command lives in a sh block, where it is run; none hides in the prose as inline code
  for (const f of [...files, 'README.md']) {
    const prose = readFileSync(join(RUNBOOKS, f), 'utf8').replace(/^[ \t]*```sh[ \t]*\n[\s\S]*?^[ \t]*```/gm, '');
    expect({ f, inline: [...prose.matchAll(/`((?:quad|temporal|npm|npx|kubectl|aws) [^`]*)`/g)].map((m) => m[1]) }).toEqual({ f, inline: [] });
  }
});

/** One runbook, its commands in order; every runbook at once, each on its own service. */
async function runRunbook(file: string): Promise<void> {
  const scenario = SCENARIOS[file];
  const steps = stepsOf(readFileSync(join(RUNBOOKS, file), 'utf8'), file);
  // the table knows every command the runbook holds, and holds none it does not
  expect(steps.map((s) => s.line).sort()).toEqual(Object.keys(scenario.commands).sort());
  const t0 = Date.now();
  await scenario.setup?.();
  console.log(`${file}: situation ready in ${Date.now() - t0} ms`);
  const childEnv = quadEnv();
  const values: Fill = { service: scenario.service, approver: 'ana', 'task-queue': taskQueue, ...scenario.values };
  for (const step of steps) {
    const hooks = scenario.commands[step.line];
    const exported = /^export ([A-Z_][A-Z0-9_]*)=(\S+)$/.exec(step.line);
    if (exported) {
      // an environment for the commands after it, as the shell would keep it
      childEnv[exported[1]] = fill(exported[2], values).join(' ');
      continue;
    }
    if (step.exit === undefined && !step.keepsRunning) throw new Error(`${file}: ${step.line}: the runbook says no "# exit N" of it`);
    await hooks.before?.();
    const argv = fill(step.line, values);
    const t = Date.now();
    const [r] = await Promise.all([
      step.keepsRunning ? runServer(argv, childEnv, filled(step.shows[0] ?? '', values), hooks.server ?? (async () => undefined)) : run(argv, childEnv),
      hooks.during?.(),
    ]);
    console.log(`${file}: ${step.line} → exit ${r.code} in ${Date.now() - t} ms`);
    const shows = step.shows.map((s) => filled(s, values));
    const said = { code: r.code, shows: shows.filter((s) => r.out.includes(s)) };
    expect({ line: step.line, ...said, out: said.code === (step.exit ?? 0) && said.shows.length === step.shows.length ? '' : r.out }).toEqual({
      line: step.line,
      code: step.exit ?? 0,
      shows,
      out: '',
    });
    await hooks.after?.(r);
  }
}

// started together once the stack is up (each on its own service), awaited one test per runbook
let runs: Record<string, Promise<unknown>> = {};
beforeAll(() => {
  runs = Object.fromEntries(
    files.map((f) => [
      f,
      runRunbook(f).then(
        () => null,
        (err: unknown) => err,
      ),
    ]),
  );
});

test.each(files)('%s: every command runs and shows what the runbook says', async (file) => {
  const err = await runs[file];
  if (err) throw err;
});
