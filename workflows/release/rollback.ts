// The way out when a release stops before success: undo what was done, in reverse and inside a
// non-cancellable scope, then tell people and open an incident for a breach or a FAIL.
import * as wf from '@temporalio/workflow';
import type { ReleaseResult, Status } from '../../contract/messages';
import { judging } from './activities';
import { changesLine, describeSuccess, describeVerdict, rootCauseHint, successFigures } from './explain';
import type { ReleaseState } from './state';
import { Stop, causeOf } from './stop';

/** Why the rollout ended, if it did not succeed: a Stop, a cancellation from outside, or a step failure. */
export function stopOf(release: ReleaseState, err: unknown): { failure: Stop; cancelledFromOutside: boolean } {
  if (err instanceof Stop) return { failure: err, cancelledFromOutside: false };
  if (wf.isCancellation(err)) {
    if (release.stop) return { failure: release.stop, cancelledFromOutside: false };
    return { failure: new Stop('rollback', 'the workflow was cancelled'), cancelledFromOutside: true };
  }
  return { failure: new Stop('fail', `step failed: ${causeOf(err)}`), cancelledFromOutside: false };
}

export function succeed(release: ReleaseState): void {
  const { plan, status } = release;
  // the figures a team reads in the seed's notice: the last watched window against the SLA and the previous version
  release.figures = successFigures(plan, status, Date.now());
  const figures = describeSuccess(plan, release.figures);
  const where = status.regions
    ? Object.entries(status.regions)
        .map(([r, p]) => `${r} ${p.trafficPercent} %`)
        .join(', ')
    : null;
  release.setPhase('succeeded', 'succeeded');
  release.note('succeeded', undefined, figures);
  if (plan.notifyOnComplete)
    release.notify('succeeded', `${plan.service} ${plan.version} is live ${where ? `in ${where}` : `at ${status.trafficPercent} %`}`, figures);
}

/**
 * Runs every undo step in reverse, each on its own: one that still fails after its retries is recorded
 * and the rest go on. Returns the steps that failed, with why.
 */
async function undoAll(release: ReleaseState): Promise<string[]> {
  const failed: string[] = [];
  await wf.CancellationScope.nonCancellable(async () => {
    for (const step of [...release.undo].reverse()) {
      try {
        await step.run();
        release.note('undone', undefined, step.name);
      } catch (err) {
        failed.push(`${step.name}: ${causeOf(err)}`);
        release.note('undo failed', undefined, `${step.name}: ${causeOf(err)}`);
      }
    }
  });
  return failed;
}

function endOf(f: Stop, cancelledFromOutside: boolean, changed: boolean, undoFailed: boolean): Exclude<Status, 'running'> {
  if (undoFailed) return 'rollback_failed';
  if (cancelledFromOutside) return 'cancelled';
  if (f.kind === 'reject') return 'rejected';
  return changed ? 'rolled_back' : 'failed';
}

/** How long the rollback's notice waits for the incident, so people read its log findings in it. */
const INCIDENT_WAIT_MS = 15_000;

