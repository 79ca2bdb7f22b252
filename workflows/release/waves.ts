// Regions in waves: each region a child release (the same workflow, one region, its own stages), visible
// as this release's children in the Web UI. A wave's regions run in parallel; the next wave starts when
// every region of this one succeeded. A child reads its own region's serving version and undoes its own
// region when it fails; this release holds the undo of the regions that succeeded (nothing is promoted
// before the whole release is done, so the previous version is still there to go back to).
// on_region_failure rollback: the wave's other regions are cancelled (each undoes itself) and the regions
// done are reverted. stop: the regions done keep the new version, the running ones finish, no wave starts.
import * as wf from '@temporalio/workflow';
import type { ReleaseResult, RegionReport } from '../../contract/messages';
import type { ReleasePlan, RegionPlan } from '../../contract/plan';
import { promoteAll, revertAll } from './rollout';
import type { ReleaseState } from './state';
import { Stop, causeOf } from './stop';

/** A region's plan as its child runs it: that region only, no gates, approvals, bake or notices of its own. */
export function childPlan(plan: ReleasePlan, parentId: string, r: RegionPlan): ReleasePlan {
  const { waves: _waves, onRegionFailure: _policy, ...rest } = plan;
  return {
    ...rest,
    regions: [r.region],
    stages: r.stages,
    parent: { workflowId: parentId, region: r.region },
    previousVersion: null,
    gates: [],
    dependencies: [],
    postChecks: [],
    window: null,
    freezes: [],
    approvalRequired: false,
    bakeMs: 0,
    notifiers: [],
    // nobody may steer a child but its parent (by cancelling it): no key verifies a command to it
    commandAuth: { requireSigned: true, signers: {}, releaseManagers: [], maxAgeMs: 60_000, futureSkewMs: 0 },
  };
}

export const childIdOf = (parentId: string, region: string) => `${parentId}@${region}`;

const MAX_REPORT = 500;

/** A child's report, as the region's progress (a signal anyone could send: bounded, and never a decision). */
export function applyRegionReport(release: ReleaseState, raw: unknown): void {
  const r = raw as Partial<RegionReport> | null;
  const progress = typeof r?.region === 'string' ? release.status.regions?.[r.region] : undefined;
  if (!progress || typeof r?.text !== 'string' || typeof r.kind !== 'string') return;
  progress.latest = r.text.slice(0, MAX_REPORT);
  if (typeof r.phase === 'string') progress.phase = r.phase;
  if (typeof r.stage === 'string' || r.stage === null) progress.stage = r.stage?.slice(0, 200) ?? null;
  if (typeof r.trafficPercent === 'number' && r.trafficPercent >= 0 && r.trafficPercent <= 100) progress.trafficPercent = r.trafficPercent;
  if (typeof r.previousVersion === 'string') progress.previousVersion = r.previousVersion.slice(0, 200);
  release.status.trafficPercent = Math.max(...Object.values(release.status.regions!).map((p) => p.trafficPercent));
  if (r.kind === 'breach' || r.kind === 'stage_started')
    release.notify(r.kind, `${release.plan.service} ${release.plan.version} in ${r.region}: ${progress.latest}`);
}

export async function runWaves(release: ReleaseState): Promise<void> {
  const { plan, status, info } = release;
  const waves = plan.waves!;
  status.regions = {};
  waves.forEach((wave, i) =>
    wave.forEach((r) => {
      status.regions![r.region] = {
        wave: i + 1,
        phase: 'waiting',
        status: 'waiting',
        stage: null,
        trafficPercent: 0,
        maxPercent: r.maxPercent,
        previousVersion: null,
        workflowId: childIdOf(info.workflowId, r.region),
        latest: null,
      };
    }),
  );
  // the children use the whole deployer lifecycle; this release promotes and retires at its end
  release.lifecycle = true;
  release.setPhase('rolling_out');
  for (const [i, wave] of waves.entries()) {
    status.stage = `wave ${i + 1} of ${waves.length}`;
    release.note('wave started', undefined, `wave ${i + 1}: ${wave.map((r) => `${r.region} to ${r.maxPercent} %`).join(', ')}`);
    release.details();
    const scope = new wf.CancellationScope();
    const failures: string[] = [];
    const runs = wave.map((r) =>
      runRegion(release, r, scope).then((why) => {
        if (why === null) return;
        failures.push(`${r.region}: ${why}`);
        // rollback: the wave's other regions stop now and undo themselves
        if (plan.onRegionFailure !== 'stop') scope.cancel();
      }),
    );
    await Promise.all(runs);
    // a rollback, rejection or deadline cancelled the wave: its regions undid themselves; the rest is undone by the caller
    if (release.main.consideredCancelled) throw new wf.CancelledFailure('the rollout by waves was cancelled');
    if (failures.length > 0) {
      const why = failures.join('; ');
      if (plan.onRegionFailure === 'stop') {
        // the regions done keep the new version (and the steps it needed): nothing is undone, and the ones
        // taken all the way are promoted, so no previous version is left running there with nothing to retire it
        release.undo.length = 0;
        await promoteAll(release);
        const kept = Object.entries(status.regions)
          .filter(([, p]) => p.status === 'succeeded')
          .map(([name, p]) => `${name} at ${p.trafficPercent} %`);
        throw new Stop('region', `${why}; stopped there (on_region_failure: stop)${kept.length ? `, ${plan.version} kept in ${kept.join(', ')}` : ''}`);
      }
      throw new Stop('region', `${why}; every region rolled back (on_region_failure: rollback)`);
    }
    release.note('wave done', undefined, `wave ${i + 1}: ${wave.map((r) => `${r.region} at ${status.regions![r.region].trafficPercent} %`).join(', ')}`);
  }
}

/** One region's child release; null when it succeeded, else why not. */
async function runRegion(release: ReleaseState, r: RegionPlan, scope: wf.CancellationScope): Promise<string | null> {
  const { plan, status, info, request } = release;
  const progress = status.regions![r.region];
  progress.status = 'running';
  progress.phase = 'planning';
  let result: ReleaseResult;
  try {
    result = await scope.run(() =>
      wf.executeChild<(input: { request: typeof request; plan: ReleasePlan }) => Promise<ReleaseResult>>('releaseWorkflow', {
        workflowId: progress.workflowId,
        args: [{ request, plan: childPlan(plan, info.workflowId, r) }],
        // the parent gone (terminated), a child still rolling out undoes itself
        parentClosePolicy: 'REQUEST_CANCEL',
        staticSummary: `${plan.service} ${plan.version} in ${r.region} (wave ${progress.wave}) to ${r.maxPercent} %`,
      }),
    );
  } catch (err) {
    progress.status = wf.isCancellation(err) ? 'cancelled' : 'failed';
    progress.phase = progress.status === 'cancelled' ? 'cancelled' : 'failed';
    progress.trafficPercent = 0;
    if (wf.isCancellation(err)) return null;
    return causeOf(err);
  }
  progress.status = result.status;
  // a child's result is one of its ends, each also a phase
  progress.phase = result.status as Exclude<typeof result.status, 'running'>;
  progress.trafficPercent = result.trafficPercent;
  if (result.status !== 'succeeded') return `${result.status.replace('_', ' ')}: ${result.reason}`;
  // a region done: this release holds its way back until the whole release is done
  release.undo.push({
    name: `region ${r.region}`,
    run: () =>
      revertAll(release, [r.region]).then(() => {
        progress.trafficPercent = 0;
        progress.status = 'rolled_back';
        progress.phase = 'rolled_back';
      }),
  });
  return null;
}
