// The worker process of bench/throughput.ts: one Temporal Worker on BENCH_TASK_QUEUE, either the release
// workflow (BENCH_ACTIVITIES=real: the project's activities built from QUAD_CONFIG, against the sandbox;
// =stub: the workflow tests' stub activities with the real polling guard over in-memory metrics) or the
// minimal workflow with a no-op activity. BENCH_TUNING=sdk leaves the SDK's slot defaults, =tuned uses
// worker/tuning.ts as worker/main.ts does. Each guard start and end is appended to BENCH_EVENTS_FILE.
import '../test/support/quiet-runtime';
import { appendFileSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../config/load';
import { buildProviders } from '../activities/providers/factory';
import { createActivities } from '../activities';
import { runGuard } from '../activities/guard';
import { stubActivities, verdict } from '../test/support/stub-activities';
import { workerTuning } from '../worker/tuning';
import { workflowBundle } from '../worker/main';
import type { ReleaseActivities, GuardInput } from '../contract/activities';
import type { MetricsSource } from '../activities/providers/types';
import type { IntervalSample } from '../contract/verdict';
import type { NoopActivities } from './minimal-workflow';

const env = process.env;
const need = (name: string) =>
  env[name] ??
  (() => {
    throw new Error(`${name} is not set`);
  })();
const eventsFile = need('BENCH_EVENTS_FILE');
const record = (e: object) => appendFileSync(eventsFile, JSON.stringify(e) + '\n');

/** Versions named *-bad fail 10 % of their canary requests from the start; the others 0.1 %, as the baseline. */
class BenchMetrics implements MetricsSource {
  readonly name = 'bench';
  async fetch(q: { version: string; from: number; to: number; intervalS: number }): Promise<IntervalSample[]> {
    const out: IntervalSample[] = [];
    const bad = q.version.endsWith('-bad');
    for (let t = q.from; t + q.intervalS * 1000 <= q.to; t += q.intervalS * 1000) {
      const requests = 500 * q.intervalS;
      const side = (rate: number) => ({ requests, errors: Math.round(requests * rate), latencyP95Ms: 40, cpuPct: 30, memoryMb: 300 });
      out.push({ at: t + q.intervalS * 1000, intervalS: q.intervalS, baseline: side(0.001), canary: side(bad ? 0.1 : 0.001) });
    }
    return out;
  }
}

/** Records when each guard started against its window (attempt 1) and how it ended. */
function recordingGuard(guard: ReleaseActivities['guard']): ReleaseActivities['guard'] {
  return async (input: GuardInput) => {
    const info = Context.current().info;
    const wf = info.workflowExecution?.workflowId ?? '?';
    if (info.attempt === 1) record({ t: 'start', wf, stage: input.stage, lateMs: Date.now() - input.from, windowMs: input.deadline - input.from });
    const out = await guard(input);
    record({ t: 'end', wf, stage: input.stage, kind: out.kind, at: out.kind === 'breach' ? out.at : null });
    return out;
  };
}

function releaseActivities(): ReleaseActivities {
  if (env.BENCH_ACTIVITIES === 'real') {
    const cfg = loadConfig(need('QUAD_CONFIG'));
    const acts = createActivities(buildProviders(cfg, { root: process.cwd(), env }));
    return { ...acts, guard: recordingGuard(acts.guard) };
  }
  const { acts } = stubActivities({});
  const metrics = new BenchMetrics();
  return {
    ...acts,
    guard: recordingGuard((input) => runGuard(metrics, input)),
    // the window judge sees what the guard sees: a bad version the guard missed fails at the window's end
    judge: async (input) => (input.version.endsWith('-bad') ? verdict('FAIL', 'error rate 10 % vs baseline 0.1 %') : verdict('PASS')),
  };
}

async function main() {
  const connection = await NativeConnection.connect({ address: need('TEMPORAL_ADDRESS') });
  const minimal = env.BENCH_WORKFLOW === 'minimal';
  const noop: NoopActivities = { noop: async () => undefined };
  const worker = await Worker.create({
    connection,
    taskQueue: need('BENCH_TASK_QUEUE'),
    workflowBundle: minimal ? { codePath: need('BENCH_MINIMAL_BUNDLE') } : await workflowBundle(),
    activities: minimal ? noop : releaseActivities(),
    ...(env.BENCH_TUNING === 'sdk' ? {} : workerTuning(env)),
  });
  const run = worker.run();
  process.stdout.write(`[bench-worker] ${process.pid} ${minimal ? 'minimal' : 'release'} ${env.BENCH_TUNING ?? 'tuned'} ${worker.getState()}\n`);
  await run;
  await connection.close();
}

main().catch((err) => {
  process.stderr.write(`[bench-worker] failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
