// What stands before and after the rollout: gates and post checks (one loop for both), the release
// window, and approvals.
import * as wf from '@temporalio/workflow';
import type { Gate } from '../../contract/plan';
import { checks } from './activities';
import type { ReleaseState } from './state';
import { Stop } from './stop';

const CHECK_WORDS = {
  gate: { summary: 'gate', passed: 'gate passed', failed: 'gate failed', stop: 'gate' },
  post: { summary: 'post-deploy check', passed: 'post check passed', failed: 'post check failed', stop: 'post-deploy check' },
} as const;

/** Runs each check in order; the first that fails stops the release. */
export async function runChecks(release: ReleaseState, kind: keyof typeof CHECK_WORDS, list: Gate[]): Promise<void> {
  const words = CHECK_WORDS[kind];
  const { plan } = release;
  if (list.length > 0) release.setPhase(kind === 'gate' ? 'validating' : 'post_checks');
  for (const check of list) {
    const context = { previousVersion: plan.previousVersion, dependencies: plan.dependencies };
    const r = await checks.checkGate.executeWithOptions({ summary: `${words.summary}: ${check.name}` }, [plan.service, plan.version, check, context]);
    release.note(r.ok ? words.passed : words.failed, undefined, `${check.name}: ${r.detail}`);
    if (!r.ok) throw new Stop('fail', `${words.stop} ${check.name} failed: ${r.detail}`);
  }
}

/** Waits, durably, for the next opening of the release window (computed in an activity: time zones). */
export async function waitForWindow(release: ReleaseState): Promise<void> {
  const { window } = release.plan;
  if (!window) return;
  release.setPhase('waiting_window');
  const at = await checks.nextWindowStart.executeWithOptions({ summary: 'find the release window' }, [window, Date.now()]);
  if (at > Date.now()) {
    release.note('waiting for the release window', undefined, new Date(at).toISOString());
    await wf.sleep(at - Date.now(), { summary: `wait for the release window (${new Date(at).toISOString()})` });
  }
}

/** Waits for an approver's approval of `what` (the release, or a stage); no answer in time stops it. */
export async function awaitApproval(release: ReleaseState, what: string): Promise<void> {
  const { plan } = release;
  release.awaitingApproval = what;
  release.setPhase('awaiting_approval');
  release.note('awaiting approval', undefined, what);
  release.notify('awaiting_approval', `${plan.service} ${plan.version} needs approval: ${what}`);
  const ok = await wf.condition(() => release.approvedFor === what, plan.approvalTimeoutMs, { summary: `await approval: ${what}` });
  release.awaitingApproval = null;
  if (!ok) throw new Stop('timeout', `no approval for ${what} within ${Math.round(plan.approvalTimeoutMs / 60000)} min`);
  release.notify('approved', `${plan.service} ${plan.version} approved: ${what}`);
}
