// The service's pick without processes: a sticky split is a pure function of the user, a ramp only adds
// users to the new version, and requests without a user keep the exact proportions.
import { SandboxService, stickyPoint } from './service';

describe('stickyPoint', () => {
  it('is stable per user and service, in [0, 100), and spreads users evenly', () => {
    expect(stickyPoint('checkout', 'user-1')).toBe(stickyPoint('checkout', 'user-1'));
    expect(stickyPoint('checkout', 'user-1')).not.toBe(stickyPoint('checkout', 'user-2'));
    const deciles = new Array<number>(10).fill(0);
    for (let k = 0; k < 10_000; k += 1) {
      const p = stickyPoint('checkout', `user-${k}`);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(100);
      deciles[Math.floor(p / 10)] += 1;
    }
    // a fair split puts 1000 ± 30 (sd) in each decile; ±200 is far outside chance for a uniform hash
    for (const n of deciles) expect(Math.abs(n - 1000)).toBeLessThan(200);
  });
});

describe('SandboxService.pick', () => {
  const service = () => new SandboxService('checkout', {});

  it('sends a user on a sticky split always to one side, and a ramp never moves a user back', () => {
    const s = service();
    s.setTraffic({ version: 'v2', previousVersion: 'v1', percent: 10, sticky: true });
    const users = Array.from({ length: 500 }, (_, k) => `user-${k}`);
    const at10 = new Map(users.map((u) => [u, s.pick(u)]));
    for (const u of users) for (let i = 0; i < 5; i += 1) expect(s.pick(u)).toBe(at10.get(u));
    s.setTraffic({ version: 'v2', previousVersion: 'v1', percent: 50, sticky: true });
    const inB = users.filter((u) => s.pick(u) === 'v2');
    for (const u of users.filter((x) => at10.get(x) === 'v2')) expect(inB).toContain(u);
    expect(inB.length).toBeGreaterThan(users.filter((u) => at10.get(u) === 'v2').length);
  });

  it('ignores the user without sticky and for requests without one: exact proportions', () => {
    const s = service();
    s.setTraffic({ version: 'v2', previousVersion: 'v1', percent: 25 });
    expect(s.traffic).toMatchObject({ sticky: false });
    const plain = Array.from({ length: 100 }, () => s.pick('user-1'));
    expect(plain.filter((v) => v === 'v2')).toHaveLength(25);
    s.setTraffic({ version: 'v2', previousVersion: 'v1', percent: 25, sticky: true });
    const anonymous = Array.from({ length: 100 }, () => s.pick());
    expect(anonymous.filter((v) => v === 'v2')).toHaveLength(25);
  });

  it('records a change of stickiness alone, and a repeat as no change', () => {
    const s = service();
    expect(s.setTraffic({ version: 'v2', previousVersion: 'v1', percent: 50 })).not.toBeNull();
    expect(s.setTraffic({ version: 'v2', previousVersion: 'v1', percent: 50, sticky: false })).toBeNull();
    expect(s.setTraffic({ version: 'v2', previousVersion: 'v1', percent: 50, sticky: true })).toMatchObject({
      seq: 2,
      sticky: true,
      before: { sticky: false },
    });
    expect(s.setTraffic({ version: 'v2', previousVersion: 'v1', percent: 50, sticky: true })).toBeNull();
  });
});
