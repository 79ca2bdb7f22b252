// The progress display: redrawn in place on a terminal, plain lines only on change otherwise.
import type { ReleaseStatus } from '../../contract/messages';
import { ProgressView, formatDuration, describeStatus, finalLine, listTable } from './render';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

function status(over: Partial<ReleaseStatus> = {}): ReleaseStatus {
  return {
    service: 'checkout',
    version: 'v1.2.3',
    previousVersion: 'v1.2.2',
    strategy: 'canary',
    requestedBy: 'ana',
    startedAt: T0,
    phase: 'rolling_out',
    status: 'running',
    stageIndex: 0,
    stageCount: 3,
    stage: 'canary 5 %',
    trafficPercent: 5,
    windowEndsAt: T0 + 15 * 60_000,
    lastVerdict: null,
    approvals: [],
    paused: false,
    timeline: [{ at: T0, event: 'requested', by: 'ana', detail: 'checkout v1.2.3 (canary) from cli' }],
    ...over,
  };
}

const sink = (isTTY: boolean) => {
  const writes: string[] = [];
  return { out: { write: (s: string) => writes.push(s), isTTY }, writes };
};

test('formatDuration', () => {
  expect(formatDuration(0)).toBe('0s');
  expect(formatDuration(59_400)).toBe('59s');
  expect(formatDuration(75_000)).toBe('1m 15s');
  expect(formatDuration(2 * 3600_000 + 5 * 60_000)).toBe('2h 05m');
  expect(formatDuration(-5000)).toBe('0s');
});

test('the terminal block: stage n/m, traffic, window left, verdict with its findings, approvals', () => {
  const lines = describeStatus(
    status({
      stageIndex: 1,
      stage: 'canary 25 %',
      trafficPercent: 25,
      windowEndsAt: T0 + 20 * 60_000 + 30_000,
      lastVerdict: {
        verdict: 'PASS',
        explanation: 'error rate 0.1 % ≤ 1 %',
        canaryRequests: 5000,
        intervals: 90,
        findings: [
          { metric: 'error_rate', status: 'ok', canary: 0.1, baseline: 0.1, limit: 1, explanation: 'error rate 0.1 % vs 0.1 %, limit 1 %' },
          { metric: 'latency_p95', status: 'breach', canary: 620, limit: 500, explanation: 'p95 620 ms > 500 ms' },
        ],
      },
      approvals: [{ by: 'ana', at: T0, stage: 'canary 25 %' }],
    }),
    T0 + 5 * 60_000,
  );
  expect(lines).toEqual([
    'checkout v1.2.3 · canary · by ana · started 5m 00s ago',
    '  rolling out · stage 2/3 canary 25 % · traffic 25 % · window 15m 30s left',
    '  verdict PASS: error rate 0.1 % ≤ 1 %',
    '    error_rate ok: error rate 0.1 % vs 0.1 %, limit 1 %',
    '    latency_p95 BREACH: p95 620 ms > 500 ms',
    '  approvals: ana (canary 25 %)',
    '  last event: requested by ana: checkout v1.2.3 (canary) from cli',
  ]);
});

test('on a TTY every update redraws the block in place: cursor up over the previous block, clear, draw', () => {
  const { out, writes } = sink(true);
  const view = new ProgressView(out);
  view.update(status(), T0 + 1000);
  view.update(status(), T0 + 2000);
  view.update(status({ paused: true }), T0 + 3000);
  expect(writes).toHaveLength(3);
  expect(writes[0]).not.toContain('\x1b[');
  expect(writes[0]).toContain('window 14m 59s left');
  const height = writes[0].split('\n').length - 1;
  expect(writes[1].startsWith(`\x1b[${height}F\x1b[0J`)).toBe(true);
  expect(writes[1]).toContain('window 14m 58s left');
  expect(writes[2]).toContain('rolling out (paused)');
});

test('on a narrow terminal lines are cut rather than wrapped, so the redraw stays in place', () => {
  const writes: string[] = [];
  new ProgressView({ write: (s: string) => writes.push(s), isTTY: true, columns: 40 }).update(status(), T0);
  for (const line of writes[0].split('\n')) expect(line.length).toBeLessThan(40);
  expect(writes[0]).toContain('…');
});

