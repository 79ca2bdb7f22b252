// Every activity proxy of the release workflow, in one place, each with the retry and timeout its kind of
// work needs. Only types cross: the activities themselves live in activities/.
import * as wf from '@temporalio/workflow';
import type { ReleaseActivities } from '../../contract/activities';
import type { Dependency } from '../../contract/plan';
import { STEP_HEARTBEAT_TIMEOUT_MS, stepActivityTimeoutMs } from '../../contract/steps';

export const FAST = { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' } as const;

/**
 * Deployer calls, the judge and the incident heartbeat while they run (activities/heartbeating.ts): a worker that dies in one is
 * noticed after this, and the call (idempotent) is retried on another, not after its whole timeout.
 * Only activity options: recorded histories replay unchanged.
 */
export const DEPLOY_HEARTBEAT_TIMEOUT_MS = 20_000;
const beating = { heartbeatTimeout: DEPLOY_HEARTBEAT_TIMEOUT_MS };

/** Changes to the world: retried a while, they are idempotent (absolute states). A shift gets 6 min (a deploy command may run 5). */
export const world = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '60s', retry: { ...FAST, maximumAttempts: 10 } });
/**
 * Undo must get through, but one step that keeps failing must not hold back the steps after it: about
 * half a minute of retries, then the failure is recorded and the rollback goes on (rollback.ts).
 */
export const undoActs = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '60s', retry: { ...FAST, maximumAttempts: 10 } });
/** The undo's deployer calls (restore the split, revert, retire), heartbeating. */
export const undoDeploy = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '60s', ...beating, retry: { ...FAST, maximumAttempts: 10 } });
/** The shift: a deploy command may run 5 min; heartbeating, so a dead worker's shift is retried in seconds. */
export const shifting = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '6m', ...beating, retry: { ...FAST, maximumAttempts: 10 } });
const stepActs = wf.proxyActivities<ReleaseActivities>({
  startToCloseTimeout: '11m',
  heartbeatTimeout: STEP_HEARTBEAT_TIMEOUT_MS,
  retry: { ...FAST, maximumAttempts: 3 },
});

/**
 * Runs a dependency step (a migration, a warm-up) or its undo. Its activity gets a timeout above the
 * step's own (args.timeout_seconds) and a heartbeat: a long migration is never timed out and started a
 * second time while the first run goes on, and a dead worker's step is noticed in seconds.
 */
export function runStep(summary: string, service: string, version: string, step: Pick<Dependency, 'name' | 'kind' | 'args'>, attempts = 3): Promise<string> {
  return stepActs.runStep.executeWithOptions(
    { summary, startToCloseTimeout: stepActivityTimeoutMs(step), heartbeatTimeout: STEP_HEARTBEAT_TIMEOUT_MS, retry: { ...FAST, maximumAttempts: attempts } },
    [service, version, step],
  );
}
/**
 * Preparing and promoting wait until a version reports ready: a rollout's progress deadline (Kubernetes'
 * default is 10 min), not a minute — a 60 s timeout would retry a healthy rolling update and then fail it.
 */
export const preparing = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '15m', ...beating, retry: { ...FAST, maximumAttempts: 3 } });
/** Gates and post checks run a command or ask a system: up to 10 minutes, few retries. */
export const checks = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '10m', retry: { ...FAST, maximumAttempts: 3 } });
/** The judge and the incident (they heartbeat too: a dead worker's judge is asked again in seconds). */
export const judging = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '60s', ...beating, retry: { ...FAST, maximumAttempts: 5 } });
/**
 * A notice must never stall or fail a release: bounded retries, short timeouts. The activity retries
 * each notifier itself and reports failures instead of throwing.
 */
export const notices = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '30s', retry: { ...FAST, maximumAttempts: 2 } });
