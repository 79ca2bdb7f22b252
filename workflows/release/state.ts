// The one place a release's state lives: what the status query shows (phase, timeline, verdict), what
// the Web UI shows (search attributes, current details), the chain of notices and the undo stack. The
// message handlers and the main flow both act through it, never through loose variables.
import * as wf from '@temporalio/workflow';
import type { ReleaseInput, ReleasePlan, ReleaseRequest } from '../../contract/plan';
import { regionReportSignal, type Phase, type RegionReport, type ReleaseStatus, type Status } from '../../contract/messages';
import type { Notice, NoticeKind } from '../../contract/notice';
import type { FlagState, TrafficTarget } from '../../contract/world';
import { QuadStage, QuadStatus } from '../../contract/search-attributes';
import { notices } from './activities';
import type { Stop } from './stop';
import type { SuccessFigures } from './explain';

export interface UndoStep {
  name: string;
  run: () => Promise<unknown>;
}

/** The metrics sides a guard or judge compares: canary and baseline. */
export interface WatchedSides {
  version: string;
  previousVersion: string | null;
}

export class ReleaseState {
  /** the service this release holds (service-lock.ts): its busy child's scope, and when the child has closed */
  serviceHold: { scope: wf.CancellationScope; closed: Promise<void> } | null = null;
  readonly plan: ReleasePlan;
  readonly request: ReleaseRequest;
  readonly info = wf.workflowInfo();
  readonly status: ReleaseStatus;
  /** compensations, run in reverse on failure */
  readonly undo: UndoStep[] = [];
  /** the rollout's own scope: a rollback, rejection or deadline cancels it, never the undo */
  readonly main = new wf.CancellationScope();
  /** by region: every stage shifts, watches and judges each region in parallel; one bad region undoes all */
  readonly regions: (string | undefined)[];
  watched: WatchedSides;
  flagPrior: FlagState | null = null;
  /** the deployer's whole lifecycle is used (prepare, revert, promote, retire): releases since patch deployer-lifecycle */
  lifecycle = false;

  /** since patch signed-commands: commands are verified (verify-command.ts) and decided by the strict rules */
  strictCommands = false;
  /** signed commands already taken, by commandId → their time, kept while they could still verify */
  readonly usedCommands = new Map<string, number>();

  // what the message handlers asked for, read by the main flow
  approvedFor: string | null = null;
  stop: Stop | null = null;
  promoteRequested = false;
  resumeRequested = false;
  /** held by all_previous_checks_pass: only a hand promote goes on */
  held = false;
  /** time the release calendar held the release (not counted against max_deployment_duration), and the current hold's start */
  calendarWaitedMs = 0;
  /** the success notice's figures, once it succeeded */
  figures: SuccessFigures | null = null;
  calendarWaitingSince: number | null = null;

  private readonly refs: Record<string, string> = {};
  private noticeChain: Promise<void> = Promise.resolve();

  constructor({ request, plan }: ReleaseInput) {
    this.plan = plan;
    this.request = request;
    this.regions = plan.regions?.length ? plan.regions : [undefined];
    this.watched = { version: plan.version, previousVersion: plan.previousVersion };
    this.status = {
      service: plan.service,
      version: plan.version,
      previousVersion: plan.previousVersion,
      strategy: plan.strategy,
      requestedBy: request.requestedBy,
      startedAt: this.info.startTime.getTime(),
      phase: 'planning',
      status: 'running',
      stageIndex: -1,
      stageCount: plan.stages.length,
      stage: null,
      trafficPercent: 0,
      windowEndsAt: null,
      lastVerdict: null,
      approvals: [],
      awaitingApproval: null,
      paused: false,
      timeline: [],
      stageResults: [],
      pauseReason: null,
      actionRequired: null,
    };
  }

  /** the gate an approval would open now; shown in the status, so a client signs for the gate it saw */
  get awaitingApproval(): string | null {
    return this.status.awaitingApproval ?? null;
  }
  set awaitingApproval(what: string | null) {
    this.status.awaitingApproval = what;
  }

  note(event: string, by?: string, detail?: string): void {
    this.status.timeline.push({ at: Date.now(), event, ...(by ? { by } : {}), ...(detail ? { detail } : {}) });
  }

