// Pure statistical pieces of the release judge. Deterministic, no I/O: safe in the workflow sandbox.
// Distribution functions come from stdlib (@stdlib/*): maintained, exact numerics (incomplete beta,
// erfc) tested against reference tables, and plain CommonJS with no side effects on import.
import betainc from '@stdlib/math-base-special-betainc';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import wilcoxon from '@stdlib/stats-wilcoxon';

/**
 * P(X >= k) for X ~ Binomial(n, p): the one-sided exact binomial test's p-value. Computed as the
 * regularized incomplete beta I_p(k, n-k+1), not 1 - CDF, so tiny tails keep their precision.
 */
/**
 * One-sided Wilcoxon signed-rank p-value that the values are centred above 0 (exact below 50 values,
 * normal approximation with continuity correction above). Unlike the sign test it weighs how far each
 * value is from 0, by rank, so a series that is above 0 half of the time by a lot and below it the
 * other half by a little is seen; by ranks, one wild value still counts as one rank.
 */
export function signedRankUpperTail(values: readonly number[]): number {
  const nonZero = values.filter((v) => v !== 0 && Number.isFinite(v));
  if (nonZero.length === 0) return 1;
  return wilcoxon([...nonZero], { alternative: 'greater' }).pValue;
}

export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  return Math.max(0, Math.min(1, betainc(p, k, n - k + 1)));
}

/**
 * Clopper–Pearson (exact) one-sided upper confidence bound for a binomial proportion: the largest p
 * for which seeing k or fewer in n is still plausible at level 1 - delta.
 */
export function binomialUpperBound(k: number, n: number, delta: number): number {
  if (n <= 0) return 1;
  if (k >= n) return 1;
  return betaQuantile(1 - delta, k + 1, n - k);
}

/** Clopper–Pearson one-sided lower confidence bound (level 1 - delta). */
export function binomialLowerBound(k: number, n: number, delta: number): number {
  if (n <= 0 || k <= 0) return 0;
  if (k >= n) return Math.pow(delta, 1 / n);
  return betaQuantile(delta, k, n - k + 1);
}

/** Standard normal CDF. */
export function stdNormalCdf(z: number): number {
  return normalCdf(z, 0, 1);
}

/** log of the likelihood ratio of Binomial(n, p1) against Binomial(n, p0) for k successes. */
export function bernoulliLogLR(k: number, n: number, p0: number, p1: number): number {
  if (n <= 0) return 0;
  const hit = k > 0 ? k * Math.log(p1 / p0) : 0;
  const miss = n - k > 0 ? (n - k) * (Math.log1p(-p1) - Math.log1p(-p0)) : 0;
  return hit + miss;
}

/**
 * Weight given to "the change started at interval s" when scanning for a change point. The weights
 * sum to at most 1 over s = 0, 1, 2, ..., so the union bound over all start points costs nothing
 * beyond the chosen alpha, however long the stream runs. Half of the mass decays like
 * 1/((s+1)(s+2)) (cheap early starts, no horizon needed); when the window's length is known, the
 * other half is spread evenly over it, so a change late in the window pays log(2·horizon) at most.
 */
export function logStartWeight(s: number, horizon: number | null = null): number {
  const decaying = 1 / ((s + 1) * (s + 2));
  if (!horizon || horizon < 1) return Math.log(decaying);
  return Math.log(decaying / 2 + (s < horizon ? 1 / (2 * horizon) : 0));
}

/**
 * One step of the change-point scan statistic M_t = max over starts s <= t of
 * [log w_s + sum_{u=s..t} llr_u]. For each start, exp(sum llr) is a test supermartingale under the
 * null, so by Ville's inequality and the union bound P(ever M_t >= log(1/beta)) <= beta.
 * Returns the new value and whether the best start moved to this interval.
 */
export function scanStep(prev: number | null, llr: number, t: number, horizon: number | null = null): { value: number; restarted: boolean } {
  const fresh = logStartWeight(t, horizon);
  if (prev === null || fresh > prev) return { value: fresh + llr, restarted: true };
  return { value: prev + llr, restarted: false };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Nearest-rank quantile (q in [0, 1]); the value a reader can find in the list. */
export function quantileRank(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * s.length));
  return s[rank - 1];
}

/** Median absolute deviation scaled to estimate a normal standard deviation (1.4826 × MAD). */
export function madSigma(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const m = median(values);
  return 1.4826 * median(values.map((v) => Math.abs(v - m)));
}

/**
 * Robust per-interval noise scale from first differences d_t - d_{t-1}, each already divided by its
 * sqrt(variance shape). Differencing removes the level, so a step change in the mean spoils one
 * difference out of many and the median ignores it; a slow trend shifts all differences alike and
 * the MAD (centred on their median) ignores that too. Divided by sqrt 2 because a difference carries
 * two intervals' noise. Blended with a prior (priorWeight pseudo-differences) while data is scarce.
 */
export function noiseScale(stdDiffs: readonly number[], prior: number, priorWeight: number): number {
  const m = stdDiffs.length;
  if (m === 0) return prior;
  const est = madSigma(stdDiffs) / Math.SQRT2;
  return Math.sqrt((priorWeight * prior * prior + m * est * est) / (priorWeight + m));
}

