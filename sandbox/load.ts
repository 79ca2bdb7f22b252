// Load generator: open-loop requests at a fixed rate (like real users, who do not wait for each other),
// with a cap on requests in flight and a maximum duration after which it stops by itself. Each request is
// from one of `users` users (x-quad-user: user-<k>, k uniform), so the sandbox can split it by feature flag
// or stickily by user; the counts say how many users saw each version and how many saw more than one.
// CLI: tsx sandbox/load.ts --url http://127.0.0.1:8080 --rps 50 [--duration-s 600] [--service checkout] [--users 1000]
import http from 'node:http';
import { parseArgs } from 'node:util';
import { USER_HEADER } from './flags';

export interface LoadOptions {
  /** router URL, e.g. http://127.0.0.1:8080 (a path in it is kept) */
  url: string;
  rps: number;
  /** stops by itself after this long; default 10 minutes */
  maxDurationS?: number;
  /** sent as x-quad-service, so one router can take load for several services */
  service?: string;
  /** most requests in flight at once; beyond it a due request is skipped and counted */
  maxInFlight?: number;
  requestTimeoutMs?: number;
  /** distinct users the requests come from (header x-quad-user); default 1000, 0 = no user header */
  users?: number;
}

export interface LoadCounts {
  sent: number;
  ok: number;
  /** HTTP 5xx answers */
  errors: number;
  /** no answer: connection error or timeout */
  failed: number;
  skipped: number;
  byVersion: Record<string, number>;
  /** distinct users answered by each version (a user who saw two versions counts in both) */
  usersByVersion: Record<string, number>;
  /** users answered by more than one version: 0 under a sticky split that held */
  switchedUsers: number;
}

export interface Load {
  counts(): LoadCounts;
  /** resolves when the load stopped (stop() or the max duration) and requests in flight have settled */
  done: Promise<LoadCounts>;
  stop(): Promise<LoadCounts>;
}

const TICK_MS = 10;

export function startLoad(options: LoadOptions): Load {
  if (!(options.rps > 0)) throw new Error('rps must be > 0');
  const target = new URL(options.url);
  const maxDurationMs = (options.maxDurationS ?? 600) * 1000;
  const maxInFlight = options.maxInFlight ?? 256;
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const users = options.users ?? 1000;
  if (!(Number.isInteger(users) && users >= 0)) throw new Error('users must be a whole number >= 0');
  const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight });
  const counts: LoadCounts = { sent: 0, ok: 0, errors: 0, failed: 0, skipped: 0, byVersion: {}, usersByVersion: {}, switchedUsers: 0 };
  const versionsOfUser = new Map<string, Set<string>>();
  const startedAt = performance.now();
  let due = 0;
  let inFlight = 0;
  let stopped = false;
  let settle: () => void = () => undefined;
  const drained = new Promise<void>((resolve) => (settle = resolve));

  const maybeSettle = () => {
    if (stopped && inFlight === 0) settle();
  };

  function seenBy(user: string, version: string): void {
    let versions = versionsOfUser.get(user);
    if (!versions) versionsOfUser.set(user, (versions = new Set()));
    if (versions.has(version)) return;
    versions.add(version);
    counts.usersByVersion[version] = (counts.usersByVersion[version] ?? 0) + 1;
    if (versions.size === 2) counts.switchedUsers += 1;
  }

  const snapshot = (): LoadCounts => ({ ...counts, byVersion: { ...counts.byVersion }, usersByVersion: { ...counts.usersByVersion } });

  function fire(): void {
    inFlight += 1;
    counts.sent += 1;
    const headers: Record<string, string> = options.service ? { 'x-quad-service': options.service } : {};
    const user = users > 0 ? `user-${Math.floor(Math.random() * users)}` : null;
    if (user !== null) headers[USER_HEADER] = user;
    const req = http.get({ host: target.hostname, port: target.port, path: target.pathname + target.search, agent, headers, timeout: timeoutMs }, (res) => {
      const version = res.headers['x-sandbox-version'];
      if (typeof version === 'string') {
        counts.byVersion[version] = (counts.byVersion[version] ?? 0) + 1;
        if (user !== null) seenBy(user, version);
      }
      if ((res.statusCode ?? 0) >= 500) counts.errors += 1;
      else counts.ok += 1;
      res.resume();
      res.on('end', done);
      res.on('error', done);
    });
    let finished = false;
    function done(): void {
      if (finished) return;
      finished = true;
      inFlight -= 1;
      maybeSettle();
    }
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      if (!finished) counts.failed += 1;
      done();
    });
  }

  const timer = setInterval(() => {
    const elapsed = performance.now() - startedAt;
    if (elapsed >= maxDurationMs) return void stop();
    const target = Math.floor((elapsed / 1000) * options.rps);
    while (due < target) {
      due += 1;
      if (inFlight >= maxInFlight) counts.skipped += 1;
      else fire();
    }
  }, TICK_MS);

  function stop(): Promise<LoadCounts> {
    if (!stopped) {
      stopped = true;
      clearInterval(timer);
      maybeSettle();
    }
    return done;
  }
  const done = drained.then(() => {
    agent.destroy();
    return snapshot();
  });

  return { counts: snapshot, done, stop };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8080' },
      rps: { type: 'string', default: '20' },
      'duration-s': { type: 'string', default: '600' },
      service: { type: 'string' },
      users: { type: 'string', default: '1000' },
    },
  });
  const load = startLoad({
    url: values.url,
    rps: Number(values.rps),
    maxDurationS: Number(values['duration-s']),
    service: values.service,
    users: Number(values.users),
  });
  const report = setInterval(() => console.log(JSON.stringify(load.counts())), 5000);
  const stop = () => void load.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const counts = await load.done;
  clearInterval(report);
  console.log(JSON.stringify({ final: counts }));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(2);
  });
}
