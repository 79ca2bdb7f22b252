// The release message: what it shows in each state, and that it stays within Slack's Block Kit limits.
import { releaseBlocks, viewOfNotice, viewOfStatus, person, trafficBar, releaseListText, shownStageOf } from './slack-blocks';
import { blockProblem } from '../test/support/slack-fake';
import type { ReleaseStatus } from '../contract/messages';
import type { Notice } from '../contract/notice';

const status = (over: Partial<ReleaseStatus> = {}): ReleaseStatus => ({
  service: 'checkout',
  version: 'v1.2.3',
  previousVersion: 'v1.2.2',
  strategy: 'canary',
  requestedBy: 'U024BE7LH',
  startedAt: 1_700_000_000_000,
  phase: 'rolling_out',
  status: 'running',
  stageIndex: 1,
  stageCount: 3,
  stage: 'canary 25 %',
  trafficPercent: 25,
  windowEndsAt: null,
  lastVerdict: {
    verdict: 'PASS',
    explanation: 'within limits over 90 intervals',
    findings: [
      { metric: 'error_rate', status: 'ok', explanation: 'error rate 0.2 % vs baseline 0.1 %, limit 1 %' },
      { metric: 'latency_p95', status: 'breach', explanation: 'p95 620 ms, limit 500 ms' },
    ],
    canaryRequests: 5000,
    intervals: 90,
  },
  approvals: [],
  paused: false,
  timeline: [{ at: 1_700_000_060_000, event: 'shifted' }],
  ...over,
});
const actionIds = (blocks: any[]) => blocks.find((b) => b.type === 'actions')?.elements.map((e: any) => e.action_id) ?? [];

test('a running release: stage, traffic split, verdict with each finding, and the four buttons carrying the workflow id', () => {
  const { text, blocks } = releaseBlocks(viewOfStatus('release:checkout', status(), 'http://127.0.0.1:8233/x'));
  expect(blockProblem(blocks)).toBeNull();
  expect(text).toBe('checkout v1.2.3: rolling out · canary 25 %');
  const json = JSON.stringify(blocks);
  expect(json).toContain('canary 25 % (stage 2 of 3)');
  expect(json).toContain('*25 %* on v1.2.3 · v1.2.2 on 75 %');
  expect(json).toContain('Last verdict: PASS');
  expect(json).toContain(':red_circle: p95 620 ms, limit 500 ms');
  expect(json).toContain('Requested by <@U024BE7LH>');
  expect(actionIds(blocks)).toEqual(['quad_approve', 'quad_reject', 'quad_rollback', 'quad_pause', 'quad_open']);
  const buttons = blocks.find((b) => b.type === 'actions')!.elements as any[];
  expect(buttons.filter((b) => b.action_id !== 'quad_open').every((b) => b.value === 'release:checkout')).toBe(true);
  expect(buttons.find((b) => b.action_id === 'quad_rollback').confirm).toBeDefined();
});

test('awaiting approval makes Approve the primary button; paused offers Resume; an ended release has no buttons', () => {
  const waiting = releaseBlocks(viewOfStatus('release:checkout', status({ phase: 'awaiting_approval' }))).blocks;
  expect((waiting.find((b) => b.type === 'actions') as any).elements[0]).toMatchObject({ action_id: 'quad_approve', style: 'primary' });
  expect(actionIds(releaseBlocks(viewOfStatus('release:checkout', status({ phase: 'paused', paused: true }))).blocks)).toContain('quad_resume');
  const done = releaseBlocks(viewOfStatus('release:checkout', status({ phase: 'succeeded', status: 'succeeded', trafficPercent: 100 }))).blocks;
  expect(actionIds(done)).toEqual([]);
  expect(JSON.stringify(done)).toContain(':white_check_mark: *succeeded*');
  expect(actionIds(releaseBlocks(viewOfStatus('release:checkout', status()), { actions: false }).blocks)).toEqual([]);
});

test('from a notice alone', () => {
  const n: Notice = {
    kind: 'awaiting_approval',
    releaseId: 'flag:dark_mode',
    service: 'checkout',
    version: 'flag:dark_mode',
    strategy: 'flag-ramp',
    requestedBy: 'ana',
    text: 'needs approval: 100 %',
    at: 1_700_000_000_000,
    trafficPercent: 50,
    stage: 'flag 50 %',
  };
  const { blocks, text } = releaseBlocks(viewOfNotice(n));
  expect(blockProblem(blocks)).toBeNull();
  expect(text).toContain('awaiting approval');
  expect(JSON.stringify(blocks)).toContain('Requested by ana');
  expect(actionIds(blocks)[0]).toBe('quad_approve');
  expect(actionIds(releaseBlocks(viewOfNotice({ ...n, kind: 'rolled_back' })).blocks)).toEqual([]);
});

test('long texts are clipped to Slack limits', () => {
  const long = 'x'.repeat(10_000);
  const { blocks, text } = releaseBlocks(
    viewOfStatus(
      'release:checkout',
      status({
        lastVerdict: {
          verdict: 'FAIL',
          explanation: long,
          findings: Array(30).fill({ metric: 'cpu', status: 'breach', explanation: long }),
          canaryRequests: 1,
          intervals: 1,
        },
      }),
      null,
      long,
    ),
  );
  expect(blockProblem(blocks)).toBeNull();
  expect(text.length).toBeLessThanOrEqual(3000);
});

