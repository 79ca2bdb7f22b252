// Approver checks with Slack user groups, through the real @slack/web-api client against the local
// wire-format fake of the Web API (usergroups.list, usergroups.users.list).
import { WebClient } from '@slack/web-api';
import { configSchema } from '../../config/schema';
import { startSlackFake, type SlackFake } from '../../test/support/slack-fake';
import { mayCommand, slackGroupDirectory } from './approvers';

const TOKEN = 'xoxb-approvers-test';
const cfg = configSchema.parse({
  services: {
    checkout: { approvers: ['U024BE7LH', 'group:S0RELMGRS'] },
    payments: { approvers: ['group:@payments-oncall'] },
    open: {},
  },
});
let fake: SlackFake;
let client: WebClient;

beforeAll(async () => {
  fake = await startSlackFake({
    token: TOKEN,
    usergroups: {
      S0RELMGRS: { handle: 'release-managers', users: ['U0MEMBER1', 'U0MEMBER2'] },
      S0PAYONCL: { handle: 'payments-oncall', users: ['U0PAYER01'] },
    },
  });
  client = new WebClient(TOKEN, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
});
afterAll(() => fake?.close());

test('a named approver needs no call to Slack', async () => {
  const before = fake.calls.length;
  const groups = slackGroupDirectory(client);
  expect(await mayCommand(cfg, 'release:checkout', 'U024BE7LH', groups)).toEqual({ allowed: true });
  expect(fake.calls.length).toBe(before);
});

test('a service with no approvers is steered by the release managers only; with none listed, by nobody', async () => {
  const groups = slackGroupDirectory(client);
  expect(await mayCommand(cfg, 'release:open', 'U0ANYBODY', groups)).toEqual({
    allowed: false,
    why: 'open lists no approvers and config names no release_managers, so nobody may do that from Slack',
  });
  const managed = configSchema.parse({ release_managers: ['U0RELMGR1', 'group:S0RELMGRS'], services: { open: {} } });
  expect(await mayCommand(managed, 'release:open', 'U0RELMGR1', groups)).toEqual({ allowed: true });
  expect(await mayCommand(managed, 'release:open', 'U0MEMBER1', groups)).toEqual({ allowed: true, via: 'group:S0RELMGRS' });
  expect(await mayCommand(managed, 'release:open', 'U0ANYBODY', groups)).toEqual({
    allowed: false,
    why: 'open lists no approvers, so only the release managers may do that',
  });
});

test('a member of a group named by ID is allowed via that entry; anyone else is refused', async () => {
  const groups = slackGroupDirectory(client);
  expect(await mayCommand(cfg, 'release:checkout', 'U0MEMBER2', groups)).toEqual({ allowed: true, via: 'group:S0RELMGRS' });
  expect(await mayCommand(cfg, 'release:checkout', 'U0OUTSIDE', groups)).toEqual({ allowed: false, why: 'only the approvers of checkout may do that' });
  const asked = fake.callsTo('usergroups.users.list').map((c) => c.body.usergroup);
  expect(asked).toContain('S0RELMGRS');
});

test('a group named by handle is found through usergroups.list', async () => {
  const groups = slackGroupDirectory(client);
  expect(await mayCommand(cfg, 'release:payments', 'U0PAYER01', groups)).toEqual({ allowed: true, via: 'group:@payments-oncall' });
  expect(await mayCommand(cfg, 'release:payments', 'U0MEMBER1', groups)).toMatchObject({ allowed: false });
  expect(fake.callsTo('usergroups.users.list').some((c) => c.body.usergroup === 'S0PAYONCL')).toBe(true);
});

test('members are asked of Slack once a minute, not once a click', async () => {
  let now = 1_000_000;
  const groups = slackGroupDirectory(client, 60_000, () => now);
  const count = () => fake.callsTo('usergroups.users.list').length;
  const before = count();
  await Promise.all([1, 2, 3].map(() => mayCommand(cfg, 'release:checkout', 'U0MEMBER1', groups)));
  await mayCommand(cfg, 'release:checkout', 'U0OUTSIDE', groups);
  expect(count() - before).toBe(1);
  now += 61_000;
  await mayCommand(cfg, 'release:checkout', 'U0MEMBER1', groups);
  expect(count() - before).toBe(2);
});

test('when Slack cannot answer, the answer is no, with the reason; the failure is not cached', async () => {
  const broken = await startSlackFake({
    token: TOKEN,
    failures: { 'usergroups.users.list': 'missing_scope' },
    usergroups: { S0RELMGRS: { handle: 'release-managers', users: ['U0MEMBER1'] } },
  });
  try {
    const groups = slackGroupDirectory(new WebClient(TOKEN, { slackApiUrl: broken.apiUrl, retryConfig: { retries: 0 } }));
    const may = await mayCommand(cfg, 'release:checkout', 'U0MEMBER1', groups);
    expect(may).toMatchObject({ allowed: false });
    expect(may.allowed === false && may.why).toMatch(
      /^only the approvers of checkout may do that, and could not check group:S0RELMGRS with Slack \(.*missing_scope.*\)$/,
    );
    await mayCommand(cfg, 'release:checkout', 'U0MEMBER1', groups);
    expect(broken.callsTo('usergroups.users.list')).toHaveLength(2);
  } finally {
    await broken.close();
  }
  // an unknown handle is said plainly
  const groups = slackGroupDirectory(client);
  const unknown = configSchema.parse({ services: { x: { approvers: ['group:@nobody-here'] } } });
  const may = await mayCommand(unknown, 'release:x', 'U0MEMBER1', groups);
  expect(may.allowed === false && may.why).toContain('Slack has no user group with the handle @nobody-here');
});

test('an unknown release, and a group entry that is not a group, are refused in plain words', async () => {
  expect(await mayCommand(cfg, 'release:nope', 'U024BE7LH')).toEqual({ allowed: false, why: 'release:nope is not a release this app knows' });
  const bad = configSchema.safeParse({ services: { x: { approvers: ['group:release managers'] } } });
  expect(bad.success).toBe(false);
  expect(JSON.stringify(bad.error?.issues)).toContain('a Slack user group as group:<ID like S0614TZR7> or group:@<handle>');
});
