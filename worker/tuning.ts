// How many tasks one worker takes at once, sized for releases rather than the SDK's generic defaults
// (bench/throughput.ts measures both). Each overridable from the environment.
//
// - Activity slots (SDK default 100): every running release holds one slot per watched region for the
//   whole stage window, because its guard is a long-running, mostly sleeping activity. With 100 slots,
//   release 101 onwards has its guard queued on the server until another window ends, and a guard that
//   starts after its window ended never watched it. A sleeping guard costs a timer and a few KiB, so the
//   slots are sized for the releases a worker carries, not for CPU.
// - Workflow task slots (SDK default 40): workflow code runs on one thread; a task taken into a slot but
//   queued behind 39 others runs down its 10 s workflow-task timeout inside the worker. Fewer slots
//   leave the backlog on the server, where a task waits without timing out.
// - Sticky schedule-to-start (SDK default 10 s): in a burst a cached workflow's task can wait longer than
//   that for this worker; the server then records a workflow-task timeout and re-queues it to the
//   shared queue. Longer, so a busy worker keeps its own workflows; a dead worker's tasks move after it.
// - Cached workflows (SDK default from the heap limit, 10 at least): a workflow that does not fit is
//   evicted and replayed from its whole history on its next task, so at least the activity slots.
import { getHeapStatistics } from 'node:v8';
import type { WorkerOptions } from '@temporalio/worker';

export type WorkerTuning = Pick<
  WorkerOptions,
  'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'stickyQueueScheduleToStartTimeout' | 'maxCachedWorkflows'
>;

export const RELEASE_TUNING = {
  activities: 2000,
  workflowTasks: 10,
  stickyScheduleToStartS: 30,
} as const;

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number above 0, not ${JSON.stringify(raw)}`);
  return n;
}

/** The worker's slot settings: QUAD_MAX_ACTIVITIES, QUAD_MAX_WORKFLOW_TASKS, QUAD_STICKY_TIMEOUT_S, QUAD_MAX_CACHED_WORKFLOWS. */
export function workerTuning(env: NodeJS.ProcessEnv = process.env, heapLimitMiB = getHeapStatistics().heap_size_limit / 2 ** 20): WorkerTuning {
  const activities = positiveInt(env, 'QUAD_MAX_ACTIVITIES', RELEASE_TUNING.activities);
  const workflowTasks = positiveInt(env, 'QUAD_MAX_WORKFLOW_TASKS', RELEASE_TUNING.workflowTasks);
  const stickyS = positiveInt(env, 'QUAD_STICKY_TIMEOUT_S', RELEASE_TUNING.stickyScheduleToStartS);
  // the SDK's own estimate (600 workflows per GiB of heap above 200 MiB), raised to the activity slots
  const bySdk = Math.max(Math.floor((Math.max(heapLimitMiB - 200, 0) * 600) / 1024), 10);
  const cached = positiveInt(env, 'QUAD_MAX_CACHED_WORKFLOWS', Math.max(bySdk, activities));
  return {
    maxConcurrentActivityTaskExecutions: activities,
    // the SDK requires workflow task slots ≤ cached workflows
    maxConcurrentWorkflowTaskExecutions: Math.max(2, Math.min(workflowTasks, cached)),
    stickyQueueScheduleToStartTimeout: `${stickyS}s`,
    maxCachedWorkflows: cached,
  };
}
