// Approvals by quorum on the time-skipping test server: a gate that needs 2 approvals, one through each
// of two Slack groups (signed by the Slack app's front-end key, as the app signs them), a reminder in the
// thread after 15 min and an escalation after 30; the workflow itself counts people and groups.
import { advanceUntil } from '../support/release-harness';
import { useReleaseBed, type Handle } from '../support/release-bed';
import { statusQuery, type ReleaseStatus } from '../../contract/messages';

const bed = useReleaseBed();
const MIN = 60_000;
const GATE = 'full rollout 100 %';
const until = (h: Handle, ok: (s: ReleaseStatus) => boolean) => advanceUntil(bed.env(), () => h.query(statusQuery), ok, 60_000, 200);
const slack = { frontEnd: 'slack-app' };

const plan = () =>
  bed.seedPlan({
    approvers: ['group:@backend-leads', 'group:@qa'],
    approvalTimeoutMs: 60 * MIN,
    approvalPolicy: {
      required: 2,
      fromGroups: ['group:@backend-leads', 'group:@qa'],
      remindAfterMs: 15 * MIN,
      escalateAfterMs: 30 * MIN,
      escalateTo: 'group:@eng-managers',
    },
  });

test('one approval does not open the gate; the same person twice counts once; a reminder, an escalation; the second group opens it', async () => {
  const r = await bed.run({}, plan(), async (h) => {
    await until(h, (s) => s.awaitingApproval === GATE);
    expect(await bed.update(h, 'approve', { by: 'U024BE7LH', via: 'group:@backend-leads' }, slack)).toEqual({
      accepted: true,
      message: `approved ${GATE} (approval 1; 2 needed)`,
    });
    expect((await h.query(statusQuery)).awaitingApproval).toBe(GATE);
    expect(await bed.update(h, 'approve', { by: 'U024BE7LH', via: 'group:@backend-leads' }, slack)).toMatchObject({
      accepted: false,
      message: `U024BE7LH already approved ${GATE}; it needs 2 approvals by different people`,
    });
    // a second person of the same group is a second approval, but the quorum also wants someone through @qa
    expect(await bed.update(h, 'approve', { by: 'UBACKEND2', via: 'group:@backend-leads' }, slack)).toMatchObject({ accepted: true });
    await until(h, (s) => s.timeline.some((e) => e.event === 'approval escalated'));
    expect(await bed.update(h, 'approve', { by: 'UQA000001', via: 'group:@qa' }, slack)).toEqual({
      accepted: true,
      message: `approved ${GATE} (approval 3; 2 needed)`,
    });
  });
  expect(r.result.status).toBe('succeeded');
  const said = r.status.timeline.filter((e) => e.event.startsWith('approval ')).map((e) => `${e.event}: ${e.detail}`);
  expect(said).toEqual([
    `approval reminder: reminder: ${GATE} still needs none yet through group:@qa`,
    `approval escalated: escalated to group:@eng-managers: ${GATE} has waited 30 min and still needs none yet through group:@qa`,
  ]);
  expect(r.status.approvals.map((a) => [a.by, a.via])).toEqual([
    ['U024BE7LH', 'group:@backend-leads'],
    ['UBACKEND2', 'group:@backend-leads'],
    ['UQA000001', 'group:@qa'],
  ]);
  // the reminder and the escalation reached the thread as notices
  expect(r.calls.notices.filter((n) => n.kind === 'awaiting_approval').map((n) => n.text)).toEqual(
    expect.arrayContaining([expect.stringContaining('reminder:'), expect.stringContaining('escalated to group:@eng-managers')]),
  );
});

test('no quorum within the timeout: the release stops, nothing beyond the canary', async () => {
  const r = await bed.run({}, plan(), async (h) => {
    await until(h, (s) => s.awaitingApproval === GATE);
    await bed.update(h, 'approve', { by: 'U024BE7LH', via: 'group:@backend-leads' }, slack);
  });
  expect(r.result.status).not.toBe('succeeded');
  expect(r.result.reason).toBe(`no approval for ${GATE} within 60 min`);
  expect(r.calls.traffic).not.toContain(100);
});
