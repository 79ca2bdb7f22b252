// The release judge: a streaming guard (one interval at a time → ok or breach) and a window judge
// (PASS / FAIL / INCONCLUSIVE over a whole stage window). Pure and deterministic: no I/O, no clock,
// no randomness, so it runs in activities, benchmarks and, if need be, the workflow sandbox alike.
//
// Error rate: two sequential tests of one claim, "the canary's error rate is above its limit", whose
// average is the alarm (valid under a look every interval: each is a mixture of likelihood ratios over
// change points and alternatives — Shiryaev–Roberts sums — so Ville's inequality bounds its false
// alarms). (a) Against min(absolute limit, ratio × baseline), the baseline's rate at an upper
// confidence bound over everything seen so far, both raised (to the baseline's upper bound) for an
// interval whose baseline is clearly worse (a shared incident). (b) Paired: each interval's errors split between canary and baseline;
// under "canary ≤ ratio × baseline" the canary's share is at most ratio·n/(ratio·n + m), so the test is
// conditional on the interval's total errors — nothing plugged in, and load or incidents that move
// both sides cancel within the interval. Latency / CPU / memory: a robust CUSUM on the excess over
// the limit (an absolute limit rises to a baseline that is over it too), paired per
// interval with the baseline for ratios (shared load cancels) and standardised by a noise scale the
// streams themselves show (median of absolute first differences; for latency the baseline's, so a
// flapping canary cannot pass its jumps off as noise), so it needs persistence, not one spike.
// The window judge replays the guard, takes a strict fixed-sample look (exact tests on the best
// trailing segment, Bonferroni over segments; sign and signed-rank tests), refuses to PASS without
// enough data, and
// then — the stage's one final promote-or-roll-back decision — puts the burden of proof on safety:
// it promotes only when the whole window's error rate is not above a limit with FINAL_CONFIDENCE.
import type { Criteria, GuardBreach, IntervalSample, MetricFinding, SideAggregate, Verdict } from '../contract/verdict';
import {
  bernoulliLogLR,
  binomialLowerBound,
  binomialSumUpperTail,
  binomialUpperBound,
  binomialUpperTail,
  canaryErrorShare,
  rateRatioUpperTail,
  signedRankUpperTail,
  type RateStratum,
  cusumStep,
  logAddExp,
  median,
  noiseScale,
  scanStep,
  srStep,
  stdNormalCdf,
} from './stats';

// ---- tuning: statistical levels, not fitted to any scenario ------------------------------------

/**
 * Ville bound on the error-rate guard's false alarms over the whole stream (both families together).
 * The bound is loose for counts: `npm run bench:guard` measures the realized rate for a canary sitting
 * exactly at its limit at ≤ 0.6 % per window at 0.03 (≤ 1 % at 0.05), and 0 in 1,000 windows for a
 * canary no worse than the baseline. 0.03 keeps that worst case under 1 % and buys about one interval
 * of detection on low-traffic canaries over 0.01 (the bench's p90 goes 7 → 5).
 */
export const SEQUENTIAL_ALPHA = 0.03;
/** level of the single look the window judge takes at the whole window */
export const WINDOW_ALPHA = 0.01;
/** alternatives of the error-rate scans: how many times past the limit (a grid instead of a prior) */
const ERROR_FACTORS = [1.5, 2, 3, 5, 10, 30];
/** CUSUM reference value k and threshold h in noise units: ARL ≈ 900 intervals at the limit (Gaussian) */
const CUSUM_K = 0.5;
const CUSUM_H = 5;
/** one interval moves the CUSUM by at most CLIP - K = 2: three intervals in a row are needed */
const CUSUM_CLIP = 2.5;
/** the variance of a p95 estimated from n requests scales like 1/n; this floor is "as if 100 more
 * requests": interval-to-interval variation that more traffic does not remove */
const LATENCY_FLOOR_VARIANCE = 1 / 100;
/** intervals of missing canary data tolerated before the window is too dark to promote */
const MAX_DARK_FRACTION = 0.2;
/** an interval's baseline error rate raises the absolute bar at its lower confidence bound at this level */
const BASELINE_DELTA = 0.01;
/**
 * The end-of-window decision is a single look whose only choices are promote or roll back (too little
 * traffic or dark data are INCONCLUSIVE before it is taken). Promoting a release whose error rate is
 * more likely than not above a limit is the costly mistake, so there the canary is rolled back when it
 * is above a limit with this one-sided confidence over the whole window (per limit; a canary near 1×
 * a 2× limit is almost never that far out — see judge.test.ts for simulated false-rollback rates).
 * The streaming guard, which looks every interval, keeps SEQUENTIAL_ALPHA.
 */
