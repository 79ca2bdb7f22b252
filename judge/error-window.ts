// Error rate, the window's looks (fixed-sample, exact tests; the streaming scans are in error-rate.ts):
//  - strict: each limit's exact test on every trailing segment (a regression that began mid-window is
//    diluted by the healthy part before it), Bonferroni over the starts tried, at WINDOW_ALPHA;
//  - final: the stage's one promote-or-roll-back decision, the burden of proof on safety: the whole
//    window's error rate must not be above a limit with FINAL_CONFIDENCE.
import type { Criteria, IntervalSample, MetricFinding } from '../contract/verdict';
import { absoluteBar, errorFinding, relativeApplies, type ErrorFamily } from './error-rate';
import { fmtConfidence } from './format';
import type { ErrorSegment } from './state';
import { binomialSumUpperTail, rateRatioUpperTail, type RateStratum } from './stats';
import { FINAL_CONFIDENCE, WINDOW_ALPHA } from './tuning';

type Segment = Omit<ErrorSegment, 'from'>;

/** one-sided p-value that the canary's error rate over these intervals is above the family's limit */
function errorPValue(family: ErrorFamily, intervals: readonly IntervalSample[], criteria: Criteria): number {
  if (family === 'absolute') {
    const parts: { n: number; p: number }[] = [];
    let k = 0;
    for (const x of intervals) {
      const bar = x.canary && x.canary.requests > 0 ? absoluteBar(criteria, x.baseline) : null;
      if (bar === null) continue;
      k += x.canary!.errors;
      parts.push({ n: x.canary!.requests, p: bar });
    }
    return binomialSumUpperTail(k, parts);
  }
  const strata: RateStratum[] = [];
  for (const x of intervals) {
    if (!relativeApplies(criteria, x.canary, x.baseline)) continue;
    strata.push({
      canaryErrors: x.canary!.errors,
      canaryRequests: x.canary!.requests,
      baselineErrors: x.baseline!.errors,
      baselineRequests: x.baseline!.requests,
    });
  }
  return rateRatioUpperTail(strata, criteria.errorRateMaxRatio!).p;
}

function errorFamilies(criteria: Criteria): ErrorFamily[] {
  const f: ErrorFamily[] = [];
  if (criteria.errorRateMaxPct !== undefined) f.push('absolute');
  if (criteria.errorRateMaxRatio !== undefined && criteria.errorRateMaxRatio > 0) f.push('ratio');
  return f;
}

/** canary and baseline counts over the intervals the family could judge (for the explanation) */
function segmentCounts(family: ErrorFamily, intervals: readonly IntervalSample[], criteria: Criteria): Segment {
  const seg: Segment = { canaryRequests: 0, canaryErrors: 0, baselineRequests: 0, baselineErrors: 0 };
  for (const x of intervals) {
    if (!x.canary || x.canary.requests <= 0) continue;
    if (family === 'ratio' && !relativeApplies(criteria, x.canary, x.baseline)) continue;
    seg.canaryRequests += x.canary.requests;
    seg.canaryErrors += x.canary.errors;
    seg.baselineRequests += x.baseline?.requests ?? 0;
    seg.baselineErrors += x.baseline?.errors ?? 0;
  }
  return seg;
}

/** strict look at the window: each family's exact test on every trailing segment (a regression that
 * began mid-window is diluted by the healthy part before it), Bonferroni over the starts tried */
export function strictErrorTests(samples: IntervalSample[], criteria: Criteria): MetricFinding[] {
  const out: MetricFinding[] = [];
  for (const family of errorFamilies(criteria)) {
    const starts = samples.map((x, i) => (x.canary && x.canary.requests > 0 && x.canary.errors > 0 ? i : -1)).filter((i) => i >= 0);
    const usable = samples.filter((x) => x.canary && x.canary.requests > 0).length;
    if (usable === 0) continue;
    let best = { p: 1, from: 0 };
    for (const i of starts) {
      const p = errorPValue(family, samples.slice(i), criteria);
      if (p < best.p) best = { p, from: i };
    }
    const p = Math.min(1, best.p * usable);
    const from = best.p < 1 ? best.from : 0;
    out.push(
      errorFinding(segmentCounts(family, samples.slice(from), criteria), criteria, family, 1 - p, p <= WINDOW_ALPHA, from > 0 ? ` since interval ${from}` : ''),
    );
  }
  return out;
}

/** the final look: the whole window, one test per limit, at FINAL_CONFIDENCE */
export function finalErrorTests(samples: IntervalSample[], criteria: Criteria): MetricFinding[] {
  return errorFamilies(criteria).map((family) => {
    const p = errorPValue(family, samples, criteria);
    const f = errorFinding(segmentCounts(family, samples, criteria), criteria, family, 1 - p, 1 - p >= FINAL_CONFIDENCE, ' over the window');
    return f.status === 'breach' ? { ...f, explanation: `${f.explanation} (promotion needs it not above the limit at ${fmtConfidence(FINAL_CONFIDENCE)})` } : f;
  });
}
