// Pure parts of the sandbox: behaviour from the version string or flag name, the request log and interval aggregates.
import { behaviourFor, flagBehaviourFor, BAD_ERROR_RATE, BASE_CONVERSION_RATE, SLOW_EXTRA_MS } from './behaviour';
import { aggregateIntervals, intervalEdges, RequestLog } from './stats';
import { usageOverlapping } from './version-process';

describe('behaviourFor', () => {
  it('reads -bad and -slow markers from the version, config overrides win', () => {
    expect(behaviourFor('v1.2.3')).toMatchObject({ errorRate: 0, extraLatencyMs: 0 });
    expect(behaviourFor('v1.2.4-bad')).toMatchObject({ errorRate: BAD_ERROR_RATE, extraLatencyMs: 0 });
    expect(behaviourFor('v1.2.4-slow')).toMatchObject({ errorRate: 0, extraLatencyMs: SLOW_EXTRA_MS });
    expect(behaviourFor('v1.2.4-bad-slow')).toMatchObject({ errorRate: 0.08, extraLatencyMs: 300 });
    expect(behaviourFor('v1.2.4-badger')).toMatchObject({ errorRate: 0 });
    expect(behaviourFor('v1.2.4', { errorRate: 0.5 })).toMatchObject({ errorRate: 0.5 });
  });

  it('reads -convertN / -loseN as a relative change of the 3 % conversion rate', () => {
    expect(BASE_CONVERSION_RATE).toBe(0.03);
    expect(behaviourFor('v2.0.0').conversionRate).toBe(0.03);
    expect(behaviourFor('v2.0.0-convert3').conversionRate).toBeCloseTo(0.03 * 1.03, 12);
    expect(behaviourFor('v2.0.0-convert10').conversionRate).toBeCloseTo(0.033, 12);
    expect(behaviourFor('v2.0.0-lose20').conversionRate).toBeCloseTo(0.024, 12);
    expect(behaviourFor('v2.0.0-bad-lose5')).toMatchObject({ errorRate: BAD_ERROR_RATE });
    // clamped to a probability; a marker is a whole part, and an override wins
    expect(behaviourFor('v2.0.0-lose150').conversionRate).toBe(0);
    expect(behaviourFor('v2.0.0-convert9999').conversionRate).toBe(1);
    expect(behaviourFor('v2.0.0-converts').conversionRate).toBe(0.03);
    expect(behaviourFor('v2.0.0-convert10', { conversionRate: 0.5 }).conversionRate).toBe(0.5);
  });
});

describe('flagBehaviourFor', () => {
  it('reads bad and slow markers from the flag name split on - _ . +', () => {
    expect(flagBehaviourFor('dark_mode')).toEqual({ errorRate: 0, extraLatencyMs: 0 });
    expect(flagBehaviourFor('dark_mode_bad')).toEqual({ errorRate: BAD_ERROR_RATE, extraLatencyMs: 0 });
    expect(flagBehaviourFor('new-checkout-bad')).toEqual({ errorRate: BAD_ERROR_RATE, extraLatencyMs: 0 });
    expect(flagBehaviourFor('search.SLOW')).toEqual({ errorRate: 0, extraLatencyMs: SLOW_EXTRA_MS });
    expect(flagBehaviourFor('promo+bad+slow')).toEqual({ errorRate: BAD_ERROR_RATE, extraLatencyMs: SLOW_EXTRA_MS });
    // a marker is a whole part of the name, not a substring
    expect(flagBehaviourFor('badge_colors')).toEqual({ errorRate: 0, extraLatencyMs: 0 });
    expect(flagBehaviourFor('slowdown-banner')).toEqual({ errorRate: 0, extraLatencyMs: 0 });
  });
});

describe('intervalEdges', () => {
  it('covers [from, to) with the last interval clipped', () => {
    expect(intervalEdges(1000, 6500, 2)).toEqual([
      [1000, 3000],
      [3000, 5000],
      [5000, 6500],
    ]);
    expect(intervalEdges(1000, 5000, 2)).toEqual([
      [1000, 3000],
      [3000, 5000],
    ]);
    expect(intervalEdges(1000, 1000, 2)).toEqual([]);
  });
});

