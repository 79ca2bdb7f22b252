// The mSPRT on two conversion rates: its closed form, the edges (no visits, rates of 0 and 1, tiny
// samples), and by seeded simulation that the confidence sequence holds at every look.
import { rng } from '../../test/support/prng';
import { armVariance, differenceSequence, mixtureVariance, pooledMixtureVariance } from './sequential';

const TAU2 = mixtureVariance(0.03, 0.03);

/** Binomial(n, p) by inversion; the means used here are small enough for (1 - p)^n not to underflow. */
function binomial(r: () => number, n: number, p: number): number {
  const ratio = p / (1 - p);
  let pmf = Math.pow(1 - p, n);
  let cdf = pmf;
  const u = r();
  let k = 0;
  while (u > cdf && k < n) {
    pmf *= (ratio * (n - k)) / (k + 1);
    k++;
    cdf += pmf;
  }
  return k;
}

function logRatioAt(theta0: number, a: { visits: number; conversions: number }, b: { visits: number; conversions: number }): number {
  const v = armVariance(a) + armVariance(b);
  const gap = b.conversions / b.visits - a.conversions / a.visits - theta0;
  return 0.5 * Math.log(v / (v + TAU2)) + (gap * gap * TAU2) / (2 * v * (v + TAU2));
}

describe('mixture SPRT on pB - pA', () => {
  it('tau is the MDE as an absolute difference, floored above 0', () => {
    expect(mixtureVariance(0.03, 0.03)).toBeCloseTo(0.0009 ** 2, 15);
    expect(pooledMixtureVariance({ visits: 998, conversions: 20 }, { visits: 1000, conversions: 39 }, 0.03)).toBeCloseTo(0.0009 ** 2, 15);
    expect(pooledMixtureVariance({ visits: 0, conversions: 0 }, { visits: 0, conversions: 0 }, 0.03)).toBeCloseTo(0.015 ** 2, 15);
    expect(mixtureVariance(0.03, -0.03)).toBeCloseTo(0.0009 ** 2, 15);
    expect(mixtureVariance(0, 0.03)).toBe(1e-12);
  });

  it('the confidence sequence ends exactly where the likelihood ratio reaches 1/alpha', () => {
    const a = { visits: 40000, conversions: 1200 };
    const b = { visits: 40000, conversions: 1330 };
    const s = differenceSequence(a, b, 0.05, TAU2);
    expect(s.difference).toBeCloseTo(130 / 40000, 12);
    expect(logRatioAt(s.low, a, b)).toBeCloseTo(Math.log(20), 9);
    expect(logRatioAt(s.high, a, b)).toBeCloseTo(Math.log(20), 9);
    expect(s.logLikelihoodRatio).toBeCloseTo(logRatioAt(0, a, b), 12);
    expect(s.pValue).toBeCloseTo(Math.min(1, Math.exp(-logRatioAt(0, a, b))), 12);
  });

  it('p < alpha exactly when 0 is outside the sequence', () => {
    for (const kb of [1200, 1250, 1290, 1300, 1320, 1400, 1100, 1050]) {
      const s = differenceSequence({ visits: 40000, conversions: 1200 }, { visits: 40000, conversions: kb }, 0.05, TAU2);
      expect(s.pValue < 0.05).toBe(s.low > 0 || s.high < 0);
    }
  });

  it('narrows with more data and widens with a smaller alpha', () => {
    const at = (n: number, alpha: number) => differenceSequence({ visits: n, conversions: 0.03 * n }, { visits: n, conversions: 0.033 * n }, alpha, TAU2);
    const w = (s: { low: number; high: number }) => s.high - s.low;
    expect(w(at(100000, 0.05))).toBeLessThan(w(at(10000, 0.05)));
    expect(w(at(10000, 0.05))).toBeLessThan(w(at(1000, 0.05)));
    expect(w(at(10000, 0.01))).toBeGreaterThan(w(at(10000, 0.05)));
  });

  it('an arm with no visits gives no evidence and the whole range', () => {
    for (const [a, b] of [
      [0, 1000],
      [1000, 0],
      [0, 0],
    ]) {
      const s = differenceSequence({ visits: a, conversions: 0 }, { visits: b, conversions: b ? 30 : 0 }, 0.05, TAU2);
      expect([s.pValue, s.low, s.high, s.logLikelihoodRatio]).toEqual([1, -1, 1, 0]);
    }
  });

  it('rates of 0 and 1 and single visits stay finite and inside [-1, 1]', () => {
    const cases = [
      [1000, 0, 1000, 0],
      [1000, 1000, 1000, 1000],
      [1000, 0, 1000, 1000],
      [1, 0, 1, 1],
      [1, 1, 1, 0],
      [3, 0, 2, 0],
    ];
    for (const [na, ka, nb, kb] of cases) {
      const s = differenceSequence({ visits: na, conversions: ka }, { visits: nb, conversions: kb }, 0.05, TAU2);
      for (const v of [s.difference, s.variance, s.pValue, s.low, s.high, s.logLikelihoodRatio]) expect(Number.isFinite(v)).toBe(true);
      expect(s.low).toBeGreaterThanOrEqual(-1);
      expect(s.high).toBeLessThanOrEqual(1);
      expect(s.low).toBeLessThanOrEqual(s.difference);
      expect(s.high).toBeGreaterThanOrEqual(s.difference);
    }
    // all of B converting against none of A, on 1000 visits each, is overwhelming evidence
    expect(differenceSequence({ visits: 1000, conversions: 0 }, { visits: 1000, conversions: 1000 }, 0.05, TAU2).low).toBeGreaterThan(0.5);
    // a single visit each decides nothing
    const one = differenceSequence({ visits: 1, conversions: 0 }, { visits: 1, conversions: 1 }, 0.05, TAU2);
    expect(one.pValue).toBeGreaterThan(0.99);
    expect(one.low).toBeLessThan(0);
  });

  it('conversions above visits, negative or NaN counts are clamped, not propagated', () => {
    const s = differenceSequence({ visits: 100, conversions: 250 }, { visits: NaN, conversions: -3 }, 0.05, TAU2);
    expect(s.rateA).toBe(1);
    expect(s.rateB).toBe(0);
    expect(s.pValue).toBe(1);
  });

  it('over seeded runs the sequence holds the true difference at every one of 150 looks in >= 95 % of runs', () => {
    const r = rng(2017);
    const runs = 400;
    const perLook = 1000;
    const looks = 150;
    for (const [pa, pb] of [
      [0.03, 0.03],
      [0.03, 0.033],
      [0.2, 0.19],
    ]) {
      let covered = 0;
      let falseRejections = 0;
      for (let run = 0; run < runs; run++) {
        const a = { visits: 0, conversions: 0 };
        const b = { visits: 0, conversions: 0 };
        let held = true;
        let rejected = false;
        for (let t = 0; t < looks; t++) {
          a.visits += perLook;
          b.visits += perLook;
          a.conversions += binomial(r, perLook, pa);
          b.conversions += binomial(r, perLook, pb);
          // tau tuned on the data as decideAb does
          const s = differenceSequence(a, b, 0.05, pooledMixtureVariance(a, b, 0.03));
          if (s.low > pb - pa || s.high < pb - pa) held = false;
          if (s.pValue < 0.05) rejected = true;
        }
        if (held) covered++;
        if (rejected) falseRejections++;
      }
      expect(covered / runs).toBeGreaterThanOrEqual(0.95);
      // for equal rates, coverage of the truth is the same event as never rejecting "no difference"
      if (pa === pb) expect(falseRejections).toBe(runs - covered);
    }
  });
});
