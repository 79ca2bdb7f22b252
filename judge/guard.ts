// The streaming guard: one interval at a time → ok or breach, the first breach rolls back. Error rate by
// the sequential scans of error-rate.ts, latency / CPU / memory by the CUSUMs of continuous.ts.
import type { Criteria, GuardBreach, IntervalSample, MetricFinding } from '../contract/verdict';
import { continuousBreachFinding, continuousSpecs, learntScale, updateCheck } from './continuous';
import { bestOf, errorFinding, errorReference, mixtureEvidence, relativeApplies, scanConfidence, updateScan } from './error-rate';
import { type GuardState, upgrade } from './state';
import { bernoulliLogLR, canaryErrorShare, logAddExp } from './stats';
import { CUSUM_H, SEQUENTIAL_ALPHA } from './tuning';

/**
 * Feed one interval; returns the new state and a breach when the evidence is conclusive. The state is
 * never mutated, so a retried activity can resume from its last heartbeat.
 */
export function guardStep(
  state: GuardState,
  sample: IntervalSample,
  criteria: Criteria,
  /** the error-rate guard's false-alarm bound; other values only for measuring (bench:guard) */
  alpha: number = SEQUENTIAL_ALPHA,
): { state: GuardState; breach: GuardBreach | null } {
  state = upgrade(state);
  const t = state.t;
  const next: GuardState = { ...state, t: t + 1 };
  const findings: MetricFinding[] = [];
  const c = sample.canary;
  const b = sample.baseline;

  if (b) next.baseline = { requests: state.baseline.requests + b.requests, errors: state.baseline.errors + b.errors };
  const ref = c && c.requests > 0 ? errorReference(criteria, next.baseline, b) : null;
  if (c && ref) {
    const q = ref.limit;
    next.errorsLimit = updateScan(state.errorsLimit, t, state.horizon, (f) => bernoulliLogLR(c.errors, c.requests, q, Math.min(q * f, (1 + q) / 2)), c, b);
  }
  if (relativeApplies(criteria, c, b)) {
    const rho = criteria.errorRateMaxRatio;
    const share = canaryErrorShare(rho, c!.requests, b!.requests);
    next.errorsRelative = updateScan(
      state.errorsRelative,
      t,
      state.horizon,
      (f) => bernoulliLogLR(c!.errors, c!.errors + b!.errors, share, canaryErrorShare(rho * f, c!.requests, b!.requests)),
      c!,
      b,
    );
  }
  // Two tests of one claim ("the canary's error rate is above its limit"), each a test martingale;
  // their average is one too, so the alarm at 1/alpha keeps the guarantee and takes whichever sees more.
  const scans = [
    ['both', next.errorsLimit],
    ['ratio', next.errorsRelative],
  ] as const;
  const evidence = scans.map(([, scan]) => mixtureEvidence(scan));
  const total = logAddExp(evidence[0], evidence[1]) - Math.log(2);
  if (total >= Math.log(1 / alpha)) {
    const j = evidence[0] >= evidence[1] ? 0 : 1;
    const best = bestOf(scans[j][1]);
    if (best)
      findings.push(
        errorFinding(best.segment, criteria, scans[j][0], scanConfidence(total), true, best.segment.from > 0 ? ` since interval ${best.segment.from}` : ''),
      );
  }

  for (const [key, spec] of continuousSpecs(criteria)) {
    const before = state[key];
    const obs = spec.observe(sample, learntScale(before, spec));
    if (!obs) continue;
    const check = updateCheck(before, spec, obs, t);
    next[key] = check;
    if (check.cusum >= CUSUM_H) findings.push(continuousBreachFinding(spec, check));
  }

  if (findings.length === 0) return { state: next, breach: null };
  findings.sort((x, y) => (y.confidence ?? 0) - (x.confidence ?? 0));
  return {
    state: next,
    breach: { kind: 'breach', explanation: findings.map((f) => f.explanation).join('; and '), findings, interval: t },
  };
}
