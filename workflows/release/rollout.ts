// The rollout itself: what is watched, dependencies first, then each stage shifts traffic (or a flag),
// is watched and judged. Every change registers its undo before it is made.
import type { StageResult } from '../../contract/messages';
import type { StageAction, StagePlan } from '../../contract/plan';
import { flagVariantSides } from '../../contract/plan';
import * as wf from '@temporalio/workflow';
import { checks, preparing, runStep, shifting, undoActs, undoDeploy, world } from './activities';
import { awaitApproval, waitForCalendar } from './gates';
import type { ReleaseState } from './state';
import { describeVerdict } from './explain';
import { Stop, causeOf } from './stop';
import { runAbStage } from './ab';
import { holdWhilePaused, inRegion, watchStage, watchUntil } from './watch';

/** Whose metrics the guards and judges compare, found before anything changes. */
export async function findWatchedSides(release: ReleaseState): Promise<void> {
  const { plan, status } = release;
  if (plan.strategy === 'flag-ramp' && plan.flagWatch === 'variants') {
    // Users with the flag on against users with it off: the same comparison as canary against baseline.
    release.watched = flagVariantSides(plan.version.replace(/^flag:/, ''));
  } else if (plan.strategy === 'flag-ramp') {
    // A flag ramp changes no version: its metrics are the serving version's, judged on absolute limits.
    release.watched = {
      version: (await world.servingVersion.executeWithOptions({ summary: 'find the serving version' }, [release.target()])) ?? plan.version,
      previousVersion: null,
    };
  } else {
    if (status.previousVersion === null)
      status.previousVersion = await world.servingVersion.executeWithOptions({ summary: 'find the serving version' }, [release.target(release.regions[0])]);
    release.watched = { version: plan.version, previousVersion: status.previousVersion };
  }
}

/** Dependencies (a migration, a cache warm-up) run in order before any traffic moves. */
export async function runDependencies(release: ReleaseState): Promise<void> {
  const { plan } = release;
  if (plan.dependencies.length > 0) release.setPhase('dependencies');
  for (const dep of plan.dependencies) {
    const out = await runStep(`dependency: ${dep.name}`, plan.service, plan.version, dep);
    release.note('dependency done', undefined, `${dep.name}: ${out}`);
    const u = dep.undo;
    if (u)
      release.undo.push({
        name: `undo ${dep.name}`,
        run: () => runStep(`undo ${dep.name}`, plan.service, plan.version, { name: `undo ${dep.name}`, ...u }, 10),
      });
  }
}

/** The new version up beside the serving one in every region, ready before any traffic moves. */
async function prepareAll(release: ReleaseState): Promise<void> {
  const { plan, status, regions } = release;
  const done = await Promise.all(
    regions.map((r) =>
      preparing.prepare.executeWithOptions({ summary: inRegion(`prepare ${plan.version} beside ${status.previousVersion ?? 'nothing'}`, r) }, [
        release.target(r),
      ]),
    ),
  );
  done.forEach((d, i) => release.note('prepared', undefined, inRegion(d.detail, regions[i])));
}

/** Smoke checks against the new version's own endpoint in every region, before any user reaches it. */
async function smokeCheckAll(release: ReleaseState): Promise<void> {
  const { plan, regions } = release;
  for (const check of plan.smokeChecks ?? []) {
    const results = await Promise.all(
      regions.map((r) =>
        checks.smokeCheck.executeWithOptions({ summary: inRegion(`smoke check ${check.name} on ${plan.version} alone`, r) }, [release.target(r), check]),
      ),
    );
    results.forEach((res, i) =>
      release.note(res.ok ? 'smoke check passed' : 'smoke check failed', undefined, inRegion(`${check.name}: ${res.detail}`, regions[i])),
    );
    const bad = results.findIndex((res) => !res.ok);
    if (bad >= 0)
      throw new Stop('fail', `smoke check ${check.name} failed on ${plan.version} before any user reached it: ${inRegion(results[bad].detail, regions[bad])}`);
  }
}

