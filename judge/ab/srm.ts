// Sample ratio mismatch: does the split of visits between A and B match B's configured weight? A
// broken router, a bot filter or a crash on one side shows up as a split that is off, and then the
// conversion comparison cannot be trusted. The test is the beta-binomial Bayes factor of Lindon &
// Malek (2020, "Anytime-valid inference for multinomial count data", the two-arm case of their
// Dirichlet-multinomial test): under "B's share is weightB" the Bayes factor is a martingale, so by
// Ville's inequality it crosses 1/alpha with probability at most alpha, however often it is looked at.

/**
 * Prior concentration of B's share under the alternative: Beta(c·w, c·(1-w)). At c = 1000 the prior
 * standard deviation of the share is about 1.6 points at 50/50, so the evidence goes to mismatches of
 * a few points, the size routing bugs cause, while grossly wrong splits still trip within hundreds of visits.
 */
export const SRM_PRIOR_CONCENTRATION = 1000;

export interface SrmCheck {
  tripped: boolean;
  /** B's share of the visits seen (0 before any visit) */
  observedShareB: number;
  expectedShareB: number;
  visits: number;
  /** log of the Bayes factor of "the share is not weightB" against "it is" */
  logBayesFactor: number;
  /** always-valid p-value: min(1, 1 / Bayes factor) */
  pValue: number;
}

// Lanczos approximation (g = 7, 9 terms): about 15 significant digits for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log Γ(x) for x > 0 */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

function count(v: number): number {
  return Number.isFinite(v) && v > 0 ? v : 0;
}

export function sampleRatioCheck(visitsA: number, visitsB: number, weightB: number, alpha = 0.001, concentration = SRM_PRIOR_CONCENTRATION): SrmCheck {
  const nA = count(visitsA);
  const nB = count(visitsB);
  const visits = nA + nB;
  const observedShareB = visits > 0 ? nB / visits : 0;
  const w = Number.isFinite(weightB) ? weightB : 0.5;
  const base = { observedShareB, expectedShareB: w, visits };
  // A weight of 0 or 1 allows no visit on the other side: one visit there is a certain mismatch.
  if (w <= 0 || w >= 1) {
    const tripped = w <= 0 ? nB > 0 : nA > 0;
    return { ...base, tripped, logBayesFactor: tripped ? Infinity : 0, pValue: tripped ? 0 : 1 };
  }
  const a = concentration * w;
  const b = concentration * (1 - w);
  const logBayesFactor = logBeta(a + nB, b + nA) - logBeta(a, b) - nB * Math.log(w) - nA * Math.log1p(-w);
  return { ...base, tripped: logBayesFactor >= Math.log(1 / alpha), logBayesFactor, pValue: Math.min(1, Math.exp(-logBayesFactor)) };
}
