// The release workflow keeps what it promises, on the time-skipping test server: every notice kind is
// sent when it happens, a payload nobody can vouch for is refused, and a rollback whose undo step keeps
// failing goes on with the rest and ends in a state that says a person must act.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { advanceUntil } from '../support/release-harness';
import { useReleaseBed, type Handle } from '../support/release-bed';
import { pauseSignal, rollbackSignal, commandUpdate, statusQuery, type ReleaseStatus } from '../../contract/messages';
import { NOTICE_KINDS, type NoticeKind } from '../../contract/notice';
import { describeStatus } from '../../client/cli/render';
import { releaseBlocks, viewOfStatus } from '../../render/slack-blocks';

const { env, seedPlan, run, signal } = useReleaseBed();

const until = (h: Handle, ok: (s: ReleaseStatus) => boolean) => advanceUntil(env(), () => h.query(statusQuery), ok);
const awaiting = (stage: string) => (s: ReleaseStatus) =>
  s.phase === 'awaiting_approval' && s.timeline.some((t) => t.event === 'awaiting approval' && t.detail === stage);

test('every notice kind is sent when it happens', async () => {
  const kinds = new Map<NoticeKind, string>();
  const collect = (label: string, notices: { kind: NoticeKind }[]) => notices.forEach((n) => kinds.set(n.kind, kinds.get(n.kind) ?? label));

  // success: started, stage_started, stage_passed (with the verdict's figures), awaiting_approval, approved, succeeded
  const ok = await run({}, seedPlan(), async (h) => {
    await until(h, awaiting('full rollout 100 %'));
    await signal(h, 'approve', { by: 'ana' });
  });
  expect(ok.result.status).toBe('succeeded');
  const passed = ok.calls.notices.filter((n) => n.kind === 'stage_passed');
  expect(passed.map((n) => [n.stage, n.text, n.detail])).toEqual([
    ['canary 5 %', 'checkout v1.2.3: canary 5 % passed', 'PASS: judge says PASS'],
    ['canary 25 %', 'checkout v1.2.3: canary 25 % passed', 'PASS: judge says PASS'],
  ]);
  collect('success', ok.calls.notices);

  // paused and resumed by hand, then a breach: breach, then rolling_back before the undo, then rolled_back
  const bad = await run({ breachAt: ['canary 25 %'] }, seedPlan(), async (h) => {
    await until(h, (s) => s.stage === 'canary 5 %' && s.windowEndsAt !== null);
    await signal(h, 'pause', { by: 'ana', reason: 'waiting for support' });
    await until(h, (s) => s.phase === 'paused');
    await signal(h, 'resume', { by: 'ana' });
  });
  expect(bad.result.status).toBe('rolled_back');
  const tail = bad.calls.notices.map((n) => n.kind).slice(-3);
  expect(tail).toEqual(['breach', 'rolling_back', 'rolled_back']);
  expect(bad.calls.notices.find((n) => n.kind === 'breach')).toMatchObject({
    stage: 'canary 25 %',
    text: expect.stringContaining('guardrail breached at canary 25 %: error rate 8 %'),
  });
  collect('breach', bad.calls.notices);

  // rejected at the approval: announced as rejected, not as failed or rolled back
  const no = await run({}, seedPlan(), async (h) => {
    await until(h, awaiting('full rollout 100 %'));
    await signal(h, 'reject', { by: 'ana', reason: 'not today' });
  });
  expect(no.result.status).toBe('rejected');
  expect(no.calls.notices.map((n) => n.kind)).not.toContain('rolled_back');
  expect(no.calls.notices.at(-1)).toMatchObject({ kind: 'rejected', text: 'checkout v1.2.3 rejected: rejected by ana: not today' });
  collect('rejected', no.calls.notices);

  const gate = await run({ gateFails: ['rollback plan'] }, seedPlan());
  expect(gate.calls.notices.at(-1)?.kind).toBe('failed');
  collect('gate', gate.calls.notices);

  const stuck = await run({ breachAt: ['canary 5 %'], failUndo: ['traffic'] }, seedPlan());
  collect('undo', stuck.calls.notices);

  expect([...NOTICE_KINDS].filter((k) => !kinds.has(k))).toEqual([]);
});

