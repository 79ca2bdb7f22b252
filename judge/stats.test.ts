// The statistical pieces against reference values (computed with mpmath at 30+ digits, or closed
// forms) and against second, naive implementations.
import { rng } from '../test/support/prng';
import {
  bernoulliLogLR,
  binomialLowerBound,
  binomialSumUpperTail,
  binomialUpperBound,
  binomialUpperTail,
  canaryErrorShare,
  rateRatioUpperTail,
  signedRankUpperTail,
  stdNormalCdf,
} from './stats';

/** P(X >= k) by direct summation of the pmf in log space: a second implementation */
function naiveUpperTail(k: number, n: number, p: number): number {
  const lgamma: number[] = [0];
  for (let i = 1; i <= n; i++) lgamma.push(lgamma[i - 1] + Math.log(i));
  const lgN = lgamma[n];
  let sum = 0;
  for (let i = k; i <= n; i++) sum += Math.exp(lgN - lgamma[i] - lgamma[n - i] + i * Math.log(p) + (n - i) * Math.log1p(-p));
  return sum;
}

describe('binomialUpperTail', () => {
  it.each([
    [1, 20, 0.01, 0.182093062402769],
    [3, 20, 0.1, 0.323073194810534],
    [31, 646, 0.01, 1.96397855724466e-12],
    [10, 1828, 0.00298, 0.0508312111437917],
  ])('P(X >= %i | n=%i, p=%f) matches the mpmath reference', (k, n, p, ref) => {
    expect(binomialUpperTail(k, n, p)).toBeCloseTo(ref, 12);
    expect(Math.abs(binomialUpperTail(k, n, p) / ref - 1)).toBeLessThan(1e-6);
  });

  it('agrees with direct summation over many cases', () => {
    for (const [k, n, p] of [
      [0, 10, 0.3],
      [5, 50, 0.05],
      [12, 300, 0.02],
      [40, 1000, 0.03],
      [7, 7, 0.5],
    ]) {
      expect(binomialUpperTail(k, n, p)).toBeCloseTo(naiveUpperTail(k, n, p), 10);
    }
    expect(binomialUpperTail(0, 10, 0.3)).toBe(1);
    expect(binomialUpperTail(11, 10, 0.3)).toBe(0);
  });
});

describe('Clopper–Pearson bounds', () => {
  it('match the closed form for zero errors: 1 - delta^(1/n)', () => {
    expect(binomialUpperBound(0, 100, 0.01)).toBeCloseTo(1 - Math.pow(0.01, 1 / 100), 12);
    expect(binomialUpperBound(0, 100, 0.01)).toBeCloseTo(0.045007413978564, 12);
  });

  it.each([
    [5, 8120, 0.01, 0.00161353940397033],
    [9, 9152, 0.01, 0.00205125431316691],
    [31, 646, 0.05, 0.0642177006051091],
  ])('upper bound for %i/%i at delta=%f matches mpmath', (k, n, d, ref) => {
    expect(Math.abs(binomialUpperBound(k, n, d) / ref - 1)).toBeLessThan(1e-8);
  });

  it.each([
    [1, 100, 0.01, 0.000100498308241668],
    [31, 646, 0.05, 0.034950449176587],
  ])('lower bound for %i/%i at delta=%f matches mpmath', (k, n, d, ref) => {
    expect(Math.abs(binomialLowerBound(k, n, d) / ref - 1)).toBeLessThan(1e-8);
  });

  it('is the p where the tail probability equals delta (definition, via the binomial CDF)', () => {
    const u = binomialUpperBound(12, 400, 0.01);
    expect(1 - binomialUpperTail(13, 400, u)).toBeCloseTo(0.01, 9);
    const l = binomialLowerBound(12, 400, 0.01);
    expect(binomialUpperTail(12, 400, l)).toBeCloseTo(0.01, 9);
  });
});

describe('stdNormalCdf', () => {
  it('matches tables', () => {
    expect(stdNormalCdf(1.96)).toBeCloseTo(0.97500210485178, 12);
    expect(stdNormalCdf(-3)).toBeCloseTo(0.00134989803163009, 12);
    expect(stdNormalCdf(0)).toBe(0.5);
  });
});

describe('bernoulliLogLR', () => {
  it('is the log ratio of the two binomial pmfs', () => {
    const k = 7,
      n = 120,
      p0 = 0.01,
      p1 = 0.05;
    const direct = Math.log(Math.pow(p1, k) * Math.pow(1 - p1, n - k)) - Math.log(Math.pow(p0, k) * Math.pow(1 - p0, n - k));
    expect(bernoulliLogLR(k, n, p0, p1)).toBeCloseTo(direct, 10);
    expect(bernoulliLogLR(0, 0, p0, p1)).toBe(0);
  });

  it('has expectation <= 0 under any p <= p0 (a supermartingale increment)', () => {
    for (const p of [0.001, 0.005, 0.01]) {
      // E[exp(llr)] for one Bernoulli trial
      const e = p * (0.03 / 0.01) + (1 - p) * ((1 - 0.03) / (1 - 0.01));
      expect(e).toBeLessThanOrEqual(1 + 1e-12);
    }
  });
});