  /** The Web UI's "current details": the release at a glance. */
  details(): void {
    const s = this.status;
    const parts = [`**${this.plan.service} ${this.plan.version}** · ${this.plan.strategy} · ${s.phase}`];
    if (s.stage) parts.push(`stage ${s.stageIndex + 1}/${s.stageCount}: ${s.stage}`);
    parts.push(`traffic ${s.trafficPercent} %`);
    if (s.lastVerdict) parts.push(`last verdict ${s.lastVerdict.verdict}: ${s.lastVerdict.explanation}`);
    if (s.paused && s.pauseReason) parts.push(`paused: ${s.pauseReason}`);
    if (s.actionRequired) parts.push(`**act by hand:** ${s.actionRequired}`);
    wf.setCurrentDetails(parts.join('\n\n'));
  }

  setPhase(phase: Phase, status: Status = 'running'): void {
    this.status.phase = phase;
    this.status.status = status;
    wf.upsertSearchAttributes([
      { key: QuadStage, value: this.status.stage ?? phase },
      { key: QuadStatus, value: status },
    ]);
    this.details();
  }

  target(region?: string): TrafficTarget {
    return {
      service: this.plan.service,
      version: this.plan.version,
      // by waves, each region's own serving version, as its child read it
      previousVersion: (region && this.status.regions?.[region]?.previousVersion) || this.status.previousVersion,
      ...(region ? { region } : {}),
      // an A/B test splits by user (plans before it carry no ab: their targets are as they were)
      ...(this.plan.ab ? { sticky: true } : {}),
    };
  }

  notify(kind: NoticeKind, text: string, detail?: string, incident?: string): void {
    const { plan, info, status } = this;
    const notice: Notice = {
      kind,
      releaseId: info.workflowId,
      service: plan.service,
      version: plan.version,
      strategy: plan.strategy,
      requestedBy: this.request.requestedBy,
      text,
      at: Date.now(),
      ...(status.stage ? { stage: status.stage } : {}),
      trafficPercent: status.trafficPercent,
      ...(detail ? { detail } : {}),
      ...(incident ? { incident } : {}),
      ...(plan.webUiUrl ? { url: `${plan.webUiUrl}/namespaces/${info.namespace}/workflows/${encodeURIComponent(info.workflowId)}/${info.runId}` } : {}),
    };
    if (plan.parent) return this.reportToParent(kind, text);
    if (plan.notifiers.length === 0) return;
    // One at a time: each notice reads the refs its predecessor returned, so a Slack message is updated
    // in place rather than posted twice when two notices are close together.
    // Non-cancellable: a rollback cancels the rollout, never the notices about it.
    this.noticeChain = this.noticeChain.then(() =>
      wf.CancellationScope.nonCancellable(() => notices.notify.executeWithOptions({ summary: `notify ${kind}` }, [plan.notifiers, notice, { ...this.refs }]))
        .then((r) => {
          Object.assign(this.refs, r.refs);
          for (const f of r.failed) this.note(`notice to ${f.notifier} failed`, undefined, `${kind}: ${f.error}`);
        })
        .catch((err) => this.note('notice failed', undefined, `${kind}: ${(err as Error).message}`)),
    );
  }

  /** A region's child tells its parent instead of people; in order, and never failing the child. */
  private reportToParent(kind: NoticeKind, text: string): void {
    const { plan, status } = this;
    const report: RegionReport = {
      region: plan.parent!.region,
      kind,
      text,
      phase: status.phase,
      stage: status.stage,
      trafficPercent: status.trafficPercent,
      previousVersion: status.previousVersion,
    };
    const parent = wf.getExternalWorkflowHandle(plan.parent!.workflowId);
    this.noticeChain = this.noticeChain.then(() =>
      wf.CancellationScope.nonCancellable(() => parent.signal(regionReportSignal, report)).catch((err) =>
        this.note('report to parent failed', undefined, (err as Error).message),
      ),
    );
  }

  /** Every notice sent so far has been delivered (or reported as failed). */
  noticesSent(): Promise<void> {
    return wf.CancellationScope.nonCancellable(() => this.noticeChain);
  }
}
