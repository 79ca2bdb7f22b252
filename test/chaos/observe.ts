// What the chaos run reads of a release while it runs: its pending activities (which worker holds
// which activity: describe), and its history (when it moved on after a kill).
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { tsToMs } from '@temporalio/common/lib/time';

const EventType = temporal.api.enums.v1.EventType;
const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

export interface Pending {
  activityId: string;
  type: string;
  /** the worker running it now (pid@host), when started */
  worker: string | null;
  attempt: number;
  startedAt: number | null;
  /** started on a worker, or scheduled (waiting for one) */
  started: boolean;
}

/** The activities a release has in flight: started on a worker, or scheduled and waiting for one. */
export async function pendingOf(client: Client, workflowId: string, runId?: string): Promise<{ runId: string; running: boolean; pending: Pending[] }> {
  const d = await client.workflow.getHandle(workflowId, runId).describe();
  const pending = (d.raw.pendingActivities ?? []).map((p) => ({
    activityId: p.activityId ?? '',
    type: p.activityType?.name ?? '',
    worker: p.lastWorkerIdentity || null,
    attempt: p.attempt ?? 1,
    startedAt: p.lastStartedTime ? tsToMs(p.lastStartedTime) : null,
    started: p.state === STARTED,
  }));
  return { runId: d.runId, running: d.status.name === 'RUNNING', pending };
}

export interface HistoryEvent {
  at: number;
  type: number;
  /** who completed a workflow task / started an activity */
  identity: string | null;
}

export async function historyOf(client: Client, workflowId: string, runId?: string): Promise<HistoryEvent[]> {
  const h = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  return (h.events ?? []).map((e) => ({
    at: tsToMs(e.eventTime),
    type: e.eventType ?? 0,
    identity:
      e.workflowTaskCompletedEventAttributes?.identity ??
      e.activityTaskStartedEventAttributes?.identity ??
      e.workflowTaskStartedEventAttributes?.identity ??
      null,
  }));
}

const CLOSED = new Set<number>([
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
]);

/** Events a workflow task writes when the release takes its next step. */
const NEXT_STEP = new Set<number>([
  EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
  EventType.EVENT_TYPE_TIMER_STARTED,
  EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
]);

/**
 * The first moment after `since` that the release moved on without the dead worker: a workflow task
 * completed or an activity started by another worker, or the release closed. `dead` is null after a
 * restart of the server (every worker counts).
 */
export function progressIn(events: HistoryEvent[], pending: Pending[], since: number, dead: string | null): number | null {
  const alive = (identity: string | null) => identity !== null && identity !== dead;
  const times = events
    .filter(
      (e) =>
        e.at > since &&
        (CLOSED.has(e.type) ||
          ((e.type === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED || e.type === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) && alive(e.identity))),
    )
    .map((e) => e.at);
  for (const p of pending) if (p.started && p.startedAt !== null && p.startedAt > since && alive(p.worker)) times.push(p.startedAt);
  return times.length ? Math.min(...times) : null;
}

/**
 * Polls until the release moved on after `since`: every activity in `held` (ids the dead worker was
 * running) done or started again on a live worker, or a next step scheduled without them; when it held
 * none, the next step on a live worker (see progressIn); or the release closed. ms after `since`, or null by `boundMs`.
 */
export async function recoveryOf(
  client: Client,
  run: { workflowId: string; runId: string; held: string[] },
  since: number,
  dead: string | null,
  boundMs: number,
): Promise<number | null> {
  const end = Date.now() + boundMs;
  const doneAt = new Map<string, number>();
  while (Date.now() < end) {
    try {
      const [events, { pending, running }] = await Promise.all([historyOf(client, run.workflowId, run.runId), pendingOf(client, run.workflowId, run.runId)]);
      if (!running) return Math.max(0, Math.max(...events.map((e) => e.at)) - since);
      if (!run.held.length) {
        const at = progressIn(events, pending, since, dead);
        if (at !== null) return at - since;
      } else {
        for (const id of run.held) {
          if (doneAt.has(id)) continue;
          const p = pending.find((a) => a.activityId === id);
          if (!p) doneAt.set(id, Date.now());
          else if (p.started && p.startedAt !== null && p.startedAt > since && p.worker !== dead) doneAt.set(id, p.startedAt);
        }
        if (doneAt.size === run.held.length) return Math.max(...doneAt.values()) - since;
        // or the release went on without them (a new step scheduled: the dead worker's step was not in its way)
        const moved = events.find((e) => e.at > since && NEXT_STEP.has(e.type));
        if (moved) return moved.at - since;
      }
    } catch {
      // the server is down (restarting): ask again
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return null;
}

/** What a release waits on, for the log: its steps in flight and its last history events. */
export async function diagnose(client: Client, workflowId: string, runId: string): Promise<string> {
  try {
    const [events, { pending }] = await Promise.all([historyOf(client, workflowId, runId), pendingOf(client, workflowId, runId)]);
    const t = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().slice(11, 23));
    const steps = pending.map((p) => `${p.type} attempt ${p.attempt} on ${p.worker ?? 'none'} since ${t(p.startedAt)}`).join('; ') || 'none';
    const tail = events
      .slice(-8)
      .map((e) => `${t(e.at)} ${String(EventType[e.type]).replace('EVENT_TYPE_', '')}${e.identity ? ` (${e.identity})` : ''}`)
      .join(', ');
    return `run ${runId}: in flight ${steps}; last events ${tail}`;
  } catch (err) {
    return `run ${runId}: ${(err as Error).message}`;
  }
}
