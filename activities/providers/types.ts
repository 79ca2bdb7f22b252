// The small interfaces every provider implements. One file per system under deployers/, metrics/,
// flags/, notifiers/, incidents/, each with its test beside it; factory.ts maps config to instances.
// Providers run in activities (never in workflow code) and read their secrets from the worker's env.
import type { IntervalSample } from '../../workflows/types';

/** Who and what a deploy step is about: everything a deployer needs, nothing secret. */
export interface TrafficTarget {
  service: string;
  /** the version being released (canary side) */
  version: string;
  /** the version currently serving (baseline side); null for a first release */
  previousVersion: string | null;
  /** for region rollouts; undefined = the service's only / default region */
  region?: string;
}

export interface TrafficState {
  /** percent of traffic on `version` (0..100) */
  percent: number;
  version: string;
  previousVersion: string | null;
}

/** Moves traffic. Must be idempotent: it sets an absolute split, never a delta. */
export interface Deployer {
  readonly name: string;
  /** route `percent` % of traffic to target.version, the rest to target.previousVersion */
  setTraffic(target: TrafficTarget, percent: number): Promise<TrafficState>;
  /** what is serving now (for status and for proving undo) */
  currentTraffic(target: TrafficTarget): Promise<TrafficState | null>;
}

/** The window the metrics are asked for. */
export interface MetricsQuery {
  service: string;
  version: string;
  previousVersion: string | null;
  region?: string;
  /** epoch ms, inclusive / exclusive */
  from: number;
  to: number;
  /** interval length in seconds (one sample per interval) */
  intervalS: number;
}

export interface MetricsSource {
  readonly name: string;
  /** one sample per interval in [from, to), oldest first; sides with no data come back null */
  fetch(query: MetricsQuery): Promise<IntervalSample[]>;
}

/** A flag's full state in one environment, enough for undo to restore it exactly. */
export interface FlagState {
  flag: string;
  exists: boolean;
  enabled: boolean;
  /** percent of users in the rollout (0..100), null when the flag has no percentage rollout */
  rolloutPercent: number | null;
  /** provider-specific snapshot of everything else (strategies, variations); opaque to the workflow */
  snapshot?: unknown;
}

export interface FlagProvider {
  readonly name: string;
  getState(flag: string): Promise<FlagState>;
  /** create the flag if missing, turn it on, put `percent` % of users in */
  setRollout(flag: string, percent: number): Promise<FlagState>;
  /** put the flag back exactly as `state` was */
  restore(state: FlagState): Promise<FlagState>;
}

export type NoticeKind =
  | 'started' | 'awaiting_approval' | 'approved' | 'rejected' | 'stage_started' | 'stage_passed'
  | 'paused' | 'resumed' | 'breach' | 'rolling_back' | 'rolled_back' | 'succeeded' | 'failed';

/** What a notifier is told: one release's state at one moment. Secret-free, serializable. */
export interface Notice {
  kind: NoticeKind;
  releaseId: string;
  service: string;
  version: string;
  strategy: string;
  requestedBy: string;
  /** stage label, e.g. "canary 25 %" */
  stage?: string;
  trafficPercent?: number;
  /** one line a person reads */
  text: string;
  /** verdict / breach explanation with numbers */
  detail?: string;
  at: number;
  /** link to the release in the Temporal Web UI, when known */
  url?: string;
  /** what this notifier returned for the previous notice of the release (e.g. a Slack message ts) */
  ref?: string;
}

export interface Notifier {
  readonly name: string;
  /** may return a ref (e.g. a Slack message ts) that comes back as notice.ref on the next notice */
  notify(notice: Notice): Promise<void | { ref?: string }>;
}

export interface IncidentInput {
  releaseId: string;
  service: string;
  version: string;
  title: string;
  evidence: string;
  rootCauseHint: string;
  at: number;
}

export interface IncidentSink {
  readonly name: string;
  /** returns an id or URL of the incident */
  open(incident: IncidentInput): Promise<string>;
}
