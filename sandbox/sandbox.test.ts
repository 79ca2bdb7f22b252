// The sandbox over real sockets: per-version child processes behind the weighted router, the admin API
// the deployer and metrics provider use, and versions that really fail or slow down.
import http from 'node:http';
import { startSandbox, type Sandbox } from './sandbox';

interface Reply {
  status: number;
  version: string | undefined;
  body: string;
}

function request(url: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: { 'content-type': 'application/json', ...init.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, version: res.headers['x-sandbox-version'] as string | undefined, body }));
    });
    req.on('error', reject);
    req.end(init.body === undefined ? undefined : JSON.stringify(init.body));
  });
}

async function json<T = any>(url: string, init?: Parameters<typeof request>[1]): Promise<T> {
  const reply = await request(url, init);
  if (reply.status !== 200) throw new Error(`${url}: ${reply.status} ${reply.body}`);
  return JSON.parse(reply.body) as T;
}

/** n requests, `parallel` at a time */
async function burst(url: string, n: number, parallel = 20, headers?: Record<string, string>): Promise<Reply[]> {
  const replies: Reply[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) {
        next += 1;
        replies.push(await request(url, { headers }));
      }
    }),
  );
  return replies;
}

const count = (replies: Reply[], pred: (r: Reply) => boolean) => replies.filter(pred).length;

