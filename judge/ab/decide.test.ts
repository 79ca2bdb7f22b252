// decideAb on known cases: clear wins and losses, a tie over time, sample ratio mismatches, zero
// counts, non-inferiority and margins, and the wording of its sentence.
import { AB_PLAN_DEFAULTS, type AbPlan, decideAb } from './decide';

const HOUR = 3600_000;
const plan: AbPlan = { ...AB_PLAN_DEFAULTS, weightB: 0.5, minDetectableEffect: 0.03, maxDurationMs: 2 * HOUR };

const arms = (n: number, rateA: number, rateB: number, nB = n) => ({
  a: { visits: n, conversions: Math.round(n * rateA) },
  b: { visits: nB, conversions: Math.round(nB * rateB) },
});

describe('decideAb', () => {
  it('ships B on a clear +10 % lift with enough data', () => {
    const d = decideAb(plan, { ...arms(200000, 0.03, 0.033), elapsedMs: HOUR / 2 });
    expect(d.kind).toBe('ship_b');
    expect(d.lift).toBeCloseTo(0.1, 9);
    expect(d.liftLow).toBeGreaterThan(0);
    expect(d.liftHigh).toBeGreaterThan(0.1);
    expect(d.pValue).toBeLessThan(0.05);
    expect(d.text).toMatch(/: shipping B$/);
  });

  it('does not ship the same +10 % on too little data', () => {
    expect(decideAb(plan, { ...arms(5000, 0.03, 0.033), elapsedMs: 60_000 }).kind).toBe('continue');
  });

  it('keeps A early on a clear -10 %', () => {
    const d = decideAb(plan, { ...arms(200000, 0.03, 0.027), elapsedMs: HOUR / 2 });
    expect(d.kind).toBe('keep_a');
    expect(d.liftHigh).toBeLessThan(0);
    expect(d.text).toMatch(/: B is worse than A, keeping A$/);
  });

  it('equal rates continue at small n and end keep_a, inconclusive, at the maximum duration', () => {
    const early = decideAb(plan, { ...arms(20000, 0.03, 0.03), elapsedMs: 10 * 60_000 });
    expect(early.kind).toBe('continue');
    expect(early.text).toMatch(/: continuing$/);
    const end = decideAb(plan, { ...arms(1400000, 0.03, 0.03), elapsedMs: 2 * HOUR });
    expect(end.kind).toBe('keep_a');
    expect(end.liftLow).toBeLessThan(0);
    expect(end.liftHigh).toBeGreaterThan(0);
    expect(end.text).toMatch(/: inconclusive at the maximum duration \(2 h\), keeping A$/);
  });

  it('stops on a 55/45 split of a 50/50 test before looking at conversions, naming both splits', () => {
    const d = decideAb(plan, { ...arms(11000, 0.03, 0.06, 9000), elapsedMs: HOUR / 4 });
    expect(d.kind).toBe('stop_srm');
    expect(d.srm).toEqual({ tripped: true, observedShareB: 0.45, expectedShareB: 0.5 });
    expect(d.text).toBe('Sample ratio mismatch: B got 45.00 % of 20000 visits against 50.00 % configured: stopping, the conversions cannot be compared');
  });

  it('a 51/49 split at small n is no mismatch', () => {
    const d = decideAb(plan, { ...arms(510, 0.03, 0.03, 490), elapsedMs: 60_000 });
    expect(d.srm.tripped).toBe(false);
    expect(d.kind).toBe('continue');
  });

  it('zero counts give finite numbers and continue', () => {
    for (const obs of [arms(0, 0, 0), arms(1000, 0, 0), arms(0, 0, 0.03, 1000)]) {
      const d = decideAb(plan, { ...obs, elapsedMs: 0 });
      for (const v of [d.rateA, d.rateB, d.lift, d.liftLow, d.liftHigh, d.pValue]) expect(Number.isFinite(v)).toBe(true);
      if (obs.b.visits > 0 && obs.a.visits === 0) expect(d.kind).toBe('stop_srm');
      else expect(d.kind).toBe('continue');
    }
  });

  it('a rate A of 0 still gives a finite lift, and B converting against none of A ships', () => {
    // tau is sized for MDE-sized lifts on a rate this small, so an unbounded lift still needs volume
    const d = decideAb(plan, { a: { visits: 1000000, conversions: 0 }, b: { visits: 1000000, conversions: 300 }, elapsedMs: HOUR });
    expect(d.rateA).toBe(0);
    expect(Number.isFinite(d.lift) && Number.isFinite(d.liftHigh)).toBe(true);
    expect(d.kind).toBe('ship_b');
  });

  it('non-inferiority ships a B equal to A once the sequence is inside the margin; superiority with the same margin keeps A', () => {
    const obs = { ...arms(1400000, 0.03, 0.03), elapsedMs: HOUR };
    const ni = decideAb({ ...plan, nonInferiority: true, margin: 0.03 }, obs);
    expect(ni.kind).toBe('ship_b');
    expect(ni.liftLow).toBeGreaterThan(-0.03);
    expect(ni.text).toMatch(/: B is not worse than -3\.0 %, shipping B$/);
    const sup = decideAb({ ...plan, margin: 0.03 }, obs);
    expect(sup.kind).toBe('keep_a');
    expect(sup.text).toMatch(/: B cannot reach \+3\.0 %, keeping A$/);
  });

  it('non-inferiority keeps A when B is clearly worse than the margin', () => {
    const d = decideAb({ ...plan, nonInferiority: true, margin: 0.02 }, { ...arms(400000, 0.03, 0.027), elapsedMs: HOUR });
    expect(d.kind).toBe('keep_a');
    expect(d.text).toMatch(/: B is worse than -2\.0 %, keeping A$/);
  });

  it('a margin holds back a lift whose lower bound does not clear it', () => {
    const obs = { ...arms(200000, 0.03, 0.033), elapsedMs: HOUR };
    const plain = decideAb(plan, obs);
    expect(plain.kind).toBe('ship_b');
    const strict = decideAb({ ...plan, margin: plain.liftLow + 0.01 }, obs);
    expect(strict.kind).toBe('continue');
  });

  it('writes rates with 2 decimals and signed lift and bounds with 1, at the plan level', () => {
    const d = decideAb(plan, { a: { visits: 400000, conversions: 13240 }, b: { visits: 400000, conversions: 13640 }, elapsedMs: HOUR });
    expect(d.text).toMatch(/^B converts 3\.41 % vs A 3\.31 % \(\+3\.0 %, 95 % confidence sequence [+-]\d+\.\d % to \+\d+\.\d %\): (shipping B|continuing)$/);
    const bounds = d.text.match(/sequence ([+-][\d.]+) % to ([+-][\d.]+) %/)!;
    expect(Number(bounds[1])).toBeCloseTo(d.liftLow * 100, 1);
    expect(Number(bounds[2])).toBeCloseTo(d.liftHigh * 100, 1);
    const at99 = decideAb({ ...plan, alpha: 0.01 }, { ...arms(1000, 0.03, 0.03), elapsedMs: 0 });
    expect(at99.text).toMatch(/^B converts 3\.00 % vs A 3\.00 % \(\+0\.0 %, 99 % confidence sequence -\d+\.\d % to \+\d+\.\d %\): continuing$/);
  });
});
