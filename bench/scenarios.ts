// Held-out-like canary scenarios: a seeded, deterministic generator of labelled stage windows in exactly
// the format of ../shared/scenarios/judge-public.jsonl (see its README), with kinds that file does not
// have — traffic ramps, shared bursts, daily load cycles, memory leaks, flapping canaries and gradual
// error ramps — each in a healthy and a bad variant. It exists to check how the judge generalizes
// without tuning it to the public file: the judge never sees this code, and the labels come from one
// rule (label() below) applied to the scenario's hidden truth, not from what the judge does.
//
//   npm run bench:scenarios -- [--seed N] [--n N] [--out FILE.jsonl | FILE.jsonl.gz]   (default: 400 to stdout)
//   npm run bench:judge -- FILE.jsonl.gz
//
// Each scenario is built in two steps:
//  1. a kind draws the TRUTH of every interval for both sides: expected requests, error rate, p95
//     latency, CPU and memory (what the services really do, before any sampling noise);
//  2. one noise model, measured on the public file, turns the truth into what a metrics provider
//     reports, and label() turns the truth (plus the realized traffic) into `expect` and `onset`.
//
// The noise model (all figures from judge-public.jsonl, healthy and low_traffic scenarios):
//  - requests per interval are Poisson around total_rps × interval_s × share (dispersion ≈ 1);
//  - errors are binomial in the requests (dispersion ≈ 1), baseline rates 0.05 / 0.1 / 0.2 / 0.5 %;
//  - p95 latency is the true level × exp(N(0, σ)), σ² ≈ 0.1/n + 0.026² (n = the interval's requests:
//    0.31 at n = 1, 0.10 at n = 10, 0.04 at n = 100, 0.024 at n ≥ 4000), null when n = 0; levels
//    80 / 140 / 180 ms, and latency_p95_max_ms = max(200, 1.4 × level) (the file's 200 and 252);
//  - CPU is N(level, 3) per interval and side (level 60), memory N(level, 1 % of level) (level 500 MB);
//  - the sides' noises are independent (correlations ≈ 0), no autocorrelation;
//  - criteria as in the file: 1 % and 2× for errors, 1.25× for latency, 90 % CPU, 1.5× memory,
//    min_requests 200; 90 intervals of 10 s.
// `canary_percent` and `total_rps` are informative only (the bench reads the samples): for kinds whose
// share or load moves they hold the window's time average.
//
// Labels (label()), the README's rules made explicit:
//  - A metric is VIOLATED in an interval when the canary's true value is above its limit. Limits are
//    the stricter of absolute and relative, except that an absolute limit the baseline itself is above
//    in that interval rises to the baseline (a shared incident or load peak is the environment, not the
//    release — the brief's bursts and daily cycles are healthy when both sides move together).
//  - A violated metric is VISIBLE (→ FAIL) only when the regression is clear and the traffic enough:
//      errors:  on some segment from the first violation on, the expected errors are ≥ 1.5× the
//               limit's and a one-sided test rejects "at the limit" with ≥ 90 % power, at 0.01/90 for
//               a trailing segment (a fixed look that pays for not knowing the onset — the judge's own
//               window level) and 0.01/4095 for any other contiguous one (a flapping canary's bad
//               runs); exact Poisson for the absolute limit, normal on the log rate ratio (both
//               sides' expected errors in its variance) for the ratio limit;
//      latency: ≥ 10 intervals with ≥ 20 canary requests (the public file labels latency steps seen
//               through ~10 requests per interval ANY) in some trailing segment, over which the true
//               p95 is on average ≥ 1.1× its limit;
//      CPU:     ≥ 6 intervals in a row ≥ 4 points over the limit (CPU needs no traffic: the public
//               cpu_step is FAIL at 4 canary requests);
//      memory:  ≥ 6 intervals in a row ≥ 3 % over 1.5× the baseline (noise of the ratio ≈ 1.4 %).
//    A violated but not visible metric (too little traffic, near the limit) makes the scenario ANY.
//  - FAIL if any metric is visible; onset = the first violated interval of a visible metric.
//  - Otherwise (nothing violated): PASS if the canary saw ≥ min_requests requests, else INCONCLUSIVE.
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { rng } from '../test/support/prng';

// ---- the file format (field order as in judge-public.jsonl) ------------------------------------------

export interface RawSide {
  requests: number;
  errors: number;
  latency_p95_ms: number | null;
  cpu_pct: number | null;
  memory_mb: number | null;
}

