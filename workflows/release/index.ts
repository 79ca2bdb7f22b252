// The release workflow, as the README's diagram:
//   gates → window → approval → dependencies → stages (shift → watch → judge) → post checks → success,
// and on a breach, a FAIL, a rollback, a rejection, a timeout or a cancellation: undo in reverse, notify,
// open an incident. Deterministic: imports only @temporalio/workflow, contract types and pure modules
// (the linter holds every file under workflows/ to that).
import * as wf from '@temporalio/workflow';
import type { ReleaseResult } from '../../contract/messages';
import type { ReleaseInput } from '../../contract/plan';
import { QuadService, QuadStrategy, QuadVersion } from '../../contract/search-attributes';
import { bake } from './bake';
import { awaitApproval, runChecks, waitForWindow } from './gates';
import { registerHandlers } from './handlers';
import { rollBack, resultOf, stopOf, succeed } from './rollback';
import { findWatchedSides, promoteAll, runDependencies, runStage } from './rollout';
import { ReleaseState } from './state';
import { Stop, causeOf } from './stop';
import { checks } from './activities';
import { changesLine } from './explain';
import { runWaves } from './waves';
import { freeService, holdService } from './service-lock';

export async function releaseWorkflow(input: ReleaseInput): Promise<ReleaseResult> {
  const release = new ReleaseState(input);
  const { plan, request, status } = release;
  registerHandlers(release);
  startDeadline(release);

  const rollout = async () => {
    // a region's child release is found through its parent, not as a release of its own
    if (!plan.parent)
      wf.upsertSearchAttributes([
        { key: QuadService, value: plan.service },
        { key: QuadVersion, value: plan.version },
        { key: QuadStrategy, value: plan.strategy },
      ]);
    release.note(
      'requested',
      request.requestedBy,
      `${plan.service} ${plan.version} (${plan.strategy}) from ${request.source}${request.reason ? `: ${request.reason}` : ''}`,
    );
    // one thing at a time per service (a region's child runs under its parent's hold)
    if (plan.serviceLock && !plan.parent && wf.patched('service-lock')) await holdService(release);
    // Each step is awaited only when it has work: an idle await would reorder the commands of the notices
    // queued before it, and recorded histories must replay.
    if (plan.gates.length > 0) await runChecks(release, 'gate', plan.gates);
    const gatesAt = Date.now();
    if (plan.window || plan.freezes?.length) await waitForWindow(release);
    await findWatchedSides(release);
    if (plan.changes && wf.patched('release-changes')) await readChanges(release);
    if (plan.notifyOnStart)
      release.notify(
        'started',
        `${plan.service} ${plan.version} release started by ${request.requestedBy} (${plan.strategy})`,
        status.changes ? changesLine(status.changes) : undefined,
      );
    if (plan.approvalRequired) await awaitApproval(release, 'release');
    // a stale green is not a green: gates passed long before the window opened or the approval came are asked again
    if (plan.gates.length > 0 && plan.gatesMaxAgeMs && Date.now() - gatesAt > plan.gatesMaxAgeMs && wf.patched('stale-gates')) {
      release.note(
        'gates stale',
        undefined,
        `checked ${Math.round((Date.now() - gatesAt) / 60_000)} min ago, over ${Math.round(plan.gatesMaxAgeMs / 60_000)} min: checking again`,
      );
      await runChecks(release, 'gate', plan.gates);
    }
    if (plan.dependencies.length > 0) await runDependencies(release);
    if (plan.waves?.length && wf.patched('region-waves')) await runWaves(release);
    else for (const [i, stage] of plan.stages.entries()) await runStage(release, stage, i);
    if (plan.postChecks.length > 0) await runChecks(release, 'post', plan.postChecks);
    // plans made before the bake carry no bakeMs: they promote at once, as they ran
    if (plan.bakeMs && wf.patched('bake')) await bake(release);
    // a region's child leaves its region to the parent, which promotes when the whole release is done
    if (release.lifecycle && !plan.parent) await promoteAll(release);
  };

  let failure: Stop | null = null;
  let cancelledFromOutside = false;
  let incident: string | undefined;
  try {
    await release.main.run(rollout);
  } catch (err) {
    ({ failure, cancelledFromOutside } = stopOf(release, err));
  }
  if (!failure) succeed(release);
  else incident = await rollBack(release, failure, cancelledFromOutside);
  await release.noticesSent();
  await freeService(release);
  const result = resultOf(release, failure, incident);
  if (cancelledFromOutside) throw new wf.CancelledFailure('release cancelled; compensations ran');
  return result;
}

/** What the release brings, for the notices and the incident; not knowing it never stops a release. */
async function readChanges(release: ReleaseState): Promise<void> {
  const { plan, status } = release;
  try {
    status.changes = await checks.releaseChanges.executeWithOptions({ summary: `changes ${status.previousVersion ?? 'start'}...${plan.version}` }, [
      plan.changes!,
      plan.service,
      plan.version,
      status.previousVersion,
    ]);
    release.note('changes', undefined, changesLine(status.changes));
  } catch (err) {
    release.note('changes unknown', undefined, causeOf(err));
  }
}

/** The release's own deadline: when it fires, whatever is running is cancelled and undone. */
function startDeadline(release: ReleaseState): void {
  const { plan, status } = release;
  const armedAt = Date.now();
  const arm = (ms: number) => void wf.CancellationScope.nonCancellable(() => wf.sleep(ms, { summary: 'max deployment duration' })).then(fire);
  const fire = () => {
    if (status.status !== 'running' || release.stop) return;
    // the rollout is done: the bake has its own length, and a deadline must not roll back a release that finished
    if (status.phase === 'baking' || status.bakeEndsAt) return;
    // time the release calendar held it (waiting for a window, a freeze) is not time spent deploying
    if ((plan.window || plan.freezes?.length) && wf.patched('calendar-deadline')) {
      const held = release.calendarWaitedMs + (release.calendarWaitingSince !== null ? Date.now() - release.calendarWaitingSince : 0);
      const left = plan.maxDurationMs - (Date.now() - armedAt - held);
      if (left > 0) return arm(left);
    }
    release.stop = new Stop('timeout', `the release ran past max_deployment_duration_minutes (${Math.round(plan.maxDurationMs / 60000)} min)`);
    release.note('max duration reached');
    release.main.cancel();
  };
  arm(plan.maxDurationMs);
}
