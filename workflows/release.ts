// The release workflow: plan → gates → window + approval → dependencies → stages (shift → watch → judge)
// → post checks → success. On a breach, a FAIL, a rollback, a rejection, a timeout or a cancellation it
// undoes what was done, in reverse, inside a non-cancellable scope, then notifies and opens an incident.
// Deterministic: imports only @temporalio/workflow, pure modules and types.
import * as wf from '@temporalio/workflow';
import type { ReleaseActivities, GuardOutcome } from '../contract/activities';
import { flagVariantSides, type ReleaseInput, type StagePlan, type StageAction } from '../contract/plan';
import type { Notice, NoticeKind } from '../contract/notice';
import type { TrafficTarget, FlagState } from '../contract/world';
import type { Verdict } from '../contract/verdict';
import {
  SIGNALS, COMMANDS, commandUpdate, statusQuery,
  type Actor, type Command, type CommandResult, type Phase, type ReleaseResult, type ReleaseStatus, type Status,
} from '../contract/messages';
import { QuadStage, QuadStatus, QuadService, QuadVersion, QuadStrategy } from '../contract/search-attributes';
import { rootCauseHint, describeVerdict } from './explain';

const FAST = { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' } as const;

// Changes to the world: retried a while, they are idempotent (absolute states).
const world = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '60s', retry: { ...FAST, maximumAttempts: 10 } });
// Undo must get through: retried until it does.
const undoActs = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '60s', retry: { ...FAST } });
const checks = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '10m', retry: { ...FAST, maximumAttempts: 3 } });
const judging = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '60s', retry: { ...FAST, maximumAttempts: 5 } });
// A notice must never stall or fail a release: bounded retries, short timeouts.
// The activity retries each notifier itself and reports failures instead of throwing.
const notices = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '30s', retry: { ...FAST, maximumAttempts: 2 } });

/** Why the release stopped before success. */
class Stop extends Error {
  constructor(
    readonly kind: 'breach' | 'fail' | 'rollback' | 'reject' | 'timeout',
    readonly why: string,
    readonly by?: string,
  ) {
    super(why);
    this.name = 'Stop';
  }
}

