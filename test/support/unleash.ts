// A real Unleash server for tests: npm `unleash-server` (ESM, so it runs in a child Node process rather
// than inside jest's CommonJS module system) on a throwaway PostgreSQL from ./postgres.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startPostgres, type LocalPostgres } from './postgres';

export interface LocalUnleash {
  /** base URL, e.g. http://127.0.0.1:41234 (Admin API under /api/admin, client API under /api/client) */
  url: string;
  adminToken: string;
  /** backend token for `environment` (what unleash-client sends) */
  clientToken: string;
  environment: string;
  /** ms: initdb, pg_ctl start, Unleash start until /health answers 200, and the whole thing */
  timings: { initdbMs: number; pgStartMs: number; unleashMs: number; totalMs: number };
  /** what Unleash printed (errors only, by its log level), for a failing test to show */
  output(): string;
  stop(): Promise<void>;
}

// Runs in the child: start Unleash with the options passed in env, report the port on stdout, stop on SIGTERM.
// An exception Unleash itself does not catch is printed, not fatal: one internal background job failing on
// a slow machine must not take the server away in the middle of a test (CI saw Unleash vanish once).
const CHILD = `
process.on('uncaughtException', (err) => { console.error('QUAD_UNLEASH_UNCAUGHT ' + (err && err.stack || err)); });
// stdin is a pipe from the test process: when that process dies, however it dies, the pipe closes and so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
const { start } = await import(process.env.QUAD_UNLEASH_ENTRY);
const unleash = await start(JSON.parse(process.env.QUAD_UNLEASH_OPTIONS));
// Unleash reads its addons at most once a minute (a memoized list, first filled by its own start-up
// events): a test's addon is read for every event instead, so it applies as soon as it is made.
const addons = unleash.services.addonService;
if (process.env.QUAD_UNLEASH_ADDONS_AT_ONCE && typeof addons?.fetchAddonConfigs?.clear === 'function') {
  const memoized = addons.fetchAddonConfigs;
  addons.fetchAddonConfigs = () => { memoized.clear(); return memoized(); };
}
const addr = unleash.server.address();
process.stdout.write('QUAD_UNLEASH_PORT=' + addr.port + '\\n');
let stopping = false;
process.on('SIGTERM', async () => {
  if (stopping) return;
  stopping = true;
  try { await unleash.stop(); } finally { process.exit(0); }
});
`;

async function waitHealthy(url: string, deadline: number): Promise<void> {
  for (;;) {
    const res = await fetch(`${url}/health`).catch(() => null);
    if (res?.ok) return;
    if (Date.now() > deadline) throw new Error(`Unleash at ${url} not healthy in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function waitForPort(child: ChildProcess, output: () => string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Unleash did not start in ${timeoutMs} ms:\n${output()}`)), timeoutMs);
    child.stdout!.on('data', () => {
      const m = /QUAD_UNLEASH_PORT=(\d+)/.exec(output());
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Unleash exited (${code}) before it started:\n${output()}`));
    });
  });
}

/**
 * `integrationsToLocalhost`: integrations (the webhook addon) may post to 127.0.0.1, where a test's receiver
 * listens, and an addon applies as soon as it is made.
 */
export async function startUnleash(opts: { environment?: string; timeoutMs?: number; integrationsToLocalhost?: boolean } = {}): Promise<LocalUnleash> {
  const t0 = Date.now();
  const environment = opts.environment ?? 'development';
  const pg: LocalPostgres = await startPostgres();
  const adminToken = `*:*.${randomBytes(16).toString('hex')}`;
  const clientToken = `*:${environment}.${randomBytes(16).toString('hex')}`;
  const options = {
    db: { host: pg.host, port: pg.port, user: pg.user, password: '', database: pg.database, ssl: false },
    // Unleash's own SIGINT/SIGHUP/SIGTERM handlers stop it on a signal meant for the test runner (or one the
    // runner ignores, such as SIGHUP under nohup); the child below handles SIGTERM itself.
    server: { port: 0, host: '127.0.0.1', gracefulShutdownEnable: false },
    logLevel: 'warn',
    versionCheck: { enable: false },
    ...(opts.integrationsToLocalhost ? { allowPrivateUrlInIntegration: true } : {}),
    // no caching: the client API must reflect an Admin API change as soon as the scheduler sees it
    clientFeatureCaching: { enabled: false },
    authentication: {
      type: 'open-source',
      enableApiToken: true,
      createAdminUser: false,
      initApiTokens: [
        { secret: adminToken, tokenName: 'quad-test-admin', type: 'admin', environment: '*', projects: ['*'] },
        { secret: clientToken, tokenName: 'quad-test-backend', type: 'backend', environment, projects: ['*'] },
      ],
    },
  };
  const tUnleash = Date.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: {
      ...process.env,
      SEND_TELEMETRY: 'false',
      QUAD_UNLEASH_ENTRY: require.resolve('unleash-server'),
      QUAD_UNLEASH_OPTIONS: JSON.stringify(options),
      ...(opts.integrationsToLocalhost ? { QUAD_UNLEASH_ADDONS_AT_ONCE: '1' } : {}),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group: a signal meant for the test runner's group does not reach it. It is still
    // stopped by PID below, and killed if this process exits first.
    detached: true,
  });
  const killOnExit = () => {
    try {
      child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  };
  process.once('exit', killOnExit);
  let output = '';
  let stopping = false;
  child.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  // An exit nobody asked for is reported at once with what Unleash and PostgreSQL printed: the tests that
  // then fail with "fetch failed" would say nothing about why.
  child.once('exit', (code, signal) => {
    process.removeListener('exit', killOnExit);
    if (stopping) return;
    console.error(`Unleash exited unexpectedly (code ${code}, signal ${signal}). Its output:\n${output.slice(-4000)}\n` + `PostgreSQL log:\n${pg.logTail()}`);
  });

  const stopChild = async () => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    const timeoutMs = opts.timeoutMs ?? 45_000;
    const port = await waitForPort(child, () => output, timeoutMs);
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url, Date.now() + timeoutMs);
    const now = Date.now();
    return {
      url,
      adminToken,
      clientToken,
      environment,
      timings: { initdbMs: pg.timings.initdbMs, pgStartMs: pg.timings.startMs, unleashMs: now - tUnleash, totalMs: now - t0 },
      output: () => output,
      async stop() {
        await stopChild();
        await pg.stop();
      },
    };
  } catch (err) {
    await stopChild();
    await pg.stop();
    throw err;
  }
}
