// The load generator against a real sandbox: it keeps the asked rate, stops by itself at its max
// duration, its counts agree with what the router recorded, and its users show a sticky split holding.
import http from 'node:http';
import { startLoad } from './load';
import { startSandbox, type Sandbox } from './sandbox';

describe('load generator', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, initial: { checkout: 'v1.0.0', search: 'v3.0.0-bad', cart: 'v5.0.0' } });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('sends rps requests per second and stops by itself at the max duration', async () => {
    const startedAt = Date.now();
    const load = startLoad({ url: sandbox.url, rps: 100, maxDurationS: 1.5 });
    const counts = await load.done;
    const elapsed = Date.now() - startedAt;
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(2500);
    expect(counts.sent).toBeGreaterThanOrEqual(140);
    expect(counts.sent).toBeLessThanOrEqual(150);
    expect(counts.ok).toBe(counts.sent);
    expect(counts.byVersion).toEqual({ 'v1.0.0': counts.sent });
    expect(sandbox.service('checkout')!.entry('v1.0.0').log.total).toBe(counts.sent);
  });

  it('sends to the named service, counts 5xx as errors, and stop() ends it early', async () => {
    const startedAt = performance.now();
    const load = startLoad({ url: sandbox.url, rps: 200, maxDurationS: 60, service: 'search' });
    await new Promise((r) => setTimeout(r, 1000));
    const stopAsked = performance.now();
    const counts = await load.stop();
    // a busy machine oversleeps the timer: bound by the time that really passed, one tick of slack
    const dueByStop = ((stopAsked - startedAt) / 1000) * 200;
    expect(counts.sent).toBeGreaterThanOrEqual(150);
    expect(counts.sent).toBeLessThanOrEqual(Math.ceil(dueByStop) + 2);
    expect(counts.ok + counts.errors + counts.failed).toBe(counts.sent);
    expect(counts.failed).toBe(0);
    expect(counts.errors).toBeGreaterThan(0);
    expect(counts.errors).toBe(sandbox.service('search')!.entry('v3.0.0-bad').log.errors);
    const sentAfterStop = load.counts().sent;
    await new Promise((r) => setTimeout(r, 200));
    expect(load.counts().sent).toBe(sentAfterStop);
  });

  it('shows stickiness through its users: none switches version under a sticky split, some do without', async () => {
    const split = (sticky: boolean) =>
      fetch(`${sandbox.adminUrl}/admin/services/cart/traffic`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ version: 'v5.1.0', previousVersion: 'v5.0.0', percent: 50, sticky }),
      }).then((r) => r.json());
    await split(true);
    // 300 requests from 50 users: each user sends ~6, so a non-sticky split would switch most of them
    const sticky = await startLoad({ url: sandbox.url, rps: 200, maxDurationS: 1.5, service: 'cart', users: 50 }).done;
    expect(sticky.ok).toBe(sticky.sent);
    expect(sticky.switchedUsers).toBe(0);
    expect(sticky.usersByVersion['v5.0.0'] + sticky.usersByVersion['v5.1.0']).toBeLessThanOrEqual(50);
    expect(sticky.usersByVersion['v5.0.0']).toBeGreaterThan(0);
    expect(sticky.usersByVersion['v5.1.0']).toBeGreaterThan(0);

    await split(false);
    const plain = await startLoad({ url: sandbox.url, rps: 200, maxDurationS: 1.5, service: 'cart', users: 50 }).done;
    // alternate requests go to alternate versions: a user with 2+ requests lands on both unless every one of them
    // fell on one parity; P(a given user with k requests avoids both) = 2^(1-k), so some surely switch
    expect(plain.switchedUsers).toBeGreaterThan(0);
  });

  it('counts requests that get no answer as failed', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', () => r()));
    const port = (dead.address() as { port: number }).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const counts = await startLoad({ url: `http://127.0.0.1:${port}/`, rps: 50, maxDurationS: 0.5 }).done;
    expect(counts.sent).toBeGreaterThan(0);
    expect(counts.failed).toBe(counts.sent);
  });
});