export interface RawCriteria {
  error_rate_max_pct: number;
  latency_p95_max_ms: number;
  error_rate_max_ratio: number;
  latency_p95_max_ratio: number;
  cpu_max_pct: number;
  memory_max_ratio: number;
  min_requests: number;
}

export interface RawScenario {
  id: string;
  kind: Kind;
  expect: 'PASS' | 'FAIL' | 'INCONCLUSIVE' | 'ANY';
  interval_s: number;
  canary_percent: number;
  total_rps: number;
  criteria: RawCriteria;
  onset: number | null;
  samples: { baseline: RawSide | null; canary: RawSide | null }[];
}

/** a generated scenario with what the file does not carry: the variant, why it got its label, and
 * the hidden truth (for oracle bounds in analyses) */
export interface Generated {
  scenario: RawScenario;
  variant: string;
  why: string;
  truth: IntervalTruth[];
}

// ---- the hidden truth --------------------------------------------------------------------------------

/** what one side really does in one interval, before sampling noise */
export interface SideTruth {
  /** expected requests in the interval */
  requests: number;
  errorRate: number;
  latencyMs: number;
  cpuPct: number;
  memoryMb: number;
}

export interface IntervalTruth {
  baseline: SideTruth;
  canary: SideTruth;
}

export const KINDS = ['ramp', 'burst', 'daily_cycle', 'leak', 'flapping', 'error_ramp'] as const;
export type Kind = (typeof KINDS)[number];

const INTERVALS = 90;
const INTERVAL_S = 10;

/** one scenario's setting: the public file's choices of traffic, levels and criteria */
interface World {
  r: () => number;
  canaryShare: number;
  totalRps: number;
  latencyMs: number;
  errorRate: number;
  cpuPct: number;
  memoryMb: number;
  criteria: RawCriteria;
}

/** what a kind builds: the truth and a short name of its variant */
interface Built {
  truth: IntervalTruth[];
  variant: string;
}

// ---- random draws ------------------------------------------------------------------------------------

function pick<T>(r: () => number, xs: readonly T[], weights?: readonly number[]): T {
  const w = weights ?? xs.map(() => 1);
  let u = r() * w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < xs.length; i++) {
    u -= w[i];
    if (u < 0) return xs[i];
  }
  return xs[xs.length - 1];
}

function uniform(r: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * r();
}

function int(r: () => number, lo: number, hi: number): number {
  return Math.floor(uniform(r, lo, hi + 1));
}

function normal(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

function poisson(r: () => number, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 60) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(r)));
  // inversion: few steps at these means
  let k = 0;
  let p = Math.exp(-mean);
  let cdf = p;
  const u = r();
  while (u > cdf && k < 1000) {
    k++;
    p *= mean / k;
    cdf += p;
  }
  return k;
}

function binomial(r: () => number, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial(r, n, 1 - p);
  const mean = n * p;
  if (mean > 30) return Math.min(n, Math.max(0, Math.round(mean + Math.sqrt(mean * (1 - p)) * normal(r))));
  // inversion from k = 0 by the pmf recurrence (mean ≤ 30: (1-p)^n does not underflow)
  let k = 0;
  let pk = Math.pow(1 - p, n);
  let cdf = pk;
  const u = r();
  while (u > cdf && k < n) {
    pk *= ((n - k) / (k + 1)) * (p / (1 - p));
    k++;
    cdf += pk;
  }
  return k;
}

// ---- the world every kind starts from: the public file's settings ------------------------------------

function newWorld(r: () => number): World {
  // Traffic as in the public file, a little less weight on the tiny rates (0.05–0.3 rps there are
  // mostly low_traffic cases; 0.5 and 2 rps still give INCONCLUSIVE healthy windows here).
  const totalRps = pick(r, [0.5, 2, 20, 100, 500], [1, 2, 3, 3, 2]);
  const canaryShare = pick(r, [1, 5, 10, 25, 50], [1, 3, 2, 2, 1]) / 100;
  const latencyMs = pick(r, [80, 140, 180]);
  return {
    r,
    canaryShare,
    totalRps,
    latencyMs,
    errorRate: pick(r, [0.0005, 0.001, 0.002, 0.005]),
    cpuPct: 60,
    memoryMb: 500,
    criteria: {
      error_rate_max_pct: 1.0,
      latency_p95_max_ms: Math.max(200, 1.4 * latencyMs),
      error_rate_max_ratio: 2.0,
      latency_p95_max_ratio: 1.25,
      cpu_max_pct: 90.0,
      memory_max_ratio: 1.5,
      min_requests: 200,
    },
  };
}

