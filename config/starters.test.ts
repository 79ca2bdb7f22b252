// Who may start a release: the service's starters and the release managers, nobody else; the entries
// as the YAML loader reads them.
import { parseConfig } from './load';
import { mayStart, startersOf } from './starters';

const cfg = parseConfig(
  `
release_managers: [U0RELMGR1]
services:
  checkout:
    starters: [U0STARTER, ana, 'group:@checkout-team', 'jira:712020:3f2a']
  payments: {}
  orders:
    starters: ['jira:*']
`,
  'starters test',
);
const groups = async (group: string, user: string) => group === '@checkout-team' && user === 'U0GROUPED';

test('a listed starter, a release manager, or a member of a listed group may start; anyone else may not', async () => {
  expect(await mayStart(cfg, 'checkout', { slack: 'U0STARTER' })).toEqual({ allowed: true });
  expect(await mayStart(cfg, 'checkout', { slack: 'U0RELMGR1' })).toEqual({ allowed: true });
  expect(await mayStart(cfg, 'checkout', { name: 'ana' })).toEqual({ allowed: true });
  expect(await mayStart(cfg, 'checkout', { slack: 'U0GROUPED' }, groups)).toEqual({ allowed: true, via: 'group:@checkout-team' });
  expect(await mayStart(cfg, 'checkout', { slack: 'U0OUTSIDE' }, groups)).toEqual({
    allowed: false,
    why: 'only the starters of checkout and the release managers may start a release of it',
  });
  // a group cannot be checked without Slack: refused, and the reason says so
  expect(await mayStart(cfg, 'checkout', { slack: 'U0GROUPED' })).toEqual({
    allowed: false,
    why: 'only the starters of checkout and the release managers may start a release of it, and group:@checkout-team cannot be checked here',
  });
});

test('an empty starters list is the release managers only, and with none of those, nobody', async () => {
  expect(startersOf(cfg, 'payments')).toEqual(['U0RELMGR1']);
  expect(await mayStart(cfg, 'payments', { slack: 'U0STARTER' })).toMatchObject({ allowed: false });
  const bare = parseConfig('services: { payments: {} }', 'bare');
  expect(await mayStart(bare, 'payments', { slack: 'U0RELMGR1' })).toEqual({
    allowed: false,
    why: 'nobody may start a release of payments: config lists no starters for it and no release_managers',
  });
});

test('Jira users are matched by account ID or jira:*; a Slack ID or a name never matches a Jira entry', async () => {
  expect(await mayStart(cfg, 'checkout', { jira: '712020:3f2a' })).toEqual({ allowed: true });
  expect(await mayStart(cfg, 'checkout', { jira: '712020:other' })).toMatchObject({ allowed: false });
  expect(await mayStart(cfg, 'orders', { jira: 'anyone' })).toEqual({ allowed: true });
  expect(await mayStart(cfg, 'orders', { slack: 'jira:*' })).toMatchObject({ allowed: false });
  expect(await mayStart(cfg, 'checkout', { name: 'jira:712020:3f2a' })).toMatchObject({ allowed: false });
  // a Jira account named like a release manager's Slack ID is still a Jira account
  expect(await mayStart(cfg, 'payments', { jira: 'U0RELMGR1' })).toMatchObject({ allowed: false });
});

test('the config refuses malformed group and Jira entries', () => {
  expect(() => parseConfig("services: { a: { starters: ['group:nope'] } }", 't')).toThrow(/group:<ID like S0614TZR7>/);
  expect(() => parseConfig("release_managers: ['jira:a b']\nservices: { a: {} }", 't')).toThrow(/jira:<accountId>/);
});