export const FINAL_CONFIDENCE = 0.9;
/** the signed-rank look needs this many intervals with the metric (its normal tail is rough below) */
const MIN_RANK_INTERVALS = 10;
/** how many recent standardised differences the noise estimate keeps (bounds the state size) */
const NOISE_MEMORY = 180;

// ---- guard state (plain JSON: it travels in activity heartbeat details) ---------------------------

interface ErrorSegment {
  /** interval where the best-supported change started */
  from: number;
  canaryRequests: number;
  canaryErrors: number;
  baselineRequests: number;
  baselineErrors: number;
}

interface ErrorScan {
  /** per alternative in ERROR_FACTORS: the scan statistic, max over starts (null before the first
   * usable interval); it names the segment the explanation shows */
  stat: (number | null)[];
  /** per alternative: log of the Shiryaev–Roberts sum over starts; their mean decides the alarm */
  sr: (number | null)[];
  segment: (ErrorSegment | null)[];
}

interface ContinuousCheck {
  /** previous value and variance shape of each noise series, for first differences */
  prev: ([number, number] | null)[];
  /** standardised first differences (most recent NOISE_MEMORY) */
  diffs: number[];
  cusum: number;
  /** the noise scale learnt from `diffs` (kept so the next interval need not learn it again) */
  scale?: number;
  /** the intervals since the CUSUM last left zero: for the explanation */
  run: { from: number; z: number[]; canary: number[]; baseline: number[] } | null;
}

export interface GuardState {
  version: 2;
  /** intervals seen */
  t: number;
  /** the window's length in intervals when known: makes late changes cheaper to prove */
  horizon: number | null;
  /** the canary's error rate against min(absolute limit, ratio × the baseline's long-run reference) */
  errorsLimit: ErrorScan;
  /** every baseline request and error seen so far: the long-run reference */
  baseline: { requests: number; errors: number };
  /** the canary's share of each interval's errors against ratio × its share of the traffic */
  errorsRelative: ErrorScan;
  latencyAbsolute: ContinuousCheck;
  latencyRelative: ContinuousCheck;
  cpuAbsolute: ContinuousCheck;
  memoryRelative: ContinuousCheck;
}

function newScan(): ErrorScan {
  return { stat: ERROR_FACTORS.map(() => null), sr: ERROR_FACTORS.map(() => null), segment: ERROR_FACTORS.map(() => null) };
}

function newCheck(series: number): ContinuousCheck {
  return { prev: Array.from({ length: series }, () => null), diffs: [], cusum: 0, run: null };
}

/** horizonIntervals: how many intervals the stage window holds (window / poll interval), if known */
export function newGuardState(horizonIntervals?: number): GuardState {
  return {
    version: 2,
    t: 0,
    horizon: horizonIntervals && horizonIntervals > 0 ? Math.ceil(horizonIntervals) : null,
    errorsLimit: newScan(),
    baseline: { requests: 0, errors: 0 },
    errorsRelative: newScan(),
    latencyAbsolute: newCheck(2),
    latencyRelative: newCheck(2),
    cpuAbsolute: newCheck(2),
    memoryRelative: newCheck(1),
  };
}

// ---- formatting for people ------------------------------------------------------------------------

export function fmtPct(fraction: number): string {
  const p = fraction * 100;
  if (p === 0) return '0 %';
  if (p >= 10) return `${p.toFixed(1)} %`;
  if (p >= 1) return `${p.toFixed(1)} %`;
  if (p >= 0.1) return `${p.toFixed(2)} %`;
  return `${p.toPrecision(1)} %`;
}

export function fmtRatio(r: number): string {
  if (!Number.isFinite(r)) return '∞×';
  if (r >= 10) return `${Math.round(r)}×`;
  return `${Number(r.toFixed(2))}×`;
}

export function fmtConfidence(c: number): string {
  // Truncate, never round up: "99.9 %" must not overstate 99.86 %.
  const p = Math.floor(Math.min(c, 0.999) * 1000) / 10;
  return `${p.toFixed(1)} %`;
}