/** both sides at the world's steady levels, traffic split by share at load factor `load` */
function steady(w: World, share = w.canaryShare, load = 1): IntervalTruth {
  const total = w.totalRps * INTERVAL_S * load;
  const side = (requests: number): SideTruth => ({ requests, errorRate: w.errorRate, latencyMs: w.latencyMs, cpuPct: w.cpuPct, memoryMb: w.memoryMb });
  return { baseline: side(total * (1 - share)), canary: side(total * share) };
}

function times<T>(f: (t: number) => T): T[] {
  return Array.from({ length: INTERVALS }, (_, t) => f(t));
}

/** where a step regression starts: from the first interval sometimes (a release bad from the start),
 * else anywhere up to two thirds in (so most windows leave time to see it) */
function drawOnset(r: () => number): number {
  return r() < 0.25 ? 0 : int(r, 5, 60);
}

/** a canary regression in error rate or latency, applied on top of whatever the canary does */
interface Regression {
  what: 'errors' | 'latency';
  /** error rate multiplier, or an absolute error rate when `absolute` */
  factor: number;
  absolute: boolean;
  name: string;
}

function drawRegression(r: () => number): Regression {
  if (r() < 0.55) {
    // Like the public error_step: several times the baseline, or an absolute rate well past 1 %.
    if (r() < 0.7) {
      const m = pick(r, [3, 5, 10, 30]);
      return { what: 'errors', factor: m, absolute: false, name: `errors ${m}x` };
    }
    const a = pick(r, [0.02, 0.05, 0.2]);
    return { what: 'errors', factor: a, absolute: true, name: `errors ${a * 100} %` };
  }
  const x = pick(r, [1.6, 2, 3]);
  return { what: 'latency', factor: x, absolute: false, name: `latency ${x}x` };
}

function regress(s: SideTruth, g: Regression): SideTruth {
  if (g.what === 'latency') return { ...s, latencyMs: s.latencyMs * g.factor };
  return { ...s, errorRate: Math.min(0.6, g.absolute ? Math.max(g.factor, s.errorRate) : s.errorRate * g.factor) };
}

// ---- the kinds ---------------------------------------------------------------------------------------

/**
 * Traffic ramp: the canary's share steps or slides up (a progressive rollout or flag ramp inside one
 * stage), and/or total load rises (a morning ramp, a campaign), 2–4× over the window. Load lifts latency
 * and CPU a little on both sides. The judge must not read "more canary requests" or "busier service"
 * as a regression, and must still catch a canary that is bad while its share is tiny and grows.
 */
function ramp(w: World, healthy: boolean): Built {
  const { r } = w;
  const mode = pick(r, ['share', 'load', 'both'] as const);
  const from = pick(r, [0.01, 0.05]);
  const to = pick(r, [0.1, 0.25, 0.5]);
  const steps = pick(r, [0, 3, 4, 5]); // 0: linear slide, else equal steps like setWeight
  const growth = uniform(r, 2, 4);
  const shareAt = (t: number) => {
    if (mode === 'load') return w.canaryShare;
    const x = t / (INTERVALS - 1);
    const f = steps === 0 ? x : Math.floor(x * steps) / (steps - 1 || 1);
    return from + (to - from) * Math.min(1, f);
  };
  const loadAt = (t: number) => (mode === 'share' ? 1 : 1 + ((growth - 1) * t) / (INTERVALS - 1));
  const g = healthy ? null : drawRegression(r);
  const onset = drawOnset(r);
  const truth = times((t) => {
    const load = loadAt(t);
    const s = steady(w, shareAt(t), load);
    // busier pods: a little slower and hotter, the same on both sides
    for (const side of [s.baseline, s.canary]) {
      side.latencyMs *= 1 + 0.1 * (load - 1);
      side.cpuPct += 8 * (load - 1);
    }
    if (g && t >= onset) s.canary = regress(s.canary, g);
    return s;
  });
  const shares = truth.map((x) => x.canary.requests / (x.canary.requests + x.baseline.requests));
  w.canaryShare = shares.reduce((a, b) => a + b, 0) / INTERVALS;
  w.totalRps *= times(loadAt).reduce((a, b) => a + b, 0) / INTERVALS;
  const how =
    mode === 'load'
      ? `load ×${growth.toFixed(1)}`
      : `share ${from * 100}→${to * 100} %${steps ? ` in ${steps} steps` : ''}${mode === 'both' ? `, load ×${growth.toFixed(1)}` : ''}`;
  return { truth, variant: g ? `${how}; canary ${g.name} from ${onset}` : how };
}

