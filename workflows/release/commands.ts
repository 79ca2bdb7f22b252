// What a person may do to a running release, decided as a pure function of what the release shows:
// no server, no clock, no side effects, so every rule is unit-tested on its own (commands.test.ts).
// The workflow applies the decision (state.ts) and records it in the timeline.
import type { Actor, Command, CommandResult, CommandSignature, Phase, Status } from '../../contract/messages';
import { COMMANDS } from '../../contract/messages';
import type { ApprovalPolicy } from '../../contract/plan';

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
  /** with an approval quorum: how many the gate needs, and who has approved it so far */
  quorum?: { required: number; approvedBy: string[] };
  /**
   * The rules of releases since patch signed-commands: an empty approvers list lets nobody but the
   * release managers act (fail closed), an approval names the gate it was shown for and counts once,
   * and a command after the release began to stop says why it is too late.
   */
  strict?: {
    releaseManagers: string[];
    /** the gate already approved (approvedFor) */
    approved: string | null;
    /** why the release is stopping, once a timeout, breach or rollback stopped it */
    stopping: string | null;
  };
}

export type Effect =
  | { kind: 'approve'; what: string; via?: string }
  | { kind: 'reject'; why: string }
  | { kind: 'rollback'; why: string }
  | { kind: 'revert'; why: string }
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
export const LIMITS = { by: 128, reason: 500, via: 128, stage: 200 } as const;
/** The signature block's strings: names and IDs, never prose. */
const SIGNED_LIMITS = { key: 64, workflowId: 256, runId: 64, sig: 100 } as const;

const CONTROL = /\p{Cc}/u;

/**
 * A signal or update payload as it arrives: anyone with access to the namespace can send one, so it is
 * checked field by field, never rendered before it passes. Returns the actor, or why it was refused
 * (naming the field, never echoing its value).
 */
export function parseActor(raw: unknown): { actor: Actor } | { refused: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { refused: 'the payload must be an object like {"by": "ana"}' };
  const o = raw as Record<string, unknown>;
  const unknownKeys = Object.keys(o).filter((k) => !ACTOR_KEYS.includes(k));
  if (unknownKeys.length) return { refused: `unknown field${unknownKeys.length > 1 ? 's' : ''} in the payload (allowed: ${ACTOR_KEYS.join(', ')})` };
  const problem = (key: keyof typeof LIMITS, required: boolean): string | null => {
    const v = o[key];
    if (v === undefined && !required) return null;
    if (typeof v !== 'string') return `${key} must be a string`;
    if (required && v.trim() === '') return `${key} must not be empty`;
    if (v.length > LIMITS[key]) return `${key} is longer than ${LIMITS[key]} characters`;
    if (key !== 'reason' && CONTROL.test(v)) return `${key} contains control characters`;
    return null;
  };
  const refused = problem('by', true) ?? problem('reason', false) ?? problem('via', false) ?? problem('stage', false);
  if (refused) return { refused };
  const { by, reason, via, stage } = o as { by: string; reason?: string; via?: string; stage?: string };
  if (via !== undefined && !via.startsWith('group:')) return { refused: 'via must name a group: approver entry' };
  const signed = o.signed === undefined ? undefined : parseSignature(o.signed);
  if (typeof signed === 'string') return { refused: signed };
  return {
    actor: {
      by,
      ...(reason !== undefined ? { reason } : {}),
      ...(via !== undefined ? { via } : {}),
      ...(stage !== undefined ? { stage } : {}),
      ...(signed ? { signed } : {}),
    },
  };
}

const ACTOR_KEYS = ['by', 'reason', 'via', 'stage', 'signed'];
const SIGNED_KEYS = ['key', 'workflowId', 'runId', 'at', 'sig'];

/** The signature block's shape (whether it verifies is verify-command.ts's business); a string says why not. */
function parseSignature(raw: unknown): CommandSignature | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'signed must be an object';
  const o = raw as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !SIGNED_KEYS.includes(k));
  if (extra.length) return `unknown field${extra.length > 1 ? 's' : ''} in signed (allowed: ${SIGNED_KEYS.join(', ')})`;
  for (const key of Object.keys(SIGNED_LIMITS) as (keyof typeof SIGNED_LIMITS)[]) {
    const v = o[key];
    if (typeof v !== 'string' || v === '') return `signed.${key} must be a non-empty string`;
    if (v.length > SIGNED_LIMITS[key]) return `signed.${key} is longer than ${SIGNED_LIMITS[key]} characters`;
    if (CONTROL.test(v)) return `signed.${key} contains control characters`;
  }
  if (typeof o.at !== 'number' || !Number.isSafeInteger(o.at) || o.at < 0) return 'signed.at must be a time in epoch milliseconds';
  return o as unknown as CommandSignature;
}

export const isCommand = (cmd: unknown): cmd is Command => typeof cmd === 'string' && (COMMANDS as string[]).includes(cmd);

