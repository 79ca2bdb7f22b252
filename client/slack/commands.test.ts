// `/quad ...` text → commands, and the plain-words answers to mistakes.
import { parseCommand, stripMentions } from './commands';
import { InputError } from '../../config/errors';

test.each([
  ['release v1.2.3', { kind: 'release', version: 'v1.2.3' }],
  ['release v1.2.3 checkout', { kind: 'release', version: 'v1.2.3', service: 'checkout' }],
  ['  release   checkout  v1.2.4-rc.1 ', { kind: 'release', version: 'v1.2.4-rc.1', service: 'checkout' }],
  ['status', { kind: 'status' }],
  ['STATUS checkout', { kind: 'status', service: 'checkout' }],
  ['rollback checkout', { kind: 'rollback', service: 'checkout' }],
  ['rollback checkout errors up after deploy', { kind: 'rollback', service: 'checkout', reason: 'errors up after deploy' }],
  ['revert checkout conversions down', { kind: 'revert', service: 'checkout', reason: 'conversions down' }],
  ['flag dark_mode', { kind: 'flag', flag: 'dark_mode' }],
  ['help', { kind: 'help' }],
  ['', { kind: 'help' }],
  ['<@U0QUADBOT> release v1.2.3', { kind: 'release', version: 'v1.2.3' }],
  ['<@U0QUADBOT|quad> status checkout', { kind: 'status', service: 'checkout' }],
])('%j', (text, expected) => {
  expect(parseCommand(text)).toEqual(expected);
});

test.each([
  ['release', /which version\?/],
  ['release v1 a b', /too many words/],
  ['rollback', /which service\?/],
  ['revert', /which service\? Write `\/quad revert <service> \[reason\]`/],
  ['flag', /which flag\?/],
  ['flag a b', /which flag\?/],
  ['status a b', /one service at most/],
  ['deploy-all-the-things now', /I don't know "deploy-all-the-things". Try `\/quad help`/],
])('%j is answered in plain words', (text, message) => {
  const err = (() => {
    try {
      parseCommand(text);
    } catch (e) {
      return e;
    }
  })();
  expect(err).toBeInstanceOf(InputError);
  expect((err as Error).message).toMatch(message);
});

test('a mention and a pasted link are reduced to their words', () => {
  expect(stripMentions('<@U1> <https://x.example|x.example> hi')).toBe('x.example hi');
});