/**
 * Bursts: short incidents the environment causes (a dependency hiccup, a noisy neighbour, a GC storm
 * on shared nodes) hit BOTH versions in the same 1–3 intervals: errors to 2–15 %, latency 1.5–3×, CPU
 * +15–35 points, often past the absolute limits. A canary that moves with the baseline is healthy.
 * The bad variant adds an incident on the canary alone that starts mid-window and persists to the
 * end — a release that broke on some code path or under some condition — touching errors, latency,
 * CPU or all of them; shared bursts still happen around it. The label comes from the truth, not the
 * variant: a canary-only CPU rise to 75–89 % stays within the 90 % limit and is labelled PASS (or
 * INCONCLUSIVE on little traffic) — a check that the judge does not roll back a hotter canary that is
 * still within limits.
 */
function burst(w: World, healthy: boolean): Built {
  const { r } = w;
  const truth = times(() => steady(w));
  const shared = int(r, 1, 4);
  for (let i = 0; i < shared; i++) {
    const start = int(r, 2, INTERVALS - 3);
    const len = int(r, 1, 3);
    const err = uniform(r, 0.02, 0.15);
    const lat = uniform(r, 1.5, 3);
    const cpu = uniform(r, 15, 35);
    for (let t = start; t < Math.min(INTERVALS, start + len); t++) {
      for (const side of [truth[t].baseline, truth[t].canary]) {
        side.errorRate = Math.max(side.errorRate, err);
        side.latencyMs *= lat;
        side.cpuPct = Math.min(100, side.cpuPct + cpu);
      }
    }
  }
  if (healthy) return { truth, variant: `${shared} shared burst${shared > 1 ? 's' : ''}` };
  const onset = int(r, 10, 65);
  const on = pick(r, ['all', 'errors', 'latency', 'cpu'] as const);
  const err = uniform(r, 0.02, 0.15);
  const lat = uniform(r, 1.5, 3);
  const cpu = uniform(r, 15, 35);
  for (let t = onset; t < INTERVALS; t++) {
    const c = truth[t].canary;
    if (on === 'all' || on === 'errors') c.errorRate = Math.max(c.errorRate, err);
    if (on === 'all' || on === 'latency') c.latencyMs *= lat;
    if (on === 'all' || on === 'cpu') c.cpuPct = Math.min(100, c.cpuPct + cpu);
  }
  const what =
    on === 'errors'
      ? `errors ${(err * 100).toFixed(1)} %`
      : on === 'latency'
        ? `latency ${lat.toFixed(1)}x`
        : on === 'cpu'
          ? `CPU +${cpu.toFixed(0)}`
          : `errors ${(err * 100).toFixed(1)} %, latency ${lat.toFixed(1)}x, CPU +${cpu.toFixed(0)}`;
  return { truth, variant: `${shared} shared burst${shared > 1 ? 's' : ''}; canary-only from ${onset}: ${what}` };
}

/**
 * Daily load cycle, compressed into the window (a period of 30–90 intervals, random phase): load swings
 * ±50–60 % around its mean on both sides; latency follows load (∝ load^0.8, so the absolute p95 limit
 * is crossed by both sides at the peak when the level is 140 or 180 ms), errors in proportion to load,
 * CPU 40 points per unit of load. Healthy: the canary moves exactly like the baseline. Bad: an error or
 * latency regression on the canary on top of the cycle, from some interval on.
 */
function dailyCycle(w: World, healthy: boolean): Built {
  const { r } = w;
  const period = uniform(r, 30, 90);
  const amp = uniform(r, 0.5, 0.6);
  const phase = uniform(r, 0, 2 * Math.PI);
  const g = healthy ? null : drawRegression(r);
  const onset = drawOnset(r);
  const truth = times((t) => {
    const load = 1 + amp * Math.sin((2 * Math.PI * t) / period + phase);
    const s = steady(w, w.canaryShare, load);
    for (const side of [s.baseline, s.canary]) {
      side.latencyMs *= Math.pow(load, 0.8);
      side.errorRate *= load;
      side.cpuPct = Math.max(5, Math.min(100, side.cpuPct + 40 * (load - 1)));
    }
    if (g && t >= onset) s.canary = regress(s.canary, g);
    return s;
  });
  const how = `period ${period.toFixed(0)}, ±${(amp * 100).toFixed(0)} %`;
  return { truth, variant: g ? `${how}; canary ${g.name} from ${onset}` : how };
}