/**
 * One step of a robust one-sided CUSUM (Page's test) on a standardised excess z: the increment is
 * clipped to [-clip, clip] so one wild interval can move the sum by at most clip - k.
 */
export function cusumStep(prev: number, z: number, k: number, clip: number): number {
  const zc = Math.max(-clip, Math.min(clip, z));
  return Math.max(0, prev + zc - k);
}

/** one interval (or stratum) of paired counts */
export interface RateStratum {
  canaryErrors: number;
  canaryRequests: number;
  baselineErrors: number;
  baselineRequests: number;
}

/**
 * The share of an interval's errors that comes from the canary when its error rate is `ratio` times
 * the baseline's: ratio·n / (ratio·n + m). Conditioning on the interval's total errors removes the
 * baseline's unknown (and moving) rate from the test: under "canary ≤ ratio × baseline" each error is
 * the canary's with probability at most this share (Poisson approximation of the binomial counts,
 * exact for rare errors; at rates of a few % the ratio is off by (1 - p_b)/(1 - ratio·p_b), ~5 %).
 * 1 when the baseline saw no requests (the interval says nothing about the ratio).
 */
export function canaryErrorShare(ratio: number, canaryRequests: number, baselineRequests: number): number {
  if (baselineRequests <= 0) return 1;
  const c = ratio * canaryRequests;
  return c / (c + baselineRequests);
}

/** above this many trials × successes the exact Poisson-binomial recursion gives way to Hoeffding's bound */
const EXACT_SUM_WORK = 20_000;

/**
 * P(S >= k) where S is a sum of independent Binomial(n_i, p_i) (a Poisson-binomial over Σn_i trials).
 * Exact by recursion over the trials when that is cheap; otherwise Hoeffding's (1956) theorem: for
 * k >= N·p̄ + 1 the binomial with the same mean has the heavier upper tail, so Bin(N, p̄) gives a
 * valid (conservative) p-value, exact when all p_i are equal. Below N·p̄ + 1 the tail is large anyway
 * and 1 is returned.
 */
export function binomialSumUpperTail(k: number, parts: readonly { n: number; p: number }[]): number {
  if (k <= 0) return 1;
  const used = parts.filter((x) => x.n > 0 && x.p > 0);
  const trials = used.reduce((a, x) => a + x.n, 0);
  if (k > trials) return 0;
  const mean = used.reduce((a, x) => a + x.n * x.p, 0);
  const samePs = used.every((x) => x.p === used[0].p);
  if (samePs) return binomialUpperTail(k, trials, used[0].p);
  if (trials * k > EXACT_SUM_WORK) return k >= mean + 1 ? binomialUpperTail(k, trials, mean / trials) : 1;
  // dist[j] = P(S = j) for j < k; dist[k] = P(S >= k)
  const dist = new Float64Array(k + 1);
  dist[0] = 1;
  for (const x of used) {
    const p = Math.min(1, x.p);
    for (let t = 0; t < x.n; t++) {
      // in place, from the top: dist[k] absorbs everything that reaches k
      dist[k] += dist[k - 1] * p;
      for (let j = k - 1; j >= 1; j--) dist[j] = dist[j] * (1 - p) + dist[j - 1] * p;
      dist[0] *= 1 - p;
    }
  }
  return Math.max(0, Math.min(1, dist[k]));
}

/**
 * One-sided test of "the canary's error rate is at most `ratio` × the baseline's, interval by
 * interval", stratified by interval: given each interval's total errors, the canary's count is
 * Binomial(total, share) at the boundary, so the p-value is the upper tail of their sum. The
 * baseline's uncertainty is accounted for exactly (nothing is plugged in), and a load peak or an
 * incident that moves both sides' rates together cancels within its interval.
 */
export function rateRatioUpperTail(strata: readonly RateStratum[], ratio: number): { p: number; canaryErrors: number; totalErrors: number } {
  let k = 0;
  let total = 0;
  const parts: { n: number; p: number }[] = [];
  for (const s of strata) {
    const t = s.canaryErrors + s.baselineErrors;
    if (t <= 0 || s.baselineRequests <= 0 || s.canaryRequests <= 0) continue;
    k += s.canaryErrors;
    total += t;
    parts.push({ n: t, p: canaryErrorShare(ratio, s.canaryRequests, s.baselineRequests) });
  }
  return { p: binomialSumUpperTail(k, parts), canaryErrors: k, totalErrors: total };
}

/** log(e^a + e^b) without overflow; -Infinity is the empty sum */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

/**
 * One step of the weighted Shiryaev–Roberts statistic, in logs: log R_t = log Σ_{s<=t} w_s Π_{u=s..t} LR_u,
 * updated as R_t = (R_{t-1} + w_t) · LR_t. Each term is a test supermartingale from its start, so the
 * sum plus the weight of starts not yet reached never exceeds 1 in expectation under the null and
 * Ville's inequality bounds P(ever R_t >= 1/beta) <= beta — the same guarantee as the maximum over
 * starts (scanStep), but it adds up the evidence of every plausible start instead of keeping the best.
 */
export function srStep(prevLog: number | null, llr: number, t: number, horizon: number | null = null): number {
  return logAddExp(prevLog ?? -Infinity, logStartWeight(t, horizon)) + llr;
}
