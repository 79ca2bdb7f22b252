// One version of the sandbox service, run as its own process so its CPU and memory are its own.
// Started by version-process.ts with node's type stripping (or tsx), so it imports node builtins only.
// Parent link is the IPC channel: it sends `ready` with the port, then resource usage twice a second,
// and exits when the parent goes away so no orphan outlives the sandbox. Its log lines go to stdout as
// JSON lines ({at, level, msg}): an access line per request, the ordinary noise of a service (a slow
// query now and then, a cache refresh), and for each request it fails the error that failed it.
import http from 'node:http';
import { createHash, randomBytes, randomUUID } from 'node:crypto';

interface Behaviour {
  errorRate: number;
  extraLatencyMs: number;
  baseLatencyMs: number;
  jitterMeanMs: number;
}

const version = process.env.QUAD_SANDBOX_VERSION ?? 'unknown';
const behaviour = JSON.parse(process.env.QUAD_SANDBOX_BEHAVIOUR ?? '{}') as Behaviour;

function send(message: object): void {
  if (process.send && process.connected) process.send(message);
}

function latencyMs(): number {
  // exponential jitter: mostly a few ms, an occasional longer one, like a real service
  const jitter = -Math.log(1 - Math.random()) * behaviour.jitterMeanMs;
  return behaviour.baseLatencyMs + behaviour.extraLatencyMs + jitter;
}

let served = 0;

function log(level: 'error' | 'warn' | 'info', msg: string): void {
  process.stdout.write(JSON.stringify({ at: Date.now(), level, msg }) + '\n');
}

// the error a -bad version serves: it verifies tokens against a key the issuer no longer signs with
const failureLine = () => `JWT validation failed: signature mismatch for kid=${randomBytes(4).toString('hex')}`;

const server = http.createServer((req, res) => {
  served += 1;
  const fail = Math.random() < behaviour.errorRate;
  // a little real work per request (a cart total and an ETag), so CPU follows traffic
  const items = Array.from({ length: 20 }, (_, i) => ({ sku: `sku-${i}`, qty: ((served + i) % 3) + 1, price: 9.99 + i }));
  const body = JSON.stringify({ version, items, total: items.reduce((s, it) => s + it.qty * it.price, 0) });
  const etag = createHash('sha1').update(body).digest('hex');
  req.resume();
  const started = Date.now();
  const requestId = randomUUID();
  if (served % 40 === 0) log('warn', `slow query took ${200 + (served % 700)}ms on table carts request_id=${requestId}`);
  setTimeout(() => {
    const access = (status: number) =>
      log('info', `${req.method} ${(req.url ?? '/').slice(0, 200)} ${status} in ${Date.now() - started}ms request_id=${requestId}`);
    if (fail) {
      log('error', failureLine());
      access(500);
      res.writeHead(500, { 'content-type': 'application/json', 'x-sandbox-version': version });
      res.end(JSON.stringify({ error: 'internal error', version }));
      return;
    }
    access(200);
    res.writeHead(200, { 'content-type': 'application/json', 'x-sandbox-version': version, etag });
    res.end(body);
  }, latencyMs());
});
server.keepAliveTimeout = 30_000;

let lastCpu = process.cpuUsage();
let lastAt = Date.now();
function reportUsage(): void {
  const cpu = process.cpuUsage();
  const at = Date.now();
  const cpuMicros = cpu.user - lastCpu.user + cpu.system - lastCpu.system;
  const cpuPct = at > lastAt ? (cpuMicros / 1000 / (at - lastAt)) * 100 : 0;
  // `since`: the CPU figure is the average over [since, at], so a late report still covers the time it missed
  send({ type: 'usage', since: lastAt, at, cpuPct, rssMb: process.memoryUsage.rss() / (1024 * 1024) });
  lastCpu = cpu;
  lastAt = at;
}

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  send({ type: 'ready', port, pid: process.pid });
  setInterval(reportUsage, 500).unref();
  log('info', `${version} listening on port ${port}`);
  setInterval(() => log('info', `cache refreshed: ${100 + (served % 50)} entries`), 10_000).unref();
});

process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
