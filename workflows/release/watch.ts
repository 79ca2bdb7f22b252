// Watching a stage: one guard per region polls the metrics for a breach while the window's timer runs;
// at the window's end a judge per region gives PASS, FAIL or INCONCLUSIVE, and the policies decide what
// follows (roll back, extend once, pause for a person). A breach ends the watch at once.
import * as wf from '@temporalio/workflow';
import type { GuardOutcome } from '../../contract/activities';
import type { StageResult } from '../../contract/messages';
import type { StagePlan } from '../../contract/plan';
import type { Verdict } from '../../contract/verdict';
import { FAST, judging, world } from './activities';
import { describeVerdict, minutesText } from './explain';
import type { ReleaseState } from './state';
import { Stop } from './stop';

export const inRegion = (text: string, region?: string) => (region ? `${text} in ${region}` : text);
const regionLabel = (region: string | undefined, text: string) => (region ? `${region}: ${text}` : text);

/** One guard over [from, deadline); resolves with its outcome, never throws a cancellation. */
function startGuard(release: ReleaseState, stage: StagePlan, from: number, deadline: number, region?: string) {
  const { plan } = release;
  const scope = new wf.CancellationScope();
  // A guard no worker takes within two polls is a window nobody watches: say so, and ask again (it reads back from `from`).
  const checkStart = wf.patched('guard-start-check');
  const startWithinMs = Math.max(plan.pollIntervalS * 2, 10) * 1000;
  const run = (mustStartWithin?: number) =>
    world.guard.executeWithOptions(
      {
        summary: inRegion(`guard ${stage.name}: poll every ${plan.pollIntervalS} s`, region),
        startToCloseTimeout: Math.max(deadline - from, 0) + 120_000,
        // A dead worker's guard is retried on another after this; heartbeats (throttled to 80 % of it) are its running cost.
        heartbeatTimeout: Math.max(plan.pollIntervalS * 3, 30) * 1000,
        ...(mustStartWithin ? { scheduleToStartTimeout: mustStartWithin } : {}),
        retry: { ...FAST },
      },
      [
        {
          service: plan.service,
          ...release.watched,
          ...(region ? { region } : {}),
          stage: stage.name,
          criteria: stage.criteria,
          pollIntervalS: plan.pollIntervalS,
          from,
          deadline,
        },
      ],
    );
  const outcome = scope
    .run(() =>
      run(checkStart ? startWithinMs : undefined).catch((err: unknown) => {
        if (!checkStart || !isLateStart(err)) throw err;
        release.note(
          'guard late',
          undefined,
          inRegion(`no worker took the guard of ${stage.name} within ${startWithinMs / 1000} s: unwatched until one does`, region),
        );
        return run();
      }),
    )
    .catch((err): GuardOutcome | null => {
      if (wf.isCancellation(err)) return null;
      throw err;
    });
  return { scope, outcome };
}

const isLateStart = (err: unknown) =>
  err instanceof wf.ActivityFailure && err.cause instanceof wf.TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START';

/** Watch until `done()` or the timeout; a breach ends it at once. */
export async function watchUntil(release: ReleaseState, stage: StagePlan, ms: number | undefined, summary: string, done: () => boolean) {
  const { plan, status } = release;
  const from = Date.now();
  // The guard outlives the window by two polls, so the window timer, not the guard, ends the watch.
  const deadline = from + (ms ?? plan.approvalTimeoutMs) + 2 * plan.pollIntervalS * 1000;
  // the first breach in any region; a holder, because the guards' callbacks set it
  const seen: { breach: { outcome: Extract<GuardOutcome, { kind: 'breach' }>; region: string | undefined } | null } = { breach: null };
  const guards = release.regions.map((r) => {
    const g = startGuard(release, stage, from, deadline, r);
    g.outcome.then(
      (o) => {
        if (o?.kind === 'breach' && !seen.breach) seen.breach = { outcome: o, region: r };
      },
      () => undefined,
    );
    return g;
  });
  const ended =
    ms === undefined
      ? (await wf.condition(() => seen.breach !== null || done()), true)
      : await wf.condition(() => seen.breach !== null || done(), ms, { summary });
  for (const g of guards) g.scope.cancel();
  const b = seen.breach;
  if (b) {
    const explanation = regionLabel(b.region, b.outcome.breach.explanation);
    status.lastVerdict = { verdict: 'FAIL', explanation, findings: b.outcome.breach.findings, canaryRequests: 0, intervals: b.outcome.polls };
    release.note('breach', undefined, explanation);
    if (wf.patched('notice-kinds'))
      release.notify('breach', `${plan.service} ${plan.version}: guardrail breached at ${stage.name}: ${explanation}`, describeVerdict(status.lastVerdict));
    throw new Stop('breach', `${stage.name}: ${explanation}`);
  }
  return { from, ended };
}

