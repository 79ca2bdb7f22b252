// Always-valid inference on the difference of two conversion rates, pB - pA: the mixture SPRT
// (Johari, Pekelis & Walsh 2017, "Always valid inference"), normal approximation, with a normal
// mixing distribution N(0, tau^2) over the difference. The mixture likelihood ratio is a martingale
// under any fixed true difference, so by Ville's inequality the p-value and the confidence sequence
// stay valid however often they are looked at — every poll, for as long as the test runs.

export interface ArmCounts {
  visits: number;
  conversions: number;
}

export interface DifferenceSequence {
  rateA: number;
  rateB: number;
  /** observed pB - pA */
  difference: number;
  /** variance of the observed difference (Agresti–Caffo smoothed, see armVariance) */
  variance: number;
  tau2: number;
  /** log of the mixture likelihood ratio against "no difference" */
  logLikelihoodRatio: number;
  /** always-valid p-value for "no difference": min(1, 1 / likelihood ratio) */
  pValue: number;
  /** the always-valid confidence sequence at 1 - alpha on pB - pA, within [-1, 1] */
  low: number;
  high: number;
}

/**
 * Mixing variance from the minimum detectable effect: tau = mde × baseRate, the absolute difference
 * an effect of the MDE makes. For a true difference theta seen with variance V the mixture's evidence
 * is largest at tau^2 = theta^2 - V, so once the data can tell an MDE-sized effect apart (V << theta^2)
 * this tau spends the evidence on effects the size worth finding. Floored so the sequence stays finite
 * when nothing has converted yet.
 */
export function mixtureVariance(baseRate: number, minDetectableEffect: number): number {
  const tau = Math.abs(minDetectableEffect) * Math.max(0, Math.min(1, baseRate));
  return Math.max(tau * tau, 1e-12);
}

/**
 * The mixing variance decideAb uses: mixtureVariance at the pooled rate of both arms (one conversion
 * and one miss added, so it is never 0). Under "no difference" the pooled rate estimates the shared
 * rate and is, to the normal approximation, independent of the difference, so tuning tau on it does
 * not bend the test; it spares the plan a baseline rate that would have to be guessed.
 */
export function pooledMixtureVariance(a: ArmCounts, b: ArmCounts, minDetectableEffect: number): number {
  const ca = cleanCounts(a);
  const cb = cleanCounts(b);
  return mixtureVariance((ca.conversions + cb.conversions + 1) / (ca.visits + cb.visits + 2), minDetectableEffect);
}

/** visits and conversions made sane: non-negative, finite, conversions at most visits */
export function cleanCounts(c: ArmCounts): ArmCounts {
  const visits = Number.isFinite(c.visits) && c.visits > 0 ? c.visits : 0;
  const conversions = Number.isFinite(c.conversions) && c.conversions > 0 ? Math.min(c.conversions, visits) : 0;
  return { visits, conversions };
}

export function rate(c: ArmCounts): number {
  return c.visits > 0 ? c.conversions / c.visits : 0;
}

/**
 * Variance of one arm's rate with one conversion and one miss added (Agresti & Caffo 2000): never 0,
 * so rates of 0 or 1 and tiny samples still get a sensible width instead of a zero-width interval.
 */
export function armVariance(c: ArmCounts): number {
  const p = (c.conversions + 1) / (c.visits + 2);
  return (p * (1 - p)) / (c.visits + 2);
}

function logMixtureRatio(gap: number, v: number, tau2: number): number {
  return 0.5 * Math.log(v / (v + tau2)) + (gap * gap * tau2) / (2 * v * (v + tau2));
}

/**
 * The mSPRT on cumulative counts. Stateless: a caller that stops at the first decision (the A/B
 * strategy does) needs neither the running minimum of the p-value nor the running intersection of
 * the intervals; both are valid without them at each look.
 */
export function differenceSequence(a: ArmCounts, b: ArmCounts, alpha: number, tau2: number): DifferenceSequence {
  const ca = cleanCounts(a);
  const cb = cleanCounts(b);
  const rateA = rate(ca);
  const rateB = rate(cb);
  const difference = rateB - rateA;
  const t2 = Number.isFinite(tau2) && tau2 > 0 ? tau2 : 1e-12;
  const variance = armVariance(ca) + armVariance(cb);
  // An arm with no visits says nothing about the difference.
  if (ca.visits === 0 || cb.visits === 0) {
    return { rateA, rateB, difference, variance, tau2: t2, logLikelihoodRatio: 0, pValue: 1, low: -1, high: 1 };
  }
  const a01 = Math.min(Math.max(alpha, 1e-12), 1 - 1e-12);
  const logLikelihoodRatio = logMixtureRatio(difference, variance, t2);
  // Every theta0 whose likelihood ratio stays under 1/alpha: solved in closed form for the gap.
  const halfWidth = Math.sqrt(((variance * (variance + t2)) / t2) * (2 * Math.log(1 / a01) + Math.log((variance + t2) / variance)));
  return {
    rateA,
    rateB,
    difference,
    variance,
    tau2: t2,
    logLikelihoodRatio,
    pValue: Math.min(1, Math.exp(-logLikelihoodRatio)),
    low: Math.max(-1, difference - halfWidth),
    high: Math.min(1, difference + halfWidth),
  };
}
