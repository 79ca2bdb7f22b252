// The report's arithmetic on hand-made timelines (each rule in client/report.ts), and the chart rendered
// to SVG from one. The same figures from real runs: test/e2e/release.test.ts.
import type { ReleaseStatus, TimelineEntry } from '../contract/messages';
import { formatReport, parseSince, summarize, type ReleaseRecord } from './report';
import { chartData, releaseChartSvg } from './report-chart';

const T0 = Date.UTC(2026, 10, 30, 15, 0, 0);
const e = (s: number, event: string, detail?: string, by?: string): TimelineEntry => ({
  at: T0 + s * 1000,
  event,
  ...(detail ? { detail } : {}),
  ...(by ? { by } : {}),
});

function rec(version: string, status: ReleaseStatus['status'], timeline: TimelineEntry[]): ReleaseRecord {
  return {
    workflowId: 'release:checkout',
    runId: version,
    url: `http://ui/${version}`,
    status: {
      service: 'checkout',
      version,
      previousVersion: 'v1.2.2',
      strategy: 'canary',
      requestedBy: 'ana',
      startedAt: T0,
      phase: status === 'running' ? 'rolling_out' : status,
      status,
      stageIndex: 0,
      stageCount: 2,
      stage: 'canary 5 %',
      trafficPercent: 0,
      windowEndsAt: null,
      lastVerdict:
        status === 'rolled_back'
          ? {
              verdict: 'FAIL',
              explanation: 'error rate 8 %',
              canaryRequests: 400,
              intervals: 2,
              findings: [{ metric: 'error_rate', status: 'breach', canary: 8, baseline: 0.1, limit: 1, explanation: 'error rate 8 % > 1 %' }],
            }
          : null,
      approvals: [],
      paused: false,
      timeline,
    },
  };
}

const good = (v: string) =>
  rec(v, 'succeeded', [
    e(0, 'requested'),
    e(1, 'prepared'),
    e(2, 'shifted', 'canary 5 %: 5 %'),
    e(60, 'shifted', 'full rollout 100 %: 100 %'),
    e(61, 'succeeded'),
  ]);
const caught = rec('v1.3.0-bad', 'rolled_back', [
  e(0, 'requested'),
  e(1, 'prepared'),
  e(2, 'shifted', 'canary 5 %: 5 %'),
  e(6, 'breach', 'error rate 8 %'),
  e(6, 'rolling back', 'canary 5 %: error rate 8 %'),
  e(6.2, 'undone', 'traffic'),
  e(6.3, 'rolled_back'),
  e(7, 'incident opened', 'inc-1'),
]);
// reached everyone, then rolled back by hand: a change failure, no detection time
const escaped = rec('v1.3.1', 'rolled_back', [
  e(0, 'requested'),
  e(2, 'shifted', 'canary 5 %: 5 %'),
  e(30, 'shifted', 'full rollout 100 %: 100 %'),
  e(90, 'rolling back', 'customers report failures', 'ana'),
  e(90.5, 'undone', 'traffic'),
  e(91, 'rolled_back'),
]);
const rejectedBeforeTraffic = rec('v1.3.2', 'rejected', [e(0, 'requested'), e(5, 'rejected', undefined, 'bob')]);
const unfinished = rec('v1.3.3', 'rollback_failed', [
  e(0, 'requested'),
  e(2, 'shifted', 'canary 5 %: 5 %'),
  e(20, 'verdict FAIL', 'p95 900 ms'),
  e(20, 'rolling back'),
  e(80, 'undo failed', 'traffic: 503'),
]);

test('deployments, success, caught and change failures, detection and rollback times, downtime and incidents', () => {
  const r = summarize(
    [
      good('v1.2.3'),
      good('v1.2.4'),
      caught,
      escaped,
      rejectedBeforeTraffic,
      unfinished,
      rec('v1.4.0', 'running', [e(0, 'requested'), e(2, 'shifted', 'canary 5 %: 5 %')]),
    ],
    {
      service: 'checkout',
      sinceMs: T0 - 14 * 86_400_000,
      untilMs: T0,
    },
  );
  expect(r).toMatchObject({
    releases: 7,
    deployments: 5,
    succeeded: 2,
    caught_failures: 1,
    change_failures: 2,
    success_rate: 0.4,
    change_failure_rate: 0.4,
    zero_downtime_rate: 0.8,
    incidents: 1,
    incidents_per_deployment: 0.2,
    releases_per_week: 2.5,
  });
  // detection: the guard 4 s after the canary took traffic, the judge 18 s after; the manual one has none
  expect(r.rollbacks.map((x) => [x.version, x.detect_s, x.rollback_s, x.max_traffic_percent, x.by])).toEqual([
    ['v1.3.0-bad', 4, 0.2, 5, null],
    ['v1.3.1', null, 0.5, 100, 'ana'],
    ['v1.3.3', 18, null, 5, null],
  ]);
  expect(r.mttd_s).toBe(11);
  expect(r.mttd_p90_s).toBe(18);
  expect(r.mttr_s).toBeCloseTo(0.35);
  const text = formatReport(r).join('\n');
  expect(text).toContain('QUAD report · checkout · last 14 days · 5 deployments (2 more moved no traffic or still run)');
  expect(text).toMatch(/deployment success rate\s+40\.0 %\s+≥ 98 %\s+MISSED/);
  expect(text).toMatch(/mean time to roll back\s+0\.3 s\s+< 1 min\s+met/);
  expect(text).toContain('rolled back v1.3.1 at 100 % by ana: detected in —, rolled back in 0.5 s');
});

test('no deployments: no rates, nothing claimed met', () => {
  const r = summarize([], { service: null, sinceMs: T0 - 86_400_000, untilMs: T0 });
  expect([r.success_rate, r.mttd_s, r.zero_downtime_rate]).toEqual([null, null, null]);
  expect(formatReport(r).join('\n')).not.toMatch(/ (met|MISSED)$/m);
});

test('--since spans', () => {
  expect(parseSince('30d')).toBe(30 * 86_400_000);
  expect(parseSince('12h')).toBe(12 * 3_600_000);
  expect(parseSince('2w')).toBe(14 * 86_400_000);
  expect(() => parseSince('30 days; rm -rf /')).toThrow('--since takes a span like 30d');
});

test('the chart: traffic as steps (5 % then 0 % at the undo), the breach and the rollback marked, the deciding metrics, as SVG', async () => {
  const data = chartData(caught.status);
  expect(data.traffic).toEqual([
    { t: 0, percent: 0 },
    { t: 2, percent: 5 },
    { t: 6.2, percent: 0 },
    { t: 7, percent: 0 },
  ]);
  expect(data.marks.map((m) => m.event)).toEqual(['breach', 'rolling back']);
  expect(data.findings).toEqual([
    { metric: 'error_rate', side: 'canary', value: 8, status: 'breach' },
    { metric: 'error_rate', side: 'baseline', value: 0.1, status: 'breach' },
    { metric: 'error_rate', side: 'limit', value: 1, status: 'breach' },
  ]);
  const svg = await releaseChartSvg(caught.status);
  expect(svg.startsWith('<svg')).toBe(true);
  for (const s of ['checkout v1.3.0-bad · canary · rolled_back', 'breach', 'rolling back', 'error_rate', 'deciding verdict FAIL']) expect(svg).toContain(s);
});