/** Capacity without traffic released; a failure leaves it running, which costs money, not users. */
async function retireAll(release: ReleaseState, regions = release.regions): Promise<void> {
  await Promise.all(
    regions.map((r) =>
      undoDeploy.retire
        .executeWithOptions({ summary: inRegion('retire what carries no traffic', r) }, [release.target(r)])
        .then((d) => release.note('retired', undefined, inRegion(d.detail, r)))
        .catch((err: unknown) => release.note('retire failed', undefined, inRegion(causeOf(err), r))),
    ),
  );
}

/** Undo: every region (or the ones named) back to the previous version in one call each, then the canary's capacity released. */
export async function revertAll(release: ReleaseState, regions = release.regions): Promise<void> {
  const { status } = release;
  await Promise.all(
    regions.map((r) =>
      undoDeploy.revert.executeWithOptions({ summary: inRegion(`revert to ${status.previousVersion ?? 'previous'} at 100 %`, r) }, [release.target(r)]),
    ),
  );
  status.trafficPercent = 0;
  await retireAll(release, regions);
}

/** Success: the new version becomes the stable one everywhere, then what no longer serves is released. */
export async function promoteAll(release: ReleaseState): Promise<void> {
  const { plan, status } = release;
  // by waves, a region this release takes only part of the way keeps its previous version beside the new
  const regions = status.regions
    ? release.regions.filter((r) => r && status.regions![r]?.status === 'succeeded' && (status.regions![r]?.maxPercent ?? 0) >= 100)
    : release.regions;
  await Promise.all(
    regions.map((r) => preparing.promote.executeWithOptions({ summary: inRegion(`promote ${plan.version} to stable`, r) }, [release.target(r)])),
  );
  release.note('promoted', undefined, `${plan.version} is the stable version${status.regions ? ` in ${regions.join(', ') || 'no region'}` : ''}`);
  await retireAll(release, regions);
}

/** Moves one stage's share: traffic in every region at once, or the flag's rollout. */
async function shift(release: ReleaseState, action: StageAction, label: string): Promise<void> {
  const { plan, status, regions } = release;
  if (action.kind === 'traffic') {
    if (!release.undo.some((u) => u.name === 'traffic') && wf.patched('deployer-lifecycle')) {
      // Registered before the version is even prepared: a revert is idempotent and harmless if nothing moved.
      release.lifecycle = true;
      release.undo.push({ name: 'traffic', run: () => revertAll(release) });
      await prepareAll(release);
      if (plan.smokeChecks?.length) await smokeCheckAll(release);
    } else if (!release.undo.some((u) => u.name === 'traffic')) {
      // Registered before the first shift: setting 0 % is idempotent and harmless if the shift never landed.
      release.undo.push({
        name: 'traffic',
        run: () =>
          Promise.all(
            regions.map((r) =>
              undoDeploy.setTraffic.executeWithOptions({ summary: inRegion(`restore ${status.previousVersion ?? 'previous'} to 100 %`, r) }, [
                release.target(r),
                0,
              ]),
            ),
          ).then(() => {
            status.trafficPercent = 0;
          }),
      });
    }
    await Promise.all(
      regions.map((r) =>
        shifting.setTraffic.executeWithOptions({ summary: inRegion(`route ${action.percent} % to ${plan.version}`, r) }, [release.target(r), action.percent]),
      ),
    );
  } else {
    if (!release.flagPrior) {
      const prior = await world.getFlagState.executeWithOptions({ summary: `read ${action.flag}` }, [plan.service, action.flag]);
      release.flagPrior = prior;
      release.undo.push({
        name: 'flag',
        run: () =>
          undoActs.restoreFlag.executeWithOptions({ summary: `restore ${action.flag}` }, [plan.service, prior]).then(() => {
            status.trafficPercent = prior.enabled ? (prior.rolloutPercent ?? 100) : 0;
          }),
      });
    }
    await world.setFlag.executeWithOptions({ summary: `${action.flag} → ${action.percent} %` }, [plan.service, action.flag, action.percent]);
  }
  status.trafficPercent = action.percent;
  release.note('shifted', undefined, `${label}: ${action.percent} %`);
}

