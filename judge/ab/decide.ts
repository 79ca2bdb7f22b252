// The A/B strategy's decision at one poll: from cumulative visits and conversions of A and B, continue,
// ship B, keep A, or stop on a sample ratio mismatch. Both tests are always valid, so this may be
// called at every poll interval without inflating the error rates.
import { type ArmCounts, cleanCounts, differenceSequence, pooledMixtureVariance } from './sequential';
import { sampleRatioCheck } from './srm';

export interface AbPlan {
  /** B's configured share of visits, 0..1 (0.5 for 50/50) */
  weightB: number;
  alpha: number; // default 0.05
  /** smallest relative lift worth detecting, e.g. 0.03 for +3 % */
  minDetectableEffect: number;
  /** relative lift B must show to ship (the lower bound of the confidence sequence on the relative lift must clear it); default 0 */
  margin: number;
  /** ship B unless it is worse by more than `margin` (non-inferiority) instead of requiring it better */
  nonInferiority: boolean;
  maxDurationMs: number;
  srmAlpha: number; // default 0.001
}

export const AB_PLAN_DEFAULTS = { alpha: 0.05, margin: 0, nonInferiority: false, srmAlpha: 0.001 } as const;

export interface AbObservation {
  a: ArmCounts;
  b: ArmCounts;
  elapsedMs: number;
}

export type AbDecisionKind = 'continue' | 'ship_b' | 'keep_a' | 'stop_srm';

export interface AbDecision {
  kind: AbDecisionKind;
  rateA: number;
  rateB: number;
  /** relative lift of B over A (rateB / rateA - 1), and its always-valid confidence sequence at 1 - alpha */
  lift: number;
  liftLow: number;
  liftHigh: number;
  pValue: number;
  srm: { tripped: boolean; observedShareB: number; expectedShareB: number };
  /** one sentence with the numbers, e.g. "B converts 3.41 % vs A 3.31 % (+3.0 %, 95 % confidence sequence +0.8 % to +5.2 %): shipping B" */
  text: string;
}

const pct2 = (f: number): string => `${(f * 100).toFixed(2)} %`;

function signedPct1(f: number): string {
  const s = (f * 100).toFixed(1);
  // "-0.0" reads as a loss that is not there
  if (Number(s) === 0) return '+0.0 %';
  return `${f > 0 ? '+' : ''}${s} %`;
}

function levelPct(alpha: number): string {
  return `${Number(((1 - alpha) * 100).toFixed(1))} %`;
}

function fmtDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s >= 3600 && s % 3600 === 0) return `${s / 3600} h`;
  if (s >= 60 && s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

/**
 * Rate A used to turn a difference into a relative lift. Dividing the confidence sequence on pB - pA
 * by the observed rate A treats rate A as known, which it nearly is once the difference is narrow
 * enough to decide anything. Before A has converted it is 0: then A's rate with one conversion added,
 * (conversions + 1) / (visits + 2), keeps the lift finite.
 */
function liftBase(a: ArmCounts): number {
  return a.conversions > 0 ? a.conversions / a.visits : 1 / (a.visits + 2);
}

export function decideAb(plan: AbPlan, obs: AbObservation): AbDecision {
  const a = cleanCounts(obs.a);
  const b = cleanCounts(obs.b);
  const srm = sampleRatioCheck(a.visits, b.visits, plan.weightB, plan.srmAlpha);
  const srmOut = { tripped: srm.tripped, observedShareB: srm.observedShareB, expectedShareB: srm.expectedShareB };

  const seq = differenceSequence(a, b, plan.alpha, pooledMixtureVariance(a, b, plan.minDetectableEffect));
  const base = liftBase(a);
  const lift = seq.difference / base;
  // B's rate cannot go below 0, so neither can the lift below -100 %.
  const liftLow = Math.max(-1, seq.low / base);
  const liftHigh = seq.high / base;

  const numbers = `B converts ${pct2(seq.rateB)} vs A ${pct2(seq.rateA)} (${signedPct1(lift)}, ${levelPct(plan.alpha)} confidence sequence ${signedPct1(liftLow)} to ${signedPct1(liftHigh)})`;
  const out = (kind: AbDecisionKind, text: string): AbDecision => ({
    kind,
    rateA: seq.rateA,
    rateB: seq.rateB,
    lift,
    liftLow,
    liftHigh,
    pValue: seq.pValue,
    srm: srmOut,
    text,
  });

  if (srm.tripped) {
    return out(
      'stop_srm',
      `Sample ratio mismatch: B got ${pct2(srm.observedShareB)} of ${srm.visits} visits against ${pct2(srm.expectedShareB)} configured: stopping, the conversions cannot be compared`,
    );
  }
  // Non-inferiority moves the bar from +margin to -margin; the rules are otherwise the same.
  const bar = plan.nonInferiority ? -plan.margin : plan.margin;
  const barText = signedPct1(bar);
  if (liftLow > bar) {
    return out('ship_b', plan.nonInferiority ? `${numbers}: B is not worse than ${barText}, shipping B` : `${numbers}: shipping B`);
  }
  if (liftHigh < bar) {
    const why = plan.nonInferiority ? `B is worse than ${barText}` : bar === 0 ? 'B is worse than A' : `B cannot reach ${barText}`;
    return out('keep_a', `${numbers}: ${why}, keeping A`);
  }
  if (obs.elapsedMs >= plan.maxDurationMs) {
    return out('keep_a', `${numbers}: inconclusive at the maximum duration (${fmtDuration(plan.maxDurationMs)}), keeping A`);
  }
  return out('continue', `${numbers}: continuing`);
}
