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
  stop(): Promise<void>;
}

// Runs in the child: start Unleash with the options passed in env, report the port on stdout, stop on SIGTERM.
const CHILD = `
const { start } = await import(process.env.QUAD_UNLEASH_ENTRY);
const unleash = await start(JSON.parse(process.env.QUAD_UNLEASH_OPTIONS));
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
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`Unleash exited (${code}) before it started:\n${output()}`)); });
  });
}

export async function startUnleash(opts: { environment?: string; timeoutMs?: number } = {}): Promise<LocalUnleash> {
  const t0 = Date.now();
  const environment = opts.environment ?? 'development';
  const pg: LocalPostgres = await startPostgres();
  const adminToken = `*:*.${randomBytes(16).toString('hex')}`;
  const clientToken = `*:${environment}.${randomBytes(16).toString('hex')}`;
  const options = {
    db: { host: pg.host, port: pg.port, user: pg.user, password: '', database: pg.database, ssl: false },
    server: { port: 0, host: '127.0.0.1' },
    logLevel: 'error',
    versionCheck: { enable: false },
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
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });

  const stopChild = async () => {
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
      url, adminToken, clientToken, environment,
      timings: { initdbMs: pg.timings.initdbMs, pgStartMs: pg.timings.startMs, unleashMs: now - tUnleash, totalMs: now - t0 },
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
