// The activities the release workflow calls, as types only: activities/ implements them from providers,
// time-skipping tests implement them as stubs. Everything crossing this line is secret-free and serializable.
import type { Criteria, GuardBreach, MetricFinding, Verdict } from './verdict';
import type { AbTestPlan, ChangesSource, Gate, Dependency, ReleaseCalendar, ReleaseWindow } from './plan';
import type { TrafficTarget, TrafficState, FlagState, DeployCheckReport } from './world';
import type { Notice, IncidentInput } from './notice';

/**
 * What the workflow hands the incident activity: the release's facts, bounded and secret-free. Every
 * field beyond IncidentInput is optional, so an activity started by an older workflow still opens one.
 * The activity reads the logs for `window` itself (no log text passes through workflow history).
 */
export interface IncidentRequest extends IncidentInput {
  previousVersion?: string | null;
  strategy?: string;
  /** the stage it stopped at, e.g. "canary 5 %" */
  stage?: string;
  regions?: string[];
  trafficPercent?: number;
  /** the last verdict's findings: what regressed, canary vs baseline, against which limit */
  findings?: MetricFinding[];
  /** epoch ms: the canary's time in production, the window its logs are read for */
  window?: { from: number; to: number };
  /** a person asked for the rollback (not a breach or a failure) */
  manual?: { by?: string; why: string };
  /** the undo finished and every step succeeded: sinks that can resolve an incident do */
  rollbackFinished?: boolean;
  /** the release in the Temporal Web UI */
  url?: string;
  /** what the release brought: "Changes: 2 features, 1 bug fix — #21 …" */
  changes?: string;
}

/** What a guard or a judge watches: one service's canary and baseline during one stage, against its limits. */
export interface Watch {
  service: string;
  /** by-region releases: one region */
  region?: string;
  version: string;
  previousVersion: string | null;
  stage: string;
  criteria: Criteria;
}

export interface GuardInput extends Watch {
  pollIntervalS: number;
  /** epoch ms: watch metrics from here */
  from: number;
  /** epoch ms: give up (answer quiet) here; the workflow's window timer is the real authority */
  deadline: number;
}

export type GuardOutcome = { kind: 'breach'; breach: GuardBreach; at: number; polls: number } | { kind: 'quiet'; polls: number };

/** What a release brings: its merged pull requests between the serving version and this one, by kind. */
export interface ReleaseChanges {
  /** "5 features, 3 bug fixes, 1 other change" */
  summary: string;
  features: number;
  fixes: number;
  other: number;
  /** commits without a merged pull request */
  direct: number;
  /** the first few, titles bounded (text from people: escaped wherever shown) */
  items: { kind: 'feature' | 'fix' | 'other'; number: number; title: string; url: string }[];
  /** the compare page */
  url: string | null;
}

/** An A/B test's poll loop: conversions of A (previousVersion) and B (version) since `from`, decided at every poll. */
export interface AbTestInput {
  service: string;
  region?: string;
  version: string;
  previousVersion: string | null;
  plan: AbTestPlan;
  pollIntervalS: number;
  /** epoch ms: the split began */
  from: number;
}

/** How an A/B test ended, with its numbers (judge/ab's AbDecision, minus what only it needs). */
export interface AbTestOutcome {
  kind: 'ship_b' | 'keep_a' | 'stop_srm';
  text: string;
  rateA: number;
  rateB: number;
  lift: number;
  liftLow: number;
  liftHigh: number;
  visitsA: number;
  visitsB: number;
  polls: number;
}

export interface JudgeInput extends Watch {
  intervalS: number;
  from: number;
  to: number;
}

export interface CheckResult {
  ok: boolean;
  detail: string;
}

/** When the release calendar lets a step start (./release-calendar in activities). */
export interface CalendarSlot {
  /** epoch ms the step may start (now, when it may start now) */
  at: number;
  /** why it cannot start now, in words a person acts on; null when it can */
  why: string | null;
  /** the freeze that holds it, when one does */
  freeze?: { reason: string; until: number };
}

/** What a gate may need of the plan: the serving version (for review_done) and the dependencies (for rollback_plan). */
export interface GateContext {
  previousVersion: string | null;
  dependencies: Array<Pick<Dependency, 'name' | 'kind' | 'args' | 'undo'>>;
}

/** What one notice did: each notifier's ref (e.g. the Slack message ts, so the next notice updates the
 * same message) and the notifiers that failed after their bounded retries. */
export interface NoticeReceipt {
  refs: Record<string, string>;
  failed: { notifier: string; error: string }[];
}

export interface ReleaseActivities {
  /** `context` is absent in releases started before it was passed */
  checkGate(service: string, version: string, gate: Gate, context?: GateContext): Promise<CheckResult>;
  nextWindowStart(window: ReleaseWindow, nowMs: number): Promise<number>;
  /** when a step of `needMs` may start by the release calendar (window and freezes), and why not now */
  releaseSlot(calendar: ReleaseCalendar, nowMs: number, needMs: number): Promise<CalendarSlot>;
  runStep(service: string, version: string, step: Pick<Dependency, 'name' | 'kind' | 'args'>): Promise<string>;
  servingVersion(target: TrafficTarget): Promise<string | null>;
  /** the deployer lifecycle's shift (named setTraffic since the first histories were recorded) */
  setTraffic(target: TrafficTarget, percent: number): Promise<TrafficState>;
  /** the new version up beside the serving one, no traffic; resolves when it reports ready */
  prepare(target: TrafficTarget): Promise<{ detail: string }>;
  /** a gate against target.version's own endpoint (`{endpoint}`), before users are routed to it */
  smokeCheck(target: TrafficTarget, gate: Gate): Promise<CheckResult>;
  /** the new version becomes the stable one */
  promote(target: TrafficTarget): Promise<TrafficState>;
  /** capacity that carries no traffic any more released */
  retire(target: TrafficTarget): Promise<{ detail: string }>;
  /** all traffic back to the previous version in one call */
  revert(target: TrafficTarget): Promise<TrafficState>;
  /** every named service's deployer: reach, find, may (never throws; reports) */
  checkDeployers(services: string[]): Promise<DeployCheckReport[]>;
  getFlagState(service: string, flag: string): Promise<FlagState>;
  setFlag(service: string, flag: string, percent: number): Promise<FlagState>;
  restoreFlag(service: string, state: FlagState): Promise<FlagState>;
  guard(input: GuardInput): Promise<GuardOutcome>;
  /** the release's changes, from GitHub's compare API and each commit's pull requests */
  releaseChanges(source: ChangesSource, service: string, version: string, previousVersion: string | null): Promise<ReleaseChanges>;
  /** polls an A/B test's conversions until judge/ab decides (ship B, keep A, a sample ratio mismatch) or its maximum duration */
  abTest(input: AbTestInput): Promise<AbTestOutcome>;
  judge(input: JudgeInput): Promise<Verdict>;
  /** one activity per notice, fanned out to every notifier inside it: a notice costs 3 history events, whatever the number of notifiers */
  notify(notifiers: string[], notice: Notice, refs: Record<string, string>): Promise<NoticeReceipt>;
  openIncident(incident: IncidentRequest): Promise<string>;
}
