// History cost of one release: `npm run bench:history` (BENCH_RUNS=n runs per plan, default 3;
// `-- --dev-server` adds the same release on the CLI dev server with a guard that runs until cancelled).
// Figures are printed, never asserted.
//
// Runs the seed plan's shape (canary 5 % → canary 25 % → approval → 100 %) twice on the time-skipping test
// server with the stub activities of the workflow tests (the guard answers "quiet" at once, the judge
// PASS): once with 15 minutes of monitoring windows in all (5 + 10), once with 150 (50 + 100), the same
// poll interval, the same stage count. The approver approves by signal as soon as asked. Watching must
// cost the same number of history events whatever the window length.
//
// Billable actions, counted from the history the way Temporal Cloud bills them:
//   workflow started                 WorkflowExecutionStarted (and ContinuedAsNew, child workflow starts)
//   activity started or retried      each ActivityTaskScheduled, plus (attempt − 1) of its ActivityTaskStarted
//   timer started                    TimerStarted (sleeps, condition timeouts, window timers)
//   signal received / sent           WorkflowExecutionSignaled, SignalExternalWorkflowExecutionInitiated
//   update                           WorkflowExecutionUpdateAccepted (rejected updates leave no event)
//   search attribute upsert          UpsertWorkflowSearchAttributes
//   markers                          MarkerRecorded: 1 each (patch / side effect), except local-activity
//                                    markers: 1 per workflow task that recorded any
// Not in the history, so not in `actions_*`: activity heartbeats (billable: estimated below for a real,
// polling guard), queries (this bench's own status polls are printed, they are a test artefact), and
// rejected updates. Workflow tasks, completions and cancellations are not billed.
import '../test/support/quiet-runtime';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { timeSkippingEnv, localEnv } from '../test/support/temporal-env';
import { stubActivities } from '../test/support/stub-activities';
import { withWorker, repoConfig, advanceUntil, workflowBundle } from '../test/support/release-harness';
import { resolveRelease } from '../config/resolve';
import { Releases } from '../client/releases';
import { statusQuery, type ReleaseStatus } from '../contract/messages';
import { testSigners } from '../test/support/test-signers';
import type { ReleaseInput } from '../contract/plan';
import type { ReleaseActivities, GuardOutcome } from '../contract/activities';

type History = temporal.api.history.v1.IHistory;
type Event = temporal.api.history.v1.IHistoryEvent;
const ET = temporal.api.enums.v1.EventType;

/** The approver's key: commands are signed, as the CLI signs them, and the plan trusts it. */
const signers = testSigners();

/** The seed plan with its watched stages' windows scaled to `totalMin` minutes in all. */
function planWithWindows(totalMin: number): ReleaseInput {
  const seed = resolveRelease(repoConfig(), { service: 'checkout', version: 'v1.2.3', requestedBy: 'ana', source: 'cli' });
  const watched = seed.plan.stages.reduce((s, st) => s + st.durationMs, 0);
  const stages = seed.plan.stages.map((st) => ({ ...st, durationMs: Math.round((st.durationMs * totalMin * 60_000) / watched) }));
  return { request: seed.request, plan: { ...seed.plan, stages, commandAuth: signers.auth } };
}

type RunWorker = <T>(env: TestWorkflowEnvironment, acts: ReleaseActivities, fn: (taskQueue: string) => Promise<T>) => Promise<T>;

async function runRelease(env: TestWorkflowEnvironment, totalMin: number, opts: { acts?: ReleaseActivities; runWorker?: RunWorker; stepMs?: number } = {}) {
  const input = planWithWindows(totalMin);
  const last = input.plan.stages.at(-1)!;
  const acts = opts.acts ?? stubActivities({}).acts;
  let queries = 0;
  const t0 = Date.now();
  const history = await (opts.runWorker ?? withWorker)(env, acts, async (taskQueue) => {
    const started = await new Releases(env.client, repoConfig(), taskQueue).start(input);
    const h = env.client.workflow.getHandle(started.workflowId, started.runId);
    const status = () => (queries++, h.query(statusQuery));
    await advanceUntil(
      env,
      status,
      (s: ReleaseStatus) => s.phase === 'awaiting_approval' && s.timeline.some((t) => t.detail === last.name),
      opts.stepMs,
      opts.stepMs ? 1000 : undefined,
    );
    await signers.signal(env, h, 'approve', { by: 'ana' });
    const result = await h.result();
    if (result.status !== 'succeeded') throw new Error(`the ${totalMin}-minute release ended ${result.status}: ${result.reason}`);
    return h.fetchHistory();
  });
  return { history, queries, wallMs: Date.now() - t0, windowsMin: input.plan.stages.map((s) => s.durationMs / 60_000) };
}