test('plain output writes only when something changed, and each new timeline entry once', () => {
  const { out, writes } = sink(false);
  const view = new ProgressView(out);
  const s = status();
  view.update(s, T0 + 1000);
  view.update(s, T0 + 2000); // only the countdown moved
  view.update(s, T0 + 3000);
  const judged = status({
    lastVerdict: { verdict: 'FAIL', explanation: 'error rate 8 % > 1 %', findings: [], canaryRequests: 900, intervals: 12 },
    timeline: [...s.timeline, { at: T0 + 4000, event: 'verdict FAIL', detail: 'error rate 8 % > 1 %' }],
  });
  view.update(judged, T0 + 4000);
  expect(writes).toEqual([
    '10:00:00   requested by ana: checkout v1.2.3 (canary) from cli\n',
    '10:00:01 checkout v1.2.3 · rolling out · stage 1/3 canary 5 % · traffic 5 % · window 14m 59s left\n',
    '10:00:04   verdict FAIL: error rate 8 % > 1 %\n',
    '10:00:04 checkout v1.2.3 · rolling out · stage 1/3 canary 5 % · traffic 5 % · window 14m 56s left · verdict FAIL: error rate 8 % > 1 %\n',
  ]);
});

test('the last line says how it ended and why, without repeating itself', () => {
  const done = status({ status: 'succeeded', phase: 'succeeded', trafficPercent: 100 });
  expect(finalLine(done, { status: 'succeeded', version: 'v1.2.3', trafficPercent: 100, reason: 'released', lastVerdict: null })).toBe(
    'released checkout v1.2.3 · traffic 100 %',
  );
  const back = status({ status: 'rolled_back', phase: 'rolled_back', trafficPercent: 0 });
  expect(
    finalLine(back, {
      status: 'rolled_back',
      version: 'v1.2.3',
      trafficPercent: 0,
      reason: 'canary 5 %: error rate 8 %',
      lastVerdict: null,
      incident: 'INC-7',
    }),
  ).toBe('rolled back checkout v1.2.3 · traffic 0 % · canary 5 %: error rate 8 % (incident INC-7)');
});

test('list table: padded columns, the link last', () => {
  const t = listTable([
    {
      workflowId: 'release:checkout',
      version: 'v1.2.4-bad',
      strategy: 'canary',
      stage: 'canary 5 %',
      status: 'rolled_back',
      startTime: new Date(T0),
      url: 'http://ui/x',
    },
    { workflowId: 'flag:dark_mode', startTime: new Date(T0), url: 'http://ui/y' },
  ]);
  expect(t.split('\n')).toEqual([
    'RELEASE           VERSION     STRATEGY  STAGE       STATUS       STARTED              WEB UI',
    'release:checkout  v1.2.4-bad  canary    canary 5 %  rolled_back  2026-01-05 10:00:00  http://ui/x',
    'flag:dark_mode    -           -         -           -            2026-01-05 10:00:00  http://ui/y',
    '',
  ]);
  expect(listTable([])).toBe('no releases found\n');
});

test('the terminal block while baking, by waves, and with an A/B decision', () => {
  const s = status({
    phase: 'baking',
    trafficPercent: 100,
    windowEndsAt: null,
    bakeEndsAt: T0 + 10 * 60_000,
    regions: {
      'us-west-2': {
        wave: 2,
        phase: 'waiting',
        status: 'waiting',
        stage: null,
        trafficPercent: 0,
        maxPercent: 50,
        previousVersion: null,
        workflowId: 'r@w',
        latest: null,
      },
      'us-east-1': {
        wave: 1,
        phase: 'succeeded',
        status: 'succeeded',
        stage: 'full rollout 100 %',
        trafficPercent: 100,
        maxPercent: 100,
        previousVersion: 'v1.2.2',
        workflowId: 'r@e',
        latest: null,
      },
    },
    abTest: {
      kind: 'ship_b',
      text: 'B converts 3.41 % vs A 3.31 %: shipping B',
      rateA: 0.0331,
      rateB: 0.0341,
      lift: 0.03,
      liftLow: 0.008,
      liftHigh: 0.052,
      visitsA: 1,
      visitsB: 1,
      polls: 1,
    },
  });
  const lines = describeStatus(s, T0 + 4 * 60_000);
  expect(lines[1]).toContain('bake 6m 00s left (revert is instant until then)');
  expect(lines).toEqual(
    expect.arrayContaining([
      '  regions:',
      '    wave 1 us-east-1: succeeded · full rollout 100 % · 100 % of 100 % (was v1.2.2)',
      '    wave 2 us-west-2: waiting for its wave · 0 % of 50 %',
      '  A/B test: B converts 3.41 % vs A 3.31 %: shipping B',
    ]),
  );
});

test('what people typed reaches the terminal as written: control and bidi characters escaped, never acted on', () => {
  const s = status({ timeline: [{ at: T0, event: 'paused', by: 'ana', detail: 'rtl \u202eevil\u202c and \u001b[2J clear' }] });
  const lines = describeStatus(s, T0);
  expect(lines.at(-1)).toBe('  last event: paused by ana: rtl \\u202eevil\\u202c and \\u001b[2J clear');
  expect(lines.join('\n')).not.toContain('\u001b');
  expect(lines.join('\n')).not.toContain('\u202e');
});
