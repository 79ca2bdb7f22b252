// The success notice's figures, in the seed's words.
import { describeSuccess, type SuccessFigures } from './explain';
import type { ReleasePlan } from '../../contract/plan';

const plan = { version: 'v1.2.3' } as ReleasePlan;
const base: SuccessFigures = {
  errorRatePct: 0.06,
  errorRateBeforePct: 0.05,
  errorRateSlaPct: 1,
  p95Ms: 148,
  p95BeforeMs: 151,
  p95SlaMs: 500,
  requestsJudged: 5000,
  durationMs: 47 * 60_000,
};

test('the seed’s line: error rate and p95 against the SLA and before, requests, duration', () => {
  expect(describeSuccess(plan, base)).toBe(
    'Error rate: 0.06 % (within SLA 1 %) vs 0.05 % before · Latency p95: 148 ms (within SLA 500 ms) vs 151 ms before: 2 % faster · 5000 requests on v1.2.3 in the last watched window · released in 47 min',
  );
});

test('slower, above the SLA, nothing measured', () => {
  expect(describeSuccess(plan, { ...base, p95Ms: 620, p95BeforeMs: 400 })).toContain('Latency p95: 620 ms (ABOVE SLA 500 ms) vs 400 ms before: 55 % slower');
  expect(
    describeSuccess(plan, { ...base, errorRatePct: null, errorRateBeforePct: null, p95Ms: null, p95BeforeMs: null, requestsJudged: 0, durationMs: 90_000 }),
  ).toBe('released in 90 s');
});