describe('sums of binomials and the paired rate-ratio test', () => {
  /** P(S >= k) by convolving the binomial pmfs in full: a second implementation */
  function convolvedUpperTail(k: number, parts: { n: number; p: number }[]): number {
    let dist = [1];
    for (const { n, p } of parts) {
      const pmf = Array.from({ length: n + 1 }, (_, i) => naiveUpperTail(i, n, p) - (i < n ? naiveUpperTail(i + 1, n, p) : 0));
      const next = new Array(dist.length + n).fill(0);
      dist.forEach((a, i) =>
        pmf.forEach((b, j) => {
          next[i + j] += a * b;
        }),
      );
      dist = next;
    }
    return dist.slice(k).reduce((a, x) => a + x, 0);
  }

  it('is exact for small sums (against full convolution) and the binomial for equal p', () => {
    const parts = [
      { n: 5, p: 0.1 },
      { n: 12, p: 0.3 },
      { n: 3, p: 0.6 },
    ];
    for (const k of [0, 1, 3, 6, 9, 14, 20]) expect(binomialSumUpperTail(k, parts)).toBeCloseTo(convolvedUpperTail(k, parts), 12);
    expect(
      binomialSumUpperTail(4, [
        { n: 30, p: 0.05 },
        { n: 20, p: 0.05 },
      ]),
    ).toBeCloseTo(binomialUpperTail(4, 50, 0.05), 14);
    expect(binomialSumUpperTail(21, parts)).toBe(0);
  });

  it("Hoeffding's bound for large sums is conservative but close", () => {
    const parts = Array.from({ length: 40 }, (_, i) => ({ n: 40, p: 0.02 + 0.002 * (i % 5) }));
    // 1600 trials, mean 44.8: above the exact-work budget for k = 60
    const bound = binomialSumUpperTail(60, parts);
    const exact = convolvedUpperTail(60, parts);
    expect(bound).toBeGreaterThanOrEqual(exact);
    expect(bound / exact).toBeLessThan(1.2);
  });

  it('canary error share is ratio·n / (ratio·n + m)', () => {
    expect(canaryErrorShare(2, 100, 800)).toBeCloseTo(0.2, 15);
    expect(canaryErrorShare(1, 50, 50)).toBe(0.5);
    expect(canaryErrorShare(2, 10, 0)).toBe(1);
  });

  it('the stratified test matches the conditional binomial test for a constant split, ignores intervals without errors', () => {
    const strata = [
      { canaryErrors: 3, canaryRequests: 100, baselineErrors: 2, baselineRequests: 900 },
      { canaryErrors: 0, canaryRequests: 100, baselineErrors: 0, baselineRequests: 900 },
      { canaryErrors: 4, canaryRequests: 100, baselineErrors: 5, baselineRequests: 900 },
    ];
    const r = rateRatioUpperTail(strata, 2);
    expect(r).toMatchObject({ canaryErrors: 7, totalErrors: 14 });
    // share 200/1100 = 2/11 for every error
    expect(r.p).toBeCloseTo(binomialUpperTail(7, 14, 2 / 11), 14);
  });

  it('holds its level when the canary sits exactly at the ratio, however the baseline rate and split move', () => {
    const r = rng(99);
    const alpha = 0.1;
    let rejections = 0;
    const runs = 2000;
    for (let run = 0; run < runs; run++) {
      const strata = Array.from({ length: 30 }, (_, t) => {
        const base = 0.002 * (1 + Math.sin(t / 5)) + 0.0005; // the baseline rate swings with load
        const n = 20 + Math.floor(r() * 200);
        const m = 400 + Math.floor(r() * 400);
        let ce = 0;
        let be = 0;
        for (let i = 0; i < n; i++) if (r() < 2 * base) ce++;
        for (let i = 0; i < m; i++) if (r() < base) be++;
        return { canaryErrors: ce, canaryRequests: n, baselineErrors: be, baselineRequests: m };
      });
      if (rateRatioUpperTail(strata, 2).p <= alpha) rejections++;
    }
    expect(rejections / runs).toBeLessThanOrEqual(alpha + 0.02);
  });
});

describe('signed-rank test', () => {
  it('matches the exact null distribution for small samples', () => {
    // five positive values: only 1 of the 2^5 sign patterns has every rank positive
    expect(signedRankUpperTail([1, 2, 3, 4, 5])).toBeCloseTo(1 / 32, 10);
    // ranks 1..4, the smallest negative: W+ = 9; P(W+ >= 9) = 2/16
    expect(signedRankUpperTail([-1, 2, 3, 4])).toBeCloseTo(2 / 16, 10);
    expect(signedRankUpperTail([-1, -2, -3])).toBeCloseTo(1, 10);
  });
  it('sees a series above 0 half the time by a lot, below it the other half by a little', () => {
    const flapping = Array.from({ length: 90 }, (_, i) => (i % 2 ? 0.6 : -0.22));
    expect(signedRankUpperTail(flapping)).toBeLessThan(1e-3);
    expect(signedRankUpperTail(flapping.map((x) => -x))).toBeGreaterThan(0.99);
    expect(signedRankUpperTail([0, 0, 0])).toBe(1);
  });
});
