// For the judge's tests only (no module of the judge imports it, and it lives outside the pure judge/):
// synthetic streams drawn from a seeded generator, and the guard / window judge run over them as the
// release workflow runs them.
import { rng } from './prng';
import type { Criteria, GuardBreach, IntervalSample, SideAggregate } from '../../contract/verdict';
import { guardStep, judgeWindow, newGuardState } from '../../judge';

export function binomial(r: () => number, n: number, p: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (r() < p) k++;
  return k;
}

export const criteria: Criteria = {
  errorRateMaxPct: 5,
  errorRateMaxRatio: 2,
  latencyP95MaxMs: 400,
  latencyP95MaxRatio: 1.25,
  cpuMaxPct: 90,
  memoryMaxRatio: 1.5,
  minRequests: 200,
};

export interface SideSpec {
  requests: number;
  errorRate: number;
  latency: number;
  cpu: number;
  memory: number;
}

export function side(r: () => number, s: SideSpec): SideAggregate {
  const requests = s.requests;
  const noise = 1 + 0.05 * (r() - 0.5);
  return {
    requests,
    errors: binomial(r, requests, s.errorRate),
    latencyP95Ms: requests > 0 ? s.latency * noise : null,
    cpuPct: s.cpu + 4 * (r() - 0.5),
    memoryMb: s.memory * (1 + 0.01 * (r() - 0.5)),
  };
}

export const healthy = (requests: number): SideSpec => ({ requests, errorRate: 0.01, latency: 120, cpu: 55, memory: 500 });

/** a window of `n` intervals; `canary(t)` and `baseline(t)` say how each side behaves at interval t */
export function stream(n: number, seed: number, baseline: (t: number) => SideSpec | null, canary: (t: number) => SideSpec | null): IntervalSample[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, t) => {
    const b = baseline(t);
    const c = canary(t);
    return { at: (t + 1) * 10_000, intervalS: 10, baseline: b && side(r, b), canary: c && side(r, c) };
  });
}

export function firstBreach(samples: IntervalSample[], c: Criteria = criteria): GuardBreach | null {
  let state = newGuardState(samples.length);
  for (const s of samples) {
    const step = guardStep(state, s, c);
    state = step.state;
    if (step.breach) return step.breach;
  }
  return null;
}

// ---- windows drawn like the public scenarios, and the whole release path --------------------------

/** Binomial(n, p) by geometric skips between successes: O(successes), fast for rare errors */
export function fastBinomial(r: () => number, n: number, p: number): number {
  if (p <= 0 || n <= 0) return 0;
  if (p >= 1) return n;
  const lq = Math.log1p(-p);
  let k = 0;
  let i = Math.floor(Math.log(1 - r()) / lq);
  while (i < n) {
    k++;
    i += 1 + Math.floor(Math.log(1 - r()) / lq);
  }
  return k;
}

/** the public scenarios' criteria */
export const stage: Criteria = {
  errorRateMaxPct: 1,
  latencyP95MaxMs: 200,
  errorRateMaxRatio: 2,
  latencyP95MaxRatio: 1.25,
  cpuMaxPct: 90,
  memoryMaxRatio: 1.5,
  minRequests: 200,
};

export interface Behaviour {
  requests: number;
  errorRate: number;
  latency: number;
  cpu: number;
  memory: number;
}

/** one side of one interval: binomial errors, a p95 whose noise shrinks with traffic, noisy CPU and memory */
export function draw(r: () => number, s: Behaviour): SideAggregate {
  const requests = Math.max(0, Math.round(s.requests));
  const latencyNoise = 1 + (0.3 / Math.sqrt(Math.max(requests, 1)) + 0.02) * 2 * (r() - 0.5);
  return {
    requests,
    errors: fastBinomial(r, requests, s.errorRate),
    latencyP95Ms: requests > 0 ? s.latency * latencyNoise : null,
    cpuPct: s.cpu + 4 * (r() - 0.5),
    memoryMb: s.memory * (1 + 0.01 * (r() - 0.5)),
  };
}

export function windowOf(
  n: number,
  seed: number,
  baseline: (t: number, r: () => number) => Behaviour,
  canary: (t: number, r: () => number) => Behaviour,
): IntervalSample[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, t) => ({ at: (t + 1) * 10_000, intervalS: 10, baseline: draw(r, baseline(t, r)), canary: draw(r, canary(t, r)) }));
}

/** what the release workflow does: the guard every interval, the window judge when it stayed quiet */
export function releaseVerdict(samples: IntervalSample[], c: Criteria = stage): { verdict: string; at: number | null; explanation: string } {
  let state = newGuardState(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const step = guardStep(state, samples[i], c);
    state = step.state;
    if (step.breach) return { verdict: 'FAIL', at: i, explanation: step.breach.explanation };
  }
  const v = judgeWindow(samples, c);
  return { verdict: v.verdict, at: v.verdict === 'FAIL' ? samples.length - 1 : null, explanation: v.explanation };
}

/** 90 intervals alternating false / true (starting false) in runs of 1..longestRun intervals */
export function flaps(r: () => number, longestRun: number): boolean[] {
  const out: boolean[] = [];
  let state = false;
  while (out.length < 90) {
    const run = 1 + Math.floor(r() * longestRun);
    for (let i = 0; i < run; i++) out.push(state);
    state = !state;
  }
  return out;
}

export const steady = (requests: number, errorRate = 0.002): Behaviour => ({ requests, errorRate, latency: 120, cpu: 55, memory: 500 });
