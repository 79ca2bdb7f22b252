// The service's pick without processes: a sticky split gives a user the side it was assigned when first
// seen, first-seen users go B/A in exactly the configured proportion, a change of percent or versions
// starts a fresh assignment, and requests without a user keep the exact proportions.
import { rng } from '../test/support/prng';
import { MAX_STICKY_USERS, SandboxService } from './service';

describe('SandboxService.pick', () => {
  const service = (maxStickyUsers?: number) => new SandboxService('checkout', {}, null, maxStickyUsers);
  const users = (n: number) => Array.from({ length: n }, (_, k) => `user-${k}`);

  it('sends a user on a sticky split always to one side: one version over 20 requests', () => {
    const s = service();
    s.setTraffic({ version: 'v2', previousVersion: 'v1', percent: 50, sticky: true });
    for (const u of ['user-7', 'user-42', 'user-999', 'user-0']) {
      const seen = new Set(Array.from({ length: 20 }, () => s.pick(u)));
      expect(seen.size).toBe(1);
    }
    // interleaved with other users and anonymous requests, still the same side
    const first = new Map(users(100).map((u) => [u, s.pick(u)]));
    for (let i = 0; i < 20; i += 1) {
      for (const u of users(100)) expect(s.pick(u)).toBe(first.get(u));
      s.pick();
    }
  });

  it('splits first-seen users exactly: 1,000 users 500/500 at 50 %, 100/900 at 10 %, 333 or 334 of 1,000 at 33.3 %', () => {
    const at = (percent: number) => {
      const s = service();
      s.setTraffic({ version: 'v2', previousVersion: 'v1', percent, sticky: true });
      return users(1000).filter((u) => s.pick(u) === 'v2').length;
    };
    expect(at(50)).toBe(500);
    expect(at(10)).toBe(100);
    expect(at(25)).toBe(250);
    expect([333, 334]).toContain(at(33.3));
    expect(at(0)).toBe(0);
    expect(at(100)).toBe(1000);
  });

  it('holds the share of visits within ±2 % at 50 % over 20k requests from 1,000 uniform users', () => {
    const s = service();
    s.setTraffic({ version: 'v2', previousVersion: 'v1', percent: 50, sticky: true });
    const random = rng(20261201);
    const sides = new Map<string, Set<string | null>>();
    let onB = 0;
    for (let i = 0; i < 20_000; i += 1) {
      const u = `user-${Math.floor(random() * 1000)}`;
      const v = s.pick(u);
      if (v === 'v2') onB += 1;
      if (!sides.has(u)) sides.set(u, new Set());
      sides.get(u)!.add(v);
    }
    // each user's visits ~ Poisson(20): B's share has sd about 0.35 %, so ±2 % is about 6 sd
    expect(Math.abs(onB / 20_000 - 0.5)).toBeLessThan(0.02);
    expect([...sides.values()].every((set) => set.size === 1)).toBe(true);
    expect(sides.size).toBe(1000);
    expect(s.stickyUsers).toBe(1000);
  });

  it('starts a fresh assignment when the percent or the versions change, that holds the new share exactly', () => {
    const s = service();
    s.setTraffic({ version: 'v2', previousVersion: 'v1', percent: 10, sticky: true });
    expect(users(1000).filter((u) => s.pick(u) === 'v2')).toHaveLength(100);
    s.setTraffic({ version: 'v2', previousVersion: 'v1', percent: 50, sticky: true });
    expect(s.stickyUsers).toBe(0);
    expect(users(1000).filter((u) => s.pick(u) === 'v2')).toHaveLength(500);
    s.setTraffic({ version: 'v3', previousVersion: 'v1', percent: 50, sticky: true });
    expect(s.stickyUsers).toBe(0);
    expect(users(1000).filter((u) => s.pick(u) === 'v3')).toHaveLength(500);
  });

  it('keeps the assignment over a change of stickiness alone, and a repeat of the split', () => {
    const s = service();
    s.setTraffic({ version: 'v2', previousVersion: 'v1', percent: 50, sticky: true });
    const first = new Map(users(200).map((u) => [u, s.pick(u)]));
    expect(s.setTraffic({ version: 'v2', previousVersion: 'v1', percent: 50, sticky: true })).toBeNull();
    s.setTraffic({ version: 'v2', previousVersion: 'v1', percent: 50 });
    s.setTraffic({ version: 'v2', previousVersion: 'v1', percent: 50, sticky: true });
    for (const u of users(200)) expect(s.pick(u)).toBe(first.get(u));
  });

  it('remembers at most its bound of users, forgetting the least recently seen first', () => {
    expect(MAX_STICKY_USERS).toBe(200_000);
    const s = service(3);
    s.setTraffic({ version: 'v2', previousVersion: 'v1', percent: 50, sticky: true });
    // a → v1, b → v2, c → v1
    expect(['a', 'b', 'c'].map((u) => s.pick(u))).toEqual(['v1', 'v2', 'v1']);
    expect(s.pick('a')).toBe('v1'); // a is now the most recent; b the oldest
    expect(s.pick('d')).toBe('v2'); // full: b is forgotten
    expect(s.stickyUsers).toBe(3);
    expect(s.pick('a')).toBe('v1');
    expect(s.pick('c')).toBe('v1');
    expect(s.pick('d')).toBe('v2');
    expect(s.pick('b')).toBe('v1'); // b returns as a new user with the next side; a, now the oldest, is forgotten
    expect(s.stickyUsers).toBe(3);
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
    // first-seen users keep their own exact proportion whatever the anonymous requests in between
    const mixed = users(100).map((u) => {
      s.pick();
      return s.pick(u);
    });
    expect(mixed.filter((v) => v === 'v2')).toHaveLength(25);
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
