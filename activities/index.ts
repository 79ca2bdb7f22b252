// The release workflow's activities, built from providers: thin functions that turn a workflow step
// into one provider call. Every world-changing call sets an absolute state, so a retry does no harm.
import { ApplicationFailure } from '@temporalio/activity';
import type { ReleaseActivities, NoticeReceipt } from '../contract/activities';
import type { DeployCheckReport, TrafficTarget } from '../contract/world';
import { judgeWindow } from '../judge';
import type { Notice, Notifier } from './providers/types';
import type { Providers } from './providers/factory';
import { runGuard } from './guard';
import { runStep } from './steps';
import { evaluateGate, type GateSources } from './gates';
import { smokeCheck } from './smoke';
import { runAbTest } from './ab-test';
import { releaseChanges } from './changes';
import { isNonRetryable } from './failures';
import { nextWindowStart } from './release-window';
import { nextSlot } from './release-calendar';
import { openIncident } from './incident';
import { heartbeating } from './heartbeating';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How long one notice may take, every notifier's attempts included: under the notify activity's 30 s
 * timeout, so the activity always answers and is never retried while a slow send is still going (a
 * retried activity would send that email a second time).
 */
export const NOTICE_BUDGET_MS = 20_000;

/**
 * Sends one notice to every named notifier, each retried a bounded number of times on its own, so a
 * Slack outage neither stalls the release nor makes email send twice. Failures come back, not thrown.
 * An attempt still running when the budget ends is recorded as failed and not retried: it may yet
 * arrive, and a second attempt could make it arrive twice.
 */
export async function fanOutNotice(
  notifiers: Record<string, Notifier>,
  names: string[],
  notice: Notice,
  refs: Record<string, string>,
  attempts = 3,
  budgetMs = NOTICE_BUDGET_MS,
): Promise<NoticeReceipt> {
  const deadline = Date.now() + budgetMs;
  const receipt: NoticeReceipt = { refs: {}, failed: [] };
  await Promise.all(
    names.map(async (name) => {
      const notifier = notifiers[name];
      if (!notifier) return void receipt.failed.push({ notifier: name, error: 'not configured on this worker' });
      for (let attempt = 1; ; attempt++) {
        let timer: NodeJS.Timeout | undefined;
        const overdue = new Promise<'overdue'>((r) => (timer = setTimeout(() => r('overdue'), Math.max(0, deadline - Date.now()))));
        try {
          const r = await Promise.race([notifier.notify({ ...notice, ...(refs[name] ? { ref: refs[name] } : {}) }), overdue]);
          if (r === 'overdue')
            return void receipt.failed.push({ notifier: name, error: `no answer within ${budgetMs / 1000} s; not retried (it may still arrive)` });
          if (r && r.ref) receipt.refs[name] = r.ref;
          return;
        } catch (err) {
          // a non-retryable failure (a bad token, a missing channel) would fail the same way again
          const backoff = 250 * 2 ** (attempt - 1);
          if (attempt >= attempts || isNonRetryable(err) || Date.now() + backoff >= deadline)
            return void receipt.failed.push({ notifier: name, error: (err as Error).message.slice(0, 300) });
          await sleep(backoff);
        } finally {
          clearTimeout(timer);
        }
      }
    }),
  );
  return receipt;
}

/** The deployers' own checks, run where their credentials are: at worker start and for `quad config check --live`. */
export async function checkDeployers(p: Providers, services: string[]): Promise<DeployCheckReport[]> {
  return Promise.all(
    services.map(async (service) => {
      try {
        const d = p.deployer(service);
        return { service, deployer: d.name, checks: await d.check(service) };
      } catch (err) {
        return { service, deployer: '?', checks: [{ name: `a deployer for ${service}`, ok: false, detail: (err as Error).message }] };
      }
    }),
  );
}

/** The serving version as the deployer reports it: all of the traffic, or the side that is not the new one. */
async function servingVersionOf(p: Providers, target: TrafficTarget): Promise<string | null> {
  const s = await p.deployer(target.service).currentTraffic(target);
  if (!s) return null;
  return s.percent >= 100 ? s.version : (s.previousVersion ?? (s.percent > 0 ? s.version : null));
}

export function createActivities(p: Providers): ReleaseActivities {
  const gateSources: GateSources = {
    ...(p.github ? { github: p.github } : {}),
    ...(p.gitlab ? { gitlab: p.gitlab } : {}),
    servingVersion: (service, version) => servingVersionOf(p, { service, version, previousVersion: null }),
  };
  return {
    checkGate: (service, version, gate, context) => evaluateGate(gateSources, service, version, gate, context),
    runStep,
    async releaseSlot(calendar, nowMs, needMs) {
      try {
        return nextSlot(calendar, nowMs, needMs);
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, 'BadReleaseWindow');
      }
    },
    async nextWindowStart(window, nowMs) {
      try {
        return nextWindowStart(window, nowMs);
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, 'BadReleaseWindow');
      }
    },
    servingVersion: (target) => servingVersionOf(p, target),
    // the activity keeps its first name, setTraffic, so recorded histories replay; it is the lifecycle's shift
    // each heartbeats while it runs: a worker that dies mid-call is noticed in seconds, not at the call's timeout
    setTraffic: heartbeating((target, percent) => p.deployer(target.service).shift(target, percent)),
    prepare: heartbeating((target) => p.deployer(target.service).prepare(target)),
    smokeCheck: (target, gate) => smokeCheck(p.deployer(target.service), target, gate),
    promote: heartbeating((target) => p.deployer(target.service).promote(target)),
    retire: heartbeating((target) => p.deployer(target.service).retire(target)),
    revert: heartbeating((target) => p.deployer(target.service).revert(target)),
    checkDeployers: (services) => checkDeployers(p, services),
    getFlagState: (_service, flag) => p.flags().getState(flag),
    setFlag: (_service, flag, percent) => p.flags().setRollout(flag, percent),
    restoreFlag: (_service, state) => p.flags().restore(state),
    guard: (input) => runGuard(p.metrics(input.service), input),
    abTest: (input) => runAbTest(p.metrics(input.service), input),
    releaseChanges: (source, service, version, previousVersion) => releaseChanges(p.github, source, service, version, previousVersion),
    judge: heartbeating(async (input) => {
      const samples = await p.metrics(input.service).fetch({
        service: input.service,
        version: input.version,
        previousVersion: input.previousVersion,
        ...(input.region ? { region: input.region } : {}),
        from: input.from,
        to: input.to,
        intervalS: input.intervalS,
      });
      return judgeWindow(samples, input.criteria);
    }),
    notify: (names, notice, refs) => fanOutNotice(p.notifiers, names, notice, refs),
    openIncident: heartbeating((incident) => openIncident(p, incident)),
  };
}
