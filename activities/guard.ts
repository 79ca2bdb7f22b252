// The guard activity: polls metrics every poll interval through the streaming guard and returns only on
// a breach (or quiet at its own deadline). Its heartbeat carries the guard's state and cursor, so a
// guard retried on another worker after a crash resumes where the dead one stopped, catching up on the
// intervals it missed without waiting.
import { Context, CancelledFailure } from '@temporalio/activity';
import { newGuardState, guardStep, type GuardState } from '../judge';
import type { GuardInput, GuardOutcome } from '../contract/activities';
import type { MetricsSource } from './providers/types';

export interface GuardProgress {
  state: GuardState;
  /** start of the next interval to read (epoch ms) */
  cursor: number;
  polls: number;
}

/** How long after an interval closes its metrics are read: the source needs a moment to settle. */
export const SETTLE_MS = 250;

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
      if (step.breach) return { kind: 'breach', breach: step.breach, at: Date.now(), polls };
    }
    cursor = end;
    ctx.heartbeat({ state, cursor, polls } satisfies GuardProgress);
  }
}

export { CancelledFailure };
