// The A/B test activity's loop with a metrics source that counts as told and a context whose clock the
// test moves: a decision at the first poll that has one, a resumed test keeps its poll grid, and a source
// that measures no conversion is a configuration error.
import { runAbTest } from './ab-test';
import type { MetricsSource } from './providers/types';
import type { AbTestInput } from '../contract/activities';
import { failureOf } from '../test/support/failure-of';

const plan = { weightB: 0.5, alpha: 0.05, minDetectableEffect: 0.03, margin: 0, nonInferiority: false, maxDurationMs: 3_600_000, srmAlpha: 0.001 };
const input: AbTestInput = { service: 'shop', version: 'v2', previousVersion: 'v1', plan, pollIntervalS: 5, from: 1_000_000 };

/** A clock that jumps by each sleep, and the heartbeats it was given. */
function context(polls = 0) {
  let now = input.from;
  const beats: unknown[] = [];
  jest.spyOn(Date, 'now').mockImplementation(() => now);
  return {
    beats,
    ctx: {
      heartbeat: (d: unknown) => void beats.push(d),
      sleep: async (ms: number | string) => {
        now += Number(ms);
      },
      info: { heartbeatDetails: polls ? { polls } : undefined } as never,
    },
  };
}
afterEach(() => jest.restoreAllMocks());

/** visits at 400/s split 50/50 since `from`; B converts at rateB, A at 3 % */
function source(rateB: number, asked: Array<{ from: number; to: number }>): MetricsSource {
  return {
    name: 'counting',
    fetch: async () => [],
    conversions: async (q) => {
      asked.push({ from: q.from, to: q.to });
      const each = ((q.to - q.from) / 1000) * 200;
      return { a: { visits: each, conversions: Math.round(each * 0.03) }, b: { visits: each, conversions: Math.round(each * rateB) } };
    },
  };
}

test('B converting far better ships at the first poll that shows it, the counts read from the split on, on the poll grid', async () => {
  const asked: Array<{ from: number; to: number }> = [];
  const { ctx, beats } = context();
  const out = await runAbTest(source(0.06, asked), input, ctx);
  expect(out.kind).toBe('ship_b');
  expect(out.text).toMatch(/^B converts 6\.\d\d % vs A 3\.\d\d % \(\+\d+\.\d %, 95 % confidence sequence \+\d+\.\d % to \+\d+\.\d %\): shipping B$/);
  expect(asked.every((a) => a.from === input.from)).toBe(true);
  expect(asked.map((a) => a.to - input.from)).toEqual(asked.map((_, i) => (i + 1) * 5000 + 250));
  expect(beats).toHaveLength(out.polls - 1);
});

test('equal conversion keeps A at the maximum duration', async () => {
  const { ctx } = context();
  const out = await runAbTest(source(0.03, []), { ...input, plan: { ...plan, maxDurationMs: 600_000 } }, ctx);
  expect(out.kind).toBe('keep_a');
  expect(out.text).toContain('inconclusive at the maximum duration');
});

test('a test resumed on another worker keeps its poll grid: the next poll is the one after the last heartbeat', async () => {
  const asked: Array<{ from: number; to: number }> = [];
  const { ctx } = context(3);
  await runAbTest(source(0.06, asked), input, ctx);
  expect(asked[0].to - input.from).toBe(4 * 5000 + 250);
});

test('a metrics source that measures no conversion is a configuration error, not an endless test', async () => {
  const { ctx } = context();
  const f = await failureOf(runAbTest({ name: 'cloudwatch', fetch: async () => [] }, input, ctx));
  expect([f.type, f.nonRetryable]).toEqual(['ConfigurationError', true]);
  expect(f.message).toContain('measures no conversion');
});