function fmtNum(x: number, unit: string): string {
  const v = Math.abs(x) >= 100 ? Math.round(x) : Number(x.toFixed(1));
  return `${v}${unit}`;
}

// ---- error rate: sequential change-point scan ------------------------------------------------------

/**
 * log of the mixture martingale: the mean over alternatives of their Shiryaev–Roberts sums over starts
 * (weights 1/|alternatives| × start weight, summing to at most 1), so by Ville's inequality it reaches
 * 1/alpha with probability at most alpha under the null, looked at every interval.
 */
function mixtureEvidence(scan: ErrorScan): number {
  let sum = -Infinity;
  for (const v of scan.sr) if (v !== null) sum = logAddExp(sum, v);
  return sum - Math.log(ERROR_FACTORS.length);
}

/** always-valid confidence that the limit is exceeded, from the mixture's evidence (Ville) */
function scanConfidence(logEvidence: number): number {
  return Math.max(0, 1 - Math.exp(-logEvidence));
}

/**
 * The error rate the canary may not exceed in this interval under the absolute limit. An interval whose
 * baseline is itself clearly above the limit (its lower confidence bound) is an incident or a load
 * peak that the previous version shows too: the bar rises to it, so the canary is not blamed for the
 * environment. One unlucky error among few baseline requests does not move it.
 */
