// The resolved, secret-free release plan the workflow executes, and the request that started it.
// Built outside the workflow (config/resolve.ts) and passed in whole, so a config change never alters a
// running release and replay never depends on files.
import type { Criteria } from './verdict';
import type { ServiceLockPlan } from './service-busy';

/** ab: B beside A at 50 % for the window, kept only if the judge finds it no worse than A */
export type Strategy = 'canary' | 'blue-green' | 'ab' | 'flag-ramp';
export type Source = 'cli' | 'slack' | 'jira' | 'schedule' | 'api' | 'email' | 'unleash' | 'launchdarkly';

export interface ReleaseRequest {
  service: string;
  version: string;
  strategy: Strategy;
  requestedBy: string;
  source: Source;
  reason?: string;
}

/** What one stage changes in the world. */
export type StageAction = { kind: 'traffic'; percent: number } | { kind: 'flag'; flag: string; percent: number };

export interface StagePlan {
  /** e.g. "canary 5 %" */
  name: string;
  action: StageAction;
  /** monitoring window; 0 = no watch (a final 100 % step without criteria) */
  durationMs: number;
  criteria: Criteria;
  /** a team approval is required before this stage starts */
  approval: boolean;
  /** all previous stages must have passed their judge (not just not failed) */
  requirePreviousPass: boolean;
}

