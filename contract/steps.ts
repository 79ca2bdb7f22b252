// How long a dependency step (a migration, a cache warm-up) may run, read the same way by the activity
// that runs it and by the workflow that sizes the activity's timeouts. Pure: no imports but types.
import type { Dependency } from './plan';

/** args.timeout_seconds when absent */
export const DEFAULT_STEP_TIMEOUT_S = 600;
/** how often a running step heartbeats (the worker throttles what reaches the server) */
export const STEP_HEARTBEAT_MS = 1_000;
/** after SIGTERM (timeout or cancellation), how long a step's process has before SIGKILL */
export const STEP_KILL_GRACE_MS = 10_000;

type StepLike = Pick<Dependency, 'args'>;

/**
 * The step's own limit in ms: args.timeout_seconds (a positive number, or a string of one), else 600 s.
 * Anything else falls back to the default here; the activity refuses it as a configuration error.
 */
export function stepTimeoutMs(step: StepLike): number {
  const s = stepTimeoutSeconds(step.args?.timeout_seconds);
  return (s ?? DEFAULT_STEP_TIMEOUT_S) * 1000;
}

/** timeout_seconds as a positive number of seconds; undefined when absent or not one. */
export function stepTimeoutSeconds(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * A start-to-close timeout for the activity that runs the step: its own limit, the kill grace and a
 * margin, so the activity reports its own timeout (and has stopped the process) before Temporal gives up on it.
 */
export function stepActivityTimeoutMs(step: StepLike): number {
  return stepTimeoutMs(step) + STEP_KILL_GRACE_MS + 30_000;
}

/** A heartbeat timeout for that activity: many missed beats, so a busy worker is not taken for a dead one. */
export const STEP_HEARTBEAT_TIMEOUT_MS = 30_000;