function absoluteBar(criteria: Criteria, b: SideAggregate | null): number | null {
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
function errorReference(criteria: Criteria, pooled: { requests: number; errors: number }, b: SideAggregate | null): ErrorReference | null {
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
function relativeApplies(criteria: Criteria, c: SideAggregate | null, b: SideAggregate | null): criteria is Criteria & { errorRateMaxRatio: number } {
  return criteria.errorRateMaxRatio !== undefined && criteria.errorRateMaxRatio > 0 && !!c && !!b && c.requests > 0 && b.requests > 0;
}

function updateScan(scan: ErrorScan, t: number, horizon: number | null, llr: (factor: number) => number, c: SideAggregate, b: SideAggregate | null): ErrorScan {
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

function bestOf(scan: ErrorScan): { stat: number; segment: ErrorSegment } | null {
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

/**
 * "error rate 4.8 % (31/646) vs baseline 0.06 % (5/8120): 81× the baseline, limit 2×; 99.9 %
 * confident it is above the limit" — the canary's counts over the segment that decided, the
 * baseline's over the same intervals.
 */
type ErrorFamily = 'absolute' | 'ratio' | 'both';

function errorFinding(
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
    limit: family === 'ratio' ? criteria.errorRateMaxRatio : family === 'absolute' ? criteria.errorRateMaxPct : criteria.errorRateMaxPct ?? criteria.errorRateMaxRatio,
    confidence,
    sampleSize: seg.canaryRequests,
    explanation: `error rate ${rateText(seg.canaryErrors, seg.canaryRequests)}${where} ${vs}, ${limit}; ${tail}`,
  };
}

// ---- latency / CPU / memory: robust CUSUM on the excess over the limit -----------------------------

interface ContinuousObservation {
  /** excess over the limit in the transformed scale (log ratio, or points for CPU): > 0 is bad */
  excess: number;
  /** variance shape of this interval (1/n terms for p95s, 1 otherwise) */
  varShape: number;
  /** noise series values with their variance shapes, for first differences */
  noise: ([number, number] | null)[];
  canary: number;
  baseline: number;
}

interface ContinuousSpec {
  metric: 'latency_p95' | 'cpu' | 'memory';
  /** ratio limits compare canary/baseline; absolute limits compare the canary alone */
  kind: 'ratio' | 'absolute';
  limit: number;
  /** prior noise scale (per unit variance shape) used while few intervals are seen */
  prior: number;
  /** smallest per-interval noise worth believing in (measurement resolution) */
  floor: number;
  /** `scale`: the noise scale learnt so far (per unit variance shape), when the caller has one */
  observe(s: IntervalSample, scale?: number): ContinuousObservation | null;
}

const log = Math.log;

function latencyVar(n: number): number {
  return 1 / Math.max(n, 1);
}

/**
 * The series the latency noise scale is learnt from: the baseline's own log p95 (per unit of its
 * variance shape) whenever it reports, the canary's only when it does not. Learning it from the canary
 * would let a canary that flaps between fine and far over the limit teach the check that such jumps are
 * noise. Two slots, so a difference is only ever taken within one side.
 */
function latencyNoise(s: IntervalSample, cv: number, canaryShape: number): ([number, number] | null)[] {
  const bv = s.baseline?.latencyP95Ms;
  if (s.baseline && bv != null && bv > 0 && s.baseline.requests > 0) {
    return [[log(bv), latencyVar(s.baseline.requests) + LATENCY_FLOOR_VARIANCE], null];
  }
  return [null, [log(cv), canaryShape]];
}

function continuousSpecs(c: Criteria): [keyof GuardState & string, ContinuousSpec][] {
  const specs: [keyof GuardState & string, ContinuousSpec][] = [];
  if (c.latencyP95MaxMs !== undefined) {
    const limit = c.latencyP95MaxMs;
    const hasRatio = c.latencyP95MaxRatio !== undefined;
    specs.push(['latencyAbsolute', {
      metric: 'latency_p95', kind: 'absolute', limit, prior: 0.5, floor: 0.01,
      observe: (s, scale = 0.5) => {
        const cv = s.canary?.latencyP95Ms;
        if (!s.canary || cv == null || cv <= 0 || s.canary.requests <= 0) return null;
        const v = latencyVar(s.canary.requests) + LATENCY_FLOOR_VARIANCE;
        const bv = s.baseline && s.baseline.requests > 0 ? s.baseline.latencyP95Ms : null;
        const noise = latencyNoise(s, cv, v);
        const vb = bv != null && bv > 0 ? latencyVar(s.baseline!.requests) + LATENCY_FLOOR_VARIANCE : 0;
        // the most the baseline's p95 may be this interval: its reading is noisy too
        const bUpper = bv != null && bv > 0 ? bv * Math.exp(2 * scale * Math.sqrt(vb)) : 0;
        if (bv != null && bUpper > limit) {
          // A burst or daily peak that takes (or may take) the previous version over the limit too is
          // the environment, not the release. The canary is then compared with the baseline: by the
          // ratio check when there is one, else here, held to the most the baseline may be. (Held to
          // exactly the baseline, a healthy canary sits on the boundary for as long as the peak lasts.)
          if (hasRatio) return null;
          return { excess: log(cv / bUpper), varShape: v, noise, canary: cv, baseline: bv };
        }
        return { excess: log(cv / limit), varShape: v, noise, canary: cv, baseline: bv ?? NaN };
      },
    }]);
  }
  if (c.latencyP95MaxRatio !== undefined) {
    const limit = c.latencyP95MaxRatio;
    specs.push(['latencyRelative', {
      metric: 'latency_p95', kind: 'ratio', limit, prior: 0.5, floor: 0.01,
      observe: (s) => {
        const cv = s.canary?.latencyP95Ms;
        const bv = s.baseline?.latencyP95Ms;
        if (!s.canary || !s.baseline || cv == null || bv == null || cv <= 0 || bv <= 0) return null;
        if (s.canary.requests <= 0 || s.baseline.requests <= 0) return null;
        const v = latencyVar(s.canary.requests) + latencyVar(s.baseline.requests) + LATENCY_FLOOR_VARIANCE;
        const d = log(cv / bv);
        return { excess: d - log(limit), varShape: v, noise: latencyNoise(s, cv, latencyVar(s.canary.requests) + LATENCY_FLOOR_VARIANCE), canary: cv, baseline: bv };
      },
    }]);
  }
  if (c.cpuMaxPct !== undefined) {
    const limit = c.cpuMaxPct;
    specs.push(['cpuAbsolute', {
      metric: 'cpu', kind: 'absolute', limit, prior: 0.05 * limit, floor: 0.5,
      observe: (s, scale = 0.05 * limit) => {
        const cv = s.canary?.cpuPct;
        if (cv == null) return null;
        const bv = s.baseline?.cpuPct ?? null;
        // The baseline's CPU series is a second sample of the same kind of noise: it halves the
        // time before the noise estimate can be trusted. As for latency, a baseline that is, or may
        // be, over the limit too (a shared load peak) holds the canary to the most the baseline may
        // be, not to exactly the baseline, where a healthy canary would sit on the boundary.
        const noise: ([number, number] | null)[] = [[cv, 1], bv == null ? null : [bv, 1]];
        const bUpper = bv == null ? -Infinity : bv + 2 * scale;
        if (bUpper > limit) return { excess: cv - bUpper, varShape: 1, noise, canary: cv, baseline: bv! };
        return { excess: cv - limit, varShape: 1, noise, canary: cv, baseline: bv ?? NaN };
      },
    }]);
  }
  if (c.memoryMaxRatio !== undefined) {
    const limit = c.memoryMaxRatio;
    specs.push(['memoryRelative', {
      metric: 'memory', kind: 'ratio', limit, prior: 0.05, floor: 0.005,
      observe: (s) => {
        const cv = s.canary?.memoryMb;
        const bv = s.baseline?.memoryMb;
        if (cv == null || bv == null || cv <= 0 || bv <= 0) return null;
        const d = log(cv / bv);
        return { excess: d - log(limit), varShape: 1, noise: [[d, 1]], canary: cv, baseline: bv };
      },
    }]);
  }
  return specs;
}

/** the noise scale a check has learnt so far (a state from before it was kept: learnt again) */
function learntScale(check: ContinuousCheck, spec: ContinuousSpec): number {
  return check.scale ?? noiseScale(check.diffs, spec.prior, 2);
}

function updateCheck(check: ContinuousCheck, spec: ContinuousSpec, obs: ContinuousObservation, t: number): ContinuousCheck {
  const diffs = [...check.diffs];
  const prev = obs.noise.map((cur, i) => {
    const before = check.prev[i];
    if (cur && before) diffs.push((cur[0] - before[0]) / Math.sqrt(cur[1] + before[1]));
    return cur ?? before;
  });
  while (diffs.length > NOISE_MEMORY) diffs.shift();
  const scale = noiseScale(diffs, spec.prior, 2);
  const sigma = Math.max(spec.floor, scale * Math.sqrt(obs.varShape));
  const z = obs.excess / sigma;
  const cusum = cusumStep(check.cusum, z, CUSUM_K, CUSUM_CLIP);
  let run = check.run;
  if (cusum <= 0) run = null;
  else {
    const base = run ?? { from: t, z: [], canary: [], baseline: [] };
    run = {
      from: base.from,
      // bounded like the noise memory: the state travels in heartbeats
      z: [...base.z, Math.max(-CUSUM_CLIP, Math.min(CUSUM_CLIP, z))].slice(-NOISE_MEMORY),
      canary: [...base.canary, obs.canary].slice(-NOISE_MEMORY),
      baseline: [...base.baseline, obs.baseline].slice(-NOISE_MEMORY),
    };
  }
  return { prev, diffs, cusum, run, scale };
}

const METRIC_WORDS: Record<ContinuousSpec['metric'], { name: string; unit: string }> = {
  latency_p95: { name: 'p95 latency', unit: ' ms' },
  cpu: { name: 'CPU', unit: ' %' },
  memory: { name: 'memory', unit: ' MB' },
};

function continuousBreachFinding(spec: ContinuousSpec, check: ContinuousCheck): MetricFinding {
  const run = check.run!;
  const c = median(run.canary);
  const b = median(run.baseline.filter((x) => Number.isFinite(x)));
  const zSum = run.z.reduce((a, x) => a + x, 0);
  const confidence = stdNormalCdf(zSum / Math.sqrt(run.z.length));
  const w = METRIC_WORDS[spec.metric];
  const n = run.z.length;
  const span = `median of the last ${n} interval${n === 1 ? '' : 's'}`;
  const tail = `${fmtConfidence(confidence)} confident it is above the limit`;
  const explanation = spec.kind === 'ratio'
    ? `${w.name} ${fmtNum(c, w.unit)} vs baseline ${fmtNum(b, w.unit)} (${span}): ${fmtRatio(c / b)} the baseline, limit ${fmtRatio(spec.limit)}; ${tail}`
    : `${w.name} ${fmtNum(c, w.unit)} (${span}) vs limit ${fmtNum(spec.limit, w.unit)}${Number.isFinite(b) ? ` (baseline ${fmtNum(b, w.unit)})` : ''}; ${tail}`;
  return {
    metric: spec.metric,
    status: 'breach',
    canary: c,
    baseline: Number.isFinite(b) ? b : null,
    limit: spec.limit,
    confidence,
    sampleSize: n,
    explanation,
  };
}

// ---- the streaming guard --------------------------------------------------------------------------

/**
 * A state saved by an older version (a heartbeat from before a deploy) carries no error scans of the
 * current kind: they start afresh at its interval count, which only forgoes evidence (still valid).
 */
function upgrade(state: GuardState): GuardState {
  if (state.version === 2 && state.errorsLimit && state.errorsRelative) return state;
  const fresh = newGuardState(state.horizon ?? undefined);
  return { ...fresh, ...state, version: 2, errorsLimit: newScan(), errorsRelative: newScan(), baseline: state.baseline ?? fresh.baseline };
}

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
    next.errorsRelative = updateScan(state.errorsRelative, t, state.horizon, (f) => bernoulliLogLR(c!.errors, c!.errors + b!.errors, share, canaryErrorShare(rho * f, c!.requests, b!.requests)), c!, b);
  }
  // Two tests of one claim ("the canary's error rate is above its limit"), each a test martingale;
  // their average is one too, so the alarm at 1/alpha keeps the guarantee and takes whichever sees more.
  const scans = [['both', next.errorsLimit], ['ratio', next.errorsRelative]] as const;
  const evidence = scans.map(([, scan]) => mixtureEvidence(scan));
  const total = logAddExp(evidence[0], evidence[1]) - Math.log(2);
  if (total >= Math.log(1 / alpha)) {
    const j = evidence[0] >= evidence[1] ? 0 : 1;
    const best = bestOf(scans[j][1]);
    if (best) findings.push(errorFinding(best.segment, criteria, scans[j][0], scanConfidence(total), true, best.segment.from > 0 ? ` since interval ${best.segment.from}` : ''));
  }

  for (const [key, spec] of continuousSpecs(criteria)) {
    const before = state[key] as ContinuousCheck;
    const obs = spec.observe(sample, learntScale(before, spec));
    if (!obs) continue;
    const check = updateCheck(before, spec, obs, t);
    (next as unknown as Record<string, ContinuousCheck>)[key] = check;
    if (check.cusum >= CUSUM_H) findings.push(continuousBreachFinding(spec, check));
  }

  if (findings.length === 0) return { state: next, breach: null };
  findings.sort((x, y) => (y.confidence ?? 0) - (x.confidence ?? 0));
  return {
    state: next,
    breach: { kind: 'breach', explanation: findings.map((f) => f.explanation).join('; and '), findings, interval: t },
  };
}

// ---- the window judge -----------------------------------------------------------------------------

interface WindowTotals {
  canaryRequests: number;
  canaryErrors: number;
  baselineRequests: number;
  baselineErrors: number;
  canaryDark: number;
  baselineDark: number;
  trailingDark: number;
}

function totals(samples: IntervalSample[]): WindowTotals {
  const t: WindowTotals = { canaryRequests: 0, canaryErrors: 0, baselineRequests: 0, baselineErrors: 0, canaryDark: 0, baselineDark: 0, trailingDark: 0 };
  for (const s of samples) {
    if (s.canary) {
      t.canaryRequests += s.canary.requests;
      t.canaryErrors += s.canary.errors;
      t.trailingDark = 0;
    } else {
      t.canaryDark++;
      t.trailingDark++;
    }
    if (s.baseline) {
      t.baselineRequests += s.baseline.requests;
      t.baselineErrors += s.baseline.errors;
    } else t.baselineDark++;
  }
  return t;
}

/** intervals where the canary reported but a metric it must be judged on was missing */
function metricGaps(samples: IntervalSample[], criteria: Criteria): { metric: string; missing: number; of: number }[] {
  const gaps: { metric: string; missing: number; of: number }[] = [];
  const count = (name: string, applies: boolean, missing: (s: IntervalSample) => boolean | null) => {
    if (!applies) return;
    let m = 0;
    let of = 0;
    for (const s of samples) {
      const r = missing(s);
      if (r === null) continue;
      of++;
      if (r) m++;
    }
    gaps.push({ metric: name, missing: m, of });
  };
  const hasLatency = criteria.latencyP95MaxMs !== undefined || criteria.latencyP95MaxRatio !== undefined;
  count('p95 latency', hasLatency, (s) => (s.canary && s.canary.requests > 0 ? s.canary.latencyP95Ms == null : null));
  count('CPU', criteria.cpuMaxPct !== undefined, (s) => (s.canary ? s.canary.cpuPct == null : null));
  count('memory', criteria.memoryMaxRatio !== undefined, (s) => (s.canary ? s.canary.memoryMb == null : null));
  return gaps;
}

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
    strata.push({ canaryErrors: x.canary!.errors, canaryRequests: x.canary!.requests, baselineErrors: x.baseline!.errors, baselineRequests: x.baseline!.requests });
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
function strictErrorTests(samples: IntervalSample[], criteria: Criteria): MetricFinding[] {
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
    out.push(errorFinding(segmentCounts(family, samples.slice(from), criteria), criteria, family, 1 - p, p <= WINDOW_ALPHA, from > 0 ? ` since interval ${from}` : ''));
  }
  return out;
}

