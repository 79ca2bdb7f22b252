// The command rules and payload checks, without a server: who may do what to a running release, when.
import { decide, parseActor, isCommand, LIMITS, quorumMet, quorumMissing, type CommandView } from './commands';

const view = (over: Partial<CommandView> = {}): CommandView => ({
  service: 'checkout',
  approvers: ['ana', 'group:S0RELEASE'],
  status: 'running',
  phase: 'rolling_out',
  paused: false,
  awaitingApproval: null,
  watching: true,
  ...over,
});

describe('parseActor', () => {
  test.each([
    [null, 'the payload must be an object like {"by": "ana"}'],
    ['ana', 'the payload must be an object like {"by": "ana"}'],
    [['ana'], 'the payload must be an object like {"by": "ana"}'],
    [{}, 'by must be a string'],
    [{ by: '' }, 'by must not be empty'],
    [{ by: '   ' }, 'by must not be empty'],
    [{ by: 42 }, 'by must be a string'],
    [{ by: 'ana', reason: { a: 1 } }, 'reason must be a string'],
    [{ by: 'ana', reason: 'x'.repeat(LIMITS.reason + 1) }, `reason is longer than ${LIMITS.reason} characters`],
    [{ by: 'a'.repeat(LIMITS.by + 1) }, `by is longer than ${LIMITS.by} characters`],
    [{ by: 'ana\nsays hi' }, 'by contains control characters'],
    [{ by: 'ana', via: 'admins' }, 'via must name a group: approver entry'],
    [{ by: 'ana', admin: true }, 'unknown field in the payload (allowed: by, reason, via, stage, signed)'],
  ])('refuses %j: %s', (raw, why) => {
    expect(parseActor(raw)).toEqual({ refused: why });
  });

  test('accepts a well-formed actor and keeps only its fields', () => {
    expect(parseActor({ by: 'ana', reason: 'line one\nline two' })).toEqual({ actor: { by: 'ana', reason: 'line one\nline two' } });
    expect(parseActor({ by: 'U024BE7LH', via: 'group:S0RELEASE' })).toEqual({ actor: { by: 'U024BE7LH', via: 'group:S0RELEASE' } });
  });

  test('knows its commands, and nothing from the prototype', () => {
    expect(['approve', 'reject', 'rollback', 'pause', 'resume', 'promote'].every(isCommand)).toBe(true);
    expect(['constructor', '__proto__', 'toString', '', 42, null].some(isCommand)).toBe(false);
  });
});

describe('decide', () => {
  test('nobody acts on a release that has ended or is rolling back', () => {
    for (const v of [view({ status: 'succeeded', phase: 'succeeded' }), view({ phase: 'rolling_back' })]) {
      const d = decide(v, 'rollback', { by: 'ana' });
      expect(d.result.accepted).toBe(false);
      expect(d.effect).toBeUndefined();
    }
  });

  test('only approvers act; a group member only through a group entry the plan names', () => {
    expect(decide(view(), 'rollback', { by: 'mallory' })).toMatchObject({
      result: { accepted: false, message: 'mallory is not an approver of checkout' },
      note: { event: 'rollback ignored', by: 'mallory' },
    });
    expect(decide(view(), 'rollback', { by: 'U9', via: 'group:S0OTHER' }).result.accepted).toBe(false);
    expect(decide(view(), 'rollback', { by: 'U9', via: 'group:S0RELEASE' }).result.accepted).toBe(true);
  });

  test('approve opens only the gate that waits, and says so in the audit trail', () => {
    expect(decide(view(), 'approve', { by: 'ana' }).result).toEqual({ accepted: false, message: 'nothing is awaiting approval' });
    const d = decide(view({ awaitingApproval: 'full rollout 100 %' }), 'approve', { by: 'U9', via: 'group:S0RELEASE', reason: 'go' });
    expect(d).toEqual({
      result: { accepted: true, message: 'approved full rollout 100 %' },
      note: { event: 'approved', by: 'U9', detail: 'full rollout 100 %: go (as a member of group:S0RELEASE)' },
      // the group it came through, so a quorum can count groups
      effect: { kind: 'approve', what: 'full rollout 100 %', via: 'group:S0RELEASE' },
    });
  });

  test('reject and rollback stop the release, with who and why', () => {
    expect(decide(view(), 'reject', { by: 'ana', reason: 'not today' }).effect).toEqual({ kind: 'reject', why: 'rejected by ana: not today' });
    expect(decide(view(), 'rollback', { by: 'ana' })).toMatchObject({
      effect: { kind: 'rollback', why: 'rollback requested by ana' },
      note: { event: 'rollback requested', by: 'ana' },
    });
  });

  test('pause and resume only change what they can', () => {
    expect(decide(view({ paused: true }), 'pause', { by: 'ana' }).result).toEqual({ accepted: false, message: 'already paused' });
    expect(decide(view(), 'resume', { by: 'ana' }).result).toEqual({ accepted: false, message: 'not paused' });
    expect(decide(view(), 'pause', { by: 'ana', reason: 'lunch' }).effect).toEqual({ kind: 'pause', text: 'paused by ana: lunch' });
    expect(decide(view({ paused: true }), 'resume', { by: 'ana' }).effect).toEqual({ kind: 'resume', text: 'resumed by ana' });
  });

  test('a stage held by all_previous_checks_pass is not resumed, only promoted by hand', () => {
    const held = view({ paused: true, watching: false, held: true });
    expect(decide(held, 'resume', { by: 'ana' }).result).toMatchObject({ accepted: false, message: expect.stringMatching(/^held: .*promote to go on anyway/) });
    expect(decide(held, 'promote', { by: 'ana' })).toMatchObject({
      result: { accepted: true },
      note: { event: 'promoted by hand', by: 'ana' },
      effect: { kind: 'promote' },
    });
  });

  test('promote needs a stage being watched or a pause', () => {
    expect(decide(view({ watching: false }), 'promote', { by: 'ana' }).result).toEqual({ accepted: false, message: 'no stage is being watched' });
    expect(decide(view({ watching: false, paused: true }), 'promote', { by: 'ana' }).result.accepted).toBe(true);
  });

  test('an empty approver list lets anyone act (the config default; the security issue changes it)', () => {
    expect(decide(view({ approvers: [] }), 'rollback', { by: 'anyone' }).result.accepted).toBe(true);
  });
});