export async function releaseWorkflow(input: ReleaseInput): Promise<ReleaseResult> {
  const { request, plan } = input;
  const info = wf.workflowInfo();
  const state: ReleaseStatus = {
    service: plan.service,
    version: plan.version,
    previousVersion: plan.previousVersion,
    strategy: plan.strategy,
    requestedBy: request.requestedBy,
    startedAt: info.startTime.getTime(),
    phase: 'planning',
    status: 'running',
    stageIndex: -1,
    stageCount: plan.stages.length,
    stage: null,
    trafficPercent: 0,
    windowEndsAt: null,
    lastVerdict: null,
    approvals: [],
    paused: false,
    timeline: [],
  };
  const undo: { name: string; run: () => Promise<unknown> }[] = [];
  const refs: Record<string, string> = {};
  let noticeChain: Promise<void> = Promise.resolve();
  let awaitingApproval: string | null = null;
  let approvedFor: string | null = null;
  let stop: Stop | null = null;
  let promoteRequested = false;
  let resumeRequested = false;
  const main = new wf.CancellationScope();

  const note = (event: string, by?: string, detail?: string) => {
    state.timeline.push({ at: Date.now(), event, ...(by ? { by } : {}), ...(detail ? { detail } : {}) });
  };
  const details = () => {
    const parts = [`**${plan.service} ${plan.version}** · ${plan.strategy} · ${state.phase}`];
    if (state.stage) parts.push(`stage ${state.stageIndex + 1}/${state.stageCount}: ${state.stage}`);
    parts.push(`traffic ${state.trafficPercent} %`);
    if (state.lastVerdict) parts.push(`last verdict ${state.lastVerdict.verdict}: ${state.lastVerdict.explanation}`);
    wf.setCurrentDetails(parts.join('\n\n'));
  };
  const setPhase = (phase: Phase, status: Status = 'running') => {
    state.phase = phase;
    state.status = status;
    wf.upsertSearchAttributes([
      { key: QuadStage, value: state.stage ?? phase },
      { key: QuadStatus, value: status },
    ]);
    details();
  };
  const allowed = (by: string, via?: string) =>
    plan.approvers.length === 0 || plan.approvers.includes(by) ||
    (typeof via === 'string' && via.startsWith('group:') && plan.approvers.includes(via));

  const notify = (kind: NoticeKind, text: string, detail?: string) => {
    const notice: Notice = {
      kind, releaseId: info.workflowId, service: plan.service, version: plan.version, strategy: plan.strategy,
      requestedBy: request.requestedBy, text, at: Date.now(),
      ...(state.stage ? { stage: state.stage } : {}),
      trafficPercent: state.trafficPercent,
      ...(detail ? { detail } : {}),
      ...(plan.webUiUrl ? { url: `${plan.webUiUrl}/namespaces/${info.namespace}/workflows/${encodeURIComponent(info.workflowId)}/${info.runId}` } : {}),
    };
    if (plan.notifiers.length === 0) return;
    // One at a time: each notice reads the refs its predecessor returned, so a Slack message is updated
    // in place rather than posted twice when two notices are close together.
    // Non-cancellable: a rollback cancels the rollout, never the notices about it.
    noticeChain = noticeChain.then(() =>
      wf.CancellationScope.nonCancellable(() => notices.notify.executeWithOptions({ summary: `notify ${kind}` }, [plan.notifiers, notice, { ...refs }]))
        .then((r) => {
          Object.assign(refs, r.refs);
          for (const f of r.failed) note(`notice to ${f.notifier} failed`, undefined, `${kind}: ${f.error}`);
        })
        .catch((err) => note('notice failed', undefined, `${kind}: ${(err as Error).message}`)),
    );
  };

  // --- messages --------------------------------------------------------------------------------------
  const handle = (cmd: Command, actor: Actor): CommandResult => {
    const by = actor?.by ?? 'unknown';
    const refuse = (message: string): CommandResult => {
      note(`${cmd} ignored`, by, message);
      return { accepted: false, message };
    };
    if (state.status !== 'running' || state.phase === 'rolling_back') return refuse(`the release is ${state.phase}`);
    if (!allowed(by, actor?.via)) return refuse(`${by} is not an approver of ${plan.service}`);
    const reason = actor.reason ? `: ${actor.reason}` : '';
    switch (cmd) {
      case 'approve':
        if (!awaitingApproval) return refuse('nothing is awaiting approval');
        approvedFor = awaitingApproval;
        state.approvals.push({ by, at: Date.now(), stage: awaitingApproval });
        // the audit trail says when the approver was allowed as a member of a Slack group
        note('approved', by, `${awaitingApproval}${reason}${actor.via && !plan.approvers.includes(by) ? ` (as a member of ${actor.via})` : ''}`);
        return { accepted: true, message: `approved ${awaitingApproval}` };
      case 'reject':
        stop = new Stop('reject', `rejected by ${by}${reason}`, by);
        note('rejected', by, actor.reason);
        main.cancel();
        return { accepted: true, message: 'rejected; undoing what was done' };
      case 'rollback':
        stop = new Stop('rollback', `rollback requested by ${by}${reason}`, by);
        note('rollback requested', by, actor.reason);
        main.cancel();
        return { accepted: true, message: 'rolling back' };
      case 'pause':
        if (state.paused) return refuse('already paused');
        state.paused = true;
        note('paused', by, actor.reason);
        notify('paused', `${plan.service} ${plan.version} paused by ${by}${reason}`);
        return { accepted: true, message: 'paused: the current stage keeps being watched and will not promote' };
      case 'resume':
        if (!state.paused) return refuse('not paused');
        state.paused = false;
        resumeRequested = true;
        note('resumed', by, actor.reason);
        notify('resumed', `${plan.service} ${plan.version} resumed by ${by}`);
        return { accepted: true, message: 'resumed' };
      case 'promote':
        if (state.windowEndsAt === null && !state.paused) return refuse('no stage is being watched');
        promoteRequested = true;
        state.paused = false;
        note('promoted by hand', by, actor.reason);
        return { accepted: true, message: 'promoting the current stage' };
    }
  };
  for (const cmd of COMMANDS) wf.setHandler(SIGNALS[cmd], (actor: Actor) => void handle(cmd, actor));
  wf.setHandler(commandUpdate, (cmd: Command, actor: Actor) => handle(cmd, actor), {
    validator: (cmd: Command, _actor: Actor) => {
      if (!COMMANDS.includes(cmd)) throw new Error(`unknown command ${String(cmd)}`);
    },
  });
  wf.setHandler(statusQuery, () => state);

  // --- steps ---------------------------------------------------------------------------------------------
  /** whose metrics are watched: canary and baseline versions */
  let watched = { version: plan.version, previousVersion: state.previousVersion };
  const target = (region?: string): TrafficTarget => ({ service: plan.service, version: plan.version, previousVersion: state.previousVersion, ...(region ? { region } : {}) });
  /** by region: every stage shifts, watches and judges each region in parallel; one bad region undoes all */
  const regions: (string | undefined)[] = plan.regions?.length ? plan.regions : [undefined];
  const inRegion = (text: string, region?: string) => (region ? `${text} in ${region}` : text);
  const regionLabel = (region: string | undefined, text: string) => (region ? `${region}: ${text}` : text);

  const awaitApproval = async (what: string) => {
    awaitingApproval = what;
    setPhase('awaiting_approval');
    note('awaiting approval', undefined, what);
    notify('awaiting_approval', `${plan.service} ${plan.version} needs approval: ${what}`);
    const ok = await wf.condition(() => approvedFor === what, plan.approvalTimeoutMs, {
      summary: `await approval: ${what}`,
    } as wf.TimerOptions);
    awaitingApproval = null;
    if (!ok) throw new Stop('timeout', `no approval for ${what} within ${Math.round(plan.approvalTimeoutMs / 60000)} min`);
    notify('approved', `${plan.service} ${plan.version} approved: ${what}`);
  };

  let flagPrior: FlagState | null = null;
  const apply = async (action: StageAction, label: string) => {
    if (action.kind === 'traffic') {
      if (!undo.some((u) => u.name === 'traffic')) {
        // Registered before the first shift: setting 0 % is idempotent and harmless if the shift never landed.
        undo.push({
          name: 'traffic',
          run: () =>
            Promise.all(regions.map((r) => undoActs.setTraffic.executeWithOptions({ summary: inRegion(`restore ${state.previousVersion ?? 'previous'} to 100 %`, r) }, [target(r), 0]))).then(() => {
              state.trafficPercent = 0;
            }),
        });
      }
      await Promise.all(regions.map((r) => world.setTraffic.executeWithOptions({ summary: inRegion(`route ${action.percent} % to ${plan.version}`, r) }, [target(r), action.percent])));
    } else {
      if (!flagPrior) {
        flagPrior = await world.getFlagState.executeWithOptions({ summary: `read ${action.flag}` }, [plan.service, action.flag]);
        const prior = flagPrior;
        undo.push({ name: 'flag', run: () => undoActs.restoreFlag.executeWithOptions({ summary: `restore ${action.flag}` }, [plan.service, prior]).then(() => { state.trafficPercent = prior.enabled ? (prior.rolloutPercent ?? 100) : 0; }) });
      }
      await world.setFlag.executeWithOptions({ summary: `${action.flag} → ${action.percent} %` }, [plan.service, action.flag, action.percent]);
    }
    state.trafficPercent = action.percent;
    note('shifted', undefined, `${label}: ${action.percent} %`);
  };

  /** One guard over [from, deadline); resolves with its outcome, never throws a cancellation. */
  const startGuard = (stage: StagePlan, from: number, deadline: number, region?: string) => {
    const scope = new wf.CancellationScope();
    const outcome = scope
      .run(() =>
        world.guard.executeWithOptions(
          {
            summary: inRegion(`guard ${stage.name}: poll every ${plan.pollIntervalS} s`, region),
            startToCloseTimeout: Math.max(deadline - from, 0) + 120_000,
            // A dead worker's guard is retried on another after this; heartbeats (throttled to 80 % of it) are its running cost.
            heartbeatTimeout: Math.max(plan.pollIntervalS * 3, 30) * 1000,
            retry: { ...FAST },
          },
          [{ service: plan.service, ...watched, ...(region ? { region } : {}), stage: stage.name, criteria: stage.criteria, pollIntervalS: plan.pollIntervalS, from, deadline }],
        ),
      )
      .catch((err): GuardOutcome | null => {
        if (wf.isCancellation(err)) return null;
        throw err;
      });
    return { scope, outcome };
  };

  /** Watch until `done()` or the timeout; a breach ends it at once. */
  const watchUntil = async (stage: StagePlan, ms: number | undefined, summary: string, done: () => boolean) => {
    const from = Date.now();
    // The guard outlives the window by two polls, so the window timer, not the guard, ends the watch.
    const deadline = from + (ms ?? plan.approvalTimeoutMs) + 2 * plan.pollIntervalS * 1000;
    let breach: GuardOutcome | null = null;
    let breachRegion: string | undefined;
    const guards = regions.map((r) => {
      const g = startGuard(stage, from, deadline, r);
      g.outcome.then((o) => {
        if (o?.kind === 'breach' && !breach) {
          breach = o;
          breachRegion = r;
        }
      }, () => undefined);
      return g;
    });
    const ended = ms === undefined
      ? (await wf.condition(() => breach !== null || done()), true)
      : await wf.condition(() => breach !== null || done(), ms, { summary } as wf.TimerOptions);
    for (const g of guards) g.scope.cancel();
    const b = breach as GuardOutcome | null;
    if (b && b.kind === 'breach') {
      const explanation = regionLabel(breachRegion, b.breach.explanation);
      state.lastVerdict = { verdict: 'FAIL', explanation, findings: b.breach.findings, canaryRequests: 0, intervals: b.polls };
      note('breach', undefined, explanation);
      throw new Stop('breach', `${stage.name}: ${explanation}`);
    }
    return { from, ended };
  };

  /** Across regions: any FAIL fails, else any INCONCLUSIVE, else PASS; the deciding region is named. */
  const worstVerdict = (vs: Verdict[], rs: (string | undefined)[]): Verdict => {
    if (vs.length === 1) return vs[0];
    const rank = { FAIL: 2, INCONCLUSIVE: 1, PASS: 0 } as const;
    let worst = 0;
    vs.forEach((v, i) => { if (rank[v.verdict] > rank[vs[worst].verdict]) worst = i; });
    const w = vs[worst];
    const explanation = w.verdict === 'PASS' ? vs.map((v, i) => regionLabel(rs[i], v.explanation)).join('; ') : regionLabel(rs[worst], w.explanation);
    return { ...w, explanation, canaryRequests: vs.reduce((n, v) => n + v.canaryRequests, 0) };
  };

  const holdWhilePaused = async (stage: StagePlan, why: string) => {
    if (!state.paused) return;
    setPhase('paused');
    notify('paused', `${plan.service} ${plan.version} paused at ${stage.name}: ${why}`);
    resumeRequested = false;
    await watchUntil(stage, undefined, `paused at ${stage.name}`, () => resumeRequested || promoteRequested);
    setPhase('rolling_out');
  };

  const watch = async (stage: StagePlan) => {
    let windowMs = stage.durationMs;
    let extended = false;
    for (;;) {
      promoteRequested = false;
      state.windowEndsAt = Date.now() + windowMs;
      details();
      const minutes = Math.round(windowMs / 6000) / 10;
      const { from } = await watchUntil(stage, windowMs, `watch ${stage.name} for ${minutes} min`, () => promoteRequested);
      state.windowEndsAt = null;
      if (promoteRequested) {
        promoteRequested = false;
        return;
      }
      const to = Date.now();
      const verdicts = await Promise.all(
        regions.map((r) =>
          judging.judge
            .executeWithOptions({ summary: inRegion(`judge ${stage.name}`, r) }, [
              { service: plan.service, ...watched, ...(r ? { region: r } : {}), stage: stage.name, criteria: stage.criteria, intervalS: plan.pollIntervalS, from, to },
            ])
            // Metrics that cannot be read are no evidence either way: INCONCLUSIVE (extend, then pause), not a rollback.
            .catch((err): Verdict => {
              if (wf.isCancellation(err)) throw err;
              const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
              return { verdict: 'INCONCLUSIVE', explanation: `metrics unavailable: ${cause}`, findings: [{ metric: 'data', status: 'insufficient', explanation: `metrics unavailable: ${cause}` }], canaryRequests: 0, intervals: 0 };
            }),
        ),
      );
      const verdict: Verdict = worstVerdict(verdicts, regions);
      state.lastVerdict = verdict;
      note(`verdict ${verdict.verdict}`, undefined, verdict.explanation);
      details();
      if (verdict.verdict === 'FAIL') {
        if (plan.autoRollback) throw new Stop('fail', `${stage.name}: ${verdict.explanation}`);
        state.paused = true;
        await holdWhilePaused(stage, `FAIL and auto-rollback is off: ${verdict.explanation}`);
        return;
      }
      if (verdict.verdict === 'INCONCLUSIVE') {
        if (plan.inconclusive === 'rollback') throw new Stop('fail', `${stage.name}: inconclusive: ${verdict.explanation}`);
        if (plan.inconclusive === 'extend-then-pause' && !extended) {
          extended = true;
          windowMs = plan.extensionMs;
          note('window extended', undefined, `inconclusive; watching ${stage.name} ${Math.round(windowMs / 60000)} min more`);
          continue;
        }
        state.paused = true;
        await holdWhilePaused(stage, `inconclusive: ${verdict.explanation}`);
        return;
      }
      await holdWhilePaused(stage, 'paused by hand');
      return;
    }
  };

  const body = async () => {
    wf.upsertSearchAttributes([
      { key: QuadService, value: plan.service },
      { key: QuadVersion, value: plan.version },
      { key: QuadStrategy, value: plan.strategy },
    ]);
    note('requested', request.requestedBy, `${plan.service} ${plan.version} (${plan.strategy}) from ${request.source}${request.reason ? `: ${request.reason}` : ''}`);
    if (plan.gates.length > 0) setPhase('validating');
    for (const gate of plan.gates) {
      const r = await checks.checkGate.executeWithOptions({ summary: `gate: ${gate.name}` }, [plan.service, plan.version, gate]);
      note(r.ok ? 'gate passed' : 'gate failed', undefined, `${gate.name}: ${r.detail}`);
      if (!r.ok) throw new Stop('fail', `gate ${gate.name} failed: ${r.detail}`);
    }
    if (plan.window) {
      setPhase('waiting_window');
      const at = await checks.nextWindowStart.executeWithOptions({ summary: 'find the release window' }, [plan.window, Date.now()]);
      if (at > Date.now()) {
        note('waiting for the release window', undefined, new Date(at).toISOString());
        await wf.sleep(at - Date.now(), { summary: `wait for the release window (${new Date(at).toISOString()})` } as wf.TimerOptions);
      }
    }
    if (plan.strategy === 'flag-ramp' && plan.flagWatch === 'variants') {
      // Users with the flag on against users with it off: the same comparison as canary against baseline.
      watched = flagVariantSides(plan.version.replace(/^flag:/, ''));
    } else if (plan.strategy === 'flag-ramp') {
      // A flag ramp changes no version: its metrics are the serving version's, judged on absolute limits.
      watched = { version: (await world.servingVersion.executeWithOptions({ summary: 'find the serving version' }, [target()])) ?? plan.version, previousVersion: null };
    } else {
      if (state.previousVersion === null) state.previousVersion = await world.servingVersion.executeWithOptions({ summary: 'find the serving version' }, [target(regions[0])]);
      watched = { version: plan.version, previousVersion: state.previousVersion };
    }
    if (plan.notifyOnStart) notify('started', `${plan.service} ${plan.version} release started by ${request.requestedBy} (${plan.strategy})`);
    if (plan.approvalRequired) await awaitApproval('release');
    if (plan.dependencies.length > 0) setPhase('dependencies');
    for (const dep of plan.dependencies) {
      const out = await world.runStep.executeWithOptions({ summary: `dependency: ${dep.name}` }, [plan.service, plan.version, dep]);
      note('dependency done', undefined, `${dep.name}: ${out}`);
      const u = dep.undo;
      if (u) undo.push({ name: `undo ${dep.name}`, run: () => undoActs.runStep.executeWithOptions({ summary: `undo ${dep.name}` }, [plan.service, plan.version, { name: `undo ${dep.name}`, ...u }]) });
    }
    for (let i = 0; i < plan.stages.length; i++) {
      const stage = plan.stages[i];
      if (stage.approval) await awaitApproval(stage.name);
      state.stageIndex = i;
      state.stage = stage.name;
      setPhase('rolling_out');
      await apply(stage.action, stage.name);
      notify('stage_started', `${plan.service} ${plan.version}: ${stage.name}`);
      details();
      if (stage.durationMs > 0) await watch(stage);
      else await holdWhilePaused(stage, 'paused by hand');
      note('stage passed', undefined, stage.name);
    }
    if (plan.postChecks.length > 0) setPhase('post_checks');
    for (const check of plan.postChecks) {
      const r = await checks.checkGate.executeWithOptions({ summary: `post-deploy check: ${check.name}` }, [plan.service, plan.version, check]);
      note(r.ok ? 'post check passed' : 'post check failed', undefined, `${check.name}: ${r.detail}`);
      if (!r.ok) throw new Stop('fail', `post-deploy check ${check.name} failed: ${r.detail}`);
    }
  };

  // The release's own deadline: when it fires, whatever is running is cancelled and undone.
  void wf.CancellationScope.nonCancellable(() => wf.sleep(plan.maxDurationMs, { summary: 'max deployment duration' } as wf.TimerOptions)).then(() => {
    if (state.status !== 'running' || stop) return;
    stop = new Stop('timeout', `the release ran past max_deployment_duration_minutes (${Math.round(plan.maxDurationMs / 60000)} min)`);
    note('max duration reached');
    main.cancel();
  });

  let failure: Stop | null = null;
  let cancelledFromOutside = false;
  try {
    await main.run(body);
  } catch (err) {
    if (err instanceof Stop) failure = err;
    else if (wf.isCancellation(err)) {
      if (stop) failure = stop;
      else {
        cancelledFromOutside = true;
        failure = new Stop('rollback', 'the workflow was cancelled');
      }
    } else failure = new Stop('fail', `step failed: ${(err as Error).message}`);
  }

  let incident: string | undefined;
  if (!failure) {
    setPhase('succeeded', 'succeeded');
    note('succeeded');
    if (plan.notifyOnComplete) notify('succeeded', `${plan.service} ${plan.version} is live at ${state.trafficPercent} %`);
  } else {
    const f = failure;
    setPhase('rolling_back');
    note('rolling back', f.by, f.why);
    // Undo first (users first), then tell people.
    await wf.CancellationScope.nonCancellable(async () => {
      for (const step of [...undo].reverse()) {
        await step.run();
        note('undone', undefined, step.name);
      }
    });
    const changed = undo.length > 0;
    const status: Status = cancelledFromOutside ? 'cancelled' : f.kind === 'reject' ? 'rejected' : changed ? 'rolled_back' : 'failed';
    setPhase(status, status);
    note(status, f.by, f.why);
    await wf.CancellationScope.nonCancellable(async () => {
      notify(changed ? 'rolled_back' : 'failed', `${plan.service} ${plan.version} ${status.replace('_', ' ')}: ${f.why}`, state.lastVerdict ? describeVerdict(state.lastVerdict) : undefined);
      if (f.kind === 'breach' || f.kind === 'fail') {
        incident = await judging.openIncident
          .executeWithOptions({ summary: 'open incident' }, [
            {
              releaseId: info.workflowId, service: plan.service, version: plan.version,
              title: `${plan.service} ${plan.version} rolled back: ${state.stage ?? 'before rollout'}`,
              evidence: state.lastVerdict ? describeVerdict(state.lastVerdict) : f.why,
              rootCauseHint: rootCauseHint(plan, state, f.why),
              at: Date.now(),
            },
          ])
          .catch((err) => {
            note('incident failed', undefined, (err as Error).message);
            return undefined;
          });
        if (incident) note('incident opened', undefined, incident);
      }
    });
  }
  await wf.CancellationScope.nonCancellable(() => noticeChain);
  const result: ReleaseResult = {
    status: state.status,
    version: plan.version,
    trafficPercent: state.trafficPercent,
    reason: failure ? failure.why : 'released',
    lastVerdict: state.lastVerdict,
    ...(incident ? { incident } : {}),
  };
  if (cancelledFromOutside) throw new wf.CancelledFailure('release cancelled; compensations ran');
  return result;
}