const OUTCOME_WORDS: Record<StageResult['outcome'], string> = {
  passed: 'passed its judge',
  promoted: 'promoted by hand',
  resumed: 'resumed by hand',
};

/**
 * all_previous_checks_pass: the stage does not start unless every earlier watched stage's own verdict was
 * PASS. Otherwise the release holds, the live stage still guarded, until an approver promotes it by hand.
 */
function stagesNotPassed(release: ReleaseState, stage: StagePlan): StageResult[] {
  const notPassed = (release.status.stageResults ?? []).filter((r) => r.outcome !== 'passed');
  return stage.requirePreviousPass && notPassed.length > 0 && wf.patched('previous-checks-pass') ? notPassed : [];
}

async function holdUntilPromoted(release: ReleaseState, stage: StagePlan, notPassed: StageResult[]): Promise<void> {
  const { plan, status } = release;
  const results = status.stageResults ?? [];
  const live = plan.stages.find((s) => s.name === results.at(-1)?.stage) ?? stage;
  const why = `${stage.name} needs every earlier stage to have passed its judge: ${notPassed
    .map((r) => `${r.stage} was ${OUTCOME_WORDS[r.outcome]}${r.verdict && r.outcome !== 'promoted' ? ` after ${r.verdict}` : ''}`)
    .join(', ')}`;
  status.paused = true;
  status.pauseReason = why;
  release.held = true;
  release.note('held', undefined, why);
  release.setPhase('paused');
  release.notify('paused', `${plan.service} ${plan.version} held before ${stage.name}: ${why}; an approver may promote it by hand`);
  release.promoteRequested = false;
  await watchUntil(release, live, undefined, `held before ${stage.name}`, () => release.promoteRequested);
  release.promoteRequested = false;
  release.held = false;
  status.pauseReason = null;
}

/** One stage: its hold and approval if it needs them, the shift, the watch and the judge. */
export async function runStage(release: ReleaseState, stage: StagePlan, index: number): Promise<void> {
  const { plan, status } = release;
  // Awaited only when it holds: an idle await would reorder the commands of notices queued before it.
  const notPassed = stagesNotPassed(release, stage);
  if (notPassed.length > 0) await holdUntilPromoted(release, stage, notPassed);
  if (stage.approval) await awaitApproval(release, stage.name);
  // the calendar holds a stage that would not end inside the window or would meet a freeze (the stage
  // before stays guarded meanwhile); called only with a calendar, so plans without one replay as they ran
  if ((plan.window || plan.freezes?.length) && wf.patched('release-calendar'))
    await waitForCalendar(release, stage.durationMs, stage.name, plan.stages[index - 1] ?? null);
  status.stageIndex = index;
  status.stage = stage.name;
  release.setPhase('rolling_out');
  await shift(release, stage.action, stage.name);
  release.notify('stage_started', `${plan.service} ${plan.version}: ${stage.name}`);
  release.details();
  // an A/B plan's first stage is its test: decided on the business metric, not by a window's judge
  if (plan.ab && index === 0 && wf.patched('ab-test')) return runAbStage(release, stage);
  if (stage.durationMs <= 0) {
    await holdWhilePaused(release, stage);
    release.note('stage done', undefined, `${stage.name}: not watched`);
    return;
  }
  const outcome = await watchStage(release, stage);
  const verdict = status.lastVerdict;
  (status.stageResults ??= []).push({ stage: stage.name, outcome, verdict: outcome === 'promoted' ? null : (verdict?.verdict ?? null) });
  if (outcome !== 'passed') return release.note('stage done', undefined, `${stage.name}: ${OUTCOME_WORDS[outcome]}`);
  release.note('stage passed', undefined, stage.name);
  if (wf.patched('notice-kinds'))
    release.notify('stage_passed', `${plan.service} ${plan.version}: ${stage.name} passed`, verdict ? describeVerdict(verdict) : undefined);
}
