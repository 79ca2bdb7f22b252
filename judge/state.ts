// The streaming guard's state: plain JSON, because it travels in activity heartbeat details (a
// retried guard activity resumes from its last heartbeat), and never mutated. Bounded in size: the
// continuous checks keep at most NOISE_MEMORY recent values.
import { ERROR_FACTORS } from './tuning';

export interface ErrorSegment {
  /** interval where the best-supported change started */
  from: number;
  canaryRequests: number;
  canaryErrors: number;
  baselineRequests: number;
  baselineErrors: number;
}

export interface ErrorScan {
  /** per alternative in ERROR_FACTORS: the scan statistic, max over starts (null before the first
   * usable interval); it names the segment the explanation shows */
  stat: (number | null)[];
  /** per alternative: log of the Shiryaev–Roberts sum over starts; their mean decides the alarm */
  sr: (number | null)[];
  segment: (ErrorSegment | null)[];
}

export interface ContinuousCheck {
  /** previous value and variance shape of each noise series, for first differences */
  prev: ([number, number] | null)[];
  /** standardised first differences (most recent NOISE_MEMORY) */
  diffs: number[];
  cusum: number;
  /** the noise scale learnt from `diffs` (kept so the next interval need not learn it again) */
  scale?: number;
  /** the intervals since the CUSUM last left zero: for the explanation */
  run: { from: number; z: number[]; canary: number[]; baseline: number[] } | null;
}

/** the guard state's continuous checks (latency, CPU, memory), one per limit: each is a ContinuousCheck */
export type ContinuousKey = 'latencyAbsolute' | 'latencyRelative' | 'cpuAbsolute' | 'memoryRelative';

export interface GuardState {
  version: 2;
  /** intervals seen */
  t: number;
  /** the window's length in intervals when known: makes late changes cheaper to prove */
  horizon: number | null;
  /** the canary's error rate against min(absolute limit, ratio × the baseline's long-run reference) */
  errorsLimit: ErrorScan;
  /** every baseline request and error seen so far: the long-run reference */
  baseline: { requests: number; errors: number };
  /** the canary's share of each interval's errors against ratio × its share of the traffic */
  errorsRelative: ErrorScan;
  latencyAbsolute: ContinuousCheck;
  latencyRelative: ContinuousCheck;
  cpuAbsolute: ContinuousCheck;
  memoryRelative: ContinuousCheck;
}

export function newScan(): ErrorScan {
  return { stat: ERROR_FACTORS.map(() => null), sr: ERROR_FACTORS.map(() => null), segment: ERROR_FACTORS.map(() => null) };
}

function newCheck(series: number): ContinuousCheck {
  return { prev: Array.from({ length: series }, () => null), diffs: [], cusum: 0, run: null };
}

/** horizonIntervals: how many intervals the stage window holds (window / poll interval), if known */
export function newGuardState(horizonIntervals?: number): GuardState {
  return {
    version: 2,
    t: 0,
    horizon: horizonIntervals && horizonIntervals > 0 ? Math.ceil(horizonIntervals) : null,
    errorsLimit: newScan(),
    baseline: { requests: 0, errors: 0 },
    errorsRelative: newScan(),
    latencyAbsolute: newCheck(2),
    latencyRelative: newCheck(2),
    cpuAbsolute: newCheck(2),
    memoryRelative: newCheck(1),
  };
}

/**
 * A state saved by an older version (a heartbeat from before a deploy) carries no error scans of the
 * current kind: they start afresh at its interval count, which only forgoes evidence (still valid).
 */
export function upgrade(state: GuardState): GuardState {
  if (state.version === 2 && state.errorsLimit && state.errorsRelative) return state;
  const fresh = newGuardState(state.horizon ?? undefined);
  return { ...fresh, ...state, version: 2, errorsLimit: newScan(), errorsRelative: newScan(), baseline: state.baseline ?? fresh.baseline };
}
