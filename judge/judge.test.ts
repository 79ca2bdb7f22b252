// Behaviour of the guard and the window judge on synthetic streams drawn from a seeded generator.
import { rng } from '../test/support/prng';
import { fmtConfidence, fmtPct, fmtRatio, guardStep, judgeWindow, newGuardState, thresholdJudge, type GuardState } from './judge';
import type { Criteria, GuardBreach, IntervalSample, SideAggregate } from '../contract/verdict';


function binomial(r: () => number, n: number, p: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (r() < p) k++;
  return k;
}

const criteria: Criteria = {
  errorRateMaxPct: 5,
  errorRateMaxRatio: 2,
  latencyP95MaxMs: 400,
  latencyP95MaxRatio: 1.25,
  cpuMaxPct: 90,
  memoryMaxRatio: 1.5,
  minRequests: 200,
};

interface SideSpec {
  requests: number;
  errorRate: number;
  latency: number;
  cpu: number;
  memory: number;
}

function side(r: () => number, s: SideSpec): SideAggregate {
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

const healthy = (requests: number): SideSpec => ({ requests, errorRate: 0.01, latency: 120, cpu: 55, memory: 500 });

/** a window of `n` intervals; `canary(t)` and `baseline(t)` say how each side behaves at interval t */
function stream(n: number, seed: number, baseline: (t: number) => SideSpec | null, canary: (t: number) => SideSpec | null): IntervalSample[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, t) => {
    const b = baseline(t);
    const c = canary(t);
    return { at: (t + 1) * 10_000, intervalS: 10, baseline: b && side(r, b), canary: c && side(r, c) };
  });
}

function firstBreach(samples: IntervalSample[], c: Criteria = criteria): GuardBreach | null {
  let state = newGuardState(samples.length);
  for (const s of samples) {
    const step = guardStep(state, s, c);
    state = step.state;
    if (step.breach) return step.breach;
  }
  return null;
}

describe('error rate', () => {
  it('one error in 20 requests does not roll back', () => {
    const samples: IntervalSample[] = [
      { at: 10_000, intervalS: 10, baseline: { requests: 400, errors: 0, latencyP95Ms: 120, cpuPct: 50, memoryMb: 500 }, canary: { requests: 20, errors: 1, latencyP95Ms: 118, cpuPct: 50, memoryMb: 500 } },
    ];
    expect(firstBreach(samples, { ...criteria, errorRateMaxPct: 1 })).toBeNull();
    expect(judgeWindow(samples, { ...criteria, errorRateMaxPct: 1 }).verdict).toBe('INCONCLUSIVE');
  });

  it('one error in 20 requests every few intervals on a 0.5 %-error baseline does not roll back', () => {
    const samples = stream(90, 11, () => ({ ...healthy(380), errorRate: 0.005 }), (t) => ({ ...healthy(20), errorRate: t % 10 === 3 ? 0.05 : 0.005 }));
    expect(firstBreach(samples)).toBeNull();
    expect(judgeWindow(samples, criteria).verdict).toBe('PASS');
  });

  it('a real 3× regression at 5 % traffic is caught within a few intervals', () => {
    // 2000 requests/s, 10 s intervals: the canary's 5 % is 1000 requests an interval.
    const onset = 20;
    const samples = stream(90, 5, () => healthy(19_000), (t) => ({ ...healthy(1000), errorRate: t >= onset ? 0.03 : 0.01 }));
    const breach = firstBreach(samples);
    expect(breach).not.toBeNull();
    expect(breach!.interval).toBeGreaterThanOrEqual(onset);
    expect(breach!.interval - onset).toBeLessThanOrEqual(6);
    expect(breach!.findings[0].metric).toBe('error_rate');
    expect(breach!.explanation).toMatch(/the baseline, limit 2×/);
    expect(judgeWindow(samples, criteria).verdict).toBe('FAIL');
  });

  it('an incident that raises both sides alike is not blamed on the canary', () => {
    const incident = (t: number) => (t >= 60 && t < 68 ? 0.04 : 0.01);
    const samples = stream(90, 9, (t) => ({ ...healthy(9_500), errorRate: incident(t) }), (t) => ({ ...healthy(500), errorRate: incident(t) }));
    expect(firstBreach(samples)).toBeNull();
  });

  it('explains in words a person reads in Slack', () => {
    const samples: IntervalSample[] = [
      { at: 10_000, intervalS: 10, baseline: { requests: 8120, errors: 5, latencyP95Ms: 120, cpuPct: 50, memoryMb: 500 }, canary: { requests: 646, errors: 31, latencyP95Ms: 121, cpuPct: 50, memoryMb: 500 } },
    ];
    const c: Criteria = { errorRateMaxRatio: 2, minRequests: 100 };
    const breach = firstBreach(samples, c)!;
    expect(breach.explanation).toBe('error rate 4.8 % (31/646) vs baseline 0.06 % (5/8120): 78× the baseline, limit 2×; 99.9 % confident it is above the limit');
    expect(breach.findings[0]).toMatchObject({ metric: 'error_rate', status: 'breach', sampleSize: 646, limit: 2 });
    const v = judgeWindow(samples, c);
    expect(v.verdict).toBe('FAIL');
    expect(v.explanation).toContain('(interval 0)');
  });
});