/**
 * Memory leak: the canary's memory grows steadily (linearly from some interval). Bad: it crosses
 * memory_max_ratio (1.5× the baseline) between intervals 15 and 70 and keeps growing — FAIL whatever
 * the traffic, like the public cpu_step, onset = the first interval over the limit. Healthy: it grows
 * but ends at 1.1–1.4× (a warming cache), or both versions grow alike (load-driven heap growth).
 */
function leak(w: World, healthy: boolean): Built {
  const { r } = w;
  const truth = times(() => steady(w));
  const start = int(r, 0, 10);
  if (healthy && r() < 0.35) {
    const grow = uniform(r, 0.2, 0.6);
    for (let t = 0; t < INTERVALS; t++) {
      const f = 1 + (grow * Math.max(0, t - start)) / (INTERVALS - 1 - start);
      truth[t].baseline.memoryMb *= f;
      truth[t].canary.memoryMb *= f;
    }
    return { truth, variant: `both sides grow ×${(1 + grow).toFixed(2)}` };
  }
  let slope: number; // ratio gained per interval
  let variant: string;
  if (healthy) {
    const end = uniform(r, 1.1, 1.4);
    slope = (end - 1) / (INTERVALS - 1 - start);
    variant = `canary grows to ${end.toFixed(2)}x`;
  } else {
    const cross = int(r, 15, 70);
    slope = 0.5 / Math.max(1, cross - start);
    variant = `canary crosses 1.5x near ${cross}, ends ${(1 + slope * (INTERVALS - 1 - start)).toFixed(2)}x`;
  }
  for (let t = 0; t < INTERVALS; t++) truth[t].canary.memoryMb *= 1 + slope * Math.max(0, t - start);
  return { truth, variant };
}

/**
 * Flapping: the canary alternates between two behaviours in runs of 1–3 intervals (a bad replica in
 * rotation, a cache that keeps being evicted, a feature toggling). Healthy: slightly better / slightly
 * worse than the baseline, always within limits (errors 0.6–0.9× / 1.2–1.5× against a 2× limit,
 * latency 0.92–0.98× / 1.05–1.12× against 1.25×). Bad: fine half of the time and clearly bad the other
 * half — 4–8× the baseline's error rate, or 1.8–2.5× its p95 — so the canary's window as a whole is
 * above the limit although no bad run lasts more than 3 intervals.
 */
function flapping(w: World, healthy: boolean): Built {
  const { r } = w;
  const truth = times(() => steady(w));
  const what = pick(r, ['errors', 'latency'] as const);
  const [good, bad] = healthy
    ? what === 'errors'
      ? [uniform(r, 0.6, 0.9), uniform(r, 1.2, 1.5)]
      : [uniform(r, 0.92, 0.98), uniform(r, 1.05, 1.12)]
    : what === 'errors'
      ? [1, uniform(r, 4, 8)]
      : [1, uniform(r, 1.8, 2.5)];
  let state = r() < 0.5;
  for (let t = 0; t < INTERVALS;) {
    const run = int(r, 1, 3);
    for (let i = 0; i < run && t < INTERVALS; i++, t++) {
      const f = state ? bad : good;
      if (what === 'errors') truth[t].canary.errorRate *= f;
      else truth[t].canary.latencyMs *= f;
    }
    state = !state;
  }
  return { truth, variant: `${what} ${good.toFixed(2)}x / ${bad.toFixed(2)}x in runs of 1–3` };
}

/**
 * Gradual error ramp: the canary's error rate climbs linearly from the baseline's (a leak of
 * connections, a retry storm building up, a queue filling) starting at some interval, to 3–15× its
 * limit at the end of the window; onset = the first interval whose true rate is over the limit. The
 * healthy variant drifts only to 1.2–1.4× the baseline, under the 2× limit.
 */
function errorRamp(w: World, healthy: boolean): Built {
  const { r } = w;
  const truth = times(() => steady(w));
  const start = int(r, 0, 30);
  const limit = Math.min(w.criteria.error_rate_max_pct / 100, w.criteria.error_rate_max_ratio * w.errorRate);
  const end = healthy ? w.errorRate * uniform(r, 1.2, 1.4) : limit * uniform(r, 3, 15);
  for (let t = start; t < INTERVALS; t++) {
    const x = (t - start) / (INTERVALS - 1 - start);
    truth[t].canary.errorRate = w.errorRate + (end - w.errorRate) * x;
  }
  return { truth, variant: `errors ${(w.errorRate * 100).toFixed(2)} → ${(end * 100).toFixed(2)} % from ${start}` };
}