describe('sandbox', () => {
  let sandbox: Sandbox;
  let admin: string;
  const put = (service: string, body: unknown) => request(`${admin}/admin/services/${service}/traffic`, { method: 'PUT', body });

  beforeAll(async () => {
    // a retire grace period (the default is none: stopped only by retire, see ab.test.ts)
    sandbox = await startSandbox({ port: 0, adminPort: 0, initial: { checkout: 'v1.2.3' }, retireAfterMs: 300 });
    admin = sandbox.adminUrl;
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('serves the initial version, with the admin API on its own port only', async () => {
    expect(sandbox.adminPort).not.toBe(sandbox.port);
    const reply = await request(`${sandbox.url}/cart`);
    expect(reply.status).toBe(200);
    expect(reply.version).toBe('v1.2.3');
    expect(JSON.parse(reply.body).version).toBe('v1.2.3');
    // admin paths on the router port are plain traffic, not admin
    expect((await request(`${sandbox.url}/admin/services`)).version).toBe('v1.2.3');
    expect(await json(`${admin}/admin/services/checkout/traffic`)).toMatchObject({ version: 'v1.2.3', previousVersion: null, percent: 100, changeCount: 1 });
  });

  it('splits traffic exactly by the absolute percent, and the same request twice changes nothing', async () => {
    const first = await json(`${admin}/admin/services/checkout/traffic`, {
      method: 'PUT',
      body: { version: 'v1.2.4', previousVersion: 'v1.2.3', percent: 25 },
    });
    expect(first).toMatchObject({ percent: 25, changed: true, changeCount: 2 });
    const again = await json(`${admin}/admin/services/checkout/traffic`, {
      method: 'PUT',
      body: { version: 'v1.2.4', previousVersion: 'v1.2.3', percent: 25 },
    });
    expect(again).toMatchObject({ percent: 25, changed: false, changeCount: 2 });

    const replies = await burst(`${sandbox.url}/`, 200);
    expect(count(replies, (r) => r.version === 'v1.2.4')).toBe(50);
    expect(count(replies, (r) => r.version === 'v1.2.3')).toBe(150);
    expect(count(replies, (r) => r.status !== 200)).toBe(0);

    const { changes } = await json(`${admin}/admin/services/checkout/changes`);
    expect(changes.map((c: any) => [c.seq, c.version, c.percent])).toEqual([
      [1, 'v1.2.3', 100],
      [2, 'v1.2.4', 25],
    ]);
    expect(changes[1].before).toMatchObject({ version: 'v1.2.3', percent: 100 });
  });

  it('runs each version in its own process, started on demand', async () => {
    const { versions } = await json(`${admin}/admin/services/checkout/versions`);
    const pids = versions.map((v: any) => v.pid);
    expect(versions.map((v: any) => v.state)).toEqual(['running', 'running']);
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(process.pid);
    for (const pid of pids) expect(() => process.kill(pid, 0)).not.toThrow();
  });

  it('a -bad version really answers about 8 % of its requests with 500, and rollback sends it nothing', async () => {
    await put('checkout', { version: 'v1.2.5-bad', previousVersion: 'v1.2.3', percent: 100 });
    const replies = await burst(`${sandbox.url}/`, 500, 25);
    const errors = count(replies, (r) => r.status === 500);
    expect(count(replies, (r) => r.version === 'v1.2.5-bad')).toBe(500);
    // binomial(500, 0.08): mean 40, sd 6 — 10..80 is 5 sd below and 6.6 above (P(outside) < 1e-7), so the
    // test says "about 8 %" without failing one run in a few thousand by chance
    expect(errors).toBeGreaterThanOrEqual(10);
    expect(errors).toBeLessThanOrEqual(80);

    const rolledBack = await json(`${admin}/admin/services/checkout/traffic`, {
      method: 'PUT',
      body: { version: 'v1.2.5-bad', previousVersion: 'v1.2.3', percent: 0 },
    });
    expect(rolledBack).toMatchObject({ percent: 0, changed: true });
    const after = await burst(`${sandbox.url}/`, 100);
    expect(count(after, (r) => r.version === 'v1.2.3' && r.status === 200)).toBe(100);

    // the router's own count of the bad version's errors matches what the clients saw
    const { versions } = await json(`${admin}/admin/services/checkout/versions`);
    const bad = versions.find((v: any) => v.version === 'v1.2.5-bad');
    expect(bad).toMatchObject({ requests: 500, errors, behaviour: { errorRate: 0.08 } });
    expect(bad.firstErrorAt).toBeGreaterThanOrEqual(bad.firstRequestAt);
  });

  it('with retireAfterMs given, a version no longer in the split is stopped after that grace period', async () => {
    const { versions } = await json(`${admin}/admin/services/checkout/versions`);
    const retired = versions.find((v: any) => v.version === 'v1.2.4');
    await new Promise((r) => setTimeout(r, 600));
    const now = await json(`${admin}/admin/services/checkout/versions`);
    expect(now.versions.find((v: any) => v.version === 'v1.2.4').state).toBe('stopped');
    expect(() => process.kill(retired.pid, 0)).toThrow();
  });

  it('a -slow version really adds 300 ms, and stats report per-version p95, CPU and RSS per interval', async () => {
    const from = Date.now();
    await put('payments', { version: 'v2.0.1-slow', previousVersion: 'v2.0.0', percent: 50 });
    const replies = await burst(`${sandbox.url}/svc/payments/pay`, 80, 40);
    expect(count(replies, (r) => r.status === 200)).toBe(80);
    // the header route reaches the same service
    expect((await request(`${sandbox.url}/`, { headers: { 'x-quad-service': 'payments' } })).version).toMatch(/^v2\.0\./);
    await new Promise((r) => setTimeout(r, 600)); // let each process report usage at least once
    const to = Date.now();

    const stats = await json(`${admin}/admin/services/payments/stats?from=${from}&to=${to}&interval_s=60`);
    expect(stats.intervals).toHaveLength(1);
    const [bucket] = stats.intervals;
    expect(bucket).toMatchObject({ from, to, at: to });
    const slow = bucket.versions['v2.0.1-slow'];
    const fast = bucket.versions['v2.0.0'];
    expect(slow.requests + fast.requests).toBe(81);
    expect(Math.abs(slow.requests - fast.requests)).toBeLessThanOrEqual(1);
    expect(slow.latencyP95Ms).toBeGreaterThanOrEqual(300);
    // the slow version's extra 300 ms is a floor; the fast one's figure is whatever this machine's load makes it
    expect(fast.latencyP95Ms).toBeLessThan(slow.latencyP95Ms);
    for (const side of [slow, fast]) {
      expect(side.errors).toBe(0);
      expect(side.cpuPct).toBeGreaterThanOrEqual(0);
      expect(side.memoryMb).toBeGreaterThan(10); // a node process's RSS, really measured
    }
    // checkout's versions do not leak into payments
    expect(Object.keys(bucket.versions).sort()).toEqual(['v2.0.0', 'v2.0.1-slow']);
  });

  it('buckets stats by the requested interval, oldest first, the last one clipped at `to`', async () => {
    const to = Date.now();
    const from = to - 10_500;
    const stats = await json(`${admin}/admin/services/checkout/stats?from=${from}&to=${to}&interval_s=2`);
    expect(stats.intervals).toHaveLength(6);
    expect(stats.intervals[0]).toMatchObject({ from, to: from + 2000 });
    expect(stats.intervals[5]).toMatchObject({ from: from + 10_000, to });
    const total = stats.intervals.reduce((s: number, b: any) => s + (b.versions['v1.2.5-bad']?.errors ?? 0), 0);
    const { versions } = await json(`${admin}/admin/services/checkout/versions`);
    expect(total).toBe(versions.find((v: any) => v.version === 'v1.2.5-bad').errors);
  });

  it('refuses bad input with 400 and unknown services with 404', async () => {
    expect((await put('checkout', { version: 'v1; rm -rf /', previousVersion: 'v1.2.3', percent: 10 })).status).toBe(400);
    expect((await put('checkout', { version: 'v1.2.6', previousVersion: 'v1.2.3', percent: 101 })).status).toBe(400);
    expect((await put('Bad Service', { version: 'v1.2.6', previousVersion: null, percent: 10 })).status).toBe(400);
    expect((await request(`${admin}/admin/services/nope/traffic`)).status).toBe(404);
    expect((await request(`${sandbox.url}/svc/nope/`)).status).toBe(503);
    expect((await request(`${admin}/admin/services/checkout/stats?from=10&to=5&interval_s=1`)).status).toBe(400);
    const { changeCount } = await json(`${admin}/admin/services/checkout/traffic`);
    expect(changeCount).toBe(4);
  });
});

describe('sandbox with the admin API on the router port', () => {
  it('serves /admin and traffic from one port', async () => {
    const sandbox = await startSandbox({ port: 0 });
    try {
      expect(sandbox.adminUrl).toBe(sandbox.url);
      expect((await request(`${sandbox.url}/`)).status).toBe(503); // nothing deployed yet
      const set = await json(`${sandbox.url}/admin/services/checkout/traffic`, {
        method: 'PUT',
        body: { version: 'v1.0.0', previousVersion: null, percent: 10 },
      });
      expect(set).toMatchObject({ version: 'v1.0.0', previousVersion: null, percent: 10, changed: true });
      // a first release has no previous version: the only version serves everything
      const replies = await burst(`${sandbox.url}/`, 10, 5);
      expect(count(replies, (r) => r.version === 'v1.0.0' && r.status === 200)).toBe(10);
    } finally {
      await sandbox.stop();
    }
  });
});
