// What a person may do to a running release, decided as a pure function of what the release shows:
// no server, no clock, no side effects, so every rule is unit-tested on its own (commands.test.ts).
// The workflow applies the decision (state.ts) and records it in the timeline.
import type { Actor, Command, CommandResult, Phase, Status } from '../../contract/messages';
import { COMMANDS } from '../../contract/messages';

/** What the rules read of the release. */
export interface CommandView {
  service: string;
  approvers: string[];
  status: Status;
  phase: Phase;
  paused: boolean;
  /** the gate an approval would open (stage name or "release"), if one waits */
  awaitingApproval: string | null;
  /** a stage window is being watched */
  watching: boolean;
  /** held before a stage by all_previous_checks_pass: only a hand promote goes on */
  held?: boolean;
}

export type Effect =
  | { kind: 'approve'; what: string }
  | { kind: 'reject'; why: string }
  | { kind: 'rollback'; why: string }
  | { kind: 'pause'; text: string }
  | { kind: 'resume'; text: string }
  | { kind: 'promote' };

export interface Decision {
  result: CommandResult;
  /** the timeline entry the command leaves, accepted or not */
  note: { event: string; by?: string; detail?: string };
  effect?: Effect;
}

/** Longest text a person can put in the release's history, the timeline and every notice. */
export const LIMITS = { by: 128, reason: 500, via: 128 } as const;

const CONTROL = /\p{Cc}/u;

/**
 * A signal or update payload as it arrives: anyone with access to the namespace can send one, so it is
 * checked field by field, never rendered before it passes. Returns the actor, or why it was refused
 * (naming the field, never echoing its value).
 */
export function parseActor(raw: unknown): { actor: Actor } | { refused: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { refused: 'the payload must be an object like {"by": "ana"}' };
  const o = raw as Record<string, unknown>;
  const unknownKeys = Object.keys(o).filter((k) => k !== 'by' && k !== 'reason' && k !== 'via');
  if (unknownKeys.length) return { refused: `unknown field${unknownKeys.length > 1 ? 's' : ''} in the payload (allowed: by, reason, via)` };
  const problem = (key: keyof typeof LIMITS, required: boolean): string | null => {
    const v = o[key];
    if (v === undefined && !required) return null;
    if (typeof v !== 'string') return `${key} must be a string`;
    if (required && v.trim() === '') return `${key} must not be empty`;
    if (v.length > LIMITS[key]) return `${key} is longer than ${LIMITS[key]} characters`;
    if (key !== 'reason' && CONTROL.test(v)) return `${key} contains control characters`;
    return null;
  };
  const refused = problem('by', true) ?? problem('reason', false) ?? problem('via', false);
  if (refused) return { refused };
  const { by, reason, via } = o as { by: string; reason?: string; via?: string };
  if (via !== undefined && !via.startsWith('group:')) return { refused: 'via must name a group: approver entry' };
  return { actor: { by, ...(reason !== undefined ? { reason } : {}), ...(via !== undefined ? { via } : {}) } };
}

export const isCommand = (cmd: unknown): cmd is Command => typeof cmd === 'string' && (COMMANDS as string[]).includes(cmd);

function allowed(view: CommandView, by: string, via?: string): boolean {
  const a = view.approvers;
  return a.length === 0 || a.includes(by) || (typeof via === 'string' && via.startsWith('group:') && a.includes(via));
}

/** The rules: who may do what, when. */
export function decide(view: CommandView, cmd: Command, actor: Actor): Decision {
  const by = actor.by;
  const refuse = (message: string): Decision => ({ result: { accepted: false, message }, note: { event: `${cmd} ignored`, by, detail: message } });
  const accept = (message: string, event: string, effect: Effect, detail = actor.reason): Decision => ({
    result: { accepted: true, message },
    note: { event, by, ...(detail ? { detail } : {}) },
    effect,
  });
  if (view.status !== 'running' || view.phase === 'rolling_back') return refuse(`the release is ${view.phase}`);
  if (!allowed(view, by, actor.via)) return refuse(`${by} is not an approver of ${view.service}`);
  const reason = actor.reason ? `: ${actor.reason}` : '';
  switch (cmd) {
    case 'approve': {
      const what = view.awaitingApproval;
      if (!what) return refuse('nothing is awaiting approval');
      // the audit trail says when the approver was allowed as a member of a Slack group
      const via = actor.via && !view.approvers.includes(by) ? ` (as a member of ${actor.via})` : '';
      return accept(`approved ${what}`, 'approved', { kind: 'approve', what }, `${what}${reason}${via}`);
    }
    case 'reject':
      return accept('rejected; undoing what was done', 'rejected', { kind: 'reject', why: `rejected by ${by}${reason}` });
    case 'rollback':
      return accept('rolling back', 'rollback requested', { kind: 'rollback', why: `rollback requested by ${by}${reason}` });
    case 'pause':
      if (view.paused) return refuse('already paused');
      return accept('paused: the current stage keeps being watched and will not promote', 'paused', { kind: 'pause', text: `paused by ${by}${reason}` });
    case 'resume':
      if (!view.paused) return refuse('not paused');
      if (view.held) return refuse('held: an earlier stage did not pass its judge; promote to go on anyway (recorded as a hand promote)');
      return accept('resumed', 'resumed', { kind: 'resume', text: `resumed by ${by}` });
    case 'promote':
      if (!view.watching && !view.paused) return refuse('no stage is being watched');
      return accept('promoting the current stage', 'promoted by hand', { kind: 'promote' });
  }
}