const BUILDERS: Record<Kind, (w: World, healthy: boolean) => Built> = {
  ramp,
  burst,
  daily_cycle: dailyCycle,
  leak,
  flapping,
  error_ramp: errorRamp,
};

// ---- noise: the truth as a metrics provider reports it -----------------------------------------------

const round1 = (x: number) => Math.round(x * 10) / 10;

function observe(r: () => number, s: SideTruth): RawSide {
  const requests = poisson(r, s.requests);
  const sigma = Math.sqrt(0.1 / Math.max(requests, 1) + 0.026 * 0.026);
  return {
    requests,
    errors: binomial(r, requests, s.errorRate),
    latency_p95_ms: requests > 0 ? round1(s.latencyMs * Math.exp(sigma * normal(r))) : null,
    cpu_pct: round1(Math.max(0, Math.min(100, s.cpuPct + 3 * normal(r)))),
    memory_mb: round1(s.memoryMb * (1 + 0.01 * normal(r))),
  };
}

// ---- labels --------------------------------------------------------------------------------------------

/** the window judge's level for one look over a segment whose start is unknown (0.01 / 90 starts) */
const SEGMENT_ALPHA = 0.01 / INTERVALS;
const POWER = 0.9;
/** a regression must be this many times its limit to be "clear" (nearer is ANY, not a guess) */
const CLEAR_ERRORS = 1.5;
const CLEAR_LATENCY = 1.1;
/** the public file labels latency seen through fewer requests per interval ANY */
const LATENCY_MIN_REQUESTS = 20;
const LATENCY_MIN_INTERVALS = 10;
const CPU_MARGIN = 4;
const MEMORY_MARGIN = 1.03;
const PERSIST_INTERVALS = 6;

type Status = { state: 'ok' } | { state: 'violated' | 'visible'; first: number; note: string };

