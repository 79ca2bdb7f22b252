// Signed commands, decided by the workflow itself on the time-skipping test server: a correctly signed
// approval counts; unsigned, forged, misaimed, stale and future-dated ones are refused and recorded; an
// approval opens only the gate it was shown for, once; an empty approvers list lets nobody but the
// release managers act; and a plan that turns signing off takes commands as they come.
import { advanceUntil } from '../support/release-harness';
import { useReleaseBed, type Handle } from '../support/release-bed';
import { approveSignal, commandUpdate, rollbackSignal, statusQuery, type ReleaseStatus } from '../../contract/messages';

const bed = useReleaseBed();
const { env, seedPlan, run, signal, update, signers } = bed;

const until = (h: Handle, ok: (s: ReleaseStatus) => boolean) => advanceUntil(env(), () => h.query(statusQuery), ok);
const awaiting = (what: string) => (s: ReleaseStatus) => s.awaitingApproval === what;
const refusals = (s: ReleaseStatus) => s.timeline.filter((t) => t.event.endsWith(' refused'));

test('at each gate: only a correctly signed approval for that gate counts; every other one is refused with why, and recorded', async () => {
  const twoGates = seedPlan({ approvalRequired: true });
  const answers: Record<string, { accepted: boolean; message: string }> = {};
  const { result, status } = await run({}, twoGates, async (h) => {
    await until(h, awaiting('release'));
    const ana = { by: 'ana' };
    answers.unsigned = await h.executeUpdate(commandUpdate, { args: ['approve', { by: 'ana', stage: 'release' }] });
    answers.forged = await update(h, 'approve', ana, { keyOf: 'mallory' });
    answers.otherRelease = await update(h, 'approve', ana, { workflowId: 'release:orders' });
    answers.otherRun = await update(h, 'approve', ana, { runId: '4f1c3a2e-0000-4000-8000-000000000000' });
    answers.otherStage = await update(h, 'approve', ana, { stage: 'full rollout 100 %' });
    answers.stale = await update(h, 'approve', ana, { skewMs: -6 * 60_000 });
    answers.future = await update(h, 'approve', ana, { skewMs: 2 * 60_000 });
    answers.notApprover = await update(h, 'approve', { by: 'mallory' });
    expect((await h.query(statusQuery)).approvals).toEqual([]);

    // the click that counts, the same click again (a replay), and a second click 300 ms later
    const click = await signers.signed(env(), h, 'approve', ana);
    const doubleClick = await signers.signed(env(), h, 'approve', ana, { skewMs: 300 });
    await h.signal(approveSignal, click);
    await h.signal(approveSignal, click);
    await until(h, awaiting('full rollout 100 %'));
    await h.signal(approveSignal, doubleClick);
    await h.signal(approveSignal, click);
    const atSecondGate = await until(h, (s) => refusals(s).length >= 10);
    expect(atSecondGate.approvals.map((a) => a.stage)).toEqual(['release']);
    expect(atSecondGate.awaitingApproval).toBe('full rollout 100 %');

    answers.ok = await update(h, 'approve', ana);
  });
  expect(answers).toEqual({
    unsigned: { accepted: false, message: expect.stringMatching(/^unsigned: this release takes signed commands only/) },
    forged: { accepted: false, message: 'the signature does not verify with key "ana"' },
    otherRelease: { accepted: false, message: 'signed for another release ("release:orders")' },
    otherRun: { accepted: false, message: 'signed for another run of this release' },
    otherStage: { accepted: false, message: 'signed for "full rollout 100 %", but the release is at "release"' },
    stale: { accepted: false, message: expect.stringMatching(/^the signature is 36\d s old; at most 300 s$/) },
    future: { accepted: false, message: expect.stringMatching(/^the signature is dated 1[12]\d s in the future$/) },
    notApprover: { accepted: false, message: 'mallory is not an approver of checkout' },
    ok: { accepted: true, message: 'approved full rollout 100 %' },
  });
  expect(result.status).toBe('succeeded');
  expect(status.approvals.map((a) => [a.by, a.stage])).toEqual([
    ['ana', 'release'],
    ['ana', 'full rollout 100 %'],
  ]);
  // recorded, with the claimed name only in the detail: a refused command names nobody as having acted
  const refused = refusals(status);
  expect(refused.every((t) => t.by === undefined && t.detail!.startsWith('claimed by "ana"') && t.detail!.length < 400)).toBe(true);
  expect(refused.map((t) => t.detail!.replace(/^claimed by "ana": /, '').replace(/\d+ s/, 'N s'))).toEqual([
    expect.stringMatching(/^unsigned/),
    'the signature does not verify with key "ana"',
    'signed for another release ("release:orders")',
    'signed for another run of this release',
    'signed for "full rollout 100 %", but the release is at "release"',
    'the signature is N s old; at most 300 s',
    'the signature is dated N s in the future',
    // the same click again: caught as a replay, or, if the gate has already opened, as aimed at a passed gate
    expect.stringMatching(/^(this signed command was already received once \(a replay\)|signed for "release", but the release is at "canary 5 %")$/),
    'signed for "release", but the release is at "full rollout 100 %"',
    'signed for "release", but the release is at "full rollout 100 %"',
  ]);
  expect(status.timeline.filter((t) => t.event === 'approve ignored').map((t) => t.detail)).toEqual(['mallory is not an approver of checkout']);
});

