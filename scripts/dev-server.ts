// Starts the Temporal CLI dev server (server + Web UI, SQLite file) from temporal-dev.yml and waits until
// it answers. `tsx scripts/dev-server.ts [--foreground]`; prints the gRPC address and the Web UI URL.
// Leaves it running in the background (pid in .data/temporal.pid) unless --foreground.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { devServerSettings, temporalCliPath, ROOT } from '../test/support/temporal-servers';

function listening(host: string, port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = connect({ host, port }, () => (s.destroy(), r(true)));
    s.on('error', () => r(false));
  });
}

async function main() {
  const s = devServerSettings();
  const bin = temporalCliPath();
  if (!bin) throw new Error('no temporal CLI: run scripts/tools.sh temporal (or set QUAD_TEMPORAL_BIN)');
  const ui = `http://${s.ip}:${s.ui_port}`;
  if (await listening(s.ip, s.port)) {
    process.stdout.write(`temporal dev server already up at ${s.ip}:${s.port}, Web UI ${ui}\n`);
    return;
  }
  const db = resolve(ROOT, s.db_filename);
  mkdirSync(dirname(db), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    s.ip,
    '--port',
    String(s.port),
    '--ui-port',
    String(s.ui_port),
    '--namespace',
    s.namespace,
    '--db-filename',
    db,
    '--log-level',
    s.log_level,
    ...Object.entries(s.search_attributes).flatMap(([k, t]) => ['--search-attribute', `${k}=${t}`]),
  ];
  const foreground = process.argv.includes('--foreground');
  const log = openSync(join(ROOT, '.data', 'temporal.log'), 'a');
  const child = spawn(bin, args, { stdio: foreground ? 'inherit' : ['ignore', log, log], detached: !foreground });
  writeFileSync(join(ROOT, '.data', 'temporal.pid'), String(child.pid));
  const t0 = Date.now();
  while (!(await listening(s.ip, s.port))) {
    if (child.exitCode !== null) throw new Error(`temporal exited with ${child.exitCode}; see .data/temporal.log`);
    if (Date.now() - t0 > 30_000) throw new Error('temporal did not answer in 30 s; see .data/temporal.log');
    await new Promise((r) => setTimeout(r, 100));
  }
  process.stdout.write(`temporal dev server up at ${s.ip}:${s.port} in ${Date.now() - t0} ms, Web UI ${ui}, data ${s.db_filename}\n`);
  if (!foreground) child.unref();
}

export function stopDevServer() {
  const pidFile = join(ROOT, '.data', 'temporal.pid');
  if (!existsSync(pidFile)) return;
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
  } catch {
    /* already gone */
  }
}

if (require.main === module) {
  if (process.argv.includes('--stop')) stopDevServer();
  else
    main().catch((err) => {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(1);
    });
}
