// The small interfaces every provider implements. One file per system under deployers/, metrics/,
// flags/, notifiers/, incidents/, each with its test beside it; factory.ts maps config to instances.
// Providers run in activities (never in workflow code) and read their secrets from the worker's env.
import type { IntervalSample } from '../../contract/verdict';
import type { TrafficTarget, TrafficState, FlagState, DeployCheck } from '../../contract/world';
import type { Notice, IncidentInput } from '../../contract/notice';

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

export interface IncidentSink {
  readonly name: string;
  /** returns an id or URL of the incident */
  open(incident: IncidentInput): Promise<string>;
}

/** The lifecycle's first name, kept for the deployers written against it. */
export type DeployerLifecycle = Deployer;
