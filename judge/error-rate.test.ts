// Behaviour of the guard and the window judge on synthetic streams drawn from a seeded generator: the
// error rate (sequential scans, the limits, the wording).
import type { Criteria, IntervalSample } from '../contract/verdict';
import { criteria, firstBreach, healthy, stream } from '../test/support/judge-streams';
import { judgeWindow } from './window';

describe('error rate', () => {
  it('one error in 20 requests does not roll back', () => {
    const samples: IntervalSample[] = [
      {
        at: 10_000,
        intervalS: 10,
        baseline: { requests: 400, errors: 0, latencyP95Ms: 120, cpuPct: 50, memoryMb: 500 },
        canary: { requests: 20, errors: 1, latencyP95Ms: 118, cpuPct: 50, memoryMb: 500 },
      },
    ];
    expect(firstBreach(samples, { ...criteria, errorRateMaxPct: 1 })).toBeNull();
    expect(judgeWindow(samples, { ...criteria, errorRateMaxPct: 1 }).verdict).toBe('INCONCLUSIVE');
  });

  it('one error in 20 requests every few intervals on a 0.5 %-error baseline does not roll back', () => {
    const samples = stream(
      90,
      11,
      () => ({ ...healthy(380), errorRate: 0.005 }),
      (t) => ({ ...healthy(20), errorRate: t % 10 === 3 ? 0.05 : 0.005 }),
    );
    expect(firstBreach(samples)).toBeNull();
    expect(judgeWindow(samples, criteria).verdict).toBe('PASS');
  });

  it('a real 3× regression at 5 % traffic is caught within a few intervals', () => {
    // 2000 requests/s, 10 s intervals: the canary's 5 % is 1000 requests an interval.
    const onset = 20;
    const samples = stream(
      90,
      5,
      () => healthy(19_000),
      (t) => ({ ...healthy(1000), errorRate: t >= onset ? 0.03 : 0.01 }),
    );
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
    const samples = stream(
      90,
      9,
      (t) => ({ ...healthy(9_500), errorRate: incident(t) }),
      (t) => ({ ...healthy(500), errorRate: incident(t) }),
    );
    expect(firstBreach(samples)).toBeNull();
  });

  it('explains in words a person reads in Slack', () => {
    const samples: IntervalSample[] = [
      {
        at: 10_000,
        intervalS: 10,
        baseline: { requests: 8120, errors: 5, latencyP95Ms: 120, cpuPct: 50, memoryMb: 500 },
        canary: { requests: 646, errors: 31, latencyP95Ms: 121, cpuPct: 50, memoryMb: 500 },
      },
    ];
    const c: Criteria = { errorRateMaxRatio: 2, minRequests: 100 };
    const breach = firstBreach(samples, c)!;
    expect(breach.explanation).toBe(
      'error rate 4.8 % (31/646) vs baseline 0.06 % (5/8120): 78× the baseline, limit 2×; 99.9 % confident it is above the limit',
    );
    expect(breach.findings[0]).toMatchObject({ metric: 'error_rate', status: 'breach', sampleSize: 646, limit: 2 });
    const v = judgeWindow(samples, c);
    expect(v.verdict).toBe('FAIL');
    expect(v.explanation).toContain('(interval 0)');
  });
});
