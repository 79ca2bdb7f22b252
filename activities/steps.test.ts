// Dependency steps and gates at the activity level (MockActivityEnvironment): real child processes and a
// real local HTTP server. What is checked: heartbeats while a step runs, the process group stopped on
// cancellation and on timeout (SIGTERM, then SIGKILL), and which failures Temporal may retry.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { checkGate, runStep, runStepWith, type StepRunOptions } from './steps';
import { DEFAULT_STEP_TIMEOUT_S, STEP_HEARTBEAT_MS, stepActivityTimeoutMs, stepTimeoutMs } from '../contract/steps';
import type { Dependency, Gate } from '../contract/plan';

type Step = Pick<Dependency, 'name' | 'kind' | 'args'>;
// the mock logs every failed activity at WARN; these tests fail activities on purpose
const mockEnv = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
const node = process.execPath;
let dir: string;
let sleeper: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'quad-steps-'));
  sleeper = join(dir, 'sleeper.js');
  // Writes its pid (and, with "with-child", the pid of a child it starts) to a file, then runs until killed.
  writeFileSync(
    sleeper,
    `
    const fs = require('node:fs');
    const [pidFile, mode] = process.argv.slice(2);
    if (mode === 'ignore-term') process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
    if (mode === 'with-child') {
      const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      fs.writeFileSync(pidFile + '.child', String(c.pid));
    }
    fs.writeFileSync(pidFile, String(process.pid));
    console.log('started');
    setInterval(() => {}, 1000);
  `,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a step as the worker would: inside an activity Context, collecting its heartbeats. */
function inActivity(step: Step, opts: StepRunOptions = {}) {
  const env = mockEnv();
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  const fn = (s: Step) => (Object.keys(opts).length ? runStepWith('checkout', 'v1.2.4', s, opts) : runStep('checkout', 'v1.2.4', s));
  const result = env.run(fn, step);
  return { env, beats, result };
}

const failureOf = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the step to fail');
    },
    (e: unknown) => e,
  );

function expectFailure(err: unknown, type: string, nonRetryable: boolean): ApplicationFailure {
  expect(err).toBeInstanceOf(ApplicationFailure);
  const f = err as ApplicationFailure;
  expect({ type: f.type, nonRetryable: f.nonRetryable }).toEqual({ type, nonRetryable });
  return f;
}

