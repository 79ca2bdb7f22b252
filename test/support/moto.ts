// A local moto server (PyPI moto[server], installed by `scripts/tools.sh moto` into .tools/moto) for the
// AWS provider tests: started on 127.0.0.1 on a free port, stopped in afterAll. Tests talk to it over
// real HTTP through the AWS SDK, with fake credentials.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from './net';
import { join, resolve } from 'node:path';

export interface LocalMoto {
  /** e.g. http://127.0.0.1:41234 — pass as the SDK client's `endpoint` */
  endpoint: string;
  port: number;
  /** ms from spawn until the server answered HTTP */
  startMs: number;
  /** drops every stored resource and datapoint (moto keeps state per process) */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** QUAD_MOTO_SERVER, else the project's .tools/moto venv. */
export function findMotoServer(): string {
  const fromEnv = process.env.QUAD_MOTO_SERVER;
  if (fromEnv) return fromEnv;
  const root = process.env.QUAD_ROOT ?? resolve(__dirname, '..', '..');
  const bin = join(root, '.tools', 'moto', 'bin', 'moto_server');
  if (!existsSync(bin)) {
    throw new Error(`moto_server not found at ${bin}: run \`bash scripts/tools.sh moto\`, or set QUAD_MOTO_SERVER`);
  }
  return bin;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fake credentials for the SDK's default chain; moto accepts any. Never real ones in tests. */
export function useFakeAwsCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  // keep the SDK from looking for ~/.aws files or the instance metadata service
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
}

export interface StartMotoOptions {
  /** extra env for moto_server, e.g. MOTO_ECS_SERVICE_RUNNING=2 (ECS services report running tasks only with it) */
  env?: Record<string, string>;
}

export async function startMoto(timeoutMs = 30_000, options: StartMotoOptions = {}): Promise<LocalMoto> {
  const bin = findMotoServer();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  const child: ChildProcess = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: 'true', ...options.env },
  });
  let stderrTail = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderrTail = (stderrTail + d.toString()).slice(-2000);
  });
  let exited = false;
  const exitedP = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      r();
    }),
  );

  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      exitedP,
      new Promise<void>((r) => {
        timer = setTimeout(r, 3000);
      }),
    ]);
    clearTimeout(timer);
    if (!exited) {
      child.kill('SIGKILL');
      await exitedP;
    }
  };

  // moto answers its own API at /moto-api/; poll until it does.
  for (;;) {
    if (exited) throw new Error(`moto_server exited before answering: ${stderrTail}`);
    if (Date.now() - t0 > timeoutMs) {
      await stop();
      throw new Error(`moto_server did not answer within ${timeoutMs} ms`);
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  const startMs = Date.now() - t0;

  return {
    endpoint,
    port,
    startMs,
    stop,
    async reset() {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset answered ${res.status}`);
    },
  };
}
