// The bake: after the last stage the new version serves all traffic while the previous one stays warm
// beside it and the guard keeps watching. Until the bake ends a revert (by hand, or the guard's breach)
// is one call to the deployer; then the new version is promoted and the previous one retired.
import type { StagePlan } from '../../contract/plan';
import type { ReleaseState } from './state';
import { watchUntil } from './watch';
import { minutesText as minutes } from './explain';

export async function bake(release: ReleaseState): Promise<void> {
  const { plan, status } = release;
  const bakeMs = plan.bakeMs ?? 0;
  const last = plan.stages.at(-1)!;
  // the guard watches the full rollout by the last stage's limits
  const watched: StagePlan = { ...last, name: 'bake', durationMs: bakeMs };
  status.bakeEndsAt = Date.now() + bakeMs;
  release.setPhase('baking');
  const warm = status.previousVersion ?? 'the previous version';
  const what = `${plan.version} at ${status.trafficPercent} %, ${warm} kept warm for ${minutes(bakeMs)}: a revert is instant until then`;
  release.note('baking', undefined, what);
  release.notify('baking', `${plan.service} ${plan.version} baking: ${what}`);
  release.promoteRequested = false;
  const { from } = await watchUntil(release, watched, bakeMs, `bake for ${minutes(bakeMs)}`, () => release.promoteRequested);
  status.bakeEndsAt = null;
  // a promote by hand ends the bake early (the approver has seen enough); it is recorded as such
  if (release.promoteRequested) release.note('bake ended by hand', undefined, `after ${minutes(Date.now() - from)} of ${minutes(bakeMs)}`);
  else release.note('baked', undefined, `${minutes(bakeMs)} at ${status.trafficPercent} % without a breach`);
  release.promoteRequested = false;
}
