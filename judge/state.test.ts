// The guard state: plain JSON that survives heartbeats, never mutated, deterministic.
import { guardStep } from './guard';
import { newGuardState, type GuardState } from './state';
import { criteria, healthy, stream } from '../test/support/judge-streams';
import { judgeWindow } from './window';

describe('guard state', () => {
  it('survives a JSON round trip (heartbeat details) and is never mutated', () => {
    const samples = stream(
      40,
      3,
      () => healthy(9_000),
      (t) => ({ ...healthy(1000), latency: t >= 25 ? 300 : 120, errorRate: t >= 25 ? 0.05 : 0.01 }),
    );
    let direct: GuardState = newGuardState(40);
    let viaJson: GuardState = newGuardState(40);
    const breaches: [number | null, number | null] = [null, null];
    for (const s of samples) {
      const frozen = JSON.stringify(direct);
      const a = guardStep(direct, s, criteria);
      expect(JSON.stringify(direct)).toBe(frozen);
      direct = a.state;
      const b = guardStep(JSON.parse(JSON.stringify(viaJson)) as GuardState, s, criteria);
      viaJson = b.state;
      if (a.breach && breaches[0] === null) breaches[0] = a.breach.interval;
      if (b.breach && breaches[1] === null) breaches[1] = b.breach.interval;
    }
    expect(breaches[0]).not.toBeNull();
    expect(breaches[1]).toBe(breaches[0]);
    expect(JSON.stringify(viaJson)).toBe(JSON.stringify(direct));
  });

  it('is deterministic', () => {
    const samples = stream(
      90,
      12,
      () => healthy(4_500),
      (t) => ({ ...healthy(500), errorRate: t > 40 ? 0.08 : 0.01 }),
    );
    expect(JSON.stringify(judgeWindow(samples, criteria))).toBe(JSON.stringify(judgeWindow(samples, criteria)));
  });
});
