// The real guard at the activity level: polling on the clock, heartbeats that carry its state, resuming
// after a crash, cancellation, and a real breach read from the sandbox under load.
import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/activity';
import { runGuard, type GuardProgress } from './guard';
import type { GuardInput, GuardOutcome } from '../contract/activities';
import type { MetricsQuery, MetricsSource } from './providers/types';
import type { IntervalSample } from '../contract/verdict';
import { startSandbox, type Sandbox } from '../sandbox/sandbox';
import { startLoad } from '../sandbox/load';
import { SandboxDeployer } from './providers/deployers/sandbox';
import { SandboxMetricsSource } from './providers/metrics/sandbox';

const criteria = { errorRateMaxPct: 1, errorRateMaxRatio: 2, latencyP95MaxMs: 500, latencyP95MaxRatio: 1.25, minRequests: 100 };

/** Metrics computed from the query window: 2,000 requests a second per side, the canary failing from `badFrom`. */
class ClockMetrics implements MetricsSource {
  readonly name = 'clock';
  queries: MetricsQuery[] = [];
  constructor(private readonly badFrom = Infinity) {}
  async fetch(q: MetricsQuery): Promise<IntervalSample[]> {
    this.queries.push(q);
    const out: IntervalSample[] = [];
    for (let t = q.from; t < q.to; t += q.intervalS * 1000) {
      const requests = 2000 * q.intervalS;
      const bad = t >= this.badFrom;
      out.push({
        at: t + q.intervalS * 1000,
        intervalS: q.intervalS,
        baseline: { requests, errors: Math.round(requests * 0.001), latencyP95Ms: 40, cpuPct: 30, memoryMb: 300 },
        canary: { requests, errors: bad ? Math.round(requests * 0.08) : Math.round(requests * 0.001), latencyP95Ms: 41, cpuPct: 31, memoryMb: 300 },
      });
    }
    return out;
  }
}

/** runGuard as the worker calls it: the activity Context comes from the (mock) environment. */
const guard = (metrics: MetricsSource, i: GuardInput): Promise<GuardOutcome> => runGuard(metrics, i);
const runIn = (env: MockActivityEnvironment, metrics: MetricsSource, i: GuardInput) =>
  env.run<[MetricsSource, GuardInput], GuardOutcome, typeof guard>(guard, metrics, i);

const input = (over: Partial<GuardInput> = {}): GuardInput => ({
  service: 'checkout',
  version: 'v1.2.4',
  previousVersion: 'v1.2.3',
  stage: 'canary 5 %',
  criteria,
  pollIntervalS: 0.2,
  from: Date.now(),
  deadline: Date.now() + 60_000,
  ...over,
});

test('quiet metrics: polls each interval, heartbeats its state, answers quiet at its deadline', async () => {
  const env = new MockActivityEnvironment();
  const beats: GuardProgress[] = [];
  env.on('heartbeat', (d: GuardProgress) => beats.push(d));
  const metrics = new ClockMetrics();
  const now = Date.now();
  const out = await runIn(env, metrics, input({ from: now, deadline: now + 1000 }));
  expect(out).toEqual({ kind: 'quiet', polls: 5 });
  expect(metrics.queries.map((q) => q.to - q.from)).toEqual([200, 200, 200, 200, 200]);
  expect(beats.map((b) => b.cursor - now)).toEqual([200, 400, 600, 800, 1000]);
  expect(JSON.parse(JSON.stringify(beats[4].state))).toEqual(beats[4].state);
});

test('a breach is reported within one poll of the metrics turning bad, with its evidence', async () => {
  const env = new MockActivityEnvironment();
  const now = Date.now();
  const out = (await runIn(env, new ClockMetrics(now + 600), input({ from: now, pollIntervalS: 0.2 }))) as Extract<GuardOutcome, { kind: 'breach' }>;
  expect(out.kind).toBe('breach');
  expect(out.breach.explanation).toMatch(/^error rate \d+(\.\d+)? % \(\d+\/\d+\).* vs baseline 0(\.\d+)? %.*confident it is above the limit$/);
  // bad from the 4th interval (600–800 ms); it must be caught in that interval's poll or the next
  expect(out.polls).toBeGreaterThanOrEqual(4);
  expect(out.polls).toBeLessThanOrEqual(5);
});

test('after a crash the retried guard resumes from its heartbeat: no gap, no repeat, and it catches up at once', async () => {
  const now = Date.now();
  const first = new MockActivityEnvironment();
  const beats: GuardProgress[] = [];
  first.on('heartbeat', (d: GuardProgress) => beats.push(d));
  const metrics = new ClockMetrics();
  const running = runIn(first, metrics, input({ from: now - 2000, deadline: now + 60_000, pollIntervalS: 0.5 })).catch((e) => e);
  while (beats.length < 2) await new Promise((r) => setTimeout(r, 20));
  first.cancel(); // the worker "dies" here
  expect(await running).toBeInstanceOf(CancelledFailure);
  const last = beats.at(-1)!;
  // A new attempt gets the last heartbeat as its details; the window went on meanwhile (-2 s start).
  const second = new MockActivityEnvironment({ heartbeatDetails: last });
  const resumed = new ClockMetrics();
  const t0 = Date.now();
  const out = await runIn(second, resumed, input({ from: now - 2000, deadline: now + 1500, pollIntervalS: 0.5 }));
  expect(resumed.queries[0].from).toBe(last.cursor);
  expect(out.kind).toBe('quiet');
  expect(out.polls).toBe(last.polls + resumed.queries.length);
  // catching up on missed intervals costs no waiting: only the intervals still in the future are waited for
  expect(Date.now() - t0).toBeLessThan(now + 1500 - t0 + 1000);
});

test('cancellation (the window timer fired) ends the guard promptly', async () => {
  const env = new MockActivityEnvironment();
  const running = runIn(env, new ClockMetrics(), input({ pollIntervalS: 5 })).catch((e) => e);
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  env.cancel();
  expect(await running).toBeInstanceOf(CancelledFailure);
  expect(Date.now() - t0).toBeLessThan(1000);
});

describe('against the sandbox under load', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, initial: { checkout: 'v1.2.3' } });
  }, 30_000);
  afterAll(() => sandbox?.stop());

  test('a -bad canary at 25 % is caught by the real guard through the sandbox metrics', async () => {
    const target = { service: 'checkout', version: 'v1.2.4-bad', previousVersion: 'v1.2.3' };
    await new SandboxDeployer({ url: sandbox.adminUrl }).setTraffic(target, 25);
    const load = startLoad({ url: sandbox.url, rps: 300, maxDurationS: 30 });
    try {
      const env = new MockActivityEnvironment();
      const from = Date.now();
      const out = await runIn(env, new SandboxMetricsSource({ url: sandbox.adminUrl }), input({ ...target, from, deadline: from + 20_000, pollIntervalS: 1 }));
      expect(out.kind).toBe('breach');
      if (out.kind === 'breach') expect(out.breach.findings.some((f) => f.metric === 'error_rate' && f.status === 'breach')).toBe(true);
      console.log(`sandbox guard: breach after ${out.polls} polls of 1 s, ${(Date.now() - from) / 1000} s`);
    } finally {
      await load.stop();
    }
  }, 40_000);
});
