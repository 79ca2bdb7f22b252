// A guard that starts late (its activity sat queued while its window ran) says so: in a heartbeat at
// once, in its log, and in the explanation of any breach it finds; it reads the missed intervals back
// without waiting.
import { MockActivityEnvironment } from '@temporalio/testing';
import { runGuard, lateStart, SETTLE_MS, type GuardProgress } from './guard';
import type { GuardInput, GuardOutcome } from '../contract/activities';
import type { MetricsQuery, MetricsSource } from './providers/types';
import type { IntervalSample } from '../contract/verdict';

const criteria = { errorRateMaxPct: 1, errorRateMaxRatio: 2, latencyP95MaxMs: 500, latencyP95MaxRatio: 1.25, minRequests: 100 };

/** 2,000 requests a second per side; the canary fails 8 % when `bad`. */
class SteadyMetrics implements MetricsSource {
  readonly name = 'steady';
  queries: MetricsQuery[] = [];
  constructor(private readonly bad: boolean) {}
  async fetch(q: MetricsQuery): Promise<IntervalSample[]> {
    this.queries.push(q);
    const out: IntervalSample[] = [];
    for (let t = q.from; t < q.to; t += q.intervalS * 1000) {
      const requests = 2000 * q.intervalS;
      const side = (rate: number) => ({ requests, errors: Math.round(requests * rate), latencyP95Ms: 40, cpuPct: 30, memoryMb: 300 });
      out.push({ at: t + q.intervalS * 1000, intervalS: q.intervalS, baseline: side(0.001), canary: side(this.bad ? 0.08 : 0.001) });
    }
    return out;
  }
}

const guard = (metrics: MetricsSource, i: GuardInput): Promise<GuardOutcome> => runGuard(metrics, i);
const runIn = (env: MockActivityEnvironment, metrics: MetricsSource, i: GuardInput) =>
  env.run<[MetricsSource, GuardInput], GuardOutcome, typeof guard>(guard, metrics, i);

const input = (from: number, deadline: number): GuardInput => ({
  service: 'checkout',
  version: 'v1.2.4',
  previousVersion: 'v1.2.3',
  stage: 'canary 5 %',
  criteria,
  pollIntervalS: 0.5,
  from,
  deadline,
});

test('lateStart: late is more than one poll (and the settle time) after the window began', () => {
  expect(lateStart({ from: 10_000, pollIntervalS: 1 }, 10_000 + 1000 + SETTLE_MS)).toBeNull();
  expect(lateStart({ from: 10_000, pollIntervalS: 1 }, 10_000 + 1000 + SETTLE_MS + 1)).toBe(1000 + SETTLE_MS + 1);
  expect(lateStart({ from: 10_000, pollIntervalS: 1 }, 9_000)).toBeNull();
});

test('started 3 s into its window: heartbeats the lateness before its first poll and reads the missed intervals at once', async () => {
  const env = new MockActivityEnvironment();
  const beats: GuardProgress[] = [];
  env.on('heartbeat', (d: GuardProgress) => beats.push(d));
  const metrics = new SteadyMetrics(false);
  const now = Date.now();
  const out = await runIn(env, metrics, input(now - 3000, now + 600));
  expect(out.kind).toBe('quiet');
  expect(beats[0].polls).toBe(0);
  expect(beats[0].cursor).toBe(now - 3000);
  expect(beats[0].startedLateMs).toBeGreaterThanOrEqual(3000);
  // every later heartbeat keeps it, so a retry after a crash still knows
  expect(beats.every((b) => b.startedLateMs === beats[0].startedLateMs)).toBe(true);
  // the six missed intervals read back one after the other, then the one still to come
  expect(metrics.queries[0].from).toBe(now - 3000);
  expect(metrics.queries.map((q) => q.to - q.from)).toEqual(metrics.queries.map(() => 500));
  console.log(`late guard: started ${beats[0].startedLateMs} ms late, ${metrics.queries.length} polls, ${beats.length} heartbeats`);
});

test('a breach found by a late guard says the guard started late', async () => {
  const env = new MockActivityEnvironment();
  const now = Date.now();
  const out = (await runIn(env, new SteadyMetrics(true), input(now - 4000, now + 60_000))) as Extract<GuardOutcome, { kind: 'breach' }>;
  expect(out.kind).toBe('breach');
  expect(out.breach.explanation).toMatch(/\(guard started \d+\.\d s late; the missed intervals were read back\)$/);
});

test('a guard on time says nothing of lateness', async () => {
  const env = new MockActivityEnvironment();
  const beats: GuardProgress[] = [];
  env.on('heartbeat', (d: GuardProgress) => beats.push(d));
  const now = Date.now();
  const out = (await runIn(env, new SteadyMetrics(true), input(now, now + 60_000))) as Extract<GuardOutcome, { kind: 'breach' }>;
  expect(out.breach.explanation).not.toMatch(/late/);
  expect(beats.some((b) => b.startedLateMs !== undefined)).toBe(false);
});