test('a rollback sent as a bare signal with a typed name (temporal workflow signal … {"by":"ana"}) is refused; the signed one rolls back', async () => {
  const { result, status } = await run({}, seedPlan(), async (h) => {
    await until(h, (s) => s.stage === 'canary 5 %' && s.windowEndsAt !== null);
    await h.signal(rollbackSignal, { by: 'ana' });
    await until(h, (s) => refusals(s).length === 1);
    expect((await h.query(statusQuery)).status).toBe('running');
    await signal(h, 'rollback', { by: 'ana', reason: 'customers complain' });
  });
  expect(result.status).toBe('rolled_back');
  expect(result.reason).toBe('rollback requested by ana: customers complain');
  expect(refusals(status)).toEqual([expect.objectContaining({ event: 'rollback refused', detail: expect.stringContaining('claimed by "ana": unsigned') })]);
});

test('a service whose approvers list is empty: nobody acts but a release manager (fail closed)', async () => {
  const plan = seedPlan({ approvers: [], commandAuth: { ...signers.auth, releaseManagers: ['bob'] } });
  const answers: string[] = [];
  const { result } = await run({}, plan, async (h) => {
    await until(h, (s) => s.stage === 'canary 5 %' && s.windowEndsAt !== null);
    for (const by of ['ana', 'mallory', 'bob']) answers.push((await update(h, 'pause', { by })).message);
    answers.push((await update(h, 'rollback', { by: 'bob' })).message);
  });
  expect(answers).toEqual([
    'checkout lists no approvers: only the release managers may act, and ana is not one',
    'checkout lists no approvers: only the release managers may act, and mallory is not one',
    'paused: the current stage keeps being watched and will not promote',
    'rolling back',
  ]);
  expect(result.status).toBe('rolled_back');
});

test('a front end signs for the person it verified; a person key cannot sign for another', async () => {
  const answers: string[] = [];
  const { result } = await run({}, seedPlan(), async (h) => {
    await until(h, (s) => s.stage === 'canary 5 %' && s.windowEndsAt !== null);
    answers.push((await update(h, 'pause', { by: 'U024BE7LH' }, { as: 'ana', keyOf: 'ana' })).message);
    answers.push((await update(h, 'pause', { by: 'U024BE7LH' }, { frontEnd: 'slack-app' })).message);
    answers.push((await update(h, 'rollback', { by: 'mallory' }, { frontEnd: 'slack-app' })).message);
    const resume = await signers.signed(env(), h, 'resume', { by: 'U024BE7LH' }, { frontEnd: 'slack-app' });
    answers.push((await h.executeUpdate(commandUpdate, { args: ['resume', resume] })).message);
    await update(h, 'pause', { by: 'ana' });
    // the same signed resume again, still within its five minutes: one signature, one command
    answers.push((await h.executeUpdate(commandUpdate, { args: ['resume', resume] })).message);
    answers.push((await update(h, 'rollback', { by: 'U024BE7LH' }, { frontEnd: 'slack-app' })).message);
  });
  expect(answers).toEqual([
    'key "ana" signs for "ana" only, not for "U024BE7LH"',
    'paused: the current stage keeps being watched and will not promote',
    // the front end vouches for who clicked, not for what they may do
    'mallory is not an approver of checkout',
    'resumed',
    'this signed command was already received once (a replay)',
    'rolling back',
  ]);
  expect(result.status).toBe('rolled_back');
});

test('security.require_signed_commands: false takes commands as they come (the old behaviour)', async () => {
  const plan = seedPlan({ commandAuth: { ...signers.auth, requireSigned: false } });
  const { result, status } = await run({}, plan, async (h) => {
    await until(h, (s) => s.stage === 'canary 5 %' && s.windowEndsAt !== null);
    await h.signal(rollbackSignal, { by: 'ana' });
  });
  expect(result.status).toBe('rolled_back');
  expect(refusals(status)).toEqual([]);
});

test('an approval after its gate timed out is refused, saying so; after the release ended there is nothing to command', async () => {
  let late: unknown;
  const { result, status, handle } = await run({}, seedPlan({ approvalRequired: true, approvalTimeoutMs: 10 * 60_000 }), async (h) => {
    await until(h, awaiting('release'));
    const signedInTime = await signers.signed(env(), h, 'approve', { by: 'ana' });
    await until(h, (s) => s.status !== 'running' || s.phase === 'rolling_back');
    late = await h.executeUpdate(commandUpdate, { args: ['approve', signedInTime] }).catch((e: Error) => e);
  });
  // nothing had changed yet, so there was nothing to undo
  expect(result).toMatchObject({ status: 'failed', reason: 'no approval for release within 10 min' });
  expect(status.approvals).toEqual([]);
  // refused by the workflow (recorded) while it undoes, or by the server once the run has closed
  if (late instanceof Error) expect(late.message).toMatch(/completed|not found/i);
  else expect(late).toMatchObject({ accepted: false, message: expect.stringMatching(/too late|rolling_back|signed for/) });
  await expect(handle.executeUpdate(commandUpdate, { args: ['approve', { by: 'ana' }] })).rejects.toThrow(/completed|not found/i);
});
