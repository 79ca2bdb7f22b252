// The bench's naive baseline judge.
import type { IntervalSample } from '../contract/verdict';
import { criteria } from '../test/support/judge-streams';
import { thresholdJudge } from './threshold-judge';

describe('thresholdJudge (bench baseline)', () => {
  it('rolls back after the threshold of failed per-interval checks, whatever the traffic', () => {
    const one = (errors: number): IntervalSample => ({
      at: 0,
      intervalS: 10,
      baseline: { requests: 400, errors: 0, latencyP95Ms: 100, cpuPct: 50, memoryMb: 500 },
      canary: { requests: 2, errors, latencyP95Ms: 100, cpuPct: 50, memoryMb: 500 },
    });
    const r = thresholdJudge([one(1), one(0), one(1), one(1), one(1), one(1)], criteria, 5);
    expect(r).toEqual({ verdict: 'FAIL', interval: 5, failedChecks: 5 });
    expect(thresholdJudge([one(0), one(0)], criteria).verdict).toBe('PASS');
    // no data fails nothing: it promotes
    expect(thresholdJudge([{ at: 0, intervalS: 10, baseline: null, canary: null }], criteria).verdict).toBe('PASS');
  });
});
