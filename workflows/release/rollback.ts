// The way out when a release stops before success: undo what was done, in reverse and inside a
// non-cancellable scope, then tell people and open an incident for a breach or a FAIL.
import * as wf from '@temporalio/workflow';
import type { ReleaseResult, Status } from '../../contract/messages';
import { judging } from './activities';
import { describeVerdict, rootCauseHint } from './explain';
import type { ReleaseState } from './state';
import { Stop } from './stop';

/** Why the rollout ended, if it did not succeed: a Stop, a cancellation from outside, or a step failure. */
export function stopOf(release: ReleaseState, err: unknown): { failure: Stop; cancelledFromOutside: boolean } {
  if (err instanceof Stop) return { failure: err, cancelledFromOutside: false };
  if (wf.isCancellation(err)) {
    if (release.stop) return { failure: release.stop, cancelledFromOutside: false };
    return { failure: new Stop('rollback', 'the workflow was cancelled'), cancelledFromOutside: true };
  }
  return { failure: new Stop('fail', `step failed: ${(err as Error).message}`), cancelledFromOutside: false };
}

export function succeed(release: ReleaseState): void {
  const { plan, status } = release;
  release.setPhase('succeeded', 'succeeded');
  release.note('succeeded');
  if (plan.notifyOnComplete) release.notify('succeeded', `${plan.service} ${plan.version} is live at ${status.trafficPercent} %`);
}

/** Undo first (users first), then tell people; returns the incident's id when one was opened. */
export async function rollBack(release: ReleaseState, f: Stop, cancelledFromOutside: boolean): Promise<string | undefined> {
  const { plan, status, info } = release;
  release.setPhase('rolling_back');
  release.note('rolling back', f.by, f.why);
  await wf.CancellationScope.nonCancellable(async () => {
    for (const step of [...release.undo].reverse()) {
      await step.run();
      release.note('undone', undefined, step.name);
    }
  });
  const changed = release.undo.length > 0;
  const end: Status = cancelledFromOutside ? 'cancelled' : f.kind === 'reject' ? 'rejected' : changed ? 'rolled_back' : 'failed';
  release.setPhase(end, end);
  release.note(end, f.by, f.why);
  let incident: string | undefined;
  await wf.CancellationScope.nonCancellable(async () => {
    release.notify(changed ? 'rolled_back' : 'failed', `${plan.service} ${plan.version} ${end.replace('_', ' ')}: ${f.why}`, status.lastVerdict ? describeVerdict(status.lastVerdict) : undefined);
    if (f.kind === 'breach' || f.kind === 'fail') {
      incident = await judging.openIncident
        .executeWithOptions({ summary: 'open incident' }, [
          {
            releaseId: info.workflowId, service: plan.service, version: plan.version,
            title: `${plan.service} ${plan.version} rolled back: ${status.stage ?? 'before rollout'}`,
            evidence: status.lastVerdict ? describeVerdict(status.lastVerdict) : f.why,
            rootCauseHint: rootCauseHint(plan, status, f.why),
            at: Date.now(),
          },
        ])
        .catch((err) => {
          release.note('incident failed', undefined, (err as Error).message);
          return undefined;
        });
      if (incident) release.note('incident opened', undefined, incident);
    }
  });
  return incident;
}

export function resultOf(release: ReleaseState, failure: Stop | null, incident?: string): ReleaseResult {
  const { status, plan } = release;
  return {
    status: status.status,
    version: plan.version,
    trafficPercent: status.trafficPercent,
    reason: failure ? failure.why : 'released',
    lastVerdict: status.lastVerdict,
    ...(incident ? { incident } : {}),
  };
}
