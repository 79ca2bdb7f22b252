// Representative releases, run on the time-skipping test server with stub activities, whose histories
// the replay test keeps. Each scenario checks its own outcome, so a recorded file is what its name says.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { stubActivities, type StubScript } from '../support/stub-activities';
import { withWorker, repoConfig, advanceUntil, eventually } from '../support/release-harness';
import { resolveRelease, resolveFlagRamp } from '../../config/resolve';
import { Releases } from '../../client/releases';
import { statusQuery, approveSignal, type ReleaseStatus } from '../../contract/messages';
import type { ReleaseInput } from '../../contract/plan';
import { testSigners } from '../support/test-signers';

export type History = temporal.api.history.v1.IHistory;

export interface Scenario {
  name: string;
  /** what the release should end as (the workflow's status, or 'cancelled' for an outside cancellation) */
  expect: ReleaseStatus['status'];
  script: StubScript;
  input: () => ReleaseInput;
  drive?: (env: TestWorkflowEnvironment, h: WorkflowHandle) => Promise<void>;
}

/** Commands are signed as the CLI and the Slack app sign them; the plans trust these keys. */
const signers = testSigners();
const trusting = (i: ReleaseInput): ReleaseInput => ({ request: i.request, plan: { ...i.plan, commandAuth: signers.auth } });
const seed = (): ReleaseInput => trusting(resolveRelease(repoConfig(), { service: 'checkout', version: 'v1.2.3', requestedBy: 'ana', source: 'cli' }));
const ramp = (): ReleaseInput => trusting(resolveFlagRamp(repoConfig(), { flag: 'dark_mode', requestedBy: 'ana', source: 'slack' }));

const status = (h: WorkflowHandle) => () => h.query(statusQuery);
const awaiting = (stage: string) => (s: ReleaseStatus) =>
  s.phase === 'awaiting_approval' && s.timeline.some((t) => t.event === 'awaiting approval' && t.detail === stage);

export const SCENARIOS: Scenario[] = [
  {
    // An unsigned signal is refused and a non-approver's ignored, both recorded; the approver answers through the update.
    name: 'success-through-approval',
    expect: 'succeeded',
    script: {},
    input: seed,
    drive: async (env, h) => {
      await advanceUntil(env, status(h), awaiting('full rollout 100 %'));
      await h.signal(approveSignal, { by: 'ana' }); // unsigned: a typed name, refused
      await signers.signal(env, h, 'approve', { by: 'mallory' });
      await eventually(status(h), (s) => s.timeline.some((t) => t.event === 'approve ignored') && s.timeline.some((t) => t.event === 'approve refused'));
      const r = await signers.update(env, h, 'approve', { by: 'ana' });
      if (!r.accepted) throw new Error(`approval refused: ${r.message}`);
    },
  },
  { name: 'guard-breach-rollback', expect: 'rolled_back', script: { breachAt: ['canary 25 %'] }, input: seed },
  { name: 'fail-verdict-rollback', expect: 'rolled_back', script: { verdicts: { 'canary 5 %': ['FAIL'] } }, input: seed },
  {
    name: 'manual-rollback-signal',
    expect: 'rolled_back',
    script: {},
    input: seed,
    drive: async (env, h) => {
      await advanceUntil(env, status(h), (s) => s.stage === 'canary 25 %' && s.windowEndsAt !== null);
      await signers.signal(env, h, 'rollback', { by: 'ana', reason: 'customers complain' });
    },
  },
  {
    name: 'approval-rejected',
    expect: 'rejected',
    script: {},
    input: seed,
    drive: async (env, h) => {
      await advanceUntil(env, status(h), awaiting('full rollout 100 %'));
      await signers.signal(env, h, 'reject', { by: 'U024BE7LH', reason: 'not today' }, { frontEnd: 'slack-app' });
    },
  },
  { name: 'approval-timeout', expect: 'rolled_back', script: {}, input: seed },
  {
    // canary 25 % has all_previous_checks_pass: after a resume from INCONCLUSIVE it holds until promoted
    name: 'inconclusive-resume-held-promote',
    expect: 'succeeded',
    script: { verdicts: { 'canary 5 %': ['INCONCLUSIVE', 'INCONCLUSIVE'] } },
    input: seed,
    drive: async (env, h) => {
      await advanceUntil(env, status(h), (s) => s.phase === 'paused');
      await signers.signal(env, h, 'resume', { by: 'ana' });
      await advanceUntil(env, status(h), (s) => s.timeline.some((t) => t.event === 'held'));
      await signers.signal(env, h, 'promote', { by: 'ana', reason: 'checked by hand' });
      await advanceUntil(env, status(h), awaiting('full rollout 100 %'));
      await signers.signal(env, h, 'approve', { by: 'ana' });
    },
  },
  {
    // the traffic restore keeps failing: the dependency's undo still runs, the release says act by hand
    name: 'rollback-failed',
    expect: 'rollback_failed',
    script: { breachAt: ['canary 5 %'], failUndo: ['traffic'] },
    input: () => {
      const i = seed();
      return { request: i.request, plan: { ...i.plan, dependencies: [{ name: 'db migration', kind: 'noop', undo: { kind: 'noop' } }] } };
    },
  },
  {
    name: 'cancellation',
    expect: 'cancelled',
    script: {},
    input: seed,
    drive: async (env, h) => {
      await advanceUntil(env, status(h), (s) => s.stage === 'canary 25 %');
      await h.cancel();
    },
  },
  {
    name: 'max-duration-exceeded',
    expect: 'rolled_back',
    script: {},
    input: () => {
      const i = seed();
      return { request: i.request, plan: { ...i.plan, maxDurationMs: 20 * 60_000 } };
    },
  },
  {
    name: 'flag-ramp-success',
    expect: 'succeeded',
    script: {},
    input: ramp,
    drive: async (env, h) => {
      await advanceUntil(env, status(h), awaiting('dark_mode 100 %'));
      await signers.signal(env, h, 'approve', { by: 'ana' });
    },
  },
];

/** Runs one scenario to its end on `env` and returns its history; throws if it ended otherwise than expected. */
export async function runScenario(env: TestWorkflowEnvironment, sc: Scenario): Promise<History> {
  const { acts } = stubActivities(sc.script);
  return withWorker(env, acts, async (taskQueue) => {
    const releases = new Releases(env.client, repoConfig(), taskQueue);
    const started = await releases.start(sc.input());
    const h = env.client.workflow.getHandle(started.workflowId, started.runId);
    if (sc.drive) await sc.drive(env, h);
    await h.result().catch(() => undefined);
    const end = await h.query(statusQuery);
    if (end.status !== sc.expect) throw new Error(`${sc.name}: ended ${end.status}, expected ${sc.expect}`);
    return h.fetchHistory();
  });
}
