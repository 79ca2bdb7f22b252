// The Slack notifier against the local wire-format fake of the Web API: one message per release, posted
// then updated in place by channel ID + ts, thread replies per change, a deleted message replaced, Slack
// errors named without the token.
import { ApplicationFailure } from '@temporalio/activity';
import { startSlackFake, type SlackFake } from '../../../test/support/slack-fake';
import { SlackNotifier, slackNotifierFromConfig, parseRef } from './slack';
import { fanOutNotice } from '../../index';
import { envNameOf } from '../../../config/env-ref';
import type { Notice } from '../types';
import type { ReleaseStatus } from '../../../contract/messages';
import { configSchema } from '../../../config/schema';

const TOKEN = `xoxb-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
const env = { QUAD_TEST_SLACK_TOKEN: TOKEN };
let fake: SlackFake;

beforeAll(async () => {
  fake = await startSlackFake({ token: TOKEN });
});
afterAll(() => fake?.close());

let n = 0;
const notice = (over: Partial<Notice> = {}): Notice => ({
  kind: 'started',
  releaseId: `release:svc${++n}`,
  service: `svc${n}`,
  version: 'v1.2.3',
  strategy: 'canary',
  requestedBy: 'U024BE7LH',
  text: `svc${n} v1.2.3 release started by U024BE7LH (canary)`,
  at: Date.now(),
  url: 'http://127.0.0.1:8233/namespaces/default/workflows/release%3Asvc/run',
  ...over,
});

const notifier = (over: Partial<ConstructorParameters<typeof SlackNotifier>[0]> = {}) =>
  new SlackNotifier({ tokenEnv: 'QUAD_TEST_SLACK_TOKEN', channel: '#releases', apiUrl: fake.apiUrl, env, ...over });

test('the first notice posts the message; later ones update it in place (channel ID + same ts) with a thread reply', async () => {
  const slack = notifier();
  const first = notice();
  const before = fake.calls.length;
  const { ref } = await slack.notify(first);
  const [channel, ts] = ref.split('/');
  expect(channel).toBe(fake.channelId('releases'));
  const posted = fake.messages.get(ref)!;
  expect(posted.text).toContain(`${first.service} v1.2.3`);
  expect(posted.blocks!.find((b) => b.type === 'actions').elements.map((e: any) => e.action_id)).toEqual([
    'quad_approve',
    'quad_reject',
    'quad_rollback',
    'quad_pause',
    'quad_open',
  ]);
  // real wire format: form-encoded, token in the Authorization header, not in the body
  const post = fake.calls.slice(before).find((c) => c.method === 'chat.postMessage')!;
  expect(post.encoding).toBe('form');
  expect(JSON.stringify(post.body)).not.toContain(TOKEN);

  const next = await slack.notify({
    ...first,
    kind: 'stage_started',
    stage: 'canary 25 %',
    trafficPercent: 25,
    text: `${first.service} v1.2.3: canary 25 %`,
    ref,
  });
  expect(next.ref).toBe(ref);
  const updates = fake.calls.slice(before).filter((c) => c.method === 'chat.update');
  expect(updates).toHaveLength(1);
  expect(updates[0].body).toMatchObject({ channel, ts });
  expect(fake.messages.get(ref)!.updates).toBe(1);
  expect(JSON.stringify(fake.messages.get(ref)!.blocks)).toContain('25 %');
  const thread = fake.calls.slice(before).filter((c) => c.method === 'chat.postMessage' && c.body.thread_ts === ts);
  expect(thread).toHaveLength(1);
  expect(thread[0].body.text).toContain('canary 25 %');
  // one top-level message in the channel for the whole release
  expect([...fake.messages.values()].filter((m) => m.ts === ts || m.thread_ts === ts).filter((m) => !m.thread_ts)).toHaveLength(1);
});

test('notices of one run sent before the previous answered still make one message (serialized per run)', async () => {
  const slack = notifier();
  const first = notice();
  const before = fake.calls.length;
  // the workflow schedules notices without waiting: three in flight, none carrying a ref yet
  const refs = await Promise.all([
    slack.notify(first),
    slack.notify({ ...first, kind: 'stage_started', stage: 'canary 10 %', trafficPercent: 10, text: 'canary 10 %' }),
    slack.notify({ ...first, kind: 'awaiting_approval', text: 'needs approval' }),
  ]);
  expect(new Set(refs.map((r) => r.ref)).size).toBe(1);
  const mine = fake.calls.slice(before);
  expect(mine.filter((c) => c.method === 'chat.postMessage' && !c.body.thread_ts)).toHaveLength(1);
  expect(mine.filter((c) => c.method === 'chat.update')).toHaveLength(2);
  expect(fake.messages.get(refs[0].ref)!.text).toContain('awaiting approval');
});

test('an ended release shows no buttons but the link; the verdict and approvals come from the status when given', async () => {
  const first = notice();
  const status: ReleaseStatus = {
    service: first.service,
    version: 'v1.2.3',
    previousVersion: 'v1.2.2',
    strategy: 'canary',
    requestedBy: 'U024BE7LH',
    startedAt: Date.now() - 60_000,
    phase: 'rolled_back',
    status: 'rolled_back',
    stageIndex: 1,
    stageCount: 3,
    stage: 'canary 25 %',
    trafficPercent: 0,
    windowEndsAt: null,
    lastVerdict: {
      verdict: 'FAIL',
      explanation: 'error rate 8 % vs baseline 0.1 %',
      findings: [{ metric: 'error_rate', status: 'breach', canary: 8, baseline: 0.1, limit: 1, explanation: 'error rate 8.0 % (limit 1 %)' }],
      canaryRequests: 900,
      intervals: 3,
    },
    approvals: [{ by: 'U024BE7LH', at: Date.now(), stage: 'release' }],
    paused: false,
    timeline: [{ at: Date.now(), event: 'rolled_back' }],
  };
  const asked: string[] = [];
  const slack = notifier({
    statusOf: async (id) => {
      asked.push(id);
      return status;
    },
  });
  const { ref } = await slack.notify({ ...first, kind: 'rolled_back', text: 'rolled back: breach' });
  expect(asked).toEqual([first.releaseId]);
  const blocks = fake.messages.get(ref)!.blocks!;
  const json = JSON.stringify(blocks);
  expect(json).toContain('Last verdict: FAIL');
  expect(json).toContain('error rate 8.0 % (limit 1 %)');
  expect(json).toContain('<@U024BE7LH> (release)');
  expect(json).toContain('v1.2.2 on 100 %');
  expect(blocks.find((b) => b.type === 'actions').elements.map((e: any) => e.action_id)).toEqual(['quad_open']);
});

test('a slow or failing status lookup does not stall the notice', async () => {
  const slack = notifier({ statusOf: () => new Promise(() => {}), statusTimeoutMs: 100 });
  const t0 = Date.now();
  const { ref } = await slack.notify(notice());
  expect(Date.now() - t0).toBeLessThan(2000);
  expect(fake.messages.has(ref)).toBe(true);
});

test('a deleted release message is replaced by a new one, and the new ref is returned', async () => {
  const slack = notifier();
  const first = notice();
  const { ref } = await slack.notify(first);
  fake.messages.delete(ref);
  const again = await slack.notify({ ...first, kind: 'stage_started', text: 'canary 5 %', ref });
  expect(again.ref).not.toBe(ref);
  expect(fake.messages.has(again.ref)).toBe(true);
});

test('people’s text cannot ping the channel: <!channel> and links are escaped', async () => {
  const slack = notifier();
  const { ref } = await slack.notify(notice({ text: 'rollback requested by eve: <!channel> look <http://evil|here>' }));
  const json = JSON.stringify(fake.messages.get(ref)!.blocks);
  expect(json).not.toContain('<!channel>');
  expect(json).toContain('&lt;!channel&gt;');
});

test('Slack errors are named (channel_not_found, invalid_auth) as non-retryable ConfigurationErrors, and the token never appears', async () => {
  const missingChannel = await notifier({ channel: '#nope' })
    .notify(notice())
    .catch((e: unknown) => e);
  expect(missingChannel).toBeInstanceOf(ApplicationFailure);
  expect(missingChannel).toMatchObject({
    type: 'ConfigurationError',
    nonRetryable: true,
    details: [{ system: 'slack', slackError: 'channel_not_found' }],
    message: expect.stringMatching(/chat\.postMessage .* failed: channel_not_found: .*check notifications\.slack_channel, and invite the bot/),
  });
  const wrong = { QUAD_TEST_SLACK_TOKEN: 'xoxb-wrong-token-123' };
  const err = await notifier({ env: wrong })
    .notify(notice())
    .catch((e: Error) => e);
  expect(err).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, message: expect.stringMatching(/invalid_auth: the bot token is not valid/) });
  expect(JSON.stringify({ m: (err as Error).message, s: (err as Error).stack })).not.toContain('xoxb-wrong-token-123');
  const unset = await notifier({ env: {} })
    .notify(notice())
    .catch((e: unknown) => e);
  expect(unset).toMatchObject({
    type: 'ConfigurationError',
    nonRetryable: true,
    message:
      'slack: the env var QUAD_TEST_SLACK_TOKEN (named by providers.slack.bot_token) is not set on the worker: set it where the worker runs, then retry the release',
  });
});

test('an unreachable Slack fails fast (one attempt, bounded timeout) and stays retryable', async () => {
  const t0 = Date.now();
  const err = await notifier({ apiUrl: 'http://127.0.0.1:9/api/', timeoutMs: 1000 })
    .notify(notice())
    .catch((e: unknown) => e);
  expect(err).toMatchObject({ type: 'TransientError', nonRetryable: false, message: expect.stringMatching(/slack chat\.postMessage/) });
  expect(Date.now() - t0).toBeLessThan(3000);
});

test('fanOutNotice asks a misconfigured Slack once, and a Slack that is down up to its attempts', async () => {
  const down = await startSlackFake({ token: TOKEN, failures: { 'chat.postMessage': 'service_unavailable' } });
  try {
    const before = fake.callsTo('chat.postMessage').length;
    const misconfigured = await fanOutNotice({ slack: notifier({ channel: '#nope' }) }, ['slack'], notice(), {}, 3);
    expect(misconfigured.failed).toEqual([{ notifier: 'slack', error: expect.stringMatching(/failed: channel_not_found: /) }]);
    expect(fake.callsTo('chat.postMessage').length - before).toBe(1);

    const outage = await fanOutNotice({ slack: notifier({ apiUrl: down.apiUrl }) }, ['slack'], notice(), {}, 3);
    expect(outage.failed).toEqual([{ notifier: 'slack', error: expect.stringMatching(/failed: service_unavailable$/) }]);
    expect(down.callsTo('chat.postMessage')).toHaveLength(3);
  } finally {
    await down.close();
  }
});

test('built from config: token env from ${...}, channel from notifications, api_url honoured', async () => {
  const cfg = configSchema.parse({
    notifications: { slack_enabled: true, slack_channel: '#releases' },
    providers: { slack: { bot_token: '${QUAD_TEST_SLACK_TOKEN}', signing_secret: '${QUAD_TEST_SLACK_SIGNING}', api_url: fake.apiUrl } },
    services: { checkout: {} },
  });
  const { ref } = await slackNotifierFromConfig(cfg, { env }).notify(notice());
  expect(fake.messages.has(ref)).toBe(true);
  expect(envNameOf('${SLACK_BOT_TOKEN}')).toBe('SLACK_BOT_TOKEN');
  expect(() => envNameOf('xoxb-inline')).toThrow();
  expect(parseRef('C1/1.2', '#x')).toEqual({ channel: 'C1', ts: '1.2' });
  expect(parseRef('1.2', 'C9')).toEqual({ channel: 'C9', ts: '1.2' });
});
