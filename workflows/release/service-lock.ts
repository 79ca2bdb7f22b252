// Before anything else, a release (or a flag ramp of a flag that belongs to a service) takes its service:
// it starts `busy:<service>` as its child (contract/service-busy.ts). The server starts one workflow per ID,
// so of two that race exactly one holds it; the other asks the holder who it is and, per the plan, is
// refused naming it or waits, durably, until the holder closes.
import * as wf from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { askBusySignal, busyWorkflowId, heldBySignal, serviceFreeSignal, type ServiceHolder } from '../../contract/service-busy';
import { serviceBusyWorkflow } from '../service-busy';
import { minutesText } from './explain';
import type { ReleaseState } from './state';
import { Stop } from './stop';

/** How long the holder has to say who it is before the refusal names only its ID. */
const ANSWER_MS = 30_000;
/** A waiter looks again this often even without the holder's word (a lost signal must not strand it). */
const RECHECK_MS = 10 * 60_000;

const bounded = (s: unknown, n: number) => (typeof s === 'string' ? s.slice(0, n) : '');

/** The holder as the busy workflow describes it (a signal: anyone in the namespace could send one, so bounded). */
function holderText(h: ServiceHolder | null, service: string): string {
  if (!h) return `another workflow holds it (${busyWorkflowId(service)})`;
  const since = typeof h.since === 'number' ? ` since ${new Date(h.since).toISOString()}` : '';
  return `${bounded(h.what, 200)} (${bounded(h.workflowId, 200)})${since}`;
}

/**
 * Starts the busy child in a scope of its own, outside the rollout's: a stop cancels the rollout, but the
 * service stays held through the undo, until freeService at the very end.
 */
async function startHold(release: ReleaseState, start: () => Promise<wf.ChildWorkflowHandle<typeof serviceBusyWorkflow>>): Promise<void> {
  await wf.CancellationScope.nonCancellable(async () => {
    const scope = new wf.CancellationScope();
    const child = await scope.run(start);
    release.serviceHold = {
      scope,
      closed: child.result().then(
        () => undefined,
        () => undefined,
      ),
    };
  });
}

/** The release is done: the service is free (the busy child tells whoever waits). */
export async function freeService(release: ReleaseState): Promise<void> {
  const hold = release.serviceHold;
  if (!hold) return;
  hold.scope.cancel();
  await hold.closed;
}

export async function holdService(release: ReleaseState): Promise<void> {
  const lock = release.plan.serviceLock!;
  const { status } = release;
  const info = wf.workflowInfo();
  const busyId = busyWorkflowId(lock.service);
  let heldBy: ServiceHolder | null = null;
  let free = false;
  wf.setHandler(heldBySignal, (h) => void (heldBy = h));
  wf.setHandler(serviceFreeSignal, () => void (free = true));
  const me: ServiceHolder = { workflowId: info.workflowId, runId: info.runId, what: lock.what, since: Date.now() };
  const giveUpAt = Date.now() + lock.maxWaitMs;
  let waitingSince: number | null = null;
  const phaseBefore = status.phase;
  for (let attempt = 1; ; attempt++) {
    try {
      await startHold(release, () =>
        wf.startChild(serviceBusyWorkflow, {
          workflowId: busyId,
          args: [lock.service, me],
          // the service is held exactly as long as this release runs, however it ends (terminated included)
          parentClosePolicy: 'REQUEST_CANCEL',
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          staticSummary: `${lock.service} is busy: ${lock.what}`,
        }),
      );
      if (waitingSince !== null) {
        status.pauseReason = null;
        release.setPhase(phaseBefore);
        release.note('service free', undefined, `${lock.service} is free after ${minutesText(Date.now() - waitingSince)}: going on`);
      }
      return;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    heldBy = null;
    free = false;
    const wait = lock.onBusy === 'wait' && Date.now() < giveUpAt;
    try {
      await wf.getExternalWorkflowHandle(busyId).signal(askBusySignal, { workflowId: info.workflowId, runId: info.runId, wait });
    } catch {
      // the holder closed between our start and our ask: the service is free, try again (a pause first if it keeps slipping)
      if (attempt % 5 === 0) await wf.sleep(1000);
      continue;
    }
    await wf.condition(() => heldBy !== null || free, ANSWER_MS);
    if (free) continue;
    const who = holderText(heldBy, lock.service);
    if (!wait) {
      const why =
        lock.onBusy === 'wait'
          ? `${lock.service} is still busy after ${minutesText(lock.maxWaitMs)}: ${who}`
          : `${lock.service} is busy: ${who}; refused (deployments.when_service_busy: refuse)`;
      throw new Stop('busy', why);
    }
    if (waitingSince === null) {
      waitingSince = Date.now();
      status.pauseReason = `${lock.service} is busy: ${who}`;
      release.setPhase('waiting_service');
      release.note('waiting for the service', undefined, `${status.pauseReason}; waiting up to ${minutesText(lock.maxWaitMs)}`);
      release.notify('paused', `${release.plan.service} ${release.plan.version} waits: ${status.pauseReason}`);
    }
    await wf.condition(() => free, Math.max(1, Math.min(giveUpAt - Date.now(), RECHECK_MS)), { summary: `wait for ${lock.service} to be free` });
  }
}
