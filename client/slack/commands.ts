// `/quad ...` and `@quad ...` text → a command. Pure; every mistake is an InputError whose message is
// written for the person who typed it.
import { InputError } from '../../config/errors';
import { clip, ECHO_MAX } from './echo';

export type QuadCommand =
  | { kind: 'release'; version: string; service?: string }
  | { kind: 'status'; service?: string }
  | { kind: 'rollback' | 'revert'; service: string; reason?: string }
  | { kind: 'flag'; flag: string }
  | { kind: 'help' };

export const HELP = [
  '*QUAD release commands*',
  '`/quad release v1.2.3 [service]` — start a release (the service may be left out when only one is configured)',
  '`/quad status [service]` — where a release is; without a service, every running release',
  '`/quad rollback <service> [reason]` — roll a release back now (approvers only)',
  '`/quad revert <service> [reason]` — during the bake after a full rollout: all traffic back to the previous version, still warm (approvers only)',
  '`/quad flag <flag>` — start a feature-flag ramp (e.g. dark_mode: 10 % → 50 % → 100 %)',
  '`/quad help` — this text',
  'The release message in the channel has Approve / Reject / Rollback / Pause buttons, and Revert while it bakes.',
].join('\n');

const looksLikeVersion = (s: string) => /^v?\d+\.\d+/.test(s);

/** Mentions (`<@U123>`) and Slack's link markup are removed; `@quad release v1` reads as `release v1`. */
export function stripMentions(text: string): string {
  return text
    .replace(/<@[A-Z0-9]+(\|[^>]*)?>/g, ' ')
    .replace(/<(https?:[^|>]+)\|([^>]+)>/g, '$2')
    .trim();
}

export function parseCommand(text: string): QuadCommand {
  const words = stripMentions(typeof text === 'string' ? text : '')
    .split(/\s+/)
    .filter(Boolean);
  // no version, service or flag is this long (a rollback's reason may be): refused here, so no error
  // repeats thousands of characters
  const isReason = (i: number) => ['rollback', 'revert'].includes(words[0]?.toLowerCase() ?? '') && i >= 2;
  const long = words.find((w, i) => w.length > ECHO_MAX && !isReason(i));
  if (long) throw new InputError(`"${clip(long, 40)}" is ${long.length} characters long; no version, service or flag is over ${ECHO_MAX}.`);
  const [verb, ...args] = words;
  switch ((verb ?? 'help').toLowerCase()) {
    case 'help':
    case '?':
      return { kind: 'help' };
    case 'release':
    case 'deploy': {
      if (args.length === 0) throw new InputError('which version? Write `/quad release v1.2.3 [service]`.');
      if (args.length > 2) throw new InputError(`too many words after release: ${clip(args.join(' '), ECHO_MAX)}. Write \`/quad release v1.2.3 [service]\`.`);
      // `release checkout v1.2.3` is read the way it was meant
      const [a, b] = !looksLikeVersion(args[0]) && args[1] && looksLikeVersion(args[1]) ? [args[1], args[0]] : args;
      return { kind: 'release', version: a, ...(b ? { service: b } : {}) };
    }
    case 'status':
      if (args.length > 1) throw new InputError('`/quad status` takes one service at most.');
      return { kind: 'status', ...(args[0] ? { service: args[0] } : {}) };
    case 'rollback':
    case 'revert': {
      const kind = verb.toLowerCase() as 'rollback' | 'revert';
      if (args.length === 0) throw new InputError(`which service? Write \`/quad ${kind} <service> [reason]\`.`);
      const reason = args.slice(1).join(' ');
      return { kind, service: args[0], ...(reason ? { reason } : {}) };
    }
    case 'flag':
    case 'flag-rollout':
      if (args.length !== 1) throw new InputError('which flag? Write `/quad flag <flag>`, e.g. `/quad flag dark_mode`.');
      return { kind: 'flag', flag: args[0] };
    default:
      throw new InputError(`I don't know "${verb.slice(0, 40)}". Try \`/quad help\`.`);
  }
}
