// Every activity proxy of the release workflow, in one place, each with the retry and timeout its kind of
// work needs. Only types cross: the activities themselves live in activities/.
import * as wf from '@temporalio/workflow';
import type { ReleaseActivities } from '../../contract/activities';

export const FAST = { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' } as const;

/** Changes to the world: retried a while, they are idempotent (absolute states). */
export const world = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '60s', retry: { ...FAST, maximumAttempts: 10 } });
/** Undo must get through: retried until it does. */
export const undoActs = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '60s', retry: { ...FAST } });
/** Gates and post checks run a command or ask a system: up to 10 minutes, few retries. */
export const checks = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '10m', retry: { ...FAST, maximumAttempts: 3 } });
export const judging = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '60s', retry: { ...FAST, maximumAttempts: 5 } });
/**
 * A notice must never stall or fail a release: bounded retries, short timeouts. The activity retries
 * each notifier itself and reports failures instead of throwing.
 */
export const notices = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '30s', retry: { ...FAST, maximumAttempts: 2 } });
