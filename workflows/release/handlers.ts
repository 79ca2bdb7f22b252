// Signals, the command update and the status query, registered before the release does anything. Each
// payload is validated first (a bad signal is recorded as ignored, a bad update refused by its validator),
// then decided by the pure rules in commands.ts and applied to the release's state here.
import * as wf from '@temporalio/workflow';
import { SIGNALS, COMMANDS, commandUpdate, statusQuery, type Command, type CommandResult } from '../../contract/messages';
import { decide, isCommand, parseActor, type Decision } from './commands';
import { Stop } from './stop';
import type { ReleaseState } from './state';

function apply(release: ReleaseState, d: Decision): CommandResult {
  const { plan, status } = release;
  const e = d.effect;
  switch (e?.kind) {
    case 'approve':
      release.approvedFor = e.what;
      status.approvals.push({ by: d.note.by ?? 'unknown', at: Date.now(), stage: e.what });
      break;
    case 'reject':
    case 'rollback':
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
  if (e?.kind === 'reject' || e?.kind === 'rollback') release.main.cancel();
  return d.result;
}

function handle(release: ReleaseState, cmd: Command, raw: unknown): CommandResult {
  const parsed = parseActor(raw);
  if ('refused' in parsed) {
    const message = `bad payload: ${parsed.refused}`;
    release.note(`${cmd} ignored`, undefined, message);
    return { accepted: false, message };
  }
  const { status, plan } = release;
  const view = {
    service: plan.service,
    approvers: plan.approvers,
    status: status.status,
    phase: status.phase,
    paused: status.paused,
    awaitingApproval: release.awaitingApproval,
    watching: status.windowEndsAt !== null,
    held: release.held,
  };
  return apply(release, decide(view, cmd, parsed.actor));
}

export function registerHandlers(release: ReleaseState): void {
  for (const cmd of COMMANDS) wf.setHandler(SIGNALS[cmd], (actor: unknown) => void handle(release, cmd, actor));
  wf.setHandler(commandUpdate, (cmd: Command, actor: unknown) => handle(release, cmd, actor), {
    validator: (cmd: unknown, actor: unknown) => {
      if (!isCommand(cmd)) throw new Error(`unknown command ${JSON.stringify(String(cmd)).slice(0, 40)}`);
      const parsed = parseActor(actor);
      if ('refused' in parsed) throw new Error(`bad payload: ${parsed.refused}`);
    },
  });
  wf.setHandler(statusQuery, () => release.status);
}
