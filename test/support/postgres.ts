// A throwaway PostgreSQL for tests: initdb into a temp dir, start on 127.0.0.1 on a free port, stop and
// delete it afterwards. PostgreSQL refuses to run as root, so as root every pg command runs as the
// `postgres` OS user (runuser) in a dir that user owns; as a normal user it runs as that user.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { freePort } from './net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LocalPostgres {
  host: string;
  port: number;
  user: string;
  database: string;
  /** ms spent in initdb and in pg_ctl start */
  timings: { initdbMs: number; startMs: number };
  /** the last lines of the server log, for diagnosing a failure */
  logTail(): string;
  stop(): Promise<void>;
}

/** Finds initdb/pg_ctl: QUAD_PG_BIN, else the newest /usr/lib/postgresql/<v>/bin (Debian's layout). */
export function findPostgresBin(): string {
  const fromEnv = process.env.QUAD_PG_BIN;
  if (fromEnv) return fromEnv;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error('PostgreSQL not found: run scripts/tools.sh postgres, or set QUAD_PG_BIN to a folder holding initdb and pg_ctl');
  }
  return join(base, versions[0], 'bin');
}

export async function startPostgres(): Promise<LocalPostgres> {
  const bin = findPostgresBin();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'quad-pg-'));
  let osUser = userInfo().username;
  if (asRoot) {
    const pg = await run('id', ['-u', 'postgres']).catch(() => null);
    if (!pg) throw new Error("running as root needs the `postgres` OS user (Debian's postgresql package creates it)");
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(dir, Number(pg.stdout.trim()), gid);
    osUser = 'postgres';
  }
  // Runs a pg binary as the OS user that may own the cluster.
  const pgExec = (cmd: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : run(join(bin, cmd), args));

  const data = join(dir, 'data');
  const port = await freePort();
  const dbUser = 'postgres';
  try {
    let t = Date.now();
    await pgExec('initdb', ['-A', 'trust', '-U', dbUser, '-E', 'UTF8', '--no-sync', '-D', data]);
    const initdbMs = Date.now() - t;
    t = Date.now();
    // fsync off: a throwaway test cluster needs no durability, and it keeps the 2-core box responsive.
    await pgExec('pg_ctl', [
      'start',
      '-w',
      '-t',
      '30',
      '-D',
      data,
      '-l',
      join(dir, 'postgres.log'),
      '-o',
      `-k '${dir}' -p ${port} -h 127.0.0.1 -c fsync=off -c full_page_writes=off`,
    ]);
    const startMs = Date.now() - t;
    let stopped = false;
    const logFile = join(dir, 'postgres.log');
    return {
      host: '127.0.0.1',
      port,
      user: dbUser,
      database: 'postgres',
      timings: { initdbMs, startMs },
      logTail: () => {
        try {
          return readFileSync(logFile, 'utf8').slice(-4000);
        } catch (e) {
          return `(no log: ${(e as Error).message})`;
        }
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await pgExec('pg_ctl', ['stop', '-w', '-m', 'immediate', '-D', data]).catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await pgExec('pg_ctl', ['stop', '-m', 'immediate', '-D', data]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not start PostgreSQL (as OS user ${osUser}) from ${bin}: ${(err as Error).message}`, { cause: err });
  }
}
