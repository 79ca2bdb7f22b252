// Signals, updates and the query of the release workflow, shared by the workflow and its clients.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Verdict, VerdictKind } from './verdict';
import type { AbTestOutcome, ReleaseChanges } from './activities';

export interface Actor {
  by: string;
  reason?: string;
  /**
   * The `group:` approver entry through which a client found `by` allowed. Only the Slack app sets it,
   * after asking Slack for the group's members: the workflow cannot call Slack, so it accepts a group
   * entry that its plan names, and nothing else.
   */
  via?: string;
  /**
   * The gate or stage the person saw when they acted (see commandStage): a command aimed at another one
   * (a double click that lands after the gate moved on, a replayed click) is refused.
   */
  stage?: string;
  /** the signature over this command (see contract/command-signature.ts); required unless the plan turns it off */
  signed?: CommandSignature;
}

/** Who signed, for which release and run, and when; `sig` covers these and the command (commandMessage). */
export interface CommandSignature {
  /** the signer's name in config (a person, or a front end such as slack-app) */
  key: string;
  workflowId: string;
  runId: string;
  /** epoch ms on the signer's clock */
  at: number;
  /** Ed25519 signature, base64 */
  sig: string;
}

/** `revert`: during the bake after a full rollout, all traffic back to the previous version (still warm) in one call. */
export type Command = 'approve' | 'reject' | 'rollback' | 'pause' | 'resume' | 'promote' | 'revert';
export const COMMANDS: Command[] = ['approve', 'reject', 'rollback', 'pause', 'resume', 'promote', 'revert'];

export const approveSignal = defineSignal<[Actor]>('approve');
export const rejectSignal = defineSignal<[Actor]>('reject');
export const rollbackSignal = defineSignal<[Actor]>('rollback');
export const pauseSignal = defineSignal<[Actor]>('pause');
export const resumeSignal = defineSignal<[Actor]>('resume');
export const promoteSignal = defineSignal<[Actor]>('promote');
export const revertSignal = defineSignal<[Actor]>('revert');

export const SIGNALS = {
  approve: approveSignal,
  reject: rejectSignal,
  rollback: rollbackSignal,
  pause: pauseSignal,
  resume: resumeSignal,
  promote: promoteSignal,
  revert: revertSignal,
} as const;

/** The same commands as an update, so a caller (Slack button, CLI) learns at once whether it was accepted. */
export interface CommandResult {
  accepted: boolean;
  message: string;
}
export const commandUpdate = defineUpdate<CommandResult, [Command, Actor]>('command');

export type Phase =
  | 'planning'
  | 'validating'
  | 'waiting_window'
  /** another release or flag ramp holds the service (deployments.when_service_busy: wait) */
  | 'waiting_service'
  | 'awaiting_approval'
  | 'dependencies'
  | 'rolling_out'
  | 'paused'
  | 'post_checks'
  /** fully rolled out, the previous version kept warm and the guard watching: a revert is one call */
  | 'baking'
  | 'rolling_back'
  | 'succeeded'
  | 'rolled_back'
  | 'failed'
  | 'rejected'
  | 'cancelled'
  | 'rollback_failed';

/** `rollback_failed`: an undo step kept failing after its retries; a person must finish the rollback by hand. */
export type Status = 'running' | 'succeeded' | 'rolled_back' | 'failed' | 'rejected' | 'cancelled' | 'rollback_failed';

/**
 * How a watched stage ended: `passed` on its judge's PASS; `promoted` by hand before or instead of one;
 * `resumed` by hand after an INCONCLUSIVE or FAIL (auto-rollback off). Only `passed` counts as a pass for
 * a later stage with all_previous_checks_pass.
 */
export interface StageResult {
  stage: string;
  outcome: 'passed' | 'promoted' | 'resumed';
  verdict: VerdictKind | null;
}

export interface TimelineEntry {
  at: number;
  event: string;
  by?: string;
  detail?: string;
}

export interface ReleaseStatus {
  service: string;
  version: string;
  previousVersion: string | null;
  strategy: string;
  requestedBy: string;
  startedAt: number;
  phase: Phase;
  status: Status;
  stageIndex: number;
  stageCount: number;
  stage: string | null;
  trafficPercent: number;
  /** when the current monitoring window ends (epoch ms), while watching */
  windowEndsAt: number | null;
  lastVerdict: Verdict | null;
  /** `via`: the approver group it was given through, when a front end verified one */
  approvals: { by: string; at: number; stage: string; via?: string }[];
  /** the gate an approval would open now ("release" or a stage name), if one waits */
  awaitingApproval?: string | null;
  paused: boolean;
  timeline: TimelineEntry[];
  /** each watched stage's outcome so far (absent in releases started before it was recorded) */
  stageResults?: StageResult[];
  /** while paused: why, in words a person acts on */
  pauseReason?: string | null;
  /** when the rollback could not finish: which undo steps failed and why; a person must act */
  actionRequired?: string | null;
  /** a rollout by waves: every region's progress, as its child release reports it */
  regions?: Record<string, RegionProgress>;
  /** what the release brings (its pull requests by kind), when the service lists where to read them */
  changes?: ReleaseChanges | null;
  /** an A/B test's decision, with its numbers, once made */
  abTest?: AbTestOutcome | null;
  /** while baking: when the bake ends and the previous version is retired (epoch ms) */
  bakeEndsAt?: number | null;
  /** how long the undo took, from the stop to the last undo step done (a revert during bake: one call) */
  undoMs?: number | null;
}

export interface RegionProgress {
  wave: number;
  /** waiting for its wave, or the child's phase, then how it ended */
  phase: Phase | 'waiting';
  status: Status | 'waiting';
  stage: string | null;
  trafficPercent: number;
  /** how far this release takes it */
  maxPercent: number;
  /** what served in the region before (read in that region) */
  previousVersion: string | null;
  /** the child release's workflow id */
  workflowId: string;
  /** the latest line it reported */
  latest: string | null;
}

/** A region's child release reports its progress to the parent (its notices, as they happen). */
export interface RegionReport {
  region: string;
  kind: string;
  text: string;
  phase: Phase;
  stage: string | null;
  trafficPercent: number;
  previousVersion: string | null;
}
export const regionReportSignal = defineSignal<[RegionReport]>('regionReport');

export const statusQuery = defineQuery<ReleaseStatus>('status');

/** The success notice's figures: the last watched window, against the SLA (the stage's limits) and the previous version. */
export interface SuccessFigures {
  errorRatePct: number | null;
  errorRateBeforePct: number | null;
  errorRateSlaPct: number | null;
  p95Ms: number | null;
  p95BeforeMs: number | null;
  p95SlaMs: number | null;
  /** canary requests the last watched window was judged on */
  requestsJudged: number;
  /** from the release's start to its success */
  durationMs: number;
}

export interface ReleaseResult {
  status: Status;
  version: string;
  trafficPercent: number;
  reason: string;
  lastVerdict: Verdict | null;
  incident?: string;
  /** the rollback could not finish: what a person must do */
  actionRequired?: string;
  /** on success: the last watched window against the SLA and the previous version, and the duration */
  figures?: SuccessFigures;
  /** after a rollback or revert: from the stop to everything undone, in ms */
  undoMs?: number;
  /** what served before the release, as it found it */
  previousVersion?: string | null;
}
