// The A/B strategy's test stage: B on its share of users (each user sticks to a side), the guard
// watching errors and latency, and the test activity polling the business metric until judge/ab
// decides. Ship B: the release goes on to its next stage. Keep A (B worse, or undecided at the maximum
// duration): every user back on A, the release ends without shipping. A sample ratio mismatch means the
// split itself is broken: stopped as a failure, with an incident.
import * as wf from '@temporalio/workflow';
import type { AbTestOutcome } from '../../contract/activities';
import type { StagePlan } from '../../contract/plan';
import { FAST, world } from './activities';
import type { ReleaseState } from './state';
import { Stop, causeOf } from './stop';
import { watchUntil } from './watch';
import { minutesText as minutes } from './explain';

export async function runAbStage(release: ReleaseState, stage: StagePlan): Promise<void> {
  const { plan, status } = release;
  const ab = plan.ab!;
  const region = release.regions[0];
  const from = Date.now();
  const a = status.previousVersion ?? 'the serving version';
  status.windowEndsAt = from + ab.maxDurationMs;
  release.details();
  release.note(
    'A/B test started',
    undefined,
    `B ${plan.version} on ${Math.round(ab.weightB * 100)} % of users, A ${a} on the rest; decides on conversion at every ${plan.pollIntervalS} s poll, keeps A if undecided after ${minutes(ab.maxDurationMs)}`,
  );
  // the activity's outcome or failure, set by its callbacks; the watch ends on either
  const test: { outcome: AbTestOutcome | null; failed: string | null } = { outcome: null, failed: null };
  const scope = new wf.CancellationScope();
  void scope
    .run(() =>
      world.abTest.executeWithOptions(
        {
          summary: `A/B test ${plan.version} vs ${a}: poll conversions every ${plan.pollIntervalS} s`,
          startToCloseTimeout: ab.maxDurationMs + 120_000,
          heartbeatTimeout: Math.max(plan.pollIntervalS * 3, 30) * 1000,
          retry: { ...FAST },
        },
        [
          {
            service: plan.service,
            ...(region ? { region } : {}),
            version: plan.version,
            previousVersion: status.previousVersion,
            plan: ab,
            pollIntervalS: plan.pollIntervalS,
            from,
          },
        ],
      ),
    )
    .then(
      (o) => {
        test.outcome = o;
      },
      (err: unknown) => {
        if (!wf.isCancellation(err)) test.failed = causeOf(err);
      },
    );
  try {
    // the activity decides keep A at the maximum duration itself; the watch's own limit is a backstop
    await watchUntil(
      release,
      stage,
      ab.maxDurationMs + 2 * plan.pollIntervalS * 1000,
      `A/B test for up to ${minutes(ab.maxDurationMs)}`,
      () => test.outcome !== null || test.failed !== null,
    );
  } finally {
    scope.cancel();
    status.windowEndsAt = null;
  }
  const o = test.outcome;
  if (!o) throw new Stop('fail', `${stage.name}: the A/B test could not decide: ${test.failed ?? `no decision within ${minutes(ab.maxDurationMs)}`}`);
  status.abTest = o;
  release.note(`A/B: ${o.kind.replace('_', ' ')}`, undefined, o.text);
  if (o.kind === 'stop_srm') throw new Stop('fail', `${stage.name}: sample ratio mismatch, the split is not the configured one: ${o.text}`);
  if (o.kind === 'keep_a') throw new Stop('keep', `A/B test kept A: ${o.text}`);
  (status.stageResults ??= []).push({ stage: stage.name, outcome: 'passed', verdict: 'PASS' });
  release.notify('stage_passed', `${plan.service} ${plan.version}: ${o.text}`);
}