async function waitForFile(path: string, ms = 10_000): Promise<number> {
  const deadline = Date.now() + ms;
  while (!existsSync(path) || !readFileSync(path, 'utf8')) {
    if (Date.now() > deadline) throw new Error(`${path} never appeared`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Number(readFileSync(path, 'utf8'));
}

/** Gone = no such process, or a zombie waiting for a reaper (it runs nothing any more). */
function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function eventuallyGone(pid: number, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!isGone(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

describe('stepTimeoutMs (contract/steps.ts)', () => {
  test('args.timeout_seconds, else 600 s; a value that is not a positive number falls back to the default', () => {
    expect(DEFAULT_STEP_TIMEOUT_S).toBe(600);
    expect(stepTimeoutMs({})).toBe(600_000);
    expect(stepTimeoutMs({ args: { timeout_seconds: 90 } })).toBe(90_000);
    expect(stepTimeoutMs({ args: { timeout_seconds: '2.5' } })).toBe(2_500);
    for (const bad of [0, -1, 'soon', '', true]) expect(stepTimeoutMs({ args: { timeout_seconds: bad } })).toBe(600_000);
    // the activity's own limit, its kill grace and a margin: Temporal never times it out before it stops itself
    expect(stepActivityTimeoutMs({ args: { timeout_seconds: 90 } })).toBeGreaterThan(90_000 + 10_000);
    expect(STEP_HEARTBEAT_MS).toBeLessThanOrEqual(5_000);
  });
});

describe('runStep: a command step', () => {
  test('a step of about 3 s heartbeats several times while it runs and returns its output', async () => {
    const t0 = Date.now();
    const { beats, result } = inActivity({
      name: 'db migration',
      kind: 'command',
      args: { command: [node, '-e', 'setTimeout(() => console.log("migrated 3 tables"), 3000)'] },
    });
    expect(await result).toBe('migrated 3 tables');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3000);
    expect(beats.length).toBeGreaterThanOrEqual(3);
    expect(beats[0]).toMatchObject({ step: 'db migration' });
    expect(beats.at(-1)).toMatchObject({ step: 'db migration', elapsedS: expect.any(Number) });
  });

  test('${service} and ${version} are filled per argument, never through a shell', async () => {
    const out = await inActivity({
      name: 'echo',
      kind: 'command',
      args: { command: [node, '-e', 'console.log(process.argv.slice(1).join("|"))', '${service}', 'v=${version};$(id)'] },
    }).result;
    expect(out).toBe('checkout|v=v1.2.4;$(id)');
  });

  test('cancelling the activity stops the process and the child it started, then fails with CancelledFailure', async () => {
    const pidFile = join(dir, 'cancel.pid');
    const { env, beats, result } = inActivity({ name: 'long migration', kind: 'command', args: { command: [node, sleeper, pidFile, 'with-child'] } });
    const failed = failureOf(result);
    const pid = await waitForFile(pidFile);
    const childPid = await waitForFile(`${pidFile}.child`);
    expect(isGone(pid)).toBe(false);
    expect(isGone(childPid)).toBe(false);
    env.cancel();
    expect(await failed).toBeInstanceOf(CancelledFailure);
    // The activity ends only once the program is gone: a retry can never run beside it.
    expect(isGone(pid)).toBe(true);
    expect(await eventuallyGone(childPid)).toBe(true);
    expect(beats.length).toBeGreaterThanOrEqual(1);
  });

  test('a program that ignores SIGTERM gets SIGKILL after the grace period', async () => {
    const pidFile = join(dir, 'stubborn.pid');
    const { env, result } = inActivity({ name: 'stubborn', kind: 'command', args: { command: [node, sleeper, pidFile, 'ignore-term'] } }, { killGraceMs: 700 });
    const failed = failureOf(result);
    const pid = await waitForFile(pidFile);
    const t0 = Date.now();
    env.cancel();
    expect(await failed).toBeInstanceOf(CancelledFailure);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(650);
    expect(isGone(pid)).toBe(true);
  });

  test('args.timeout_seconds stops the program; the timeout is retryable and says what to raise', async () => {
    const pidFile = join(dir, 'timeout.pid');
    const t0 = Date.now();
    const err = await failureOf(inActivity({ name: 'warm cache', kind: 'command', args: { command: [node, sleeper, pidFile], timeout_seconds: 1 } }).result);
    const f = expectFailure(err, 'TransientError', false);
    expect(f.message).toMatch(/^step warm cache timed out after 1 s and was stopped: started \(raise args\.timeout_seconds/);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(isGone(Number(readFileSync(pidFile, 'utf8')))).toBe(true);
  });

  test('a failing command is retryable, with its exit code and the end of its output', async () => {
    const err = await failureOf(
      inActivity({ name: 'db migration', kind: 'command', args: { command: [node, '-e', 'console.error("lock timeout on table orders"); process.exit(3)'] } })
        .result,
    );
    const f = expectFailure(err, 'TransientError', false);
    expect(f.message).toMatch(/^step db migration failed: .* exited with code 3: lock timeout on table orders$/);
    expect(f.details).toEqual([{ step: 'db migration', exitCode: 3 }]);
  });

  test('output in a failure never carries the value of a secret-looking env var', async () => {
    process.env.QUAD_TEST_DB_PASSWORD = 'pw-7c1e90aa';
    try {
      const err = await failureOf(
        inActivity({
          name: 'db migration',
          kind: 'command',
          args: { command: [node, '-e', 'console.error("cannot connect with " + process.env.QUAD_TEST_DB_PASSWORD); process.exit(1)'] },
        }).result,
      );
      expect((err as Error).message).toMatch(/cannot connect with \[redacted\]$/);
      expect(JSON.stringify({ m: (err as Error).message, s: (err as Error).stack })).not.toContain('pw-7c1e90aa');
    } finally {
      delete process.env.QUAD_TEST_DB_PASSWORD;
    }
  });

  test('configuration mistakes are non-retryable ConfigurationErrors that say what to fix', async () => {
    const cases: Array<[Step, RegExp]> = [
      [{ name: 'migrate', kind: 'command' }, /^step migrate: a command step needs args\.command/],
      [{ name: 'migrate', kind: 'command', args: { command: './migrate.sh up' } }, /^step migrate: args\.command must be a list/],
      [{ name: 'migrate', kind: 'command', args: { command: [] } }, /^step migrate: args\.command must be a list/],
      [
        { name: 'migrate', kind: 'command', args: { command: [join(dir, 'no-such-program')] } },
        /^step migrate: cannot run .*no-such-program \(ENOENT\): check args\.command/,
      ],
      [
        { name: 'migrate', kind: 'command', args: { command: [node, '-e', '1'], timeout_seconds: 'soon' } },
        /^step migrate: args\.timeout_seconds must be a positive number/,
      ],
      [{ name: 'warm', kind: 'webhook' }, /^step warm: a webhook step needs args\.url/],
      [{ name: 'warm', kind: 'webhook', args: { url: 'not a url' } }, /^step warm: args\.url "not a url" is not a URL/],
      // a kind the config schema would refuse, as a plan built by hand could carry it
      [{ name: 'flush', kind: 'ftp' } as unknown as Step, /^step flush: unknown step kind "ftp" \(use command, webhook or noop\)/],
    ];
    for (const [step, message] of cases) {
      const f = expectFailure(await failureOf(inActivity(step).result), 'ConfigurationError', true);
      expect(f.message).toMatch(message);
    }
  });

  test('a version that could smuggle arguments is refused before anything runs', async () => {
    const env = mockEnv();
    const step: Step = { name: 'm', kind: 'command', args: { command: [node, '-e', '1', '${version}'] } };
    const err = await failureOf(env.run(runStep, 'checkout', '-rf', step));
    expectFailure(err, 'RequestRejected', true);
  });

  test('noop does nothing', async () => {
    expect(await inActivity({ name: 'nothing', kind: 'noop' }).result).toBe('nothing to do');
  });
});

describe('runStep: a webhook step', () => {
  let server: Server;
  let base: string;
  const received: { url: string; headers: Record<string, unknown>; body: string }[] = [];
  // per path: [status, delay ms]; /hang never answers
  const answers: Record<string, [number, number]> = {
    '/ok': [202, 0],
    '/slow': [200, 2500],
    '/auth': [401, 0],
    '/forbidden': [403, 0],
    '/down': [503, 0],
    '/bad': [422, 0],
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ url: req.url ?? '', headers: req.headers, body });
        const a = answers[req.url ?? ''];
        if (!a) return; // /hang
        setTimeout(() => res.writeHead(a[0], { 'content-type': 'application/json' }).end(JSON.stringify({ error: `answer ${a[0]}` })), a[1]);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const hook = (path: string, args: Step['args'] = {}): Step => ({ name: 'warm cache', kind: 'webhook', args: { url: `${base}${path}`, ...args } });

  test('POSTs the step with an idempotency key, and heartbeats while the receiver works', async () => {
    expect(await inActivity(hook('/ok')).result).toBe('webhook 202');
    const last = received.at(-1)!;
    expect(last.headers['idempotency-key']).toBe('checkout:v1.2.4:warm cache');
    expect(JSON.parse(last.body)).toEqual({ service: 'checkout', version: 'v1.2.4', step: 'warm cache' });
    const slow = inActivity(hook('/slow'));
    expect(await slow.result).toBe('webhook 200');
    expect(slow.beats.length).toBeGreaterThanOrEqual(2);
  });

  test('401 and 403 are non-retryable ConfigurationErrors; 422 a rejected request', async () => {
    const f401 = expectFailure(await failureOf(inActivity(hook('/auth')).result), 'ConfigurationError', true);
    expect(f401.message).toMatch(/^step warm cache webhook did not accept a request without a token .*\(HTTP 401: .*point args\.url of step warm cache at/);
    expect(f401.details).toEqual([{ system: 'step warm cache webhook', status: 401 }]);
    expectFailure(await failureOf(inActivity(hook('/forbidden')).result), 'ConfigurationError', true);
    expectFailure(await failureOf(inActivity(hook('/bad')).result), 'RequestRejected', true);
  });

  test('a receiver that is down (503) or does not answer within args.timeout_seconds stays retryable', async () => {
    const f503 = expectFailure(await failureOf(inActivity(hook('/down')).result), 'TransientError', false);
    expect(f503.message).toMatch(/HTTP 503: \{"error":"answer 503"\} \(retrying\)$/);
    const t0 = Date.now();
    const hang = expectFailure(await failureOf(inActivity(hook('/hang', { timeout_seconds: 1 })).result), 'TransientError', false);
    expect(hang.message).toMatch(/no answer within 1 s/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  test('cancelling the activity aborts the request and fails with CancelledFailure', async () => {
    const n = received.length;
    const { env, result } = inActivity(hook('/hang'));
    const failed = failureOf(result);
    while (received.length === n) await new Promise((r) => setTimeout(r, 10));
    env.cancel();
    expect(await failed).toBeInstanceOf(CancelledFailure);
  });
});

describe('checkGate: a command gate', () => {
  const gate = (args: Gate['args']): Gate => ({ name: 'tests', kind: 'tests_passed', args });
  const run = (g: Gate) => mockEnv().run(checkGate, 'checkout', 'v1.2.4', g);

  test('passes on exit 0 and fails with the output otherwise, through the same runner', async () => {
    expect(await run(gate({ command: [node, '-e', 'console.log("42 passed")'] }))).toEqual({ ok: true, detail: '42 passed' });
    expect(await run(gate({ command: [node, '-e', 'console.log("3 failed"); process.exit(1)'] }))).toEqual({ ok: false, detail: '3 failed' });
    expect(await run(gate({ command: [node, '-e', 'setTimeout(() => {}, 30000)'], timeout_seconds: 0.5 }))).toEqual({
      ok: false,
      detail: 'timed out after 0.5 s',
    });
  });

  test('a malformed command is a non-retryable ConfigurationError, not a failed check', async () => {
    const f = expectFailure(await failureOf(run(gate({ command: './ci-status.sh' }))), 'ConfigurationError', true);
    expect(f.message).toMatch(/^gate tests: args\.command must be a list/);
  });
});
