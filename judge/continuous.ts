// Latency / CPU / memory: a robust CUSUM on the excess over the limit (an absolute limit rises to a
// baseline that is over it too), paired per interval with the baseline for ratios (shared load
// cancels) and standardised by a noise scale the streams themselves show (median of absolute first
// differences; for latency the baseline's, so a flapping canary cannot pass its jumps off as noise),
// so it needs persistence, not one spike. Here: what each limit observes per interval (its spec), one
// CUSUM step, and the wording of a breach; the window's fixed-sample look at the same observations
// is in window.ts.
import type { Criteria, IntervalSample, MetricFinding } from '../contract/verdict';
import { fmtConfidence, fmtNum, fmtRatio } from './format';
import type { ContinuousCheck, ContinuousKey } from './state';
import { cusumStep, median, noiseScale, stdNormalCdf } from './stats';
import { CUSUM_CLIP, CUSUM_K, LATENCY_FLOOR_VARIANCE, NOISE_MEMORY } from './tuning';

export interface ContinuousObservation {
  /** excess over the limit in the transformed scale (log ratio, or points for CPU): > 0 is bad */
  excess: number;
  /** variance shape of this interval (1/n terms for p95s, 1 otherwise) */
  varShape: number;
  /** noise series values with their variance shapes, for first differences */
  noise: ([number, number] | null)[];
  canary: number;
  baseline: number;
}

export interface ContinuousSpec {
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

export function continuousSpecs(c: Criteria): [ContinuousKey, ContinuousSpec][] {
  const specs: [ContinuousKey, ContinuousSpec][] = [];
  if (c.latencyP95MaxMs !== undefined) {
    const limit = c.latencyP95MaxMs;
    const hasRatio = c.latencyP95MaxRatio !== undefined;
    specs.push([
      'latencyAbsolute',
      {
        metric: 'latency_p95',
        kind: 'absolute',
        limit,
        prior: 0.5,
        floor: 0.01,
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
      },
    ]);
  }
  if (c.latencyP95MaxRatio !== undefined) {
    const limit = c.latencyP95MaxRatio;
    specs.push([
      'latencyRelative',
      {
        metric: 'latency_p95',
        kind: 'ratio',
        limit,
        prior: 0.5,
        floor: 0.01,
        observe: (s) => {
          const cv = s.canary?.latencyP95Ms;
          const bv = s.baseline?.latencyP95Ms;
          if (!s.canary || !s.baseline || cv == null || bv == null || cv <= 0 || bv <= 0) return null;
          if (s.canary.requests <= 0 || s.baseline.requests <= 0) return null;
          const v = latencyVar(s.canary.requests) + latencyVar(s.baseline.requests) + LATENCY_FLOOR_VARIANCE;
          const d = log(cv / bv);
          return {
            excess: d - log(limit),
            varShape: v,
            noise: latencyNoise(s, cv, latencyVar(s.canary.requests) + LATENCY_FLOOR_VARIANCE),
            canary: cv,
            baseline: bv,
          };
        },
      },
    ]);
  }
  if (c.cpuMaxPct !== undefined) {
    const limit = c.cpuMaxPct;
    specs.push([
      'cpuAbsolute',
      {
        metric: 'cpu',
        kind: 'absolute',
        limit,
        prior: 0.05 * limit,
        floor: 0.5,
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
      },
    ]);
  }
  if (c.memoryMaxRatio !== undefined) {
    const limit = c.memoryMaxRatio;
    specs.push([
      'memoryRelative',
      {
        metric: 'memory',
        kind: 'ratio',
        limit,
        prior: 0.05,
        floor: 0.005,
        observe: (s) => {
          const cv = s.canary?.memoryMb;
          const bv = s.baseline?.memoryMb;
          if (cv == null || bv == null || cv <= 0 || bv <= 0) return null;
          const d = log(cv / bv);
          return { excess: d - log(limit), varShape: 1, noise: [[d, 1]], canary: cv, baseline: bv };
        },
      },
    ]);
  }
  return specs;
}

/** the noise scale a check has learnt so far (a state from before it was kept: learnt again) */
export function learntScale(check: ContinuousCheck, spec: ContinuousSpec): number {
  return check.scale ?? noiseScale(check.diffs, spec.prior, 2);
}

export function updateCheck(check: ContinuousCheck, spec: ContinuousSpec, obs: ContinuousObservation, t: number): ContinuousCheck {
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

export const METRIC_WORDS: Record<ContinuousSpec['metric'], { name: string; unit: string }> = {
  latency_p95: { name: 'p95 latency', unit: ' ms' },
  cpu: { name: 'CPU', unit: ' %' },
  memory: { name: 'memory', unit: ' MB' },
};

export function continuousBreachFinding(spec: ContinuousSpec, check: ContinuousCheck): MetricFinding {
  const run = check.run!;
  const c = median(run.canary);
  const b = median(run.baseline.filter((x) => Number.isFinite(x)));
  const zSum = run.z.reduce((a, x) => a + x, 0);
  const confidence = stdNormalCdf(zSum / Math.sqrt(run.z.length));
  const w = METRIC_WORDS[spec.metric];
  const n = run.z.length;
  const span = `median of the last ${n} interval${n === 1 ? '' : 's'}`;
  const tail = `${fmtConfidence(confidence)} confident it is above the limit`;
  const explanation =
    spec.kind === 'ratio'
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