/** What a gate or post check is about; its args say how it is checked (a command or a URL). */
export const GATE_KINDS = ['tests_passed', 'review_done', 'migrations_tested', 'benchmarks_ok', 'rollback_plan', 'command', 'http'] as const;
export type GateKind = (typeof GATE_KINDS)[number];
/** How a dependency step (or its undo) runs. */
export const STEP_KINDS = ['command', 'webhook', 'noop'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export interface Gate {
  name: string;
  kind: GateKind;
  args?: Record<string, string | number | boolean | string[]>;
}

export interface Dependency {
  name: string;
  kind: StepKind;
  args?: Record<string, string | number | boolean | string[]>;
  /** runs on undo, if declared (e.g. a down-migration) */
  undo?: { kind: StepKind; args?: Record<string, string | number | boolean | string[]> };
}

export interface ReleaseWindow {
  /** days allowed, 0 = Sunday */
  days: number[];
  /** "15:00" local to `timeZone` */
  start: string;
  /** "17:00" local to `timeZone` */
  end: string;
  timeZone: string;
  /**
   * What the window's end means for a stage: `hold` (default), a stage starts only if it ends before the
   * window closes, else the release holds, guarded, until the next opening; `finish`, a stage that starts
   * inside the window may run past its end. Absent in plans made before the calendar: `hold`.
   */
  atEnd?: 'hold' | 'finish';
}

/**
 * A time nothing is released in: a date range (`from`/`to`, inclusive), a yearly range (`yearly`, MM-DD),
 * weekdays, and times of day (`after` / `before`, HH:MM), all in `timeZone`; every part given must hold.
 */
export interface Freeze {
  reason: string;
  timeZone: string;
  from?: string;
  to?: string;
  yearly?: { from: string; to: string };
  days?: number[];
  after?: string;
  before?: string;
}

/**
 * Approvals by quorum: `required` approvals by distinct people; with `fromGroups`, at least one of them
 * through each of those approver groups (as the Slack app verified it: the approval's `via`). A reminder
 * goes to the thread after `remindAfterMs`, and to `escalateTo` after `escalateAfterMs`.
 */
export interface ApprovalPolicy {
  required: number;
  fromGroups: string[];
  remindAfterMs?: number;
  escalateAfterMs?: number;
  escalateTo?: string;
}

/** What the release calendar activity is asked about. */
export interface ReleaseCalendar {
  window: ReleaseWindow | null;
  freezes?: Freeze[];
}

export type InconclusivePolicy = 'extend-then-pause' | 'pause' | 'rollback';

export interface ReleasePlan {
  service: string;
  version: string;
  /** serving before the release; null = discovered by the deployer at run time */
  previousVersion: string | null;
  strategy: Strategy;
  stages: StagePlan[];
  /** roll out by region, in parallel; absent or empty = the service's one default region */
  regions?: string[];
  gates: Gate[];
  dependencies: Dependency[];
  postChecks: Gate[];
  window: ReleaseWindow | null;
  /** freezes (absent in plans made before the calendar: none) */
  freezes?: Freeze[];
  /** a release that meets a freeze waits for its end (default), or is refused; an approver may override either */
  onFreeze?: 'wait' | 'refuse';
  /** approval before anything changes (release_management.approval_required) */
  approvalRequired: boolean;
  approvers: string[];
  approvalTimeoutMs: number;
  /** a quorum for every approval gate (absent: one approver is enough) */
  approvalPolicy?: ApprovalPolicy;
  pollIntervalS: number;
  inconclusive: InconclusivePolicy;
  /** how much longer an INCONCLUSIVE window is extended, once */
  extensionMs: number;
  autoRollback: boolean;
  maxDurationMs: number;
  notifyOnStart: boolean;
  notifyOnComplete: boolean;
  /** notifier names the worker has built from config (console, file, slack, email) */
  notifiers: string[];
  /** link base of the Temporal Web UI, to put in notices */
  webUiUrl?: string;
  /**
   * Flag ramps only: what the metrics source is asked for. `variants`: the users with the flag on (the
   * canary side, `flag:<name>=on`) against those with it off (the baseline, `flag:<name>=off`), judged
   * like a release, ratios included. Absent: the serving version's own metrics on absolute limits.
   */
  flagWatch?: 'variants';
  /**
   * Who may steer the release and how the workflow tells: the public keys commands must be signed with.
   * Absent in plans built before signed commands: read as signing required with no keys (fail closed).
   */
  commandAuth?: CommandAuth;
  /**
   * After the last stage (and the post checks): how long the new version serves at full traffic with the
   * previous one kept warm and the guard watching, so a revert is one call. Absent or 0: none (plans made
   * before the bake, flag ramps).
   */
  bakeMs?: number;
  /** Checks run against the new version's own endpoint ({endpoint}) once it is ready, before any user reaches it. */
  smokeChecks?: Gate[];
  /**
   * Regions in waves: each wave's regions in parallel, each region a child workflow with its own stages;
   * a wave starts when the one before succeeded. Absent: `regions` (if any) all take the same stages at once.
   */
  waves?: RegionPlan[][];
  /** with waves: a region's failure rolls every region back, or stops the release keeping the regions done */
  onRegionFailure?: 'rollback' | 'stop';
  /** a region's child release: the parent release it reports to (its notices become the parent's region progress) */
  parent?: { workflowId: string; region: string };
  /** where the release's changes are read (the pull requests between the serving version and this one); absent: not listed */
  changes?: ChangesSource;
  /** gates older than this when the rollout would begin (after a window or an approval wait) are checked again; absent: never */
  gatesMaxAgeMs?: number;
  /** one thing at a time per service: the service this release holds while it runs (absent in plans made before it) */
  serviceLock?: ServiceLockPlan;
  /** strategy ab: the first stage is a test of B against A on a business metric (absent in plans made before it) */
  ab?: AbTestPlan;
}

/** The pull requests a release brings, as GitHub lists them between two refs, sorted by label. */
export interface ChangesSource {
  repo: string;
  /** how a version names its commit, e.g. "release-${version}"; default the version itself */
  ref?: string;
  featureLabels: string[];
  fixLabels: string[];
}

/** One region of a rollout by waves: its stages, already capped at its max_percent. */
export interface RegionPlan {
  region: string;
  stages: StagePlan[];
  /** how far this release takes the region (its last stage's share) */
  maxPercent: number;
}

/** An A/B test's rules (judge/ab decides by them at every poll; both of its tests are always valid). */
export interface AbTestPlan {
  /** B's share of visits, 0..1: the first stage's traffic */
  weightB: number;
  alpha: number;
  /** smallest relative lift worth detecting, e.g. 0.03 */
  minDetectableEffect: number;
  /** relative lift B must show to ship (with nonInferiority: how much worse it may be) */
  margin: number;
  nonInferiority: boolean;
  /** undecided by then: keep A */
  maxDurationMs: number;
  /** the sample-ratio-mismatch check's level */
  srmAlpha: number;
}

/** A public key the workflow verifies commands with; public keys are not secrets, so they ride in the plan. */
export interface CommandSigner {
  /** raw 32-byte Ed25519 public key, base64 */
  publicKey: string;
  /**
   * A front end (the Slack app) that verified the person itself: it may sign for anyone, who must still be
   * an approver. Otherwise the key is one person's and signs only for `by` equal to its name.
   */
  frontEnd: boolean;
}

export interface CommandAuth {
  /** false: commands are taken as they come (a team relying on Temporal namespace RBAC alone) */
  requireSigned: boolean;
  /** signer name → key; a person's key is named as the person (`by`) */
  signers: Record<string, CommandSigner>;
  /** may steer every release, also of a service whose approvers list is empty */
  releaseManagers: string[];
  /** a signature older than this (against workflow time) is refused */
  maxAgeMs: number;
  /** a signature dated more than this ahead of workflow time is refused */
  futureSkewMs: number;
}

/** The metrics sides of a flag ramp judged by variant (see ReleasePlan.flagWatch). */
export function flagVariantSides(flag: string): { version: string; previousVersion: string } {
  return { version: `flag:${flag}=on`, previousVersion: `flag:${flag}=off` };
}

export interface ReleaseInput {
  request: ReleaseRequest;
  plan: ReleasePlan;
}

export const percentLabel = (p: number): string => `${p} %`;

export function stageLabel(strategy: Strategy, action: StageAction): string {
  if (action.kind === 'flag') return `${action.flag} ${percentLabel(action.percent)}`;
  if (strategy === 'ab') return action.percent >= 100 ? 'keep B at 100 %' : `A/B ${percentLabel(action.percent)}`;
  if (strategy === 'blue-green') return action.percent >= 100 ? 'switch to green' : `green ${percentLabel(action.percent)}`;
  return action.percent >= 100 ? 'full rollout 100 %' : `canary ${percentLabel(action.percent)}`;
}
