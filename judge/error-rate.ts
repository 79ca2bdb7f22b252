// Error rate, the streaming part: two sequential tests of one claim, "the canary's error rate is above
// its limit", whose average is the alarm (valid under a look every interval: each is a mixture of
// likelihood ratios over change points and alternatives — Shiryaev–Roberts sums — so Ville's
// inequality bounds its false alarms).
//  (a) Against min(absolute limit, ratio × baseline), the baseline's rate at an upper confidence bound
//      over everything seen so far, both raised (to the baseline's upper bound) for an interval whose
//      baseline is clearly worse (a shared incident).
//  (b) Paired: each interval's errors split between canary and baseline; under "canary ≤ ratio ×
//      baseline" the canary's share is at most ratio·n/(ratio·n + m), so the test is conditional on the
//      interval's total errors — nothing plugged in, and load or incidents that move both sides cancel
//      within the interval.
// Also the limits themselves (absoluteBar, errorReference), which the window's tests share, and the
// wording of an error-rate finding.
import type { Criteria, MetricFinding, SideAggregate } from '../contract/verdict';
import { fmtConfidence, fmtPct, fmtRatio } from './format';
import type { ErrorScan, ErrorSegment } from './state';
import { binomialLowerBound, binomialUpperBound, logAddExp, scanStep, srStep } from './stats';
import { BASELINE_DELTA, ERROR_FACTORS } from './tuning';

/**
 * log of the mixture martingale: the mean over alternatives of their Shiryaev–Roberts sums over starts
 * (weights 1/|alternatives| × start weight, summing to at most 1), so by Ville's inequality it reaches
 * 1/alpha with probability at most alpha under the null, looked at every interval.
 */
export function mixtureEvidence(scan: ErrorScan): number {
  let sum = -Infinity;
  for (const v of scan.sr) if (v !== null) sum = logAddExp(sum, v);
  return sum - Math.log(ERROR_FACTORS.length);
}

/** always-valid confidence that the limit is exceeded, from the mixture's evidence (Ville) */
export function scanConfidence(logEvidence: number): number {
  return Math.max(0, 1 - Math.exp(-logEvidence));
}

/**
 * The error rate the canary may not exceed in this interval under the absolute limit. An interval whose
 * baseline is itself clearly above the limit (its lower confidence bound) is an incident or a load
 * peak that the previous version shows too: the bar rises to it, so the canary is not blamed for the
 * environment. One unlucky error among few baseline requests does not move it.
 */
export function absoluteBar(criteria: Criteria, b: SideAggregate | null): number | null {
  if (criteria.errorRateMaxPct === undefined) return null;
  const abs = criteria.errorRateMaxPct / 100;
  const bar = Math.max(abs, raisedBy(b, abs));
  return bar > 0 && bar < 1 ? bar : null;
}

/**
 * What an interval's baseline raises a bar to: nothing (0) unless its rate is clearly above the bar
 * (its lower confidence bound is), and then as high as that rate may be (its upper bound). Raising
 * only to the lower bound would hold a canary exactly as bad as the shared incident above the bar:
 * during a burst both sides are at, say, 13 %, and a lower bound of 10 % makes the canary look worse.
 */
function raisedBy(b: SideAggregate | null, bar: number): number {
  if (!b || b.requests <= 0 || b.errors <= 0) return 0;
  if (binomialLowerBound(b.errors, b.requests, BASELINE_DELTA) <= bar) return 0;
  return binomialUpperBound(b.errors, b.requests, BASELINE_DELTA);
}

interface ErrorReference {
  /** the canary's allowed error rate this interval: min(absolute limit, ratio × baseline reference) */
  limit: number;
}

/**
 * The error rate the canary may not exceed in this interval, for the guard's long-run test: the
 * baseline's rate is the worse of (a) an upper confidence bound on its rate over everything seen so
 * far — many more requests than one interval, so a rare-error baseline still gives a usable reference
 * — and (b) its rate in this very interval, so an incident or a load peak that raises both sides raises
 * the bar with it. The absolute limit rises the same way (absoluteBar).
 */
export function errorReference(criteria: Criteria, pooled: { requests: number; errors: number }, b: SideAggregate | null): ErrorReference | null {
  const abs = absoluteBar(criteria, b);
  let rel: number | null = null;
  if (criteria.errorRateMaxRatio !== undefined && pooled.requests > 0) {
    const longRun = binomialUpperBound(pooled.errors, pooled.requests, BASELINE_DELTA);
    // Only an interval whose baseline is clearly worse (its lower bound above the long-run bound)
    // moves the bar: one unlucky error among few baseline requests does not.
    rel = criteria.errorRateMaxRatio * Math.max(longRun, raisedBy(b, longRun));
  }
  if (abs === null && rel === null) return null;
  const limit = Math.min(abs ?? Infinity, rel ?? Infinity);
  if (!(limit > 0 && limit < 1)) return null;
  return { limit };
}

