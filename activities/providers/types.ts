// The small interfaces every provider implements. One file per system under deployers/, metrics/,
// flags/, notifiers/, incidents/, each with its test beside it; factory.ts maps config to instances.
// Providers run in activities (never in workflow code) and read their secrets from the worker's env.
import type { ConversionSample, IntervalSample } from '../../contract/verdict';
import type { TrafficTarget, TrafficState, FlagState, DeployCheck } from '../../contract/world';
import type { Notice } from '../../contract/notice';
import type { LogEvent, Signature } from './logs/signatures';
import type { IncidentRequest } from '../../contract/activities';

// The boundary types, re-exported so each provider imports its whole interface from one file.
export type { TrafficTarget, TrafficState, FlagState, DeployCheck } from '../../contract/world';
export type { Notice, NoticeKind, IncidentInput } from '../../contract/notice';

/**
 * The deployer lifecycle: prepare → shift … → promote → retire, and revert at any time while the previous
 * version is still there. Every call sets an absolute state and is safe to call twice (a retry after a
 * crash): no call takes a delta, and none fails because its state is already reached.
 */
export interface Deployer {
  readonly name: string;
  /**
   * Brings target.version up beside the serving version with no traffic, and resolves only when it
   * reports ready (readiness, not "created"). A version that cannot become ready (the image cannot be
   * pulled, the progress deadline passed) throws a non-retryable ApplicationFailure of type
   * `DeployNotReady` saying why; a platform that is merely slow or down throws a retryable error.
   */
  prepare(target: TrafficTarget): Promise<{ detail: string }>;
  /** Routes `percent` % (0..100) of traffic to target.version and the rest to target.previousVersion. */
  shift(target: TrafficTarget, percent: number): Promise<TrafficState>;
  /** target.version becomes the stable version: the stable side runs it at 100 %, the canary side emptied. */
  promote(target: TrafficTarget): Promise<TrafficState>;
  /** Releases the capacity that carries no traffic any more (the canary side after a revert, the old side after a promote). */
  retire(target: TrafficTarget): Promise<{ detail: string }>;
  /** All traffic back to target.previousVersion in one call, while it is still there. */
  revert(target: TrafficTarget): Promise<TrafficState>;
  /** What is serving now (for status and for proving undo); null when nothing is known. */
  currentTraffic(target: TrafficTarget): Promise<TrafficState | null>;
  /**
   * A URL that reaches target.version alone, whatever the traffic split (green's own endpoint), for smoke
   * checks before any user is routed to it; null when the platform has none.
   */
  endpoint?(target: TrafficTarget): Promise<string | null>;
  /** Reach, find, may: never throws, reports (for `quad config check --live` and the worker's start). */
  check(service: string): Promise<DeployCheck[]>;
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
  /**
   * An A/B test's business metric: visits and conversions of the previous version (A, query.previousVersion)
   * and the new one (B, query.version) over [from, to), summed. Absent on a source that measures no conversion.
   */
  conversions?(query: Omit<MetricsQuery, 'intervalS'>): Promise<ConversionSample>;
}

export interface FlagProvider {
  readonly name: string;
  getState(flag: string): Promise<FlagState>;
  /** create the flag if missing, turn it on, put `percent` % of users in */
  setRollout(flag: string, percent: number): Promise<FlagState>;
  /** put the flag back exactly as `state` was */
  restore(state: FlagState): Promise<FlagState>;
}

export interface Notifier {
  readonly name: string;
  /** may return a ref (e.g. a Slack message ts) that comes back as notice.ref on the next notice */
  notify(notice: Notice): Promise<void | { ref?: string }>;
}

export type { IncidentRequest } from '../../contract/activities';

/** What a sink receives: the workflow's request plus what the activity read from the logs. */
export interface Incident extends IncidentRequest {
  /** the top log signatures, new in the canary or far more frequent there, canary vs baseline counts */
  signatures?: Signature[];
  /** why there are no signatures, or that the logs were cut (e.g. "logs: none configured") */
  logNote?: string;
}

export interface IncidentSink {
  readonly name: string;
  /**
   * Returns an id or URL of the incident. Opening the same incident again (a retried activity: same
   * releaseId and `at`) must not open a second one: each sink dedups by a key derived from them.
   */
  open(incident: Incident): Promise<string>;
  /** Marks the incident `open` returned as resolved (the rollback finished); sinks with no such notion omit it. */
  resolve?(incident: Incident, ref: string): Promise<void>;
}

export type { LogEvent, LogLevel, Signature } from './logs/signatures';

/** One version's log lines in a window: the canary's and the baseline's are asked for separately. */
export interface LogQuery {
  service: string;
  version: string;
  region?: string;
  /** epoch ms, inclusive / exclusive */
  from: number;
  to: number;
  /** at most this many lines come back (the rest are counted as truncated) */
  limit: number;
}

export interface LogBatch {
  events: LogEvent[];
  /** every line the version wrote in the window, when the source knows it (the volume rates compare against) */
  total?: number;
  /** more lines matched than `limit` */
  truncated: boolean;
}

export interface LogSource {
  readonly name: string;
  fetch(query: LogQuery): Promise<LogBatch>;
}

/** The lifecycle's first name, kept for the deployers written against it. */
export type DeployerLifecycle = Deployer;