test('helpers', () => {
  expect(person('U024BE7LH')).toBe('<@U024BE7LH>');
  expect(person('<!here>')).toBe('&lt;!here&gt;');
  expect(trafficBar(25)).toBe('▓▓▓░░░░░░░');
  expect(trafficBar(100)).toBe('▓▓▓▓▓▓▓▓▓▓');
  expect(releaseListText([])).toBe('No release is running.');
});

test('the actions block carries the gate its Approve is for, and reads it back; no stage, no suffix', () => {
  const awaiting = releaseBlocks(viewOfStatus('release:checkout', status({ phase: 'awaiting_approval', awaitingApproval: 'full rollout 100 %' })));
  const actions = awaiting.blocks.find((b) => b.type === 'actions')!;
  expect(actions.block_id).toBe('quad_actions|full rollout 100 %');
  expect(shownStageOf(actions.block_id)).toBe('full rollout 100 %');
  expect(shownStageOf('quad_actions')).toBeUndefined();
  expect(shownStageOf(undefined)).toBeUndefined();
  // while a stage is watched, the stage itself
  expect(releaseBlocks(viewOfStatus('release:checkout', status())).blocks.find((b) => b.type === 'actions')!.block_id).toBe('quad_actions|canary 25 %');
});

test('baking: the bake end shown, Revert (with a confirm naming the warm version) instead of Rollback, no Pause; regions in wave order', () => {
  const baking = status({ phase: 'baking', trafficPercent: 100, bakeEndsAt: 1_700_000_900_000, lastVerdict: null });
  const { blocks } = releaseBlocks(viewOfStatus('release:checkout', baking));
  expect(blockProblem(blocks)).toBeNull();
  expect(actionIds(blocks)).toEqual(['quad_approve', 'quad_reject', 'quad_revert']);
  const revert = (blocks.find((b) => b.type === 'actions') as any).elements.find((e: any) => e.action_id === 'quad_revert');
  expect(revert.confirm.text.text).toContain('v1.2.2, still warm');
  expect(JSON.stringify(blocks)).toContain('Baking until <!date^1700000900^{time}|');
  const waves = status({
    regions: {
      'eu-west-1': {
        wave: 2,
        phase: 'rolling_out',
        status: 'running',
        stage: 'canary 10 %',
        trafficPercent: 10,
        maxPercent: 10,
        previousVersion: 'v1',
        workflowId: 'x@eu',
        latest: null,
      },
      'us-east-1': {
        wave: 1,
        phase: 'succeeded',
        status: 'succeeded',
        stage: null,
        trafficPercent: 100,
        maxPercent: 100,
        previousVersion: 'v1',
        workflowId: 'x@us',
        latest: null,
      },
    },
  });
  const text = JSON.stringify(releaseBlocks(viewOfStatus('release:checkout', waves)).blocks);
  expect(text).toContain('• wave 1 · us-east-1: succeeded · 100 % of 100 %\\n• wave 2 · eu-west-1: rolling out · 10 % of 10 %');
});

test('the changes: the summary, each pull request linked, its title escaped; a link Slack could misread is left plain', () => {
  const changes = {
    summary: '2 features, 1 bug fix',
    features: 2,
    fixes: 1,
    other: 0,
    direct: 0,
    url: 'https://github.com/shop/checkout/compare/v1.2.2...v1.2.3',
    items: [
      { kind: 'feature' as const, number: 21, title: 'Faster <!channel> cart & coupons', url: 'https://github.com/shop/checkout/pull/21' },
      { kind: 'fix' as const, number: 22, title: 'Fix', url: 'https://evil.example/x|<!here>' },
    ],
  };
  const { blocks } = releaseBlocks(viewOfStatus('release:checkout', status({ changes })));
  const text = JSON.stringify(blocks);
  expect(text).toContain('*Changes:* 2 features, 1 bug fix (<https://github.com/shop/checkout/compare/v1.2.2...v1.2.3|compare>)');
  expect(text).toContain('• <https://github.com/shop/checkout/pull/21|#21 Faster &lt;!channel&gt; cart &amp; coupons>');
  expect(text).toContain('• #22 Fix');
  expect(text).not.toContain('<!here>');
  expect(text).not.toContain('<!channel>');
});

test('the notification line escapes what people typed too: a reason cannot ping the channel from it', () => {
  const n: Notice = {
    kind: 'paused',
    releaseId: 'release:checkout',
    service: 'checkout',
    version: 'v1.2.3',
    strategy: 'canary',
    requestedBy: 'ana',
    text: 'checkout v1.2.3 paused by ana: <!channel> look & see',
    at: 1_700_000_000_000,
  };
  expect(releaseBlocks(viewOfNotice(n)).text).toBe('checkout v1.2.3: paused — checkout v1.2.3 paused by ana: &lt;!channel&gt; look &amp; see');
});
