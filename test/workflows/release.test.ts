// The release workflow on the time-skipping test server: the seed's plan (5 % for 15 min → 25 % for
// 30 min → 100 % with team approval) and every way a release can end.
import { WorkflowFailedError } from '@temporalio/client';
import { stubActivities } from '../support/stub-activities';
import { withWorker, eventually, advanceUntil } from '../support/release-harness';
import { useReleaseBed } from '../support/release-bed';
import { resolveFlagRamp } from '../../config/resolve';
import { Releases, AlreadyReleasingError } from '../../client/releases';
import { statusQuery } from '../../contract/messages';

const bed = useReleaseBed();
const { seedPlan, run, signal, update } = bed;

const approveWhenAsked =
  (stage: string, by = 'ana') =>
  async (h: any) => {
    await advanceUntil(
      bed.env(),
      () => h.query(statusQuery),
      (s: any) => s.phase === 'awaiting_approval' && s.timeline.some((t: any) => t.event === 'awaiting approval' && t.detail === stage),
    );
    await signal(h, 'approve', { by });
  };

test('the seed plan completes: 5 % → 25 % → approval → 100 % (45 min of windows under time skipping)', async () => {
  const t0 = Date.now();
  const { result, status, calls } = await run({}, seedPlan(), approveWhenAsked('full rollout 100 %'));
  const wall = Date.now() - t0;
  expect(result.status).toBe('succeeded');
  expect(result.trafficPercent).toBe(100);
  expect(calls.traffic).toEqual([5, 25, 100]);
  expect(calls.judged).toEqual(['canary 5 %', 'canary 25 %']);
  expect(status.approvals).toEqual([expect.objectContaining({ by: 'ana', stage: 'full rollout 100 %' })]);
  expect(calls.notices.map((n) => n.kind)).toEqual(expect.arrayContaining(['started', 'awaiting_approval', 'succeeded']));
  // a notifier's ref comes back on the next notice, so Slack can update one message in place
  expect(calls.notices.filter((n) => n.ref === 'console-msg-1').length).toBeGreaterThan(0);
  // Wall time is printed, not asserted (timing belongs in bench/); see bench/history for the figures.
  console.log(`seed plan: 45 min of windows in ${wall} ms wall`);
});

test.each(['canary 5 %', 'canary 25 %'])('a breach during %s rolls back to 0 %%, notifies and opens an incident', async (stage) => {
  const { result, calls } = await run({ breachAt: [stage] }, seedPlan());
  expect(result.status).toBe('rolled_back');
  expect(result.trafficPercent).toBe(0);
  expect(calls.traffic.at(-1)).toBe(0);
  expect(calls.traffic).not.toContain(100);
  expect(calls.notices.map((n) => n.kind)).toContain('rolled_back');
  expect(calls.incidents).toHaveLength(1);
  expect(calls.incidents[0]).toContain(stage);
  expect(result.reason).toContain('error rate 8 %');
});

test('a FAIL verdict at the end of a window rolls back', async () => {
  const { result, calls } = await run({ verdicts: { 'canary 25 %': ['FAIL'] } }, seedPlan());
  expect(result.status).toBe('rolled_back');
  expect(calls.traffic).toEqual([5, 25, 0]);
});

test('a manual rollback mid-stage restores the previous version at once', async () => {
  const { result, status, calls } = await run({}, seedPlan(), async (h) => {
    await advanceUntil(
      bed.env(),
      () => h.query(statusQuery),
      (s: any) => s.stage === 'canary 25 %' && s.windowEndsAt !== null,
    );
    await signal(h, 'rollback', { by: 'ana', reason: 'customers complain' });
  });
  expect(result.status).toBe('rolled_back');
  expect(result.reason).toContain('customers complain');
  expect(calls.traffic).toEqual([5, 25, 0]);
  expect(status.timeline.map((t: any) => t.event)).toContain('rollback requested');
});

test('approval rejected: nothing goes to 100 %, the canary is undone', async () => {
  const { result, calls } = await run({}, seedPlan(), async (h) => {
    await advanceUntil(
      bed.env(),
      () => h.query(statusQuery),
      (s: any) => s.phase === 'awaiting_approval',
    );
    await signal(h, 'reject', { by: 'U024BE7LH', reason: 'not today' });
  });
  expect(result.status).toBe('rejected');
  expect(calls.traffic).toEqual([5, 25, 0]);
});

test('approval timed out after approval_timeout_minutes: undone', async () => {
  const { result, calls } = await run({}, seedPlan());
  expect(result.status).toBe('rolled_back');
  expect(result.reason).toMatch(/no approval for full rollout 100 % within 60 min/);
  expect(calls.traffic).toEqual([5, 25, 0]);
});