function allowed(view: CommandView, by: string, via?: string): boolean {
  const listed = (list: string[]) => list.includes(by) || (typeof via === 'string' && via.startsWith('group:') && list.includes(via));
  if (view.strict) return listed(view.approvers) || listed(view.strict.releaseManagers);
  // before signed-commands an empty list let anyone act; kept only so those runs replay as they ran
  return view.approvers.length === 0 || listed(view.approvers);
}

function notAllowed(view: CommandView, by: string): string {
  if (view.strict && view.approvers.length === 0) return `${view.service} lists no approvers: only the release managers may act, and ${by} is not one`;
  return `${by} is not an approver of ${view.service}`;
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
  if (view.strict && view.status !== 'running') return refuse(`too late: the release has ended (${view.phase})`);
  if (view.strict?.stopping) return refuse(`too late: the release is stopping (${view.strict.stopping})`);
  if (view.status !== 'running' || view.phase === 'rolling_back') return refuse(`the release is ${view.phase}`);
  if (!allowed(view, by, actor.via)) return refuse(notAllowed(view, by));
  const reason = actor.reason ? `: ${actor.reason}` : '';
  switch (cmd) {
    case 'approve': {
      const what = view.awaitingApproval;
      if (!what) return refuse('nothing is awaiting approval');
      if (view.strict) {
        // one click, one gate: an approval shown for another gate (a double click, a replay) opens nothing
        if (actor.stage !== undefined && actor.stage !== what) return refuse(`this approval was for ${actor.stage}; ${what} is awaiting approval now`);
        if (view.strict.approved === what) return refuse(`${what} is already approved`);
      }
      // a quorum counts people: the same person twice is one approval
      if (view.quorum?.approvedBy.includes(by)) return refuse(`${by} already approved ${what}; it needs ${view.quorum.required} approvals by different people`);
      // the audit trail says when the approver was allowed as a member of a Slack group
      const via = actor.via && !view.approvers.includes(by) ? ` (as a member of ${actor.via})` : '';
      const effect: Effect = { kind: 'approve', what, ...(actor.via ? { via: actor.via } : {}) };
      const count = view.quorum ? ` (approval ${view.quorum.approvedBy.length + 1}; ${view.quorum.required} needed)` : '';
      return accept(`approved ${what}${count}`, 'approved', effect, `${what}${reason}${via}${count}`);
    }
    case 'reject':
      return accept('rejected; undoing what was done', 'rejected', { kind: 'reject', why: `rejected by ${by}${reason}` });
    case 'rollback':
      return accept('rolling back', 'rollback requested', { kind: 'rollback', why: `rollback requested by ${by}${reason}` });
    case 'pause':
      if (view.paused) return refuse('already paused');
      if (view.phase === 'baking') return refuse('baking: no traffic moves any more; revert, or promote to end the bake now');
      return accept('paused: the current stage keeps being watched and will not promote', 'paused', { kind: 'pause', text: `paused by ${by}${reason}` });
    case 'resume':
      if (!view.paused) return refuse('not paused');
      if (view.held) return refuse('held: an earlier stage did not pass its judge; promote to go on anyway (recorded as a hand promote)');
      return accept('resumed', 'resumed', { kind: 'resume', text: `resumed by ${by}` });
    case 'promote':
      if (view.phase === 'baking') return accept('ending the bake now: the previous version is retired', 'promoted by hand', { kind: 'promote' });
      if (!view.watching && !view.paused) return refuse('no stage is being watched');
      return accept('promoting the current stage', 'promoted by hand', { kind: 'promote' });
    case 'revert':
      // only while the previous version is warm and untouched beside the new one: then it is one call
      if (view.phase !== 'baking')
        return refuse('nothing to revert yet: a revert is for the bake after the full rollout; to undo a rollout in progress, roll back');
      return accept('reverting: all traffic back to the previous version', 'revert requested', { kind: 'revert', why: `reverted by ${by}${reason}` });
  }
}

/** Has `gate` the quorum: `required` distinct people, and one through each group the policy names? */
export function quorumMet(policy: ApprovalPolicy, approvals: ReadonlyArray<{ by: string; stage: string; via?: string }>, gate: string): boolean {
  const mine = approvals.filter((a) => a.stage === gate);
  const people = new Set(mine.map((a) => a.by));
  return people.size >= policy.required && policy.fromGroups.every((g) => mine.some((a) => a.via === g));
}

/** What the gate still lacks, in words: "1 more approval; none yet through group:qa". */
export function quorumMissing(policy: ApprovalPolicy, approvals: ReadonlyArray<{ by: string; stage: string; via?: string }>, gate: string): string {
  const mine = approvals.filter((a) => a.stage === gate);
  const more = Math.max(0, policy.required - new Set(mine.map((a) => a.by)).size);
  const groups = policy.fromGroups.filter((g) => !mine.some((a) => a.via === g));
  return [more ? `${more} more approval${more === 1 ? '' : 's'}` : null, groups.length ? `none yet through ${groups.join(', ')}` : null]
    .filter(Boolean)
    .join('; ');
}