describe('latency, CPU, memory', () => {
  it('a single latency spike does not breach; a 2× step does within three intervals', () => {
    const spike = stream(40, 2, () => healthy(9_000), (t) => ({ ...healthy(1000), latency: t === 15 ? 600 : 120 }));
    expect(firstBreach(spike)).toBeNull();
    const step = stream(40, 3, () => healthy(9_000), (t) => ({ ...healthy(1000), latency: t >= 15 ? 240 : 120 }));
    const breach = firstBreach(step)!;
    expect(breach.interval).toBeGreaterThanOrEqual(15);
    expect(breach.interval).toBeLessThanOrEqual(17);
    expect(breach.findings[0].metric).toBe('latency_p95');
    expect(breach.explanation).toMatch(/^p95 latency 2\d\d ms vs baseline 1\d\d ms \(median of the last \d+ intervals\): 2(\.\d+)?× the baseline, limit 1\.25×; \d+\.\d % confident it is above the limit/);
  });

  it('load that moves baseline and canary latency together does not breach the ratio', () => {
    // a load cycle: both sides' p95 swing between 120 and 330 ms
    const cycle = (t: number) => 120 + 210 * (0.5 - 0.5 * Math.cos((2 * Math.PI * t) / 30));
    const samples = stream(90, 4, (t) => ({ ...healthy(9_000), latency: cycle(t) }), (t) => ({ ...healthy(1000), latency: cycle(t) }));
    expect(firstBreach(samples)).toBeNull();
    expect(judgeWindow(samples, criteria).verdict).toBe('PASS');
  });

  it('CPU persistently over its absolute limit breaches', () => {
    const samples = stream(40, 6, () => healthy(9_000), (t) => ({ ...healthy(1000), cpu: t >= 10 ? 97 : 55 }));
    const breach = firstBreach(samples)!;
    expect(breach.findings[0].metric).toBe('cpu');
    expect(breach.interval - 10).toBeLessThanOrEqual(4);
    expect(breach.explanation).toMatch(/^CPU 9\d(\.\d)? % \(median of the last \d+ intervals\) vs limit 90 % \(baseline 5\d(\.\d)? %\)/);
  });

  it('a memory leak is caught once the canary passes the ratio, not before', () => {
    const samples = stream(90, 8, () => healthy(9_000), (t) => ({ ...healthy(1000), memory: 500 * (1 + 0.02 * t) }));
    const breach = firstBreach(samples)!;
    expect(breach.findings[0].metric).toBe('memory');
    // 1.5× is reached at t = 25
    expect(breach.interval).toBeGreaterThanOrEqual(25);
    expect(breach.interval).toBeLessThanOrEqual(30);
  });
});