/** the final look: the whole window, one test per limit, at FINAL_CONFIDENCE */
function finalErrorTests(samples: IntervalSample[], criteria: Criteria): MetricFinding[] {
  return errorFamilies(criteria).map((family) => {
    const p = errorPValue(family, samples, criteria);
    const f = errorFinding(segmentCounts(family, samples, criteria), criteria, family, 1 - p, 1 - p >= FINAL_CONFIDENCE, ' over the window');
    return f.status === 'breach'
      ? { ...f, explanation: `${f.explanation} (promotion needs it not above the limit at ${fmtConfidence(FINAL_CONFIDENCE)})` }
      : f;
  });
}

/** one look at the whole window with fixed-sample tests: catches a small, steady regression that the
 * sequential guard (which pays for looking every interval) has not yet proven */
function windowTests(samples: IntervalSample[], criteria: Criteria, guard: GuardState): MetricFinding[] {
  const out: MetricFinding[] = strictErrorTests(samples, criteria);
  for (const [key, spec] of continuousSpecs(criteria)) {
    // the noise scale the guard learnt over the whole window
    const scale = learntScale(guard[key] as ContinuousCheck, spec);
    const obs = samples.map((s) => spec.observe(s, scale)).filter((o): o is ContinuousObservation => o !== null);
    if (obs.length === 0) continue;
    // Sign test on the per-interval excess: scale-free and blind to how wild any one interval is. And a
    // signed-rank test, which also weighs by how far: a canary that flaps between fine and far over the
    // limit is over it in only half the intervals. Bonferroni over the two.
    const excess = obs.map((o) => o.excess);
    const above = excess.filter((x) => x > 0).length;
    const pSign = median(excess) > 0 ? binomialUpperTail(above, obs.length, 0.5) : 1;
    const pRank = obs.length >= MIN_RANK_INTERVALS ? signedRankUpperTail(excess) : 1;
    const p = Math.min(1, 2 * Math.min(pSign, pRank));
    const breach = p <= WINDOW_ALPHA;
    const w = METRIC_WORDS[spec.metric];
    const cMed = median(obs.map((o) => o.canary));
    const bMed = median(obs.map((o) => o.baseline).filter((x) => Number.isFinite(x)));
    const what = spec.kind === 'ratio'
      ? `${w.name} ${fmtNum(cMed, w.unit)} vs baseline ${fmtNum(bMed, w.unit)} (medians): ${fmtRatio(cMed / bMed)} the baseline, limit ${fmtRatio(spec.limit)}`
      : `${w.name} ${fmtNum(cMed, w.unit)} (median) vs limit ${fmtNum(spec.limit, w.unit)}`;
    out.push({
      metric: spec.metric,
      status: breach ? 'breach' : 'ok',
      canary: cMed,
      baseline: Number.isFinite(bMed) ? bMed : null,
      limit: spec.limit,
      confidence: 1 - p,
      sampleSize: obs.length,
      explanation: `${what}; above the limit in ${above} of ${obs.length} intervals${breach && pRank < pSign ? ' (far above it there, only a little below it elsewhere)' : ''}${breach ? `, ${fmtConfidence(1 - p)} confident it is above the limit` : ''}`,
    });
  }
  return out;
}

