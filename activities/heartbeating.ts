// A deployer call (prepare, shift, promote, retire, revert) may wait minutes for a version to report
// ready, with nothing to say meanwhile. Heartbeating while it runs lets its activity carry a short
// heartbeat timeout: a worker that dies mid-call is noticed in seconds and the call, idempotent, is
// retried on another, instead of the release waiting out the call's whole timeout.
import { Context } from '@temporalio/activity';

/** How often a running call says it is alive (the workflow gives these calls DEPLOY_HEARTBEAT_TIMEOUT_MS). */
export const DEPLOY_HEARTBEAT_MS = 5_000;

/** `fn` with a heartbeat every `everyMs` while it runs; outside an activity (a direct call) just `fn`. */
export function heartbeating<A extends unknown[], R>(fn: (...args: A) => Promise<R>, everyMs = DEPLOY_HEARTBEAT_MS): (...args: A) => Promise<R> {
  return async (...args: A) => {
    let ctx: Context | null = null;
    try {
      ctx = Context.current();
    } catch {
      return fn(...args);
    }
    const beat = () => ctx!.heartbeat();
    beat();
    const timer = setInterval(beat, everyMs);
    try {
      return await fn(...args);
    } finally {
      clearInterval(timer);
    }
  };
}
