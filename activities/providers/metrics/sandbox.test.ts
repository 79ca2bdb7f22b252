// The sandbox metrics source over a real sandbox under real load: a -bad canary shows its errors,
// the baseline none, and the split shows in the request counts; conversions come back per A/B side.
import { startLoad } from '../../../sandbox/load';
import { startSandbox, type Sandbox } from '../../../sandbox/sandbox';
import { SandboxDeployer } from '../deployers/sandbox';
import { SandboxMetricsSource } from './sandbox';

describe('SandboxMetricsSource', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    // search's new version converts every successful visit, so its counts are exact
    sandbox = await startSandbox({ port: 0, initial: { checkout: 'v1.2.3', search: 'v4.0.0' }, behaviours: { 'v4.1.0-bad': { conversionRate: 1 } } });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('returns one sample per interval: canary = version, baseline = previousVersion', async () => {
    const target = { service: 'checkout', version: 'v1.2.4-bad', previousVersion: 'v1.2.3' };
    await new SandboxDeployer({ url: sandbox.adminUrl }).setTraffic(target, 50);
    const from = Date.now();
    const counts = await startLoad({ url: sandbox.url, rps: 200, maxDurationS: 2 }).done;
    await new Promise((r) => setTimeout(r, 300));
    const to = from + 3000;

    const metrics = new SandboxMetricsSource({ url: sandbox.url });
    const samples = await metrics.fetch({ ...target, from, to, intervalS: 1 });
    expect(samples.map((s) => s.at)).toEqual([from + 1000, from + 2000, from + 3000]);
    expect(samples.every((s) => s.intervalS === 1)).toBe(true);

    const sum = (side: 'canary' | 'baseline', key: 'requests' | 'errors') => samples.reduce((n, s) => n + (s[side]?.[key] ?? 0), 0);
    expect(sum('canary', 'requests') + sum('baseline', 'requests')).toBe(counts.sent);
    expect(Math.abs(sum('canary', 'requests') - sum('baseline', 'requests'))).toBeLessThanOrEqual(1);
    expect(sum('canary', 'errors')).toBe(counts.errors);
    expect(sum('canary', 'errors')).toBeGreaterThan(0); // binomial(~200, 0.08): P(0) < 1e-7
    expect(sum('baseline', 'errors')).toBe(0);
    const busy = samples[0];
    expect(busy.canary!.latencyP95Ms).toBeGreaterThan(0);
    // a measured round trip, so bounded only by the window itself: how fast depends on how busy the machine is
    expect(busy.canary!.latencyP95Ms).toBeLessThan(3000);
    expect(busy.baseline!.memoryMb).toBeGreaterThan(10);
  });

  it('gives null for a side the sandbox never ran and for a first release', async () => {
    const now = Date.now();
    const unknown = await new SandboxMetricsSource({ url: sandbox.url }).fetch({
      service: 'checkout',
      version: 'v9.9.9',
      previousVersion: null,
      from: now - 2000,
      to: now,
      intervalS: 1,
    });
    expect(unknown).toHaveLength(2);
    for (const s of unknown) {
      expect(s.canary).toBeNull();
      expect(s.baseline).toBeNull();
    }
  });

  it('returns conversions: a = the previous version, b = the new one, over [from, to)', async () => {
    const target = { service: 'search', version: 'v4.1.0-bad', previousVersion: 'v4.0.0' };
    await new SandboxDeployer({ url: sandbox.adminUrl }).setTraffic(target, 50);
    const from = Date.now();
    const counts = await startLoad({ url: sandbox.url, rps: 200, maxDurationS: 1.5, service: 'search' }).done;
    const to = Date.now() + 1;

    const metrics = new SandboxMetricsSource({ url: sandbox.url });
    const { a, b } = await metrics.conversions({ ...target, from, to });
    expect(a!.visits + b!.visits).toBe(counts.sent);
    expect(Math.abs(a!.visits - b!.visits)).toBeLessThanOrEqual(1);
    // every visit B answered without a 5xx converted; the load's errors all came from B
    expect(b!.conversions).toBe(b!.visits - counts.errors);
    expect(a!.conversions).toBe(sandbox.service('search')!.entry('v4.0.0').log.conversions);
    expect(a!.conversions).toBeLessThanOrEqual(a!.visits);

    // the window is honoured: before the load nothing was visited
    expect(await metrics.conversions({ ...target, from: from - 60_000, to: from })).toEqual({
      a: { visits: 0, conversions: 0 },
      b: { visits: 0, conversions: 0 },
    });
    // a version the sandbox never ran, and a first release, are no data
    expect(await metrics.conversions({ ...target, version: 'v9.9.9', previousVersion: null, from, to })).toEqual({ a: null, b: null });
    expect(await metrics.conversions({ service: 'never', version: 'v1', previousVersion: 'v0', from, to })).toEqual({ a: null, b: null });
  });

  it('keeps samples to the contract: the stats API’s conversions stay out of fetch', async () => {
    const now = Date.now();
    const samples = await new SandboxMetricsSource({ url: sandbox.url }).fetch({
      service: 'search',
      version: 'v4.1.0-bad',
      previousVersion: 'v4.0.0',
      from: now - 5000,
      to: now,
      intervalS: 5,
    });
    expect(Object.keys(samples[0].canary!).sort()).toEqual(['cpuPct', 'errors', 'latencyP95Ms', 'memoryMb', 'requests']);
  });
});