function stdNormalCdf(z: number): number {
  // Abramowitz–Stegun 7.1.26 via erf; plenty for a 90 % power threshold
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** P(Poisson(mu) >= k) */
function poissonUpperTail(k: number, mu: number): number {
  if (k <= 0) return 1;
  if (mu > 200) return 1 - stdNormalCdf((k - 0.5 - mu) / Math.sqrt(mu));
  let p = Math.exp(-mu);
  let cdf = p;
  for (let j = 1; j < k; j++) {
    p *= mu / j;
    cdf += p;
  }
  return Math.max(0, 1 - cdf);
}

/** power of the exact one-sided Poisson test of "mean ≤ mu0" at level alpha when the mean is mu1 */
function poissonPower(mu0: number, mu1: number, alpha: number): number {
  if (mu0 <= 0) return mu1 > 0 ? 1 - Math.exp(-mu1) : 0;
  let k = Math.ceil(mu0);
  while (poissonUpperTail(k, mu0) > alpha) k += Math.max(1, Math.floor(Math.sqrt(mu0) / 4));
  return poissonUpperTail(k, mu1);
}

/** the standard normal quantile, by bisection on stdNormalCdf (labels only: speed does not matter) */
function normalQuantile(p: number): number {
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (stdNormalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** expected counts over intervals [s, e] (inclusive) for the two error families */
interface ErrorSums {
  /** the canary's expected errors */
  mu1: number;
  /** the canary's expected errors at the absolute limit (risen to the baseline where it is over) */
  mu0Abs: number;
  /** the canary's expected errors at the baseline's rates, and the baseline's own expected errors */
  muCatB: number;
  muB: number;
  absViolated: boolean;
}

/** power of the better family's test on one segment at level alpha, when the regression is clear */
function segmentPower(x: ErrorSums, rho: number, alpha: number): number {
  let power = 0;
  // absolute limit: exact Poisson test of the canary's errors against the limit's expectation
  if (x.absViolated && x.mu1 >= CLEAR_ERRORS * x.mu0Abs) power = Math.max(power, poissonPower(x.mu0Abs, x.mu1, alpha));
  // ratio limit: log rate ratio, both sides' expected errors in its variance
  if (x.muCatB > 0 && x.muB > 0 && x.mu1 > 0 && x.mu1 >= CLEAR_ERRORS * rho * x.muCatB) {
    const z = (Math.log(x.mu1 / x.muCatB) - Math.log(rho)) / Math.sqrt(1 / x.mu1 + 1 / x.muB);
    power = Math.max(power, stdNormalCdf(z - normalQuantile(1 - alpha)));
  }
  return power;
}

/**
 * Errors are visible when some segment from the first violated interval on shows them with ≥ 90 %
 * power: trailing segments (a step or ramp that lasts) at the judge's window level 0.01/90, any other
 * contiguous segment (a flapping canary's bad runs, a burst) at 0.01/(90·91/2), Bonferroni over all.
 */
function errorStatus(truth: IntervalTruth[], samples: RawScenario['samples'], c: RawCriteria): Status {
  const abs = c.error_rate_max_pct / 100;
  const rho = c.error_rate_max_ratio;
  const absBar = (x: IntervalTruth) => Math.max(abs, x.baseline.errorRate);
  const violated = truth.map((x) => x.canary.errorRate > Math.min(absBar(x), rho * x.baseline.errorRate) * (1 + 1e-9));
  const first = violated.indexOf(true);
  if (first < 0) return { state: 'ok' };
  const n = samples.map((s) => s.canary?.requests ?? 0);
  const m = samples.map((s) => s.baseline?.requests ?? 0);
  const anySegmentAlpha = SEGMENT_ALPHA / ((INTERVALS + 1) / 2);
  let best = { power: 0, from: first, to: INTERVALS - 1 };
  for (let s = first; s < INTERVALS; s++) {
    const x: ErrorSums = { mu1: 0, mu0Abs: 0, muCatB: 0, muB: 0, absViolated: false };
    for (let e = s; e < INTERVALS; e++) {
      const y = truth[e];
      x.mu1 += n[e] * y.canary.errorRate;
      x.mu0Abs += n[e] * absBar(y);
      x.muCatB += n[e] * y.baseline.errorRate;
      x.muB += m[e] * y.baseline.errorRate;
      x.absViolated ||= y.canary.errorRate > absBar(y);
      const power = segmentPower(x, rho, e === INTERVALS - 1 ? SEGMENT_ALPHA : anySegmentAlpha);
      if (power > best.power) best = { power, from: s, to: e };
    }
  }
  const where = `intervals ${best.from}–${best.to}`;
  if (best.power >= POWER) return { state: 'visible', first, note: `errors clearly over the limit in ${where}, power ${(best.power * 100).toFixed(0)} %` };
  return {
    state: 'violated',
    first,
    note:
      best.power > 0
        ? `errors clearly over the limit but power ${(best.power * 100).toFixed(0)} % at most (${where})`
        : 'errors over the limit, not clearly (< 1.5× the limit)',
  };
}

function latencyStatus(truth: IntervalTruth[], samples: RawScenario['samples'], c: RawCriteria): Status {
  const limit = (x: IntervalTruth) => Math.min(Math.max(c.latency_p95_max_ms, x.baseline.latencyMs), c.latency_p95_max_ratio * x.baseline.latencyMs);
  const excess = truth.map((x) => Math.log(x.canary.latencyMs / limit(x)));
  const first = excess.findIndex((e) => e > 1e-9);
  if (first < 0) return { state: 'ok' };
  for (let s = first; s < INTERVALS; s++) {
    const seen = [];
    for (let t = s; t < INTERVALS; t++) if ((samples[t].canary?.requests ?? 0) >= LATENCY_MIN_REQUESTS) seen.push(excess[t]);
    if (seen.length < LATENCY_MIN_INTERVALS) break;
    const mean = seen.reduce((a, b) => a + b, 0) / seen.length;
    if (mean >= Math.log(CLEAR_LATENCY))
      return {
        state: 'visible',
        first,
        note: `p95 ${Math.exp(mean).toFixed(2)}× its limit on average over ${seen.length} intervals with ≥ ${LATENCY_MIN_REQUESTS} requests from ${s}`,
      };
  }
  return { state: 'violated', first, note: 'p95 over the limit, too little traffic or too near' };
}

/**
 * CPU (absolute) and memory (ratio): no traffic needed, but a margin over the noise held for
 * PERSIST_INTERVALS intervals in a row — a canary just under its limit that shared bursts push over
 * now and then is a near-limit case (ANY), not a clear one.
 */
function levelStatus(values: number[], limits: number[], margin: (limit: number) => number, name: string): Status {
  const first = values.findIndex((v, t) => v > limits[t]);
  if (first < 0) return { state: 'ok' };
  let run = 0;
  let longest = 0;
  values.forEach((v, t) => {
    run = v >= margin(limits[t]) ? run + 1 : 0;
    longest = Math.max(longest, run);
  });
  if (longest >= PERSIST_INTERVALS) return { state: 'visible', first, note: `${name} clearly over the limit for ${longest} intervals in a row` };
  return { state: 'violated', first, note: `${name} over the limit, clearly for ${longest} intervals in a row at most` };
}

function label(truth: IntervalTruth[], samples: RawScenario['samples'], c: RawCriteria): { expect: RawScenario['expect']; onset: number | null; why: string } {
  const statuses: Status[] = [
    errorStatus(truth, samples, c),
    latencyStatus(truth, samples, c),
    levelStatus(
      truth.map((x) => x.canary.cpuPct),
      truth.map((x) => Math.max(c.cpu_max_pct, x.baseline.cpuPct)),
      (l) => l + CPU_MARGIN,
      'CPU',
    ),
    levelStatus(
      truth.map((x) => x.canary.memoryMb),
      truth.map((x) => c.memory_max_ratio * x.baseline.memoryMb),
      (l) => l * MEMORY_MARGIN,
      'memory',
    ),
  ];
  const visible = statuses.filter((s): s is Exclude<Status, { state: 'ok' }> => s.state === 'visible');
  const violated = statuses.filter((s): s is Exclude<Status, { state: 'ok' }> => s.state === 'violated');
  if (visible.length > 0) return { expect: 'FAIL', onset: Math.min(...visible.map((s) => s.first)), why: visible.map((s) => s.note).join('; ') };
  if (violated.length > 0) return { expect: 'ANY', onset: Math.min(...violated.map((s) => s.first)), why: violated.map((s) => s.note).join('; ') };
  const requests = samples.reduce((a, s) => a + (s.canary?.requests ?? 0), 0);
  return requests >= c.min_requests
    ? { expect: 'PASS', onset: null, why: `within limits, ${requests} canary requests` }
    : { expect: 'INCONCLUSIVE', onset: null, why: `within limits but only ${requests} canary requests` };
}

// ---- the generator --------------------------------------------------------------------------------------

/** a scenario's own stream: independent of how many scenarios come before it */
function scenarioRng(seed: number, index: number): () => number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return rng(h ^ (h >>> 15));
}

export function generateScenarios(seed: number, n: number): Generated[] {
  const out: Generated[] = [];
  for (let i = 0; i < n; i++) {
    const r = scenarioRng(seed, i);
    const kind = KINDS[i % KINDS.length];
    const healthy = r() < 0.5;
    const w = newWorld(r);
    const built = BUILDERS[kind](w, healthy);
    const samples = built.truth.map((x) => ({ baseline: observe(r, x.baseline), canary: observe(r, x.canary) }));
    const l = label(built.truth, samples, w.criteria);
    out.push({
      scenario: {
        id: `g${seed}-${String(i).padStart(5, '0')}`,
        kind,
        expect: l.expect,
        interval_s: INTERVAL_S,
        canary_percent: Math.round(w.canaryShare * 1000) / 10,
        total_rps: Math.round(w.totalRps * 100) / 100,
        criteria: w.criteria,
        onset: l.onset,
        samples,
      },
      variant: `${healthy ? 'healthy' : 'bad'}: ${built.variant}`,
      why: l.why,
      truth: built.truth,
    });
  }
  return out;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function main(): void {
  const seed = Number(arg('--seed') ?? 1);
  const n = Number(arg('--n') ?? 400);
  const out = arg('--out');
  if (!Number.isInteger(seed) || !Number.isInteger(n) || n < 0) throw new Error('--seed and --n take whole numbers');
  const generated = generateScenarios(seed, n);
  const text = generated.map((g) => JSON.stringify(g.scenario)).join('\n') + '\n';
  if (!out) {
    process.stdout.write(text);
    return;
  }
  writeFileSync(out, out.endsWith('.gz') ? gzipSync(text) : text);
  const counts = new Map<string, number>();
  for (const g of generated) counts.set(`${g.scenario.kind}/${g.scenario.expect}`, (counts.get(`${g.scenario.kind}/${g.scenario.expect}`) ?? 0) + 1);
  console.error(
    `${n} scenarios (seed ${seed}) → ${out}: ${[...counts]
      .sort()
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
}

if (require.main === module) main();
