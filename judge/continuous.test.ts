// Behaviour of the guard and the window judge on synthetic streams drawn from a seeded generator: latency,
// CPU and memory (the CUSUM checks).
import { criteria, firstBreach, healthy, stream } from '../test/support/judge-streams';
import { judgeWindow } from './window';

describe('latency, CPU, memory', () => {
  it('a single latency spike does not breach; a 2× step does within three intervals', () => {
    const spike = stream(
      40,
      2,
      () => healthy(9_000),
      (t) => ({ ...healthy(1000), latency: t === 15 ? 600 : 120 }),
    );
    expect(firstBreach(spike)).toBeNull();
    const step = stream(
      40,
      3,
      () => healthy(9_000),
      (t) => ({ ...healthy(1000), latency: t >= 15 ? 240 : 120 }),
    );
    const breach = firstBreach(step)!;
    expect(breach.interval).toBeGreaterThanOrEqual(15);
    expect(breach.interval).toBeLessThanOrEqual(17);
    expect(breach.findings[0].metric).toBe('latency_p95');
    expect(breach.explanation).toMatch(
      /^p95 latency 2\d\d ms vs baseline 1\d\d ms \(median of the last \d+ intervals\): 2(\.\d+)?× the baseline, limit 1\.25×; \d+\.\d % confident it is above the limit/,
    );
  });

  it('load that moves baseline and canary latency together does not breach the ratio', () => {
    // a load cycle: both sides' p95 swing between 120 and 330 ms
    const cycle = (t: number) => 120 + 210 * (0.5 - 0.5 * Math.cos((2 * Math.PI * t) / 30));
    const samples = stream(
      90,
      4,
      (t) => ({ ...healthy(9_000), latency: cycle(t) }),
      (t) => ({ ...healthy(1000), latency: cycle(t) }),
    );
    expect(firstBreach(samples)).toBeNull();
    expect(judgeWindow(samples, criteria).verdict).toBe('PASS');
  });

  it('CPU persistently over its absolute limit breaches', () => {
    const samples = stream(
      40,
      6,
      () => healthy(9_000),
      (t) => ({ ...healthy(1000), cpu: t >= 10 ? 97 : 55 }),
    );
    const breach = firstBreach(samples)!;
    expect(breach.findings[0].metric).toBe('cpu');
    expect(breach.interval - 10).toBeLessThanOrEqual(4);
    expect(breach.explanation).toMatch(/^CPU 9\d(\.\d)? % \(median of the last \d+ intervals\) vs limit 90 % \(baseline 5\d(\.\d)? %\)/);
  });

  it('a memory leak is caught once the canary passes the ratio, not before', () => {
    const samples = stream(
      90,
      8,
      () => healthy(9_000),
      (t) => ({ ...healthy(1000), memory: 500 * (1 + 0.02 * t) }),
    );
    const breach = firstBreach(samples)!;
    expect(breach.findings[0].metric).toBe('memory');
    // 1.5× is reached at t = 25
    expect(breach.interval).toBeGreaterThanOrEqual(25);
    expect(breach.interval).toBeLessThanOrEqual(30);
  });
});
