// One thing at a time per service: a release and a flag ramp of a flag that belongs to the service never
// overlap. Whoever works on the service runs a small child workflow under the fixed ID `busy:<service>`;
// the server starts only one workflow per ID, so the second to ask finds it held (no check-then-act race).
// The child lives as long as its holder: when the holder closes, however it closes, the server asks the
// child to cancel (parent close policy REQUEST_CANCEL), and the child tells whoever waits that it is free.
import { defineSignal } from '@temporalio/workflow';

export const busyWorkflowId = (service: string) => `busy:${service}`;

/** Who holds a service, as the holder describes itself (shown to whoever finds the service busy). */
export interface ServiceHolder {
  workflowId: string;
  runId: string;
  /** e.g. "flag ramp of dark_mode, started by ana" (bounded, made by the workflow from its plan) */
  what: string;
  /** epoch ms the holder took the service */
  since: number;
}

/** A release that found the service busy: where to answer. `wait`: also tell it when the service is free. */
export interface BusyAsk {
  workflowId: string;
  runId: string;
  wait: boolean;
}

/** sent to the busy workflow by a release that found it running */
export const askBusySignal = defineSignal<[BusyAsk]>('askBusy');
/** the busy workflow's answer: who holds the service */
export const heldBySignal = defineSignal<[ServiceHolder]>('serviceHeldBy');
/** the busy workflow's last word to those who wait: the holder closed */
export const serviceFreeSignal = defineSignal<[{ service: string }]>('serviceFree');

/** What the release plan says about a busy service (deployments.when_service_busy). */
export interface ServiceLockPlan {
  service: string;
  onBusy: 'wait' | 'refuse';
  /** wait at most this long, then refuse */
  maxWaitMs: number;
  /** how this release describes itself to whoever finds the service busy */
  what: string;
}
