// A/B in the sandbox over real sockets: visits convert at the version's rate (never on a 5xx), a sticky
// split keeps each user on one variant (1,000 users exactly 500/500), a version that left the split stays warm until retire, and a
// version's own endpoint (/pin/…) reaches it whatever the split.
import http from 'node:http';
import { startSandbox, type Sandbox } from './sandbox';

interface Reply {
  status: number;
  version: string | undefined;
  body: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(url: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, method: init.method ?? 'GET', headers: { 'content-type': 'application/json', ...init.headers } }, (res) => {
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

/** n requests, `parallel` at a time; headersOf(i) gives request i's headers */
async function burst(url: string, n: number, parallel = 32, headersOf?: (i: number) => Record<string, string>): Promise<Reply[]> {
  const replies: Reply[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) {
        const i = next++;
        replies.push(await request(url, { headers: headersOf?.(i) }));
      }
    }),
  );
  return replies;
}

const count = (replies: Reply[], pred: (r: Reply) => boolean) => replies.filter(pred).length;

describe('sandbox A/B', () => {
  let sandbox: Sandbox;
  let admin: string;
  const traffic = (service: string, body: unknown) => json(`${admin}/admin/services/${service}/traffic`, { method: 'PUT', body });
  const versions = async (service: string) => (await json<{ versions: any[] }>(`${admin}/admin/services/${service}/versions`)).versions;
  const row = async (service: string, version: string) => (await versions(service)).find((v) => v.version === version);

  beforeAll(async () => {
    // no retireAfterMs: the default under test; one version converts every successful visit
    sandbox = await startSandbox({ port: 0, adminPort: 0, initial: { shop: 'v1.0.0' }, behaviours: { 'v3.0.0-bad': { conversionRate: 1 } } });
    admin = sandbox.adminUrl;
  });
  afterAll(async () => {
    await sandbox?.stop();
    agent.destroy();
  });

  it('converts visits at each version’s rate: -convert10 about 3.3 %, plain about 3 %, counted per window', async () => {
    await traffic('shop', { version: 'v1.1.0-convert10', previousVersion: 'v1.0.0', percent: 50 });
    const from = Date.now();
    const replies = await burst(`${sandbox.url}/svc/shop/buy`, 20_000, 64);
    const to = Date.now() + 1;
    expect(count(replies, (r) => r.status === 200)).toBe(20_000);

    const { versions: conv } = await json(`${admin}/admin/services/shop/conversions?from=${from}&to=${to}`);
    const plain = conv['v1.0.0'];
    const convert = conv['v1.1.0-convert10'];
    expect(plain.visits).toBe(10_000);
    expect(convert.visits).toBe(10_000);
    // binomial(10 000, p): ±5 sd (P(outside) < 1e-6) — plain p = 0.03 (sd 17), convert10 p = 0.033 (sd 17.9)
    expect(plain.conversions).toBeGreaterThanOrEqual(300 - 86);
    expect(plain.conversions).toBeLessThanOrEqual(300 + 86);
    expect(convert.conversions).toBeGreaterThanOrEqual(330 - 90);
    expect(convert.conversions).toBeLessThanOrEqual(330 + 90);
    // the same counts the router kept in-process, and in the stats buckets
    expect(convert.conversions).toBe(sandbox.service('shop')!.entry('v1.1.0-convert10').log.conversions);
    expect((await row('shop', 'v1.1.0-convert10')).behaviour.conversionRate).toBeCloseTo(0.033, 12);
    expect((await row('shop', 'v1.0.0')).behaviour.conversionRate).toBe(0.03);
    const stats = await json(`${admin}/admin/services/shop/stats?from=${from}&to=${to}&interval_s=3600`);
    expect(stats.intervals[0].versions['v1.1.0-convert10']).toMatchObject({ requests: 10_000, conversions: convert.conversions });

    // a window before any of it has no visits; a bad window is refused
    expect((await json(`${admin}/admin/services/shop/conversions?from=${from - 60_000}&to=${from}`)).versions['v1.1.0-convert10']).toEqual({
      visits: 0,
      conversions: 0,
    });
    expect((await request(`${admin}/admin/services/shop/conversions?from=${to}&to=${from}`)).status).toBe(400);
    expect((await json(`${admin}/admin/services/never/conversions?from=${from}&to=${to}`)).versions).toEqual({});
  });

  it('never converts a 5xx: with conversionRate 1 every successful visit converts and no failed one', async () => {
    await traffic('shop', { version: 'v3.0.0-bad', previousVersion: 'v1.0.0', percent: 100 });
    const from = Date.now();
    const replies = await burst(`${sandbox.url}/svc/shop/`, 1000);
    const to = Date.now() + 1;
    const errors = count(replies, (r) => r.status === 500);
    expect(errors).toBeGreaterThan(0); // binomial(1000, 0.08): P(0) < 1e-30
    const { versions: conv } = await json(`${admin}/admin/services/shop/conversions?from=${from}&to=${to}`);
    expect(conv['v3.0.0-bad']).toEqual({ visits: 1000, conversions: 1000 - errors });
  });

  it('sticky: a user sees one version across 20 requests, and 1000 users split exactly 500/500 at 50 %', async () => {
    const set = await traffic('shop', { version: 'v1.2.0', previousVersion: 'v1.0.0', percent: 50, sticky: true });
    expect(set).toMatchObject({ sticky: true, changed: true });
    expect(await json(`${admin}/admin/services/shop/traffic`)).toMatchObject({ version: 'v1.2.0', percent: 50, sticky: true });

    for (const user of ['user-7', 'user-42', 'user-999']) {
      const seen = await burst(`${sandbox.url}/svc/shop/`, 20, 5, () => ({ 'x-quad-user': user }));
      expect(new Set(seen.map((r) => r.version)).size).toBe(1);
    }
    // users are assigned when first seen, by exact error diffusion: 1000 users split exactly 500/500
    const perUser = await burst(`${sandbox.url}/svc/shop/`, 1000, 32, (i) => ({ 'x-quad-user': `user-${i}` }));
    expect(count(perUser, (r) => r.version === 'v1.2.0')).toBe(500);
    expect(count(perUser, (r) => r.version === 'v1.0.0')).toBe(500);
    // a second round of the same users: the same 500 on B, and a user alone keeps its side
    const again = await burst(`${sandbox.url}/svc/shop/`, 1000, 32, (i) => ({ 'x-quad-user': `user-${i}` }));
    expect(count(again, (r) => r.version === 'v1.2.0')).toBe(500);
    const byUser = await Promise.all(['user-3', 'user-500', 'user-998'].map((u) => burst(`${sandbox.url}/svc/shop/`, 10, 5, () => ({ 'x-quad-user': u }))));
    for (const seen of byUser) expect(new Set(seen.map((r) => r.version)).size).toBe(1);

    // requests without a user are still split in exact proportions
    const anonymous = await burst(`${sandbox.url}/svc/shop/`, 100);
    expect(count(anonymous, (r) => r.version === 'v1.2.0')).toBe(50);
    expect(
      (
        await request(`${admin}/admin/services/shop/traffic`, {
          method: 'PUT',
          body: { version: 'v1.2.0', previousVersion: 'v1.0.0', percent: 50, sticky: 'yes' },
        })
      ).status,
    ).toBe(400);
  });

  it('without sticky a user is split like anyone, and GET traffic says sticky false', async () => {
    await traffic('shop', { version: 'v1.2.0', previousVersion: 'v1.0.0', percent: 50 });
    expect(await json(`${admin}/admin/services/shop/traffic`)).toMatchObject({ percent: 50, sticky: false });
    const seen = await burst(`${sandbox.url}/svc/shop/`, 20, 1, () => ({ 'x-quad-user': 'user-7' }));
    expect(count(seen, (r) => r.version === 'v1.2.0')).toBe(10);
  });

  it('keeps the previous version warm after traffic left it, so a revert reaches the same process, until retire', async () => {
    await traffic('shop', { version: 'v1.2.0', previousVersion: 'v1.0.0', percent: 100 });
    const blue = await row('shop', 'v1.0.0');
    expect(blue.state).toBe('running');
    await traffic('shop', { version: 'v1.2.0', previousVersion: null, percent: 100 });
    // nothing is scheduled to stop it: no grace timer, whatever time passes
    expect(sandbox.service('shop')!.entry('v1.0.0').retireTimer).toBeNull();
    expect((await burst(`${sandbox.url}/svc/shop/`, 20)).every((r) => r.version === 'v1.2.0')).toBe(true);
    expect(await row('shop', 'v1.0.0')).toMatchObject({ state: 'running', pid: blue.pid, starts: blue.starts });

    // revert: blue serves again from the process that never stopped
    await traffic('shop', { version: 'v1.2.0', previousVersion: 'v1.0.0', percent: 0 });
    expect((await burst(`${sandbox.url}/svc/shop/`, 20)).every((r) => r.version === 'v1.0.0' && r.status === 200)).toBe(true);
    expect(await row('shop', 'v1.0.0')).toMatchObject({ state: 'running', pid: blue.pid, starts: blue.starts });
    expect(() => process.kill(blue.pid, 0)).not.toThrow();

    // retire is what stops what the split does not route to
    const { stopped } = await json(`${admin}/admin/services/shop/retire`, { method: 'PUT' });
    expect(stopped).toEqual(expect.arrayContaining(['v1.2.0', 'v1.1.0-convert10', 'v3.0.0-bad']));
    expect(stopped).not.toContain('v1.0.0');
    expect((await row('shop', 'v1.2.0')).state).toBe('stopped');
  });

  it('pins: /pin/<version>/svc/<service> reaches a prepared version with no traffic, counted in its stats', async () => {
    await json(`${admin}/admin/services/shop/prepare`, { method: 'PUT', body: { version: 'v2.0.0-rc.1' } });
    const before = (await row('shop', 'v2.0.0-rc.1')).requests;
    const pinned = await burst(`${sandbox.url}/pin/v2.0.0-rc.1/svc/shop/health?x=1`, 10, 5);
    expect(pinned.every((r) => r.status === 200 && r.version === 'v2.0.0-rc.1')).toBe(true);
    expect(JSON.parse(pinned[0].body)).toMatchObject({ version: 'v2.0.0-rc.1' });
    // the split is untouched: users still get the serving version only
    expect((await burst(`${sandbox.url}/svc/shop/`, 10)).every((r) => r.version === 'v1.0.0')).toBe(true);
    expect((await row('shop', 'v2.0.0-rc.1')).requests).toBe(before + 10);
    // the serving version can be pinned too, and the root path works
    expect((await request(`${sandbox.url}/pin/v1.0.0/svc/shop`)).version).toBe('v1.0.0');
  });

  it('pins: 404 with a JSON error for a version that is not running (and does not start it), 400 on bad input', async () => {
    const notRunning = await request(`${sandbox.url}/pin/v9.9.9/svc/shop/`);
    expect(notRunning.status).toBe(404);
    expect(JSON.parse(notRunning.body).error).toMatch(/shop@v9\.9\.9 is not running/);
    // retired earlier: stays stopped after a pinned request
    expect((await request(`${sandbox.url}/pin/v1.2.0/svc/shop/`)).status).toBe(404);
    expect((await row('shop', 'v1.2.0')).state).toBe('stopped');
    expect(await row('shop', 'v9.9.9')).toBeUndefined();
    expect((await request(`${sandbox.url}/pin/v1.0.0/svc/nope/`)).status).toBe(404);

    expect((await request(`${sandbox.url}/pin/v1%3Brm/svc/shop/`)).status).toBe(400);
    expect((await request(`${sandbox.url}/pin/v1.0.0/svc/Bad%20Service/`)).status).toBe(400);
    expect((await request(`${sandbox.url}/pin/v1%ZZ/svc/shop/`)).status).toBe(400);
    const shape = await request(`${sandbox.url}/pin/v1.0.0`);
    expect(shape.status).toBe(400);
    expect(JSON.parse(shape.body).error).toMatch(/\/pin\/<version>\/svc\/<service>/);
  });

  it('reports where the router listens in health', async () => {
    expect(await json(`${admin}/admin/health`)).toEqual({ ok: true, routerUrl: sandbox.url, adminOnRouter: false });
  });
});
