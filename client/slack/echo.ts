// Text that came from a person, shown back in Slack: escaped per Slack's mrkdwn rules (`&`, `<`, `>`),
// so `<!channel>`, `<!here>`, `<!subteam^…>` or `<@U…>` typed into a command can never ping anyone under
// the bot's name, and cut to a bound with an ellipsis, so a 5,000-character message is not sent back.
// Control and bidirectional characters are shown as �, so an echo cannot hide text or read backwards.
import { escapeMrkdwn } from '../../render/slack-blocks';

/** How much of one thing a person typed is ever repeated back. */
export const ECHO_MAX = 200;
/** A whole answer that carries such text (an error message around an echo). */
export const ANSWER_MAX = 1000;

/** At most `max` characters (by code point, so no emoji is cut in half), the last an ellipsis. */
export function clip(s: string, max: number): string {
  const chars = [...s];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : s;
}

import { INVISIBLE } from '../../contract/visible';

export { INVISIBLE };

/** Safe to put into mrkdwn: invisible characters shown as �, bounded, then escaped (so an entity is never cut). */
export function echo(s: string, max = ECHO_MAX): string {
  return escapeMrkdwn(clip(s.replace(INVISIBLE, '\ufffd'), max));
}