describe('the strict rules (releases since patch signed-commands)', () => {
  const strict = (over: Partial<NonNullable<CommandView['strict']>> = {}) => ({ releaseManagers: ['rm'], approved: null, stopping: null, ...over });

  test('an empty approvers list lets nobody but the release managers act (before: anyone)', () => {
    expect(decide(view({ approvers: [] }), 'rollback', { by: 'mallory' }).result.accepted).toBe(true);
    const refused = decide(view({ approvers: [], strict: strict() }), 'rollback', { by: 'mallory' });
    expect(refused.result).toEqual({ accepted: false, message: 'checkout lists no approvers: only the release managers may act, and mallory is not one' });
    expect(decide(view({ approvers: [], strict: strict() }), 'rollback', { by: 'rm' }).result.accepted).toBe(true);
    expect(decide(view({ approvers: [], strict: strict({ releaseManagers: ['group:S0RM'] }) }), 'pause', { by: 'U1', via: 'group:S0RM' }).result.accepted).toBe(
      true,
    );
  });

  test('an approval opens only the gate it was shown for, and only once', () => {
    const waiting = view({ awaitingApproval: 'full rollout 100 %', phase: 'awaiting_approval', watching: false });
    expect(decide({ ...waiting, strict: strict() }, 'approve', { by: 'ana', stage: 'release' }).result).toEqual({
      accepted: false,
      message: 'this approval was for release; full rollout 100 % is awaiting approval now',
    });
    expect(decide({ ...waiting, strict: strict({ approved: 'full rollout 100 %' }) }, 'approve', { by: 'ana', stage: 'full rollout 100 %' }).result).toEqual({
      accepted: false,
      message: 'full rollout 100 % is already approved',
    });
    expect(decide({ ...waiting, strict: strict() }, 'approve', { by: 'ana', stage: 'full rollout 100 %' }).effect).toEqual({
      kind: 'approve',
      what: 'full rollout 100 %',
    });
  });

  test('too late says why: the release stopping, or ended', () => {
    expect(decide(view({ strict: strict({ stopping: 'no approval for release within 60 min' }) }), 'approve', { by: 'ana' }).result.message).toBe(
      'too late: the release is stopping (no approval for release within 60 min)',
    );
    expect(decide(view({ status: 'rolled_back', phase: 'rolled_back', strict: strict() }), 'approve', { by: 'ana' }).result.message).toBe(
      'too late: the release has ended (rolled_back)',
    );
  });
});

describe('quorum', () => {
  const policy = { required: 2, fromGroups: ['group:@backend-leads', 'group:@qa'] };
  const a = (by: string, via?: string, stage = 'full rollout 100 %') => ({ by, stage, ...(via ? { via } : {}) });
  test('met by two people through the two groups; not by one, nor by two of one group, nor by the other gate', () => {
    expect(quorumMet(policy, [a('ana', 'group:@backend-leads')], 'full rollout 100 %')).toBe(false);
    expect(quorumMet(policy, [a('ana', 'group:@backend-leads'), a('bob', 'group:@backend-leads')], 'full rollout 100 %')).toBe(false);
    expect(quorumMet(policy, [a('ana', 'group:@backend-leads'), a('cy', 'group:@qa', 'canary 25 %')], 'full rollout 100 %')).toBe(false);
    expect(quorumMet(policy, [a('ana', 'group:@backend-leads'), a('cy', 'group:@qa')], 'full rollout 100 %')).toBe(true);
    expect(quorumMet({ required: 2, fromGroups: [] }, [a('ana'), a('ana')], 'full rollout 100 %')).toBe(false);
    expect(quorumMissing(policy, [a('ana', 'group:@backend-leads')], 'full rollout 100 %')).toBe('1 more approval; none yet through group:@qa');
  });
  test('the same person twice is refused with why', () => {
    const d = decide(view({ awaitingApproval: 'full rollout 100 %', quorum: { required: 2, approvedBy: ['ana'] } }), 'approve', { by: 'ana' });
    expect(d.result).toEqual({ accepted: false, message: 'ana already approved full rollout 100 %; it needs 2 approvals by different people' });
  });
});
