// Pure parts of the sandbox: behaviour from the version string, the request log and interval aggregates.
import { behaviourFor, BAD_ERROR_RATE, SLOW_EXTRA_MS } from './behaviour';
import { aggregateIntervals, intervalEdges, RequestLog } from './stats';

describe('behaviourFor', () => {
  it('reads -bad and -slow markers from the version, config overrides win', () => {
    expect(behaviourFor('v1.2.3')).toMatchObject({ errorRate: 0, extraLatencyMs: 0 });
    expect(behaviourFor('v1.2.4-bad')).toMatchObject({ errorRate: BAD_ERROR_RATE, extraLatencyMs: 0 });
    expect(behaviourFor('v1.2.4-slow')).toMatchObject({ errorRate: 0, extraLatencyMs: SLOW_EXTRA_MS });
    expect(behaviourFor('v1.2.4-bad-slow')).toMatchObject({ errorRate: 0.08, extraLatencyMs: 300 });
    expect(behaviourFor('v1.2.4-badger')).toMatchObject({ errorRate: 0 });
    expect(behaviourFor('v1.2.4', { errorRate: 0.5 })).toMatchObject({ errorRate: 0.5 });
  });
});

describe('intervalEdges', () => {
  it('covers [from, to) with the last interval clipped', () => {
    expect(intervalEdges(1000, 6500, 2)).toEqual([[1000, 3000], [3000, 5000], [5000, 6500]]);
    expect(intervalEdges(1000, 5000, 2)).toEqual([[1000, 3000], [3000, 5000]]);
    expect(intervalEdges(1000, 1000, 2)).toEqual([]);
  });
});

describe('RequestLog + aggregateIntervals', () => {
  it('aggregates requests, errors and an HDR p95 per interval and version', () => {
    const log = new RequestLog();
    // interval 1: latencies 1..100 ms, every 10th an error; interval 2: nothing
    for (let i = 1; i <= 100; i += 1) log.record(10_000 + i, i, i % 10 === 0);
    const usage = [
      { at: 10_500, cpuPct: 10, rssMb: 50 },
      { at: 11_000, cpuPct: 20, rssMb: 60 },
    ];
    const [first, second] = aggregateIntervals(
      [{ version: 'v1', log, usageBetween: (a, b) => usage.filter((u) => u.at >= a && u.at < b) }],
      10_000,
      14_000,
      2,
    );
    expect(first.versions.v1).toEqual({ requests: 100, errors: 10, latencyP95Ms: 95, cpuPct: 15, memoryMb: 55 });
    expect(second).toMatchObject({ from: 12_000, to: 14_000, at: 14_000 });
    expect(second.versions.v1).toEqual({ requests: 0, errors: 0, latencyP95Ms: null, cpuPct: null, memoryMb: null });
  });

  it('keeps records in time order when they finish out of order, and drops them after the retention', () => {
    const log = new RequestLog(1000);
    log.record(100, 1, false);
    log.record(300, 3, true);
    log.record(200, 2, false);
    const seen: number[] = [];
    log.forEachBetween(0, 1000, (ms) => seen.push(ms));
    expect(seen).toEqual([1, 2, 3]);
    log.record(1250, 4, false); // 100 and 200 fall out of the 1 s window
    seen.length = 0;
    log.forEachBetween(0, 2000, (ms) => seen.push(ms));
    expect(seen).toEqual([3, 4]);
    expect(log).toMatchObject({ total: 4, errors: 1, firstRequestAt: 100, firstErrorAt: 300 });
  });
});
