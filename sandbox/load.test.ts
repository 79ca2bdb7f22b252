// The load generator against a real sandbox: it keeps the asked rate, stops by itself at its max
// duration, and its counts agree with what the router recorded.
import http from 'node:http';
import { startLoad } from './load';
import { startSandbox, type Sandbox } from './sandbox';

describe('load generator', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, initial: { checkout: 'v1.0.0', search: 'v3.0.0-bad' } });
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