/** the relative family applies to an interval where both sides served requests */
export function relativeApplies(criteria: Criteria, c: SideAggregate | null, b: SideAggregate | null): criteria is Criteria & { errorRateMaxRatio: number } {
  return criteria.errorRateMaxRatio !== undefined && criteria.errorRateMaxRatio > 0 && !!c && !!b && c.requests > 0 && b.requests > 0;
}

export function updateScan(
  scan: ErrorScan,
  t: number,
  horizon: number | null,
  llr: (factor: number) => number,
  c: SideAggregate,
  b: SideAggregate | null,
): ErrorScan {
  const stat: (number | null)[] = [];
  const sr: (number | null)[] = [];
  const segment: (ErrorSegment | null)[] = [];
  ERROR_FACTORS.forEach((f, j) => {
    const l = llr(f);
    const step = scanStep(scan.stat[j], l, t, horizon);
    stat.push(step.value);
    sr.push(srStep(scan.sr?.[j] ?? null, l, t, horizon));
    const old = step.restarted ? null : scan.segment[j];
    segment.push({
      from: old?.from ?? t,
      canaryRequests: (old?.canaryRequests ?? 0) + c.requests,
      canaryErrors: (old?.canaryErrors ?? 0) + c.errors,
      baselineRequests: (old?.baselineRequests ?? 0) + (b?.requests ?? 0),
      baselineErrors: (old?.baselineErrors ?? 0) + (b?.errors ?? 0),
    });
  });
  return { stat, sr, segment };
}

export function bestOf(scan: ErrorScan): { stat: number; segment: ErrorSegment } | null {
  let best: { stat: number; segment: ErrorSegment } | null = null;
  scan.stat.forEach((s, j) => {
    const seg = scan.segment[j];
    if (s !== null && seg && (!best || s > best.stat)) best = { stat: s, segment: seg };
  });
  return best;
}

function rateText(errors: number, requests: number): string {
  return `${fmtPct(requests > 0 ? errors / requests : 0)} (${errors}/${requests})`;
}

/** which limit a finding is about: the absolute one, the ratio to the baseline, or the lower of the two */
export type ErrorFamily = 'absolute' | 'ratio' | 'both';

/**
 * "error rate 4.8 % (31/646) vs baseline 0.06 % (5/8120): 78× the baseline, limit 2×; 99.9 %
 * confident it is above the limit" — the canary's counts over the segment that decided, the
 * baseline's over the same intervals.
 */
export function errorFinding(
  seg: Omit<ErrorSegment, 'from'>,
  criteria: Criteria,
  family: ErrorFamily,
  confidence: number,
  breach: boolean,
  where: string,
): MetricFinding {
  const cRate = seg.canaryRequests > 0 ? seg.canaryErrors / seg.canaryRequests : 0;
  const bRate = seg.baselineRequests > 0 ? seg.baselineErrors / seg.baselineRequests : null;
  const times = bRate === null ? null : bRate > 0 ? fmtRatio(cRate / bRate) : cRate > 0 ? 'above' : '1×';
  const baseline = bRate === null ? 'no baseline' : `baseline ${rateText(seg.baselineErrors, seg.baselineRequests)}`;
  const limits: string[] = [];
  if (family !== 'absolute' && criteria.errorRateMaxRatio !== undefined) limits.push(`limit ${fmtRatio(criteria.errorRateMaxRatio)}`);
  if (family !== 'ratio' && criteria.errorRateMaxPct !== undefined) limits.push(`limit ${fmtPct(criteria.errorRateMaxPct / 100)}`);
  const limit = limits.join(' and ');
  const vs = times !== null ? `vs ${baseline}: ${times} the baseline` : `(${baseline})`;
  const tail = breach ? `${fmtConfidence(confidence)} confident it is above the limit` : `not shown above the limit (${fmtConfidence(confidence)})`;
  return {
    metric: 'error_rate',
    status: breach ? 'breach' : 'ok',
    canary: cRate * 100,
    baseline: bRate === null ? null : bRate * 100,
    limit:
      family === 'ratio'
        ? criteria.errorRateMaxRatio
        : family === 'absolute'
          ? criteria.errorRateMaxPct
          : (criteria.errorRateMaxPct ?? criteria.errorRateMaxRatio),
    confidence,
    sampleSize: seg.canaryRequests,
    explanation: `error rate ${rateText(seg.canaryErrors, seg.canaryRequests)}${where} ${vs}, ${limit}; ${tail}`,
  };
}