/**
 * The verdict over a whole stage window. Replays the guard first (so a breach it would have raised
 * is a FAIL here too), then one fixed-sample look at the window, then asks whether there is enough
 * canary data to promote at all.
 */
export function judgeWindow(samples: IntervalSample[], criteria: Criteria): Verdict {
  const tot = totals(samples);
  const intervals = samples.length;
  const base = { canaryRequests: tot.canaryRequests, intervals };

  let state = newGuardState(samples.length);
  for (const s of samples) {
    const step = guardStep(state, s, criteria);
    state = step.state;
    if (step.breach) {
      return { verdict: 'FAIL', explanation: `${step.breach.explanation} (interval ${step.breach.interval})`, findings: step.breach.findings, ...base };
    }
  }

  const findings = windowTests(samples, criteria, state);
  const breaches = findings.filter((f) => f.status === 'breach');
  if (breaches.length > 0) {
    return { verdict: 'FAIL', explanation: `over the whole window: ${breaches.map((f) => f.explanation).join('; and ')}`, findings, ...base };
  }

  const problems: MetricFinding[] = [];
  const darkLimit = Math.max(1, Math.floor(MAX_DARK_FRACTION * intervals));
  const trailingLimit = Math.max(3, Math.ceil(0.1 * intervals));
  if (intervals === 0 || tot.canaryDark > darkLimit || tot.trailingDark >= trailingLimit) {
    problems.push({
      metric: 'data',
      status: 'insufficient',
      sampleSize: intervals - tot.canaryDark,
      explanation: intervals === 0
        ? 'no canary metrics at all'
        : `canary metrics missing in ${tot.canaryDark} of ${intervals} intervals${tot.trailingDark > 0 ? ` (the last ${tot.trailingDark} in a row)` : ''}`,
    });
  }
  const hasRatio = criteria.errorRateMaxRatio !== undefined || criteria.latencyP95MaxRatio !== undefined || criteria.memoryMaxRatio !== undefined;
  if (hasRatio && intervals > 0 && tot.baselineDark > darkLimit) {
    problems.push({
      metric: 'data',
      status: 'insufficient',
      sampleSize: intervals - tot.baselineDark,
      explanation: `baseline metrics missing in ${tot.baselineDark} of ${intervals} intervals: nothing to compare the canary with`,
    });
  }
  for (const g of metricGaps(samples, criteria)) {
    if (g.of > 0 && g.missing > Math.max(1, Math.floor(MAX_DARK_FRACTION * g.of))) {
      problems.push({ metric: 'data', status: 'insufficient', sampleSize: g.of - g.missing, explanation: `canary ${g.metric} missing in ${g.missing} of ${g.of} intervals` });
    }
  }
  if (tot.canaryRequests < criteria.minRequests) {
    problems.push({
      metric: 'traffic',
      status: 'insufficient',
      sampleSize: tot.canaryRequests,
      limit: criteria.minRequests,
      explanation: `canary saw ${tot.canaryRequests} requests, fewer than the ${criteria.minRequests} needed to promote`,
    });
  }
  if (problems.length > 0) {
    return { verdict: 'INCONCLUSIVE', explanation: problems.map((f) => f.explanation).join('; '), findings: [...problems, ...findings], ...base };
  }
  // Enough data to decide: the one final promote-or-roll-back look, burden of proof on safety.
  const final = finalErrorTests(samples, criteria);
  const against = final.filter((f) => f.status === 'breach');
  if (against.length > 0) {
    return { verdict: 'FAIL', explanation: `at the end of the window: ${against.map((f) => f.explanation).join('; and ')}`, findings: [...final, ...findings.filter((f) => f.metric !== 'error_rate')], ...base };
  }
  const shown = [...final, ...findings.filter((f) => f.metric !== 'error_rate')];
  // One short clause per metric for Slack and the CLI; every check's full wording stays in `findings`.
  const perMetric = new Map<string, string>();
  for (const f of shown) if (!perMetric.has(f.metric)) perMetric.set(f.metric, f.explanation.split(/[:;]/)[0].trim());
  const summary = perMetric.size > 0 ? [...perMetric.values()].join('; ') : 'no criteria to check';
  return { verdict: 'PASS', explanation: `within limits over ${intervals} intervals and ${tot.canaryRequests} canary requests: ${summary}`, findings: shown, ...base };
}

// ---- the naive baseline for the bench -------------------------------------------------------------

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
      (criteria.latencyP95MaxRatio !== undefined && c.latencyP95Ms != null && b?.latencyP95Ms != null && c.latencyP95Ms > criteria.latencyP95MaxRatio * b.latencyP95Ms) ||
      (criteria.cpuMaxPct !== undefined && c.cpuPct != null && c.cpuPct > criteria.cpuMaxPct) ||
      (criteria.memoryMaxRatio !== undefined && c.memoryMb != null && b?.memoryMb != null && c.memoryMb > criteria.memoryMaxRatio * b.memoryMb);
    if (bad) failed++;
    if (failed >= threshold) return { verdict: 'FAIL', interval: i, failedChecks: failed };
  }
  return { verdict: 'PASS', interval: null, failedChecks: failed };
}
