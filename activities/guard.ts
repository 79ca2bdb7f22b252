// The guard activity: polls metrics every poll interval through the streaming guard and returns only on
// a breach (or quiet at its own deadline). Its heartbeat carries the guard's state and cursor, so a
// guard retried on another worker after a crash resumes where the dead one stopped, catching up on the
// intervals it missed without waiting.
import { Context, CancelledFailure } from '@temporalio/activity';
import { newGuardState, guardStep, type GuardState } from '../judge';
import type { GuardInput, GuardOutcome } from '../contract/activities';
import type { GuardBreach } from '../contract/verdict';
import type { MetricsSource } from './providers/types';

export interface GuardProgress {
  state: GuardState;
  /** start of the next interval to read (epoch ms) */
  cursor: number;
  polls: number;
  /** set when this guard's first attempt started more than a poll after its window began (see lateStart) */
  startedLateMs?: number;
}

/** How long after an interval closes its metrics are read: the source needs a moment to settle. */
export const SETTLE_MS = 250;

/**
 * How late a fresh guard started, when it is later than one poll (plus the settle time): its activity
 * sat queued (no free activity slot on any worker, a worker down) while its window ran. It reads the
 * missed intervals back at once, but what it finds then is found late, and whoever reads its heartbeat,
 * log or breach must be able to tell.
 */
export function lateStart(input: Pick<GuardInput, 'from' | 'pollIntervalS'>, now: number): number | null {
  const late = now - input.from;
  return late > input.pollIntervalS * 1000 + SETTLE_MS ? late : null;
}

export async function runGuard(
  metrics: MetricsSource,
  input: GuardInput,
  ctx: Pick<Context, 'heartbeat' | 'sleep' | 'info'> = Context.current(),
): Promise<GuardOutcome> {
  const intervalMs = input.pollIntervalS * 1000;
  const resumed = ctx.info.heartbeatDetails as GuardProgress | undefined;
  let { state, cursor, polls } = resumed ?? {
    state: newGuardState(Math.ceil((input.deadline - input.from) / intervalMs)),
    cursor: input.from,
    polls: 0,
  };
  let startedLateMs = resumed?.startedLateMs;
  if (!resumed) {
    const late = lateStart(input, Date.now());
    if (late !== null) {
      startedLateMs = late;
      const missed = Math.floor(late / intervalMs);
      const window = `${input.service} ${input.version} ${input.stage}${input.region ? ` in ${input.region}` : ''}`;
      logOf(ctx)?.warn(`guard for ${window} started ${(late / 1000).toFixed(1)} s after its window began: reading the ${missed} missed intervals now`, {
        startedLateMs: late,
        missedIntervals: missed,
      });
      // at once, so the pending activity shows it (Web UI, describe) before the first poll
      ctx.heartbeat({ state, cursor, polls, startedLateMs } satisfies GuardProgress);
    }
  }
  for (;;) {
    const end = cursor + intervalMs;
    if (end > input.deadline) return { kind: 'quiet', polls };
    const wait = end + SETTLE_MS - Date.now();
    if (wait > 0) await ctx.sleep(wait); // rejects with CancelledFailure when the workflow cancels the guard
    const samples = await metrics.fetch({
      service: input.service,
      version: input.version,
      previousVersion: input.previousVersion,
      ...(input.region ? { region: input.region } : {}),
      from: cursor,
      to: end,
      intervalS: input.pollIntervalS,
    });
    polls++;
    for (const sample of samples) {
      const step = guardStep(state, sample, input.criteria);
      state = step.state;
      if (step.breach) return { kind: 'breach', breach: lateNoted(step.breach, startedLateMs), at: Date.now(), polls };
    }
    cursor = end;
    ctx.heartbeat({ state, cursor, polls, ...(startedLateMs !== undefined ? { startedLateMs } : {}) } satisfies GuardProgress);
  }
}

/** A breach found by a guard that started late says so: the delay to the rollback was the queue's, not the guard's. */
function lateNoted(breach: GuardBreach, startedLateMs: number | undefined): GuardBreach {
  if (startedLateMs === undefined) return breach;
  return { ...breach, explanation: `${breach.explanation} (guard started ${(startedLateMs / 1000).toFixed(1)} s late; the missed intervals were read back)` };
}

/** The activity's logger when running in one (tests may pass a bare context). */
function logOf(ctx: Pick<Context, 'heartbeat' | 'sleep' | 'info'>): Context['log'] | undefined {
  return 'log' in ctx ? (ctx as Context).log : undefined;
}

export { CancelledFailure };
