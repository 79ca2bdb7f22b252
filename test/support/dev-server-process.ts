// The Temporal CLI dev server as the test's own child on a SQLite file (not TestWorkflowEnvironment), so
// a test can kill -9 it and start it again on the same port and file: test/e2e/server-restart.test.ts and
// the chaos run.
import { spawn, type ChildProcess } from 'node:child_process';
import { listening } from './net';
import { devServerSettings, temporalCliPath } from './temporal-servers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DevServer {
  child: ChildProcess;
  output: () => string;
  exited: Promise<unknown>;
}

export async function startDevServer(port: number, db: string, logLevel: 'warn' | 'error' = 'warn'): Promise<DevServer> {
  const bin = temporalCliPath();
  if (!bin) throw new Error('no temporal CLI: run scripts/tools.sh temporal (or set QUAD_TEMPORAL_BIN)');
  const s = devServerSettings();
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--headless', '--namespace', s.namespace, '--db-filename', db];
  args.push('--log-level', logLevel, ...Object.entries(s.search_attributes).flatMap(([k, t]) => ['--search-attribute', `${k}=${t}`]));
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => (out = (out + b.toString('utf8')).slice(-64 * 1024));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise((r) => child.once('exit', r));
  const end = Date.now() + 30_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`temporal exited (${child.exitCode ?? child.signalCode}):\n${out.slice(-3000)}`);
    if (Date.now() > end) throw new Error(`temporal not up in 30 s:\n${out.slice(-3000)}`);
    await sleep(50);
  }
  return { child, output: () => out, exited };
}

/** kill -9; resolves once it is gone. */
export async function killDevServer(server: DevServer | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGKILL');
  await server.exited;
}
