// The naive per-interval threshold judge, the bench's baseline (bench:judge runs it on the same
// scenarios as ours): not part of the judge, and no release uses it.
import type { Criteria, IntervalSample } from '../contract/verdict';

export interface ThresholdResult {
  verdict: 'PASS' | 'FAIL';
  /** interval at which the failed checks reached the threshold */
  interval: number | null;
  failedChecks: number;
}

/**
 * The naive per-interval threshold judge (what Flagger does), for the bench baseline only: each
 * interval's point values against the limits; `threshold` failed checks roll back; an interval
 * with no data fails nothing; it promotes whatever the traffic.
 */
export function thresholdJudge(samples: IntervalSample[], criteria: Criteria, threshold = 5): ThresholdResult {
  let failed = 0;
  for (let i = 0; i < samples.length; i++) {
    const { canary: c, baseline: b } = samples[i];
    if (!c) continue;
    const rate = c.requests > 0 ? c.errors / c.requests : null;
    const bRate = b && b.requests > 0 ? b.errors / b.requests : null;
    const bad =
      (criteria.errorRateMaxPct !== undefined && rate !== null && rate * 100 > criteria.errorRateMaxPct) ||
      (criteria.errorRateMaxRatio !== undefined && rate !== null && bRate !== null && rate > criteria.errorRateMaxRatio * bRate) ||
      (criteria.latencyP95MaxMs !== undefined && c.latencyP95Ms != null && c.latencyP95Ms > criteria.latencyP95MaxMs) ||
      (criteria.latencyP95MaxRatio !== undefined &&
        c.latencyP95Ms != null &&
        b?.latencyP95Ms != null &&
        c.latencyP95Ms > criteria.latencyP95MaxRatio * b.latencyP95Ms) ||
      (criteria.cpuMaxPct !== undefined && c.cpuPct != null && c.cpuPct > criteria.cpuMaxPct) ||
      (criteria.memoryMaxRatio !== undefined && c.memoryMb != null && b?.memoryMb != null && c.memoryMb > criteria.memoryMaxRatio * b.memoryMb);
    if (bad) failed++;
    if (failed >= threshold) return { verdict: 'FAIL', interval: i, failedChecks: failed };
  }
  return { verdict: 'PASS', interval: null, failedChecks: failed };
}
