// The guard's pure parts: which signed bodies Bolt could not route (answered 400 by the guard), and the
// signature check with its 5-minute window both ways. The guard on the real receiver: test/e2e/slack.test.ts
// and test/hostile/doors.test.ts.
import type { IncomingMessage } from 'node:http';
import { slackBodyProblem, signatureProblem, parseSlackBody } from './guard';
import { slackSignature } from '../../test/support/slack-fake';

test.each([
  [null, 'the body is not an object'],
  [[], 'the body is not an object'],
  [5, 'the body is not an object'],
  [{ event: null }, 'event is not an object with a type'],
  [{ event: { type: 'app_mention', text: 5 } }, 'an event field has the wrong type'],
  [{ event: { type: 'reaction_added', item: 'x' } }, 'event.item is not an object'],
  [{ event: { type: 'app_mention' }, authorizations: [null] }, 'authorizations is not a list of objects'],
  [{ command: '/quad', text: 'help' }, 'a slash command needs command, user_id and text as strings'],
  [{ type: 'block_actions', actions: [] }, 'the interaction names no user'],
  [{ type: 'block_actions', user: { id: 7 } }, 'the interaction names no user'],
  [{ type: 'block_actions', user: { id: 'U1' }, channel: null }, 'a payload field is not an object'],
  [{ type: 'block_actions', user: { id: 'U1' }, actions: [null] }, 'actions is not a list of objects'],
  [{ type: 'view_submission', user: { id: 'U1' } }, 'a view payload has no view'],
])('%j is refused: %s', (body, why) => {
  expect(slackBodyProblem(body)).toBe(why);
});

test.each([
  { type: 'url_verification', challenge: 'c' },
  { ssl_check: '1' },
  { event: { type: 'app_mention', user: 'U1', text: 'hi', ts: '1.2' }, authorizations: [{ team_id: 'T1' }] },
  { command: '/quad', user_id: 'U1', text: 'help', channel_id: 'C1' },
  { type: 'block_actions', user: { id: 'U1' }, team: null, channel: { id: 'C1' }, actions: [{ action_id: 'a' }] },
])('%j passes', (body) => {
  expect(slackBodyProblem(body)).toBeNull();
});

test('form bodies parse as Bolt parses them; bad JSON in payload throws', () => {
  expect(parseSlackBody('payload=%7B%22a%22%3A1%7D', 'application/x-www-form-urlencoded')).toEqual({ a: 1 });
  expect(parseSlackBody('command=%2Fquad&text=x', 'application/x-www-form-urlencoded')).toEqual({ command: '/quad', text: 'x' });
  expect(() => parseSlackBody('payload=%7B', 'application/x-www-form-urlencoded')).toThrow();
  expect(parseSlackBody('null', 'application/json')).toBeNull();
});

test('the signature is checked, and a timestamp more than 5 minutes away either way is refused', () => {
  const secret = 's3cret';
  const now = 1_800_000_000_000;
  const raw = Buffer.from('{"a":1}');
  const req = (ts: number, sig = slackSignature(secret, ts, raw.toString())) =>
    ({ headers: { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': sig } }) as unknown as IncomingMessage;
  const t = now / 1000;
  expect(signatureProblem(secret, req(t), raw, now)).toBeNull();
  expect(signatureProblem(secret, req(t - 299), raw, now)).toBeNull();
  expect(signatureProblem(secret, req(t + 299), raw, now)).toBeNull();
  expect(signatureProblem(secret, req(t - 301), raw, now)).toBe('the request timestamp is more than 5 minutes from our clock');
  expect(signatureProblem(secret, req(t + 600), raw, now)).toBe('the request timestamp is more than 5 minutes from our clock');
  expect(signatureProblem(secret, req(t, 'v0=' + '00'.repeat(32)), raw, now)).toBe('signature mismatch');
  expect(signatureProblem(secret, req(t, 'v1=abc'), raw, now)).toBe('no v0 signature');
  expect(signatureProblem(secret, { headers: {} } as IncomingMessage, raw, now)).toBe('no request timestamp');
});