/** `p`'s value if it settles within `ms`, else undefined (its timer cancelled once p wins). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  const scope = new wf.CancellationScope();
  const timer = scope
    .run(() => wf.sleep(ms, { summary: 'wait for the incident before the notice' }))
    .then(
      () => undefined,
      () => undefined,
    );
  const r = await Promise.race([p, timer]);
  scope.cancel();
  return r;
}

/** Undo first (users first), then tell people; returns the incident's id when one was opened. */
export async function rollBack(release: ReleaseState, f: Stop, cancelledFromOutside: boolean): Promise<string | undefined> {
  const { plan, status, info } = release;
  const changed = release.undo.length > 0;
  release.setPhase('rolling_back');
  release.note('rolling back', f.by, f.why);
  if (changed && wf.patched('notice-kinds')) release.notify('rolling_back', `${plan.service} ${plan.version} rolling back: ${f.why}`);
  const stoppedAt = Date.now();
  const failed = await undoAll(release);
  if (changed) status.undoMs = Date.now() - stoppedAt;
  const end = endOf(f, cancelledFromOutside, changed, failed.length > 0);
  if (failed.length > 0) status.actionRequired = `the rollback did not finish; restore by hand: ${failed.join('; ')}`;
  release.setPhase(end, end);
  release.note(end, f.by, failed.length > 0 ? (status.actionRequired ?? f.why) : f.why);
  let incident: string | undefined;
  await wf.CancellationScope.nonCancellable(async () => {
    const evidence = status.lastVerdict ? describeVerdict(status.lastVerdict) : undefined;
    const tell = (incidentSeen?: string) => {
      if (failed.length > 0)
        release.notify(
          'rollback_failed',
          `${plan.service} ${plan.version} rollback failed, act by hand: ${failed.join('; ')} (stopped because ${f.why})`,
          evidence,
          incidentSeen,
        );
      else if (f.kind === 'reject' && wf.patched('notice-kinds')) release.notify('rejected', `${plan.service} ${plan.version} rejected: ${f.why}`);
      else release.notify(changed ? 'rolled_back' : 'failed', `${plan.service} ${plan.version} ${end.replace('_', ' ')}: ${f.why}`, evidence, incidentSeen);
    };
    // the notice carries the incident (its log signatures and hint) when it opens quickly; a slow incident tool never holds it long
    const withIncident = wf.patched('notice-with-incident');
    if (!withIncident) tell();
    // a rollback a person asked for opens one too (the activity skips it unless on_manual_rollback)
    const manual =
      (f.kind === 'rollback' || f.kind === 'revert') && !cancelledFromOutside && changed && failed.length === 0 && wf.patched('incident-on-manual-rollback');
    if (f.kind === 'breach' || f.kind === 'fail' || failed.length > 0 || manual) {
      const opening = judging.openIncident
        .executeWithOptions({ summary: 'open incident' }, [
          {
            releaseId: info.workflowId,
            service: plan.service,
            version: plan.version,
            title:
              failed.length > 0
                ? `${plan.service} ${plan.version} rollback failed: act by hand`
                : `${plan.service} ${plan.version} rolled back: ${status.stage ?? 'before rollout'}`,
            evidence: [status.actionRequired, status.lastVerdict ? describeVerdict(status.lastVerdict) : f.why].filter(Boolean).join('\n'),
            rootCauseHint: rootCauseHint(plan, status, f.why),
            at: Date.now(),
            // facts for the incident and the window the activity reads the logs for (activity input only: replays unchanged)
            previousVersion: status.previousVersion,
            strategy: plan.strategy,
            ...(status.stage ? { stage: status.stage } : {}),
            ...(plan.regions?.length ? { regions: plan.regions } : {}),
            ...(status.lastVerdict ? { findings: status.lastVerdict.findings } : {}),
            window: { from: status.startedAt, to: Date.now() },
            ...(manual ? { manual: { ...(f.by ? { by: f.by } : {}), why: f.why } } : {}),
            rollbackFinished: changed && failed.length === 0,
            ...(status.changes ? { changes: changesLine(status.changes) } : {}),
            ...(plan.webUiUrl ? { url: `${plan.webUiUrl}/namespaces/${info.namespace}/workflows/${encodeURIComponent(info.workflowId)}/${info.runId}` } : {}),
          },
        ])
        .catch((err) => {
          release.note('incident failed', undefined, (err as Error).message);
          return undefined;
        });
      if (withIncident) {
        const early = await within(opening, INCIDENT_WAIT_MS);
        tell(early || undefined);
      }
      incident = await opening;
      if (incident) release.note('incident opened', undefined, incident);
      // '' = config opens none for a manual rollback
      if (incident === '') incident = undefined;
    } else if (withIncident) tell();
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
    ...(status.actionRequired ? { actionRequired: status.actionRequired } : {}),
    ...(release.figures ? { figures: release.figures } : {}),
    ...(typeof status.undoMs === 'number' ? { undoMs: status.undoMs } : {}),
    previousVersion: status.previousVersion,
  };
}
