// The A/B test activity: every poll interval it reads both variants' conversions since the split began
// and asks judge/ab to decide. The test is always valid, so looking every interval costs no error rate.
// It returns only with a decision (or at the plan's maximum duration, which judge/ab reads as keep A).
// Each poll heartbeats, so a test whose worker died resumes on another one, reading the same counts.
import { Context } from '@temporalio/activity';
import { decideAb } from '../judge/ab';
import type { AbTestInput, AbTestOutcome } from '../contract/activities';
import type { MetricsSource } from './providers/types';
import { configurationError } from './failures';
import { SETTLE_MS } from './guard';

export async function runAbTest(
  metrics: MetricsSource,
  input: AbTestInput,
  ctx: Pick<Context, 'heartbeat' | 'sleep' | 'info'> = Context.current(),
): Promise<AbTestOutcome> {
  const conversions = metrics.conversions?.bind(metrics);
  if (!conversions)
    throw configurationError(
      `the ${metrics.name} metrics source measures no conversion, so an A/B test of ${input.service} cannot decide: configure its business metric (metrics.conversion)`,
    );
  const intervalMs = input.pollIntervalS * 1000;
  let polls = (ctx.info.heartbeatDetails as { polls?: number } | undefined)?.polls ?? 0;
  for (;;) {
    // the poll grid is fixed by `from`, so a retried activity keeps it
    const next = input.from + (polls + 1) * intervalMs;
    const wait = next + SETTLE_MS - Date.now();
    if (wait > 0) await ctx.sleep(wait);
    const now = Date.now();
    const seen = await conversions({
      service: input.service,
      version: input.version,
      previousVersion: input.previousVersion,
      ...(input.region ? { region: input.region } : {}),
      from: input.from,
      to: now,
    });
    polls++;
    const a = seen.a ?? { visits: 0, conversions: 0 };
    const b = seen.b ?? { visits: 0, conversions: 0 };
    const d = decideAb(input.plan, { a, b, elapsedMs: now - input.from });
    if (d.kind !== 'continue') {
      const { kind, text, rateA, rateB, lift, liftLow, liftHigh } = d;
      return { kind, text, rateA, rateB, lift, liftLow, liftHigh, visitsA: a.visits, visitsB: b.visits, polls };
    }
    ctx.heartbeat({ polls, text: d.text });
  }
}