test("a non-approver's approval is ignored and recorded; an approver's counts", async () => {
  const { result, status } = await run({}, seedPlan(), async (h) => {
    await advanceUntil(
      bed.env(),
      () => h.query(statusQuery),
      (s: any) => s.phase === 'awaiting_approval',
    );
    await signal(h, 'approve', { by: 'mallory' });
    const s = await eventually(
      () => h.query(statusQuery),
      (s: any) => s.timeline.some((t: any) => t.event === 'approve ignored'),
    );
    expect(s.phase).toBe('awaiting_approval');
    await signal(h, 'approve', { by: 'ana' });
  });
  expect(result.status).toBe('succeeded');
  const ignored = status.timeline.find((t: any) => t.event === 'approve ignored');
  expect(ignored).toMatchObject({ by: 'mallory', detail: 'mallory is not an approver of checkout' });
});

test('approval required before anything changes (release_management.approval_required)', async () => {
  const { result, calls } = await run({}, seedPlan({ approvalRequired: true, stages: seedPlan().plan.stages.slice(0, 1) }), approveWhenAsked('release'));
  expect(result.status).toBe('succeeded');
  expect(calls.traffic).toEqual([5]);
});

test('a second release of a running service is refused, naming what runs', async () => {
  const { acts } = stubActivities({});
  await withWorker(bed.env(), acts, async (taskQueue) => {
    const releases = new Releases(bed.env().client, bed.cfg(), taskQueue);
    const first = await releases.start(seedPlan());
    await eventually(
      () => releases.status('checkout'),
      // the stage is named before its shift lands: wait for the traffic too, or the refusal may show 0 %
      (s) => s.stage === 'canary 5 %' && s.trafficPercent === 5,
    );
    const err = await releases.start(seedPlan({}, 'v1.2.4')).catch((e) => e);
    expect(err).toBeInstanceOf(AlreadyReleasingError);
    expect(err.message).toMatch(/^checkout v1\.2\.3 is already releasing \(canary 5 %, 5 % traffic\), started by ana (just now|\d+ min ago)/);
    await bed.signal(bed.env().client.workflow.getHandle(first.workflowId), 'rollback', { by: 'ana' });
    expect((await bed.env().client.workflow.getHandle(first.workflowId).result()).status).toBe('rolled_back');
  });
});

test('cancelling the workflow runs the compensations', async () => {
  const { result, calls } = await run({}, seedPlan(), async (h) => {
    await advanceUntil(
      bed.env(),
      () => h.query(statusQuery),
      (s: any) => s.stage === 'canary 25 %',
    );
    await h.cancel();
  });
  expect(result).toBeInstanceOf(WorkflowFailedError);
  expect(calls.traffic).toEqual([5, 25, 0]);
});

test('INCONCLUSIVE extends the window once, then pauses until a person resumes; all_previous_checks_pass then holds canary 25 % until a hand promote', async () => {
  const { result, calls, status } = await run({ verdicts: { 'canary 5 %': ['INCONCLUSIVE', 'INCONCLUSIVE'] } }, seedPlan(), async (h) => {
    const paused = await advanceUntil(
      bed.env(),
      () => h.query(statusQuery),
      (s: any) => s.phase === 'paused',
    );
    expect(paused.pauseReason).toMatch(/^inconclusive: judge says INCONCLUSIVE/);
    await signal(h, 'resume', { by: 'ana' });
    // canary 25 % has all_previous_checks_pass: a resume after INCONCLUSIVE is no pass
    const held = await advanceUntil(
      bed.env(),
      () => h.query(statusQuery),
      (s: any) => s.timeline.some((t: any) => t.event === 'held'),
    );
    expect(held).toMatchObject({ phase: 'paused', paused: true, stage: 'canary 5 %', trafficPercent: 5 });
    expect(held.pauseReason).toBe('canary 25 % needs every earlier stage to have passed its judge: canary 5 % was resumed by hand after INCONCLUSIVE');
    expect(held.stageResults).toEqual([{ stage: 'canary 5 %', outcome: 'resumed', verdict: 'INCONCLUSIVE' }]);
    await expect(update(h, 'resume', { by: 'ana' })).resolves.toMatchObject({
      accepted: false,
      message: expect.stringMatching(/^held: .*promote to go on anyway/),
    });
    await expect(update(h, 'promote', { by: 'ana', reason: 'metrics pipeline lag, checked by hand' })).resolves.toMatchObject({
      accepted: true,
    });
    await approveWhenAsked('full rollout 100 %')(h);
  });
  expect(result.status).toBe('succeeded');
  expect(calls.judged).toEqual(['canary 5 %', 'canary 5 %', 'canary 25 %']);
  const events = status.timeline.map((t: any) => `${t.event}${t.by ? ` by ${t.by}` : ''}`);
  expect(events).toEqual(
    expect.arrayContaining(['window extended', 'resumed by ana', 'held', 'resume ignored by ana', 'promoted by hand by ana', 'stage passed']),
  );
  // the timeline says how each stage ended: canary 5 % did not pass, canary 25 % did
  expect(status.timeline.filter((t: any) => t.event.startsWith('stage ')).map((t: any) => `${t.event}: ${t.detail}`)).toEqual([
    'stage done: canary 5 %: resumed by hand',
    'stage passed: canary 25 %',
    'stage done: full rollout 100 %: not watched',
  ]);
  // the held stage started only after the promote
  const at = (e: string) => status.timeline.findIndex((t: any) => t.event === e);
  expect(at('promoted by hand')).toBeLessThan(status.timeline.findIndex((t: any) => t.event === 'shifted' && t.detail === 'canary 25 %: 25 %'));
});

