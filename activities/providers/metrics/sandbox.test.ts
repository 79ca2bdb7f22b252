// The sandbox metrics source over a real sandbox under real load: a -bad canary shows its errors,
// the baseline none, and the split shows in the request counts.
import { startLoad } from '../../../sandbox/load';
import { startSandbox, type Sandbox } from '../../../sandbox/sandbox';
import { SandboxDeployer } from '../deployers/sandbox';
import { SandboxMetricsSource } from './sandbox';

describe('SandboxMetricsSource', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, initial: { checkout: 'v1.2.3' } });
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
    expect(busy.canary!.latencyP95Ms).toBeLessThan(200);
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
});