describe('RequestLog + aggregateIntervals', () => {
  it('aggregates requests, errors and an HDR p95 per interval and version', () => {
    const log = new RequestLog();
    // interval 1: latencies 1..100 ms, every 10th an error; interval 2: nothing
    for (let i = 1; i <= 100; i += 1) log.record(10_000 + i, i, i % 10 === 0, i % 25 === 1);
    const usage = [
      { since: 10_000, at: 10_500, cpuPct: 10, rssMb: 50 },
      { since: 10_500, at: 11_000, cpuPct: 20, rssMb: 60 },
    ];
    const [first, second] = aggregateIntervals([{ version: 'v1', log, usageBetween: (a, b) => usageOverlapping(usage, a, b) }], 10_000, 14_000, 2);
    expect(first.versions.v1).toEqual({ requests: 100, errors: 10, latencyP95Ms: 95, cpuPct: 15, memoryMb: 55, conversions: 4 });
    expect(second).toMatchObject({ from: 12_000, to: 14_000, at: 14_000 });
    expect(second.versions.v1).toEqual({ requests: 0, errors: 0, latencyP95Ms: null, cpuPct: null, memoryMb: null, conversions: 0 });
    expect(log.conversionsBetween(10_000, 10_027)).toEqual({ visits: 26, conversions: 2 });
    expect(log.conversionsBetween(12_000, 14_000)).toEqual({ visits: 0, conversions: 0 });
    expect(log.conversions).toBe(4);
  });

  it('adds flag variants with the same p95, no CPU or memory, and only in intervals where they saw requests', () => {
    const versionLog = new RequestLog();
    const on = new RequestLog();
    const off = new RequestLog();
    for (let i = 1; i <= 20; i += 1) {
      versionLog.record(10_000 + i, i, i === 20, i === 8);
      (i % 4 === 0 ? on : off).record(10_000 + i, i, i === 20, i === 8);
    }
    const [first, second] = aggregateIntervals([{ version: 'v1', log: versionLog, usageBetween: () => [] }], 10_000, 14_000, 2, [
      { key: 'flag:f=on', log: on },
      { key: 'flag:f=off', log: off },
    ]);
    // on: 4, 8, 12, 16, 20 ms (20 an error); off: the other 15, p95 of 1..19 without multiples of 4
    expect(first.versions['flag:f=on']).toEqual({ requests: 5, errors: 1, latencyP95Ms: 20, cpuPct: null, memoryMb: null, conversions: 1 });
    expect(first.versions['flag:f=off']).toEqual({ requests: 15, errors: 0, latencyP95Ms: 19, cpuPct: null, memoryMb: null, conversions: 0 });
    expect(first.versions.v1).toMatchObject({ requests: 20, errors: 1, latencyP95Ms: 19 });
    // an interval without requests keeps the version (zeros) but has no flag sides at all
    expect(Object.keys(second.versions)).toEqual(['v1']);
  });

  it('keeps records in time order when they finish out of order, and drops them after the retention', () => {
    const log = new RequestLog(1000);
    log.record(100, 1, false);
    log.record(300, 3, true);
    log.record(200, 2, false, true);
    const seen: number[] = [];
    log.forEachBetween(0, 1000, (ms) => seen.push(ms));
    expect(seen).toEqual([1, 2, 3]);
    // the conversion flag moves with its record when it is inserted out of order
    const converted: boolean[] = [];
    log.forEachBetween(0, 1000, (_ms, _e, c) => converted.push(c));
    expect(converted).toEqual([false, true, false]);
    log.record(1250, 4, false); // 100 and 200 fall out of the 1 s window
    seen.length = 0;
    log.forEachBetween(0, 2000, (ms) => seen.push(ms));
    expect(seen).toEqual([3, 4]);
    expect(log.conversionsBetween(0, 2000)).toEqual({ visits: 2, conversions: 0 });
    expect(log).toMatchObject({ total: 4, errors: 1, firstRequestAt: 100, firstErrorAt: 300 });
  });
});

test('a usage report counts in every interval its span measured: a process starved for 2.5 s still has CPU in each', () => {
  // reports every 500 ms, then none from 11_000 until 13_600 (the machine starved the process), then on again
  const usage = [10_500, 11_000, 13_600, 14_100].map((at, i, all) => ({ since: i ? all[i - 1] : 10_000, at, cpuPct: 10 * (i + 1), rssMb: 50 }));
  const intervals = [10_000, 11_000, 12_000, 13_000, 14_000].map((from) => usageOverlapping(usage, from, from + 1000).map((u) => u.at));
  expect(intervals).toEqual([[10_500, 11_000], [11_000, 13_600], [13_600], [13_600, 14_100], [14_100]]);
});
