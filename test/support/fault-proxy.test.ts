// The fault proxy against a tiny node:http server: each mode as a client sees it, switched at run time,
// and the counters.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFaultProxy, describeCounters, pass, type FaultProxy } from './fault-proxy';

let server: Server;
let proxy: FaultProxy;
let hits = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url, method: req.method, body }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy = await startFaultProxy({ port: (server.address() as AddressInfo).port });
});

afterAll(async () => {
  await proxy?.close();
  await new Promise<void>((r) => server.close(() => r()));
});

beforeEach(() => proxy.set(pass));

const get = (path: string, timeoutMs = 5_000) => fetch(`${proxy.url}${path}`, { signal: AbortSignal.timeout(timeoutMs) });

test('pass: requests and bodies go through, keep-alive included, and are counted', async () => {
  const before = proxy.counters();
  for (let i = 0; i < 3; i++) expect(await (await get(`/a/${i}`)).json()).toMatchObject({ path: `/a/${i}`, method: 'GET' });
  const res = await fetch(`${proxy.url}/post`, { method: 'POST', body: 'x'.repeat(100_000), signal: AbortSignal.timeout(5_000) });
  expect(((await res.json()) as { body: string }).body).toHaveLength(100_000);
  const seen = proxy.since(before);
  expect(seen.requests.pass).toBe(4);
  expect(seen.connections.pass).toBeGreaterThanOrEqual(1);
  console.log(`pass: ${describeCounters(seen)}`);
});

test('delay: each answer comes at least the delay later', async () => {
  proxy.set({ kind: 'delay', ms: 300 });
  const t0 = Date.now();
  expect((await get('/slow')).status).toBe(200);
  const took = Date.now() - t0;
  expect(took).toBeGreaterThanOrEqual(290);
  console.log(`delay 300 ms: answered in ${took} ms`);
  expect(proxy.counters().requests.delay).toBeGreaterThanOrEqual(1);
});

test('drop: accepted and never answered; leaving drop cuts what it held, and the next request passes', async () => {
  const before = proxy.counters();
  const hitsBefore = hits;
  proxy.set({ kind: 'drop' });
  await expect(get('/void', 500)).rejects.toThrow(/timeout|aborted/i);
  expect(hits).toBe(hitsBefore); // the upstream never saw it
  proxy.set(pass);
  expect((await get('/back')).status).toBe(200);
  const seen = proxy.since(before);
  expect(seen.requests.drop).toBe(1);
  console.log(`drop: ${describeCounters(seen)}`);
});

test('reset: open connections and new ones are reset', async () => {
  expect((await get('/warm')).status).toBe(200); // a keep-alive connection is open
  proxy.set({ kind: 'reset' });
  const before = proxy.counters();
  // the first may be written on the connection just reset, the second needs a new one
  await expect(get('/reset')).rejects.toThrow(/fetch failed/);
  await expect(get('/reset')).rejects.toThrow(/fetch failed/);
  const seen = proxy.since(before);
  expect(seen.connections.reset).toBeGreaterThanOrEqual(1);
  expect(seen.open).toBe(0);
  console.log(`reset: ${describeCounters(seen)}`);
});

test('http500: each request gets a 500 with a body; switched back, requests reach the upstream again', async () => {
  proxy.set({ kind: 'http500', body: '{"error":"stats unavailable"}' });
  const hitsBefore = hits;
  for (let i = 0; i < 2; i++) {
    const res = await get('/err');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'stats unavailable' });
  }
  expect(hits).toBe(hitsBefore);
  expect(proxy.counters().requests.http500).toBeGreaterThanOrEqual(2);
  proxy.set(pass);
  expect(await (await get('/ok')).json()).toMatchObject({ path: '/ok' });
  expect(hits).toBe(hitsBefore + 1);
});

test('a plain TCP byte stream (not HTTP) goes through in pass', async () => {
  const { createServer: tcpServer, connect } = await import('node:net');
  const echo = tcpServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const p = await startFaultProxy(`127.0.0.1:${(echo.address() as AddressInfo).port}`);
  try {
    const got = await new Promise<string>((resolve, reject) => {
      const c = connect(p.port, '127.0.0.1', () => c.write('hello over tcp'));
      c.on('data', (d: Buffer) => (resolve(d.toString()), c.end()));
      c.on('error', reject);
    });
    expect(got).toBe('hello over tcp');
    expect(p.counters().chunks.pass).toBe(1);
  } finally {
    await p.close();
    await new Promise<void>((r) => echo.close(() => r()));
  }
});

test('delay on a server-speaks-first protocol: the greeting waits too, unless connect: false', async () => {
  const { createServer: tcpServer, connect } = await import('node:net');
  const greeter = tcpServer((s) => s.end('220 hello\r\n'));
  await new Promise<void>((r) => greeter.listen(0, '127.0.0.1', r));
  const p = await startFaultProxy({ port: (greeter.address() as AddressInfo).port });
  const greetingAfter = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = Date.now();
      const c = connect(p.port, '127.0.0.1');
      c.once('data', () => (resolve(Date.now() - t0), c.destroy()));
      c.on('error', reject);
    });
  try {
    p.set({ kind: 'delay', ms: 400 });
    const late = await greetingAfter();
    p.set({ kind: 'delay', ms: 400, connect: false });
    const onTime = await greetingAfter();
    expect(late).toBeGreaterThanOrEqual(390);
    expect(onTime).toBeLessThan(390);
    console.log(`greeting through delay 400 ms: ${late} ms; with connect: false: ${onTime} ms`);
  } finally {
    await p.close();
    await new Promise<void>((r) => greeter.close(() => r()));
  }
});