const typeName = (e: Event) => (ET[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, '');
const num = (v: unknown) => Number(v ?? 0);
const ms = (d: { seconds?: unknown; nanos?: number | null } | null | undefined) => (d ? num(d.seconds) * 1000 + Math.round((d.nanos ?? 0) / 1e6) : 0);

function countBy<T>(items: T[], key: (t: T) => string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const it of items) {
    const k = key(it);
    if (k !== undefined) m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

function billableActions(h: History): Map<string, number> {
  const events = h.events ?? [];
  const started = new Map<number, number>(); // scheduledEventId → attempt
  for (const e of events)
    if (e.activityTaskStartedEventAttributes)
      started.set(num(e.activityTaskStartedEventAttributes.scheduledEventId), e.activityTaskStartedEventAttributes.attempt ?? 1);
  const m = new Map<string, number>();
  const add = (k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
  const localActivityTasks = new Set<number>();
  for (const e of events) {
    const t = e.eventType;
    if (
      t === ET.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED ||
      t === ET.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW ||
      t === ET.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    )
      add('workflow started');
    else if (t === ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) add('activity started or retried', Math.max(1, started.get(num(e.eventId)) ?? 1));
    else if (t === ET.EVENT_TYPE_TIMER_STARTED) add('timer started');
    else if (t === ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED || t === ET.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED) add('signal');
    else if (t === ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) add('update');
    else if (t === ET.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) add('search attribute upsert');
    else if (t === ET.EVENT_TYPE_MARKER_RECORDED) {
      const a = e.markerRecordedEventAttributes;
      if (a?.markerName === 'core_local_activity') localActivityTasks.add(num(a.workflowTaskCompletedEventId));
      else add('marker');
    }
  }
  if (localActivityTasks.size) add('local activities (per workflow task)', localActivityTasks.size);
  return m;
}

/**
 * Heartbeats a real guard would send: it heartbeats every poll, the SDK throttles that to one per
 * min(0.8 × heartbeatTimeout, 60 s), for as long as its window lasts (scheduled → the window timer
 * started beside it fires or is cancelled). Time-skipped timestamps are workflow time, so this holds.
 */
function guardHeartbeats(h: History): { count: number; everyS: number } {
  const events = h.events ?? [];
  let count = 0;
  let everyS = 0;
  events.forEach((e, i) => {
    const a = e.activityTaskScheduledEventAttributes;
    if (a?.activityType?.name !== 'guard') return;
    const timer = events
      .slice(i + 1)
      .find((x) => x.timerStartedEventAttributes && num(x.timerStartedEventAttributes.workflowTaskCompletedEventId) === num(a.workflowTaskCompletedEventId));
    const timerId = timer?.timerStartedEventAttributes?.timerId;
    const end = events.find((x) => (x.timerFiredEventAttributes?.timerId ?? x.timerCanceledEventAttributes?.timerId) === timerId && timerId);
    if (!end) return;
    const windowMs = ms(end.eventTime) - ms(e.eventTime);
    everyS = Math.min(0.8 * (ms(a.heartbeatTimeout) / 1000), 60);
    count += Math.floor(windowMs / 1000 / everyS);
  });
  return { count, everyS };
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

function table(title: string, a: Map<string, number>, b: Map<string, number>, heads = ['15 min', '150 min']) {
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => (b.get(y) ?? 0) - (b.get(x) ?? 0) || x.localeCompare(y));
  const w = Math.max(title.length, ...keys.map((k) => k.length));
  const [ha, hb] = heads;
  console.log(`${title.padEnd(w)}  ${ha}  ${hb}`);
  const row = (k: string, x: number, y: number) => `${k.padEnd(w)}  ${String(x).padStart(ha.length)}  ${String(y).padStart(hb.length)}`;
  for (const k of keys) {
    const x = a.get(k) ?? 0;
    const y = b.get(k) ?? 0;
    console.log(row(k, x, y) + (x !== y ? '   ← differs' : ''));
  }
  console.log(row('total', sum(a), sum(b)) + '\n');
}

/** Workflow-task batching varies run to run (do parallel completions land in one task or two?), so
 * each plan runs several times and the run with the median event count stands for it. */
async function representative(env: TestWorkflowEnvironment, totalMin: number, runs: number) {
  const all = [];
  for (let i = 0; i < runs; i++) all.push(await runRelease(env, totalMin));
  const counts = all.map((r) => r.history.events?.length ?? 0);
  const median = [...all].sort((a, b) => (a.history.events?.length ?? 0) - (b.history.events?.length ?? 0))[Math.floor(runs / 2)];
  return { ...median, counts };
}

async function main() {
  const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
  // Printed before the summary, which stays the last line.
  if (process.argv.includes('--dev-server')) await devServerShape();
  const [env] = await Promise.all([timeSkippingEnv(), workflowBundle()]);
  try {
    const short = await representative(env, 15, runs);
    const long = await representative(env, 150, runs);
    const pollS = planWithWindows(15).plan.pollIntervalS;
    console.log(`one release of checkout v1.2.3, poll interval ${pollS} s, stub guard and judge, approval by signal`);
    console.log(`15-min plan: windows ${short.windowsMin.join(' + ')} min; 150-min plan: windows ${long.windowsMin.join(' + ')} min`);
    console.log(
      `events over ${runs} runs each: 15 min [${short.counts.join(', ')}], 150 min [${long.counts.join(', ')}]; the median run of each below (${short.wallMs} ms, ${long.wallMs} ms wall)\n`,
    );
    const ev = (h: History) => h.events ?? [];
    table('history events', countBy(ev(short.history), typeName), countBy(ev(long.history), typeName));
    const activity = (e: Event) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? undefined;
    table('activities scheduled', countBy(ev(short.history), activity), countBy(ev(long.history), activity));
    const actShort = billableActions(short.history);
    const actLong = billableActions(long.history);
    table('billable actions (from history)', actShort, actLong);
    const hbS = guardHeartbeats(short.history);
    const hbL = guardHeartbeats(long.history);
    console.log('outside the history (not in the summary):');
    console.log(`  heartbeats a real polling guard would send (one per ${hbS.everyS} s after SDK throttling): ~${hbS.count} (15 min), ~${hbL.count} (150 min)`);
    console.log(`  status queries this bench sent to find the approval step: ${short.queries} (15 min), ${long.queries} (150 min)\n`);
    console.log(
      `summary events_15min=${ev(short.history).length} events_150min=${ev(long.history).length} actions_15min=${sum(actShort)} actions_150min=${sum(actLong)}`,
    );
  } finally {
    await env.teardown();
  }
}

/**
 * `--dev-server`: the same release on the CLI dev server with a guard shaped like the real one (heartbeats,
 * runs until its deadline or until the workflow cancels it at the window's end), windows in seconds. The
 * stub guard above answers at once, so it never shows what cancelling a running guard adds to the history.
 */
async function devServerShape() {
  const env = await localEnv();
  const { acts } = stubActivities({});
  const guard = async (input: { deadline: number }): Promise<GuardOutcome> => {
    const ctx = Context.current();
    let polls = 0;
    while (Date.now() < input.deadline) {
      ctx.heartbeat(polls++);
      await ctx.sleep(100); // rejects with a CancelledFailure once the cancellation arrives
    }
    return { kind: 'quiet', polls };
  };
  // Heartbeats flushed at once, so the cancellation is seen within a poll, not after 0.8 × heartbeatTimeout.
  const runWorker: RunWorker = async (e, a, fn) => {
    const taskQueue = `bench-dev-${process.pid}-${Date.now()}`;
    const worker = await Worker.create({
      connection: e.nativeConnection,
      namespace: e.namespace ?? 'default',
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: a,
      maxHeartbeatThrottleInterval: '100ms',
    });
    return worker.runUntil(fn(taskQueue));
  };
  try {
    // 0.05 and 0.5 "minutes": 1 + 2 s and 10 + 20 s of windows
    const shortRun = await runRelease(env, 0.05, { acts: { ...acts, guard }, runWorker, stepMs: 200 });
    const longRun = await runRelease(env, 0.5, { acts: { ...acts, guard }, runWorker, stepMs: 200 });
    const ev = (h: History) => h.events ?? [];
    console.log(
      `dev server, a guard that runs until cancelled: windows ${shortRun.windowsMin.map((m) => m * 60).join(' + ')} s and ${longRun.windowsMin.map((m) => m * 60).join(' + ')} s\n`,
    );
    table('history events', countBy(ev(shortRun.history), typeName), countBy(ev(longRun.history), typeName), ['short', 'long']);
    console.log(
      `dev-server events_short=${ev(shortRun.history).length} events_long=${ev(longRun.history).length} actions_short=${sum(billableActions(shortRun.history))} actions_long=${sum(billableActions(longRun.history))}\n`,
    );
  } finally {
    await env.teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