describe('window verdicts', () => {
  it('a healthy canary with enough traffic passes, and says why', () => {
    const samples = stream(90, 1, () => healthy(4_500), () => healthy(500));
    const v = judgeWindow(samples, criteria);
    expect(v.verdict).toBe('PASS');
    expect(v.canaryRequests).toBe(45_000);
    expect(v.intervals).toBe(90);
    expect(v.explanation).toMatch(/^within limits over 90 intervals and 45000 canary requests: error rate/);
  });

  it('no data at all is INCONCLUSIVE', () => {
    expect(judgeWindow([], criteria).verdict).toBe('INCONCLUSIVE');
    const dark = stream(30, 1, () => healthy(4_500), () => null);
    const v = judgeWindow(dark, criteria);
    expect(v.verdict).toBe('INCONCLUSIVE');
    expect(v.findings.some((f) => f.metric === 'data' && f.status === 'insufficient')).toBe(true);
  });

  it('a canary whose metrics went dark mid-window is INCONCLUSIVE even if what was seen was fine', () => {
    const samples = stream(90, 1, () => healthy(4_500), (t) => (t < 60 ? healthy(500) : null));
    const v = judgeWindow(samples, criteria);
    expect(v.verdict).toBe('INCONCLUSIVE');
    expect(v.explanation).toContain('canary metrics missing in 30 of 90 intervals (the last 30 in a row)');
  });

  it('too little canary traffic never passes', () => {
    const samples = stream(90, 1, () => healthy(200), () => healthy(2));
    const v = judgeWindow(samples, criteria);
    expect(v.verdict).toBe('INCONCLUSIVE');
    expect(v.explanation).toContain('canary saw 180 requests, fewer than the 200 needed to promote');
  });

  it('a bad canary is FAIL even on little traffic when the evidence is there (CPU)', () => {
    const samples = stream(30, 1, () => healthy(200), () => ({ ...healthy(1), cpu: 97 }));
    expect(judgeWindow(samples, criteria).verdict).toBe('FAIL');
  });
});

describe('guard state', () => {
  it('survives a JSON round trip (heartbeat details) and is never mutated', () => {
    const samples = stream(40, 3, () => healthy(9_000), (t) => ({ ...healthy(1000), latency: t >= 25 ? 300 : 120, errorRate: t >= 25 ? 0.05 : 0.01 }));
    let direct: GuardState = newGuardState(40);
    let viaJson: GuardState = newGuardState(40);
    const breaches: [number | null, number | null] = [null, null];
    for (const s of samples) {
      const frozen = JSON.stringify(direct);
      const a = guardStep(direct, s, criteria);
      expect(JSON.stringify(direct)).toBe(frozen);
      direct = a.state;
      const b = guardStep(JSON.parse(JSON.stringify(viaJson)) as GuardState, s, criteria);
      viaJson = b.state;
      if (a.breach && breaches[0] === null) breaches[0] = a.breach.interval;
      if (b.breach && breaches[1] === null) breaches[1] = b.breach.interval;
    }
    expect(breaches[0]).not.toBeNull();
    expect(breaches[1]).toBe(breaches[0]);
    expect(JSON.stringify(viaJson)).toBe(JSON.stringify(direct));
  });

  it('is deterministic', () => {
    const samples = stream(90, 12, () => healthy(4_500), (t) => ({ ...healthy(500), errorRate: t > 40 ? 0.08 : 0.01 }));
    expect(JSON.stringify(judgeWindow(samples, criteria))).toBe(JSON.stringify(judgeWindow(samples, criteria)));
  });
});

describe('formatting', () => {
  it('percentages, ratios and confidence for people', () => {
    expect(fmtPct(0.048)).toBe('4.8 %');
    expect(fmtPct(0.0006)).toBe('0.06 %');
    expect(fmtPct(0.0123)).toBe('1.2 %');
    expect(fmtPct(0)).toBe('0 %');
    expect(fmtRatio(81.2)).toBe('81×');
    expect(fmtRatio(2)).toBe('2×');
    expect(fmtRatio(1.25)).toBe('1.25×');
    expect(fmtConfidence(0.99999)).toBe('99.9 %');
    expect(fmtConfidence(0.9986)).toBe('99.8 %');
  });
});

describe('thresholdJudge (bench baseline)', () => {
  it('rolls back after the threshold of failed per-interval checks, whatever the traffic', () => {
    const one = (errors: number): IntervalSample => ({ at: 0, intervalS: 10, baseline: { requests: 400, errors: 0, latencyP95Ms: 100, cpuPct: 50, memoryMb: 500 }, canary: { requests: 2, errors, latencyP95Ms: 100, cpuPct: 50, memoryMb: 500 } });
    const r = thresholdJudge([one(1), one(0), one(1), one(1), one(1), one(1)], criteria, 5);
    expect(r).toEqual({ verdict: 'FAIL', interval: 5, failedChecks: 5 });
    expect(thresholdJudge([one(0), one(0)], criteria).verdict).toBe('PASS');
    // no data fails nothing: it promotes
    expect(thresholdJudge([{ at: 0, intervalS: 10, baseline: null, canary: null }], criteria).verdict).toBe('PASS');
  });
});

