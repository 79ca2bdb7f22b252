// Signals, the command update and the status query, registered before the release does anything. Each
// payload is validated first (a bad signal is recorded as ignored, a bad update refused by its validator),
// then decided by the pure rules in commands.ts and applied to the release's state here.
import * as wf from '@temporalio/workflow';
import { applyRegionReport } from './waves';
import { SIGNALS, COMMANDS, commandUpdate, regionReportSignal, statusQuery, type Actor, type Command, type CommandResult } from '../../contract/messages';
import { commandStage } from '../../contract/command-signature';
import type { CommandAuth } from '../../contract/plan';
import { decide, isCommand, parseActor, quorumMet, type CommandView, type Decision } from './commands';
import { commandId, verifyCommand } from './verify-command';
import { Stop } from './stop';
import type { ReleaseState } from './state';

function apply(release: ReleaseState, d: Decision): CommandResult {
  const { plan, status } = release;
  const e = d.effect;
  switch (e?.kind) {
    case 'approve':
      status.approvals.push({ by: d.note.by ?? 'unknown', at: Date.now(), stage: e.what, ...(e.via ? { via: e.via } : {}) });
      // with a quorum the gate opens only when it is met; else one approval opens it
      if (!plan.approvalPolicy || quorumMet(plan.approvalPolicy, status.approvals, e.what)) release.approvedFor = e.what;
      break;
    case 'reject':
    case 'rollback':
    case 'revert':
      release.stop = new Stop(e.kind, e.why, d.note.by);
      break;
    case 'pause':
      status.paused = true;
      status.pauseReason = e.text;
      break;
    case 'resume':
      status.paused = false;
      status.pauseReason = null;
      release.resumeRequested = true;
      break;
    case 'promote':
      release.promoteRequested = true;
      status.paused = false;
      status.pauseReason = null;
      break;
  }
  release.note(d.note.event, d.note.by, d.note.detail);
  if (e?.kind === 'pause' || e?.kind === 'resume') release.notify(e.kind === 'pause' ? 'paused' : 'resumed', `${plan.service} ${plan.version} ${e.text}`);
  if (e?.kind === 'reject' || e?.kind === 'rollback' || e?.kind === 'revert') release.main.cancel();
  return d.result;
}

/** A plan built before signed commands existed names no keys: nobody's command verifies (fail closed). */
const NO_KEYS: CommandAuth = { requireSigned: true, signers: {}, releaseManagers: [], maxAgeMs: 5 * 60_000, futureSkewMs: 60_000 };

/** Whether the command really comes from its `by`: null if it does (or the plan takes unsigned commands), else why not. */
function authenticate(release: ReleaseState, cmd: Command, actor: Actor): string | null {
  const auth = release.plan.commandAuth ?? NO_KEYS;
  if (!auth.requireSigned) return null;
  const now = Date.now();
  const ctx = { workflowId: release.info.workflowId, runId: release.info.runId, stage: commandStage(release.status), now };
  const v = verifyCommand(auth, ctx, cmd, actor);
  if (!v.ok) return v.why;
  const id = commandId(cmd, actor)!;
  if (release.usedCommands.has(id)) return 'this signed command was already received once (a replay)';
  // forget what can no longer verify anyway, so the set stays as small as the signatures' lifetime
  for (const [old, at] of release.usedCommands) if (now - at > auth.maxAgeMs + auth.futureSkewMs) release.usedCommands.delete(old);
  release.usedCommands.set(id, actor.signed!.at);
  return null;
}

function handle(release: ReleaseState, cmd: Command, raw: unknown): CommandResult {
  const parsed = parseActor(raw);
  if ('refused' in parsed) {
    const message = `bad payload: ${parsed.refused}`;
    release.note(`${cmd} ignored`, undefined, message);
    return { accepted: false, message };
  }
  const { status, plan } = release;
  if (release.strictCommands) {
    const why = authenticate(release, cmd, parsed.actor);
    if (why) {
      // `by` is only a claim here: it goes in the detail, never as who acted
      const message = why;
      release.note(`${cmd} refused`, undefined, `claimed by ${JSON.stringify(parsed.actor.by)}: ${why}`);
      return { accepted: false, message };
    }
  }
  const view: CommandView = {
    service: plan.service,
    approvers: plan.approvers,
    status: status.status,
    phase: status.phase,
    paused: status.paused,
    awaitingApproval: release.awaitingApproval,
    watching: status.windowEndsAt !== null,
    held: release.held,
    ...(plan.approvalPolicy && release.awaitingApproval
      ? {
          quorum: { required: plan.approvalPolicy.required, approvedBy: status.approvals.filter((a) => a.stage === release.awaitingApproval).map((a) => a.by) },
        }
      : {}),
    ...(release.strictCommands
      ? { strict: { releaseManagers: plan.commandAuth?.releaseManagers ?? [], approved: release.approvedFor, stopping: release.stop?.why ?? null } }
      : {}),
  };
  return apply(release, decide(view, cmd, parsed.actor));
}

export function registerHandlers(release: ReleaseState): void {
  // Runs recorded before it took commands as they came; replay keeps them so.
  release.strictCommands = wf.patched('signed-commands');
  for (const cmd of COMMANDS) wf.setHandler(SIGNALS[cmd], (actor: unknown) => void handle(release, cmd, actor));
  wf.setHandler(commandUpdate, (cmd: Command, actor: unknown) => handle(release, cmd, actor), {
    validator: (cmd: unknown, actor: unknown) => {
      if (!isCommand(cmd)) throw new Error(`unknown command ${JSON.stringify(String(cmd)).slice(0, 40)}`);
      const parsed = parseActor(actor);
      if ('refused' in parsed) throw new Error(`bad payload: ${parsed.refused}`);
    },
  });
  wf.setHandler(statusQuery, () => release.status);
  // a region's child reports its progress (by waves); shown, never decided on
  wf.setHandler(regionReportSignal, (report: unknown) => applyRegionReport(release, report));
}
