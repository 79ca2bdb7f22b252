// The small interfaces every provider implements. One file per system under deployers/, metrics/,
// flags/, notifiers/, incidents/, each with its test beside it; factory.ts maps config to instances.
// Providers run in activities (never in workflow code) and read their secrets from the worker's env.
import type { IntervalSample } from '../../contract/verdict';
import type { TrafficTarget, TrafficState, FlagState } from '../../contract/world';
import type { Notice, IncidentInput } from '../../contract/notice';

// The boundary types, re-exported so each provider imports its whole interface from one file.
export type { TrafficTarget, TrafficState, FlagState } from '../../contract/world';
export type { Notice, NoticeKind, IncidentInput } from '../../contract/notice';

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