/** Across regions: any FAIL fails, else any INCONCLUSIVE, else PASS; the deciding region is named. */
export function worstVerdict(vs: Verdict[], rs: (string | undefined)[]): Verdict {
  if (vs.length === 1) return vs[0];
  const rank = { FAIL: 2, INCONCLUSIVE: 1, PASS: 0 } as const;
  let worst = 0;
  vs.forEach((v, i) => {
    if (rank[v.verdict] > rank[vs[worst].verdict]) worst = i;
  });
  const w = vs[worst];
  const explanation = w.verdict === 'PASS' ? vs.map((v, i) => regionLabel(rs[i], v.explanation)).join('; ') : regionLabel(rs[worst], w.explanation);
  return { ...w, explanation, canaryRequests: vs.reduce((n, v) => n + v.canaryRequests, 0) };
}

/**
 * While paused, the stage stays watched (a breach still rolls back) until resumed or promoted. `why`
 * names a policy's pause (FAIL, INCONCLUSIVE); without it the pause was by hand and keeps its reason.
 */
export async function holdWhilePaused(release: ReleaseState, stage: StagePlan, why?: string): Promise<void> {
  const { plan, status } = release;
  if (!status.paused) return;
  if (why) status.pauseReason = why;
  release.setPhase('paused');
  release.notify('paused', `${plan.service} ${plan.version} paused at ${stage.name}: ${why ?? 'paused by hand'}`);
  release.resumeRequested = false;
  await watchUntil(release, stage, undefined, `paused at ${stage.name}`, () => release.resumeRequested || release.promoteRequested);
  status.pauseReason = null;
  release.setPhase('rolling_out');
}

/** The judges of one window, one per region; metrics that cannot be read are no evidence either way. */
async function judgeWindow(release: ReleaseState, stage: StagePlan, from: number): Promise<Verdict> {
  const { plan } = release;
  const to = Date.now();
  const verdicts = await Promise.all(
    release.regions.map((r) =>
      judging.judge
        .executeWithOptions({ summary: inRegion(`judge ${stage.name}`, r) }, [
          {
            service: plan.service,
            ...release.watched,
            ...(r ? { region: r } : {}),
            stage: stage.name,
            criteria: stage.criteria,
            intervalS: plan.pollIntervalS,
            from,
            to,
          },
        ])
        // INCONCLUSIVE (extend, then pause), not a rollback.
        .catch((err): Verdict => {
          if (wf.isCancellation(err)) throw err;
          const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
          return {
            verdict: 'INCONCLUSIVE',
            explanation: `metrics unavailable: ${cause}`,
            findings: [{ metric: 'data', status: 'insufficient', explanation: `metrics unavailable: ${cause}` }],
            canaryRequests: 0,
            intervals: 0,
          };
        }),
    ),
  );
  return worstVerdict(verdicts, release.regions);
}

/** Watch a stage's window, judge it, and apply the FAIL / INCONCLUSIVE policies; says how it ended. */
export async function watchStage(release: ReleaseState, stage: StagePlan): Promise<StageResult['outcome']> {
  const { plan, status } = release;
  let windowMs = stage.durationMs;
  let extended = false;
  for (;;) {
    release.promoteRequested = false;
    status.windowEndsAt = Date.now() + windowMs;
    release.details();
    const { from } = await watchUntil(release, stage, windowMs, `watch ${stage.name} for ${minutesText(windowMs)}`, () => release.promoteRequested);
    status.windowEndsAt = null;
    if (release.promoteRequested) {
      release.promoteRequested = false;
      return 'promoted';
    }
    const verdict = await judgeWindow(release, stage, from);
    status.lastVerdict = verdict;
    release.note(`verdict ${verdict.verdict}`, undefined, verdict.explanation);
    release.details();
    if (verdict.verdict === 'FAIL') {
      if (plan.autoRollback) throw new Stop('fail', `${stage.name}: ${verdict.explanation}`);
      status.paused = true;
      await holdWhilePaused(release, stage, `FAIL and auto-rollback is off: ${verdict.explanation}`);
      return release.promoteRequested ? 'promoted' : 'resumed';
    }
    if (verdict.verdict === 'INCONCLUSIVE') {
      if (plan.inconclusive === 'rollback') throw new Stop('fail', `${stage.name}: inconclusive: ${verdict.explanation}`);
      if (plan.inconclusive === 'extend-then-pause' && !extended) {
        extended = true;
        windowMs = plan.extensionMs;
        release.note('window extended', undefined, `inconclusive; watching ${stage.name} ${Math.round(windowMs / 60000)} min more`);
        continue;
      }
      status.paused = true;
      await holdWhilePaused(release, stage, `inconclusive: ${verdict.explanation}`);
      return release.promoteRequested ? 'promoted' : 'resumed';
    }
    await holdWhilePaused(release, stage);
    return 'passed';
  }
}