// ---- the end-of-window decision and other scenario kinds ------------------------------------------

/** Binomial(n, p) by geometric skips between successes: O(successes), fast for rare errors */
function fastBinomial(r: () => number, n: number, p: number): number {
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
const stage: Criteria = {
  errorRateMaxPct: 1,
  latencyP95MaxMs: 200,
  errorRateMaxRatio: 2,
  latencyP95MaxRatio: 1.25,
  cpuMaxPct: 90,
  memoryMaxRatio: 1.5,
  minRequests: 200,
};

interface Behaviour {
  requests: number;
  errorRate: number;
  latency: number;
  cpu: number;
  memory: number;
}

/** one side of one interval: binomial errors, a p95 whose noise shrinks with traffic, noisy CPU and memory */
function draw(r: () => number, s: Behaviour): SideAggregate {
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

function windowOf(n: number, seed: number, baseline: (t: number, r: () => number) => Behaviour, canary: (t: number, r: () => number) => Behaviour): IntervalSample[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, t) => ({ at: (t + 1) * 10_000, intervalS: 10, baseline: draw(r, baseline(t, r)), canary: draw(r, canary(t, r)) }));
}

/** what the release workflow does: the guard every interval, the window judge when it stayed quiet */
function releaseVerdict(samples: IntervalSample[], c: Criteria = stage): { verdict: string; at: number | null; explanation: string } {
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
function flaps(r: () => number, longestRun: number): boolean[] {
  const out: boolean[] = [];
  let state = false;
  while (out.length < 90) {
    const run = 1 + Math.floor(r() * longestRun);
    for (let i = 0; i < run; i++) out.push(state);
    state = !state;
  }
  return out;
}

const steady = (requests: number, errorRate = 0.002): Behaviour => ({ requests, errorRate, latency: 120, cpu: 55, memory: 500 });

describe('end-of-window decision (burden of proof on safety)', () => {
  it('rolls back a weak but real regression that the strict tests leave unproven', () => {
    // canary at 3.5× a 0.15 % baseline from interval 30 on, ~20 canary requests an interval: too
    // little evidence for the sequential guard or the Bonferroni-corrected segment scan
    const samples = windowOf(90, 69, () => steady(180, 0.0015), (t) => steady(20, t >= 30 ? 0.0055 : 0.0015));
    const v = releaseVerdict(samples);
    expect(v.verdict).toBe('FAIL');
    expect(v.explanation).toMatch(/^at the end of the window: error rate .* over the window vs baseline .*the baseline, limit 2×; \d+\.\d % confident it is above the limit \(promotion needs it not above the limit at 90\.0 %\)/);
  });

  it('never rolls back on too little traffic: that is INCONCLUSIVE (soak longer), not a lenient FAIL', () => {
    // 2 canary requests an interval: 180 in the window, fewer than min_requests
    const samples = windowOf(90, 5, () => steady(400, 0.002), () => steady(2, 0.004));
    expect(releaseVerdict(samples).verdict).toBe('INCONCLUSIVE');
  });

  // Simulated false-rollback rates of the whole release path (guard + window judge) for canaries below
  // the 2× ratio limit, baseline 0.2 % errors with 9× the canary's traffic. Measured with 400 windows
  // per cell (see the note of issue 6); here fewer windows and bounds with room for sampling noise.
  it.each([
    [1, 20, 0.02],
    [1, 200, 0.02],
    [1.25, 20, 0.03],
    [1.25, 200, 0.03],
    [1.5, 20, 0.06],
    [1.5, 200, 0.1],
  ])('a healthy canary at %f× the baseline with %i requests an interval is rarely rolled back (≤ %f)', (times, perInterval, bound) => {
    const runs = 40;
    let rollbacks = 0;
    for (let i = 0; i < runs; i++) {
      const samples = windowOf(90, 1000 + i, () => steady(9 * perInterval, 0.002), () => steady(perInterval, 0.002 * times));
      if (releaseVerdict(samples).verdict === 'FAIL') rollbacks++;
    }
    expect(rollbacks / runs).toBeLessThanOrEqual(bound);
  });
});

describe('other scenario kinds (synthetic, seeded)', () => {
  const seeds = [1, 2, 3, 4, 5];

  it.each(seeds)('daily load cycle, healthy canary: PASS (seed %i)', (seed) => {
    // a compressed day: load swings ±60 % over 360 intervals from a random phase; errors, p95
    // (up to ~240 ms, over the 200 ms absolute limit at the peak, on both sides) and CPU follow load
    const phase = rng(seed)() * 360;
    const load = (t: number) => 1 + 0.6 * Math.sin((2 * Math.PI * (t + phase)) / 360);
    const side = (share: number) => (t: number): Behaviour => ({
      requests: 2_000 * load(t) * share,
      errorRate: 0.002 * load(t),
      latency: 120 * load(t) ** 1.1,
      cpu: 30 + 35 * load(t),
      memory: 500 * (1 + 0.1 * (load(t) - 1)),
    });
    const v = releaseVerdict(windowOf(90, seed, side(0.9), side(0.1)));
    expect(v).toMatchObject({ verdict: 'PASS' });
  });

  it.each(seeds)('traffic ramp (canary 1 % → 25 %, total load doubling), healthy canary: PASS (seed %i)', (seed) => {
    const total = (t: number) => 150 + 150 * (t / 89);
    const share = (t: number) => 0.01 + 0.24 * (t / 89);
    const side = (s: (t: number) => number) => (t: number): Behaviour => ({
      requests: 10 * total(t) * s(t),
      errorRate: 0.002 * (1 + 0.5 * (t / 89)),
      latency: 110 + 30 * (t / 89),
      cpu: 45 + 20 * (t / 89),
      memory: 500,
    });
    const v = releaseVerdict(windowOf(90, seed, side((t) => 1 - share(t)), side(share)));
    expect(v).toMatchObject({ verdict: 'PASS' });
  });

  it('a long peak holds both sides just over the absolute p95 limit (1.02×), the canary on 20 requests an interval: PASS in each of 30 windows', () => {
    // Held to exactly the baseline while the baseline is over the limit, a canary no worse than it sits on
    // the boundary of that test for the whole peak, and its noise alone rolled back 7 of these 30 windows.
    // The ratio check compares it with the baseline; the absolute one steps aside while the baseline is,
    // or may be, over the limit.
    const side = (requests: number) => (): Behaviour => ({ ...steady(requests), latency: 204 });
    const verdicts = Array.from({ length: 30 }, (_, i) => releaseVerdict(windowOf(90, (i + 1) * 17, side(1_800), side(20))).verdict);
    expect(verdicts).toEqual(Array(30).fill('PASS'));
  });

  it('a long peak holds both sides\' CPU just over its limit (92 % against 90 %): PASS in each of 30 windows', () => {
    const side = (requests: number) => (): Behaviour => ({ ...steady(requests), cpu: 92 });
    const verdicts = Array.from({ length: 30 }, (_, i) => releaseVerdict(windowOf(90, (i + 1) * 23, side(1_800), side(200))).verdict);
    expect(verdicts).toEqual(Array(30).fill('PASS'));
  });

  it('with no latency ratio in the criteria, a peak over the absolute limit holds the canary to the baseline itself', () => {
    const { latencyP95MaxRatio: _r, ...absoluteOnly } = stage;
    const peak = (latency: number) => (): Behaviour => ({ ...steady(200), latency });
    const fine = releaseVerdict(windowOf(90, 5, () => ({ ...steady(1_800), latency: 260 }), peak(262)), absoluteOnly);
    expect(fine.verdict).toBe('PASS');
    const worse = releaseVerdict(windowOf(90, 5, () => ({ ...steady(1_800), latency: 260 }), peak(400)), absoluteOnly);
    expect(worse.verdict).toBe('FAIL');
    expect(worse.explanation).toMatch(/^p95 latency 4\d\d ms .*vs limit 200 ms \(baseline 2\d\d ms\)/);
  });

  it.each(seeds)('short shared bursts (errors 5 %, p95 2.5×, CPU +25 on both sides), healthy canary: PASS (seed %i)', (seed) => {
    const r = rng(seed * 7919);
    const bursts = [5, 35, 65].map((start) => [start + Math.floor(r() * 20), 1 + Math.floor(r() * 3)]);
    const inBurst = (t: number) => bursts.some(([s, len]) => t >= s && t < s + len);
    const side = (requests: number) => (t: number): Behaviour => (inBurst(t)
      ? { requests, errorRate: 0.05, latency: 300, cpu: 80, memory: 500 }
      : steady(requests));
    const v = releaseVerdict(windowOf(90, seed, side(1_800), side(200)));
    expect(v).toMatchObject({ verdict: 'PASS' });
  });

  it.each(seeds)('a heavy shared incident (errors 13 % on both sides for 3 intervals, a 50 % canary with 500 requests an interval), healthy canary: PASS (seed %i)', (seed) => {
    // Raising the absolute bar only to the baseline's lower bound (~10 %) held a canary exactly as bad as
    // the incident above it; the bar rises to what the baseline's rate may be.
    const start = 20 + Math.floor(rng(seed * 31)() * 50);
    const side = (t: number): Behaviour => (t >= start && t < start + 3 ? { ...steady(500), errorRate: 0.13 } : steady(500));
    const v = releaseVerdict(windowOf(90, seed * 13, side, side));
    expect(v).toMatchObject({ verdict: 'PASS' });
  });

  it.each(seeds)('flapping canary (p95 0.85×/1.2×, CPU ±10, errors 0/2× the baseline in runs of 1–3 intervals): PASS (seed %i)', (seed) => {
    const high = flaps(rng(seed * 104729), 3);
    const v = releaseVerdict(windowOf(90, seed, () => steady(1_800), (t) => ({
      requests: 200,
      errorRate: high[t] ? 0.004 : 0,
      latency: high[t] ? 144 : 102,
      cpu: high[t] ? 65 : 45,
      memory: 500,
    })));
    expect(v).toMatchObject({ verdict: 'PASS' });
  });

  it('canary flapping between fine and 2.2× the baseline\'s p95 in runs of 1–2 intervals (50 requests): the guard sees it in most windows', () => {
    // The guard's noise scale is learnt from the baseline's p95. Learnt from the canary's, the jumps of
    // the flapping itself passed for noise and the guard stayed quiet in most of these windows.
    const caught = Array.from({ length: 10 }, (_, i) => i + 1).filter((seed) => {
      const bad = flaps(rng(seed * 911), 2);
      const samples = windowOf(90, seed, () => steady(450), (t) => ({ ...steady(50), latency: bad[t] ? 264 : 120 }));
      let state = newGuardState(90);
      for (let t = 0; t < 45; t++) {
        const step = guardStep(state, samples[t], stage);
        state = step.state;
        if (step.breach) return true;
      }
      return false;
    });
    expect(caught.length).toBeGreaterThanOrEqual(8);
  });

  it.each(seeds)('canary alternating between fine and 2.3× the baseline\'s p95 every interval (50 requests): FAIL at the end of the window (seed %i)', (seed) => {
    // Over the 1.25× limit in only half the intervals, so the sign test sees nothing, and each good
    // interval takes back what the bad one before it added to the guard's clipped CUSUM. By how far it is
    // over against how little it is under, the window's signed-rank look sees it.
    const v = releaseVerdict(windowOf(90, seed, () => steady(450), (t) => ({ ...steady(50), latency: (t + seed) % 2 ? 276 : 120 })));
    expect(v.verdict).toBe('FAIL');
    expect(v.explanation).toMatch(/^over the whole window: p95 latency .* vs baseline .*limit 1\.25×; above the limit in 45 of 90 intervals \(far above it there, only a little below it elsewhere\), \d+\.\d % confident it is above the limit/);
  });

  it.each(seeds)('memory leak (canary +1.5 % an interval vs flat baseline): FAIL soon after it passes 1.5× (seed %i)', (seed) => {
    // 1.5× is reached at t = 33.3
    const v = releaseVerdict(windowOf(90, seed, () => steady(1_800), (t) => ({ ...steady(200), memory: 500 * (1 + 0.015 * t) })));
    expect(v.verdict).toBe('FAIL');
    expect(v.at!).toBeGreaterThanOrEqual(33);
    expect(v.at!).toBeLessThanOrEqual(40);
    expect(v.explanation).toMatch(/^memory /);
  });

  it.each(seeds)('slow error ramp (canary 0.2 % → 3 % over the window): FAIL (seed %i)', (seed) => {
    // the canary passes 2× the baseline at t ≈ 6 and the 1 % absolute limit at t ≈ 26
    const v = releaseVerdict(windowOf(90, seed, () => steady(1_800), (t) => steady(200, 0.002 + 0.028 * (t / 89))));
    expect(v.verdict).toBe('FAIL');
    expect(v.at!).toBeLessThan(60);
    expect(v.explanation).toMatch(/^error rate /);
  });
});
