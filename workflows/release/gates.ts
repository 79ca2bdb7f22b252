// What stands before and after the rollout: gates and post checks (one loop for both), the release
// window, and approvals.
import * as wf from '@temporalio/workflow';
import type { ApprovalPolicy, Gate, StagePlan } from '../../contract/plan';
import { quorumMissing } from './commands';
import { watchUntil } from './watch';
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

/**
 * The release calendar before a step of `needMs` (the release itself: 0; a stage: its window): waits,
 * durably, until the window is open long enough and no freeze covers it, with the reason shown. With
 * traffic already on the new version (`live`, the stage before), that stage stays guarded while it waits.
 * A freeze is refused at once when the plan says so; else an approver's approval overrides it (recorded).
 */
export async function waitForCalendar(release: ReleaseState, needMs: number, what: string, live: StagePlan | null): Promise<void> {
  const { plan, status } = release;
  const calendar = { window: plan.window, freezes: plan.freezes ?? [] };
  const slot = await checks.releaseSlot.executeWithOptions({ summary: `release calendar before ${what}` }, [calendar, Date.now(), needMs]);
  if (slot.why === null || slot.at <= Date.now()) return;
  if (slot.freeze && plan.onFreeze === 'refuse') throw new Stop('fail', `${what} refused: ${slot.why}`);
  const override = slot.freeze ? `freeze override (${slot.freeze.reason})` : null;
  const phase = status.phase;
  status.pauseReason = slot.why;
  release.setPhase('waiting_window');
  release.note(slot.freeze ? 'frozen' : 'waiting for the release window', undefined, `before ${what}: ${slot.why}`);
  release.notify('paused', `${plan.service} ${plan.version} waits before ${what}: ${slot.why}${override ? '; an approver may override the freeze' : ''}`);
  if (override) release.awaitingApproval = override;
  const overridden = () => override !== null && release.approvedFor === override;
  const summary = `wait for the release calendar before ${what} (until ${new Date(slot.at).toISOString()})`;
  release.calendarWaitingSince = Date.now();
  try {
    if (live) await watchUntil(release, live, slot.at - Date.now(), summary, overridden);
    else await wf.condition(overridden, slot.at - Date.now(), { summary });
  } finally {
    release.calendarWaitedMs += Date.now() - release.calendarWaitingSince;
    release.calendarWaitingSince = null;
  }
  if (override) release.awaitingApproval = null;
  if (overridden()) {
    // the approval's own entry carries the approver's reason
    const approval = [...status.timeline].reverse().find((e) => e.event === 'approved');
    release.note('freeze overridden', approval?.by, approval?.detail ?? override!);
  }
  status.pauseReason = null;
  release.setPhase(phase);
}

/** Waits, durably, for the next opening of the release window (computed in an activity: time zones). */
export async function waitForWindow(release: ReleaseState): Promise<void> {
  const { window } = release.plan;
  if (wf.patched('release-calendar')) return waitForCalendar(release, 0, 'the release', null);
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
  const ok = plan.approvalPolicy
    ? await awaitQuorum(release, what, plan.approvalPolicy)
    : await wf.condition(() => release.approvedFor === what, plan.approvalTimeoutMs, { summary: `await approval: ${what}` });
  release.awaitingApproval = null;
  if (!ok) throw new Stop('timeout', `no approval for ${what} within ${Math.round(plan.approvalTimeoutMs / 60000)} min`);
  release.notify('approved', `${plan.service} ${plan.version} approved: ${what}`);
}

/** A quorum's wait: the same timeout, with a reminder to the thread and an escalation on the way. */
async function awaitQuorum(release: ReleaseState, what: string, policy: ApprovalPolicy): Promise<boolean> {
  const { plan, status } = release;
  const met = () => release.approvedFor === what;
  const deadline = Date.now() + plan.approvalTimeoutMs;
  const steps: Array<{ at: number; say: () => string }> = [];
  if (policy.remindAfterMs)
    steps.push({ at: Date.now() + policy.remindAfterMs, say: () => `reminder: ${what} still needs ${quorumMissing(policy, status.approvals, what)}` });
  if (policy.escalateAfterMs && policy.escalateTo)
    steps.push({
      at: Date.now() + policy.escalateAfterMs,
      say: () =>
        `escalated to ${policy.escalateTo}: ${what} has waited ${Math.round(policy.escalateAfterMs! / 60_000)} min and still needs ${quorumMissing(policy, status.approvals, what)}`,
    });
  for (const step of steps.filter((x) => x.at < deadline).sort((a, b) => a.at - b.at)) {
    if (await wf.condition(met, Math.max(step.at - Date.now(), 1), { summary: `await approval: ${what}` })) return true;
    const text = step.say();
    release.note(text.startsWith('reminder') ? 'approval reminder' : 'approval escalated', undefined, text);
    release.notify('awaiting_approval', `${plan.service} ${plan.version}: ${text}`);
  }
  return wf.condition(met, Math.max(deadline - Date.now(), 1), { summary: `await approval: ${what}` });
}