test('max_deployment_duration_minutes is enforced: past it the release is undone', async () => {
  const { result, calls } = await run({}, seedPlan({ maxDurationMs: 20 * 60_000 }));
  expect(result.status).toBe('rolled_back');
  expect(result.reason).toMatch(/max_deployment_duration_minutes \(20 min\)/);
  expect(calls.traffic).toEqual([5, 25, 0]);
});

test('a failing gate stops the release before any change', async () => {
  const { result, calls } = await run({ gateFails: ['rollback plan'] }, seedPlan());
  expect(result.status).toBe('failed');
  expect(result.reason).toContain('gate rollback plan failed');
  expect(calls.traffic).toEqual([]);
});

test('a notifier that is down is recorded, not fatal', async () => {
  const { result, status } = await run({ failNotifier: 'console' }, seedPlan({ stages: seedPlan().plan.stages.slice(0, 2) }));
  expect(result.status).toBe('succeeded');
  expect(status.timeline.some((t: any) => t.event === 'notice to console failed')).toBe(true);
});

test('dependencies run first and their undo runs on rollback, in reverse', async () => {
  const plan = seedPlan({
    dependencies: [
      { name: 'db migration', kind: 'noop', undo: { kind: 'noop' } },
      { name: 'cache warm-up', kind: 'noop' },
    ],
  });
  const { result, calls } = await run({ breachAt: ['canary 5 %'] }, plan);
  expect(result.status).toBe('rolled_back');
  expect(calls.steps).toEqual(['db migration', 'cache warm-up', 'undo db migration']);
  expect(calls.traffic).toEqual([5, 0]);
});

test('the dark_mode flag ramp: 10 % → 50 % → approval → 100 %, and a breach restores the prior flag exactly', async () => {
  const ramp = bed.trust(resolveFlagRamp(bed.cfg(), { flag: 'dark_mode', requestedBy: 'ana', source: 'cli' }));
  const ok = await run({}, ramp, approveWhenAsked('dark_mode 100 %'));
  expect(ok.result.status).toBe('succeeded');
  expect(ok.calls.flags).toEqual([10, 50, 100]);
  const prior = { flag: 'dark_mode', exists: true, enabled: true, rolloutPercent: 3, snapshot: { strategies: ['x'] } };
  const bad = await run({ breachAt: ['dark_mode 50 %'], flag: prior }, ramp);
  expect(bad.result.status).toBe('rolled_back');
  expect(bad.calls.flags).toEqual([10, 50, 'restored']);
  expect(bad.status.trafficPercent).toBe(3);
});

test('a flag ramp judged by variant watches users with the flag on against those with it off', async () => {
  const byVariant = bed.trust(
    resolveFlagRamp(
      { ...bed.cfg(), feature_flag: { ...bed.cfg().feature_flag!, watch: 'variants' } },
      { flag: 'dark_mode', requestedBy: 'ana', source: 'cli' },
    ),
  );
  const ok = await run({}, byVariant, approveWhenAsked('dark_mode 100 %'));
  expect(ok.result.status).toBe('succeeded');
  expect(new Set(ok.calls.watched)).toEqual(new Set(['flag:dark_mode=on vs flag:dark_mode=off']));
  // by default: the serving version's own metrics, with nothing to compare against
  const plain = await run(
    {},
    bed.trust(resolveFlagRamp(bed.cfg(), { flag: 'dark_mode', requestedBy: 'ana', source: 'cli' })),
    approveWhenAsked('dark_mode 100 %'),
  );
  expect(new Set(plain.calls.watched)).toEqual(new Set(['v1.2.2 vs null']));
});

test('metrics that cannot be read at the end of a window are INCONCLUSIVE (extend, then pause), never a rollback', async () => {
  const { status, calls } = await run({ judgeFails: ['canary 5 %'] }, seedPlan(), async (h) => {
    const s = await advanceUntil(
      bed.env(),
      () => h.query(statusQuery),
      (s: any) => s.phase === 'paused',
    );
    expect(s.lastVerdict).toMatchObject({ verdict: 'INCONCLUSIVE', explanation: expect.stringContaining('metrics unavailable: CloudWatch answered 503') });
    await signal(h, 'rollback', { by: 'ana', reason: 'metrics are down; try tomorrow' });
  });
  expect(calls.judged).toEqual(['canary 5 %', 'canary 5 %']);
  expect(calls.traffic).toEqual([5, 0]);
  expect(status.timeline.map((t: any) => t.event)).toEqual(expect.arrayContaining(['window extended', 'rollback requested']));
});