test('a failing undo step does not stop the later ones, and the release says a person must act', async () => {
  const plan = seedPlan({ dependencies: [{ name: 'db migration', kind: 'noop', undo: { kind: 'noop' } }] });
  const { result, status, calls } = await run({ breachAt: ['canary 5 %'], failUndo: ['traffic'] }, plan);
  // the traffic restore was retried (bounded), then the dependency's undo still ran
  expect(calls.traffic.filter((p) => p === 0).length).toBe(10);
  expect(calls.steps).toEqual(['db migration', 'undo db migration']);
  expect(result).toMatchObject({ status: 'rollback_failed', actionRequired: expect.stringContaining('traffic: the load balancer answered 503') });
  expect(status).toMatchObject({ status: 'rollback_failed', phase: 'rollback_failed' });
  expect(status.timeline.map((t) => `${t.event}: ${t.detail ?? ''}`)).toEqual(
    expect.arrayContaining([expect.stringMatching(/^undo failed: traffic: the load balancer answered 503/), 'undone: undo db migration']),
  );
  expect(calls.notices.at(-1)).toMatchObject({
    kind: 'rollback_failed',
    text: expect.stringContaining('act by hand: traffic: the load balancer answered 503'),
  });
  expect(calls.incidents).toEqual([expect.stringMatching(/^checkout v1.2.3 rollback failed: act by hand/)]);
  // quad status and Slack say which step and why
  expect(describeStatus(status, Date.now()).join('\n')).toContain(
    'ACT BY HAND: the rollback did not finish; restore by hand: traffic: the load balancer answered 503',
  );
  expect(JSON.stringify(releaseBlocks(viewOfStatus('release:checkout', status)).blocks)).toContain(
    ':warning: the rollback did not finish; restore by hand: traffic',
  );
});

test('a bad signal payload is recorded as ignored, never rendered; a bad update payload is refused by its validator', async () => {
  const { result, status } = await run({}, seedPlan(), async (h) => {
    await until(h, (s) => s.stage === 'canary 5 %' && s.windowEndsAt !== null);
    await h.signal(rollbackSignal, { by: 'ana', reason: { a: 1 } } as never);
    await h.signal(rollbackSignal, { by: 42 } as never);
    await h.signal(pauseSignal, 'ana' as never);
    await h.signal(rollbackSignal, { by: 'ana', reason: 'x'.repeat(5000) });
    await h.signal(rollbackSignal, { by: 'ana', role: 'admin' } as never);
    await expect(h.executeUpdate(commandUpdate, { args: ['rollback', { by: 'ana', reason: { a: 1 } } as never] })).rejects.toThrow(WorkflowUpdateFailedError);
    await expect(h.executeUpdate(commandUpdate, { args: ['explode' as never, { by: 'ana' }] })).rejects.toThrow(WorkflowUpdateFailedError);
    const s = await until(h, (x) => x.timeline.filter((t) => t.event.endsWith(' ignored')).length >= 5);
    expect(s.timeline.filter((t) => t.event.endsWith(' ignored')).map((t) => `${t.event}: ${t.detail}`)).toEqual([
      'rollback ignored: bad payload: reason must be a string',
      'rollback ignored: bad payload: by must be a string',
      'pause ignored: bad payload: the payload must be an object like {"by": "ana"}',
      'rollback ignored: bad payload: reason is longer than 500 characters',
      'rollback ignored: bad payload: unknown field in the payload (allowed: by, reason, via, stage, signed)',
    ]);
    await signal(h, 'rollback', { by: 'ana', reason: 'a real one' });
  });
  expect(result.status).toBe('rolled_back');
  expect(JSON.stringify(status)).not.toContain('[object Object]');
  expect(status.timeline.filter((t) => t.event === 'rollback requested').map((t) => t.detail)).toEqual(['a real one']);
});

describe('the deployer lifecycle', () => {
  test('prepare before any traffic moves, then promote and retire at success', async () => {
    const { result, calls, status } = await run({}, seedPlan(), async (h) => {
      await until(h, awaiting('full rollout 100 %'));
      await signal(h, 'approve', { by: 'ana' });
    });
    expect(result.status).toBe('succeeded');
    expect(calls.lifecycle).toEqual(['prepare v1.2.3', 'promote v1.2.3', 'retire']);
    const events = status.timeline.map((t) => t.event);
    expect(events.indexOf('prepared')).toBeLessThan(events.indexOf('shifted'));
    expect(events.indexOf('promoted')).toBeGreaterThan(events.lastIndexOf('shifted'));
  });

  test('a rollback reverts in one call per region and releases the canary', async () => {
    const { result, calls } = await run({ breachAt: ['canary 25 %'] }, seedPlan({ regions: ['us-east-1', 'eu-west-1'] }));
    expect(result.status).toBe('rolled_back');
    expect(calls.regional.filter((r) => r.endsWith(':0')).sort()).toEqual(['eu-west-1:0', 'us-east-1:0']);
    expect(calls.lifecycle.sort()).toEqual(['prepare v1.2.3@eu-west-1', 'prepare v1.2.3@us-east-1', 'retire@eu-west-1', 'retire@us-east-1']);
  });

  test('a version that never becomes ready fails the release before any traffic moves', async () => {
    const { result, calls, status } = await run({ notReady: 'ImagePullBackOff: image shop/checkout:v1.2.3 not found' }, seedPlan());
    expect(result.status).toBe('rolled_back');
    expect(result.reason).toContain('never became ready: ImagePullBackOff');
    // the only traffic call is the undo's revert to 0 %: nothing was ever shifted
    expect(calls.traffic).toEqual([0]);
    expect(status.timeline.some((t) => t.event === 'shifted')).toBe(false);
  });
});
