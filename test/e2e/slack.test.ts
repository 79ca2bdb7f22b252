// The Slack app end to end: requests signed exactly as Slack signs them, POSTed to the running Bolt HTTP
// receiver on 127.0.0.1; the workflow runs on the real Temporal dev server with stub activities, except
// `notify`, which calls the real Slack notifier; the Web API and response_url targets are a local
// wire-format fake. Measures the slash-command ack latency and the button → message-updated latency.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { type Worker } from '@temporalio/worker';
import { WorkflowNotFoundError } from '@temporalio/client';
import { LogLevel, type Logger } from '@slack/bolt';
import { localEnv } from '../support/temporal-env';
import { workflowBundle, eventually } from '../support/release-harness';
import { startSlackNotifyingWorker } from '../support/slack-worker';
import { startSlackFake, postSigned, slashCommandBody, buttonClickBody, appMentionBody, type SlackFake, type SlackCall } from '../support/slack-fake';
import { configSchema, type QuadConfig } from '../../config/schema';
import { Releases } from '../../client/releases';
import { CommandSigner, generateSigningKey, SLACK_SIGNER } from '../../client/signing';
import { createPrivateKey } from 'node:crypto';
import { createSlackApp, slackSecretsFromEnv, type QuadSlackApp } from '../../client/slack/app';
import { statusQuery, type ReleaseStatus } from '../../contract/messages';

const APPROVER = 'U024BE7LH';
const OTHER = 'U0NOTALLOW';
const GROUP_MEMBER = 'U0GROUPMEM';
const BOT = 'UQUADBOT1';
const TOKEN = `xoxb-e2e-${process.pid}-${Math.random().toString(36).slice(2)}`;
const SECRET = `signing-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
process.env.QUAD_E2E_SLACK_BOT_TOKEN = TOKEN;
process.env.QUAD_E2E_SLACK_SIGNING_SECRET = SECRET;

let env: TestWorkflowEnvironment;
let fake: SlackFake;
let cfg: QuadConfig;
let releases: Releases;
let slack: QuadSlackApp;
let url: string;
let channel: string;
let worker: Worker;
let running: Promise<void>;
const logs: string[] = [];
const logger: Logger = {
  debug: (...m: unknown[]) => void logs.push(m.join(' ')),
  info: (...m: unknown[]) => void logs.push(m.join(' ')),
  warn: (...m: unknown[]) => void logs.push(m.join(' ')),
  error: (...m: unknown[]) => void logs.push(m.join(' ')),
  setLevel() {},
  getLevel: () => LogLevel.DEBUG,
  setName() {},
};

// the Slack app's own signing key, listed in the config as the front end slack-app
const slackKey = generateSigningKey('slack-app');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

beforeAll(async () => {
  [env, fake] = await Promise.all([
    localEnv(),
    startSlackFake({ token: TOKEN, botUserId: BOT, usergroups: { S0RELMGRS: { handle: 'release-managers', users: [GROUP_MEMBER] } } }),
    workflowBundle(),
  ]);
  channel = fake.channelId('releases');
  const twoStages = {
    approvers: [APPROVER],
    rollout_plan: [
      { traffic_percent: 10, duration_minutes: 0 },
      { traffic_percent: 100, team_approval: 'required' },
    ],
  };
  cfg = configSchema.parse({
    // the approver may start anything; the group's members may start orders
    release_managers: [APPROVER],
    // commands are signed (the default): the app's front-end key signs for the Slack user it verified
    security: { signers: { 'slack-app': { public_key: slackKey.publicLine, front_end: true } } },
    notifications: { slack_enabled: true, slack_channel: '#releases' },
    // no bake: these releases end at 100 % (the bake has tests of its own)
    deployments: { bake_minutes: 0 },
    temporal: { task_queue: `slack-e2e-${process.pid}` },
    providers: { slack: { bot_token: '${QUAD_E2E_SLACK_BOT_TOKEN}', signing_secret: '${QUAD_E2E_SLACK_SIGNING_SECRET}', api_url: fake.apiUrl } },
    services: {
      checkout: twoStages,
      inventory: twoStages,
      // approvers given only as a Slack user group, by its handle
      orders: { ...twoStages, approvers: ['group:@release-managers'], starters: ['group:@release-managers'] },
      // a long first window keeps it running while buttons pause and roll it back
      payments: { approvers: [APPROVER], rollout_plan: [{ traffic_percent: 10, duration_minutes: 60 }, { traffic_percent: 100 }] },
    },
  });
  ({ worker, running } = await startSlackNotifyingWorker(env, cfg, 'v1.2.2'));
  releases = new Releases(env.client, cfg, cfg.temporal.task_queue, new CommandSigner(createPrivateKey(slackKey.privatePem), SLACK_SIGNER));
  slack = createSlackApp({ releases, config: cfg, secrets: slackSecretsFromEnv(cfg), logger });
  const { port } = await slack.start({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${port}/slack/events`;
}, 180_000);

afterAll(async () => {
  await slack?.stop().catch(() => undefined);
  worker?.shutdown();
  await running?.catch(() => undefined);
  await env?.teardown();
  await fake?.close();
  // the secrets never reach a log line
  expect(logs.join('\n')).not.toContain(TOKEN);
  expect(logs.join('\n')).not.toContain(SECRET);
}, 60_000);

const FORM = 'application/x-www-form-urlencoded';
const slash = (text: string, userId = APPROVER, over?: Parameters<typeof postSigned>[4]) => {
  const responseUrl = fake.responseUrl();
  const body = slashCommandBody({ text, userId, channelId: channel, responseUrl });
  return postSigned(url, body, FORM, SECRET, over).then((res) => ({ ...res, responseId: responseUrl.split('/').pop()! }));
};
const reply = (id: string) => fake.waitForResponse((r) => r.id === id, 15_000).then((r) => String(r.body.text));
/** A click on a button of the message as it is now (its blocks, so the actions block's id, included). */
const click = (actionId: string, releaseId: string, messageTs: string, userId = APPROVER) =>
  postSigned(
    url,
    buttonClickBody({
      userId,
      channelId: channel,
      messageTs,
      actionId,
      value: releaseId,
      responseUrl: fake.responseUrl(),
      blocks: fake.messages.get(`${channel}/${messageTs}`)?.blocks,
    }),
    FORM,
    SECRET,
  );
const status = (id: string) => env.client.workflow.getHandle(id).query(statusQuery);
const topLevelPost = (service: string, version: string) => (c: SlackCall) =>
  c.method === 'chat.postMessage' && !c.body.thread_ts && String(c.body.text).startsWith(`${service} ${version}`);
const updateOf =
  (ts: string, contains: string, after = 0) =>
  (c: SlackCall) =>
    c.method === 'chat.update' && c.body.ts === ts && c.at >= after && JSON.stringify(c.body.blocks).includes(contains);
const ackMs: number[] = [];

test('/quad release starts the workflow on the dev server; its message is posted once, then updated in place', async () => {
  const res = await slash('release v1.2.3 checkout');
  expect(res.status).toBe(200);
  ackMs.push(res.ms);
  expect(await reply(res.responseId)).toMatch(
    /^:rocket: Started checkout v1\.2\.3\. Follow it in #releases or <http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/release%3Acheckout\/[\w-]+\|in Temporal>\.$/,
  );

  const s = await status('release:checkout');
  expect(s).toMatchObject({ service: 'checkout', version: 'v1.2.3', requestedBy: APPROVER, status: 'running' });
  expect(s.timeline[0]).toMatchObject({ event: 'requested', by: APPROVER });
  expect(s.timeline[0].detail).toContain('from slack');

  const posted = await fake.waitForCall(topLevelPost('checkout', 'v1.2.3'));
  expect(posted.body.channel).toBe('#releases');
  const ts = fake.messages.get(
    [...fake.messages.keys()].find((k) => fake.messages.get(k)!.text?.startsWith('checkout v1.2.3') && !fake.messages.get(k)!.thread_ts)!,
  )!.ts;
  // moved on without a new message: the same ts is updated, by channel ID, until it awaits approval
  const waiting = await fake.waitForCall(updateOf(ts, 'awaiting approval'), 20_000);
  expect(waiting.body.channel).toBe(channel);
  expect(JSON.stringify(waiting.body.blocks)).toContain('"style":"primary"');
  expect(fake.calls.filter(topLevelPost('checkout', 'v1.2.3'))).toHaveLength(1);
  // a thread reply per change, under the same message
  await fake.waitForCall((c) => c.method === 'chat.postMessage' && c.body.thread_ts === ts && String(c.body.text).includes('needs approval'));
});

test('a click by someone who is not an approver gets an ephemeral refusal, and nothing reaches the workflow', async () => {
  const msg = [...fake.messages.values()].find((m) => m.text?.startsWith('checkout v1.2.3') && !m.thread_ts)!;
  const before = await status('release:checkout');
  expect(before.phase).toBe('awaiting_approval');
  for (const action of ['quad_approve', 'quad_rollback', 'quad_pause']) {
    const res = await click(action, 'release:checkout', msg.ts, OTHER);
    expect(res.status).toBe(200);
  }
  const refusals = await eventually(
    async () => fake.callsTo('chat.postEphemeral').filter((c) => c.body.user === OTHER),
    (r) => r.length === 3,
  );
  for (const r of refusals) {
    expect(r.body.channel).toBe(channel);
    expect(r.body.text).toContain('Not allowed: only the approvers of checkout may do that');
  }
  const after = await status('release:checkout');
  expect(after.phase).toBe('awaiting_approval');
  expect(after.approvals).toEqual([]);
  expect(after.paused).toBe(false);
  expect(after.timeline.filter((t) => t.by === OTHER)).toEqual([]);
  expect(after.timeline).toHaveLength(before.timeline.length);
  // and the slash command says the same
  const rb = await slash('rollback checkout', OTHER);
  expect(await reply(rb.responseId)).toBe(':no_entry: Not allowed: only the approvers of checkout may do that.');
  expect((await status('release:checkout')).timeline.filter((t) => t.by === OTHER)).toEqual([]);
});

test('Approve by an approver: update → workflow approves and finishes → the same message is updated', async () => {
  const msg = [...fake.messages.values()].find((m) => m.text?.startsWith('checkout v1.2.3') && !m.thread_ts)!;
  const t0 = Date.now();
  const p0 = performance.now();
  const res = await click('quad_approve', 'release:checkout', msg.ts);
  expect(res.status).toBe(200);
  const updated = await fake.waitForCall(updateOf(msg.ts, `approved by <@${APPROVER}>`, t0), 15_000);
  const buttonToUpdateMs = updated.at - t0;
  const answer = await fake.waitForCall((c) => c.method === 'chat.postEphemeral' && c.body.user === APPROVER && c.at >= t0);
  expect(answer.body.text).toBe(':white_check_mark: approved full rollout 100 %');
  const result = await releases.result('checkout');
  expect(result).toMatchObject({ status: 'succeeded', trafficPercent: 100 });
  const s: ReleaseStatus = await status('release:checkout');
  expect(s.approvals).toEqual([expect.objectContaining({ by: APPROVER, stage: 'full rollout 100 %' })]);
  const done = await fake.waitForCall(updateOf(msg.ts, ':white_check_mark: *succeeded*', t0), 15_000);
  expect(done.body.channel).toBe(channel);
  expect(
    fake.messages
      .get(`${channel}/${msg.ts}`)!
      .blocks!.find((b) => b.type === 'actions')
      .elements.map((e: any) => e.action_id),
  ).toEqual(['quad_open']);
  expect(fake.calls.filter(topLevelPost('checkout', 'v1.2.3'))).toHaveLength(1);
  console.log(
    `button (Approve) → message updated: ${buttonToUpdateMs} ms (click acked in ${res.ms.toFixed(1)} ms; ${(performance.now() - p0).toFixed(0)} ms to the end of the release)`,
  );
});

test('approvers as a Slack user group: a member approves; a non-member, or a forged group claim, does not', async () => {
  const res = await slash('release v2.0.0 orders', GROUP_MEMBER);
  expect(await reply(res.responseId)).toMatch(/^:rocket: Started orders v2\.0\.0/);
  await fake.waitForCall(topLevelPost('orders', 'v2.0.0'));
  const msg = await eventually(
    async () => [...fake.messages.values()].find((m) => m.text?.startsWith('orders v2.0.0') && !m.thread_ts),
    (m) => !!m,
  );
  await eventually(
    () => status('release:orders'),
    (s) => s.phase === 'awaiting_approval',
    20_000,
  );

  // not in the group: refused by the app, nothing reaches the workflow
  const t0 = Date.now();
  await click('quad_approve', 'release:orders', msg!.ts, OTHER);
  const no = await fake.waitForCall((c) => c.method === 'chat.postEphemeral' && c.body.user === OTHER && c.at >= t0);
  expect(no.body.text).toContain('Not allowed: only the approvers of orders may do that');
  // a client that claims a group the plan does not name is refused by the workflow itself
  const forged = await releases.command('orders', 'approve', OTHER, undefined, 'group:S0FORGED');
  expect(forged).toEqual({ accepted: false, message: `${OTHER} is not an approver of orders` });
  expect((await status('release:orders')).approvals).toEqual([]);

  // in the group: Slack is asked, the workflow accepts the group entry its plan names
  const t1 = Date.now();
  await click('quad_approve', 'release:orders', msg!.ts, GROUP_MEMBER);
  const yes = await fake.waitForCall((c) => c.method === 'chat.postEphemeral' && c.body.user === GROUP_MEMBER && c.at >= t1);
  expect(yes.body.text).toBe(':white_check_mark: approved full rollout 100 %');
  expect(fake.callsTo('usergroups.list').length).toBeGreaterThan(0);
  expect(fake.callsTo('usergroups.users.list').map((c) => c.body.usergroup)).toContain('S0RELMGRS');
  expect(await releases.result('orders')).toMatchObject({ status: 'succeeded', trafficPercent: 100 });
  const s = await status('release:orders');
  expect(s.approvals).toEqual([expect.objectContaining({ by: GROUP_MEMBER, stage: 'full rollout 100 %' })]);
  expect(s.timeline.find((t) => t.event === 'approved')).toMatchObject({
    by: GROUP_MEMBER,
    detail: 'full rollout 100 % (as a member of group:@release-managers)',
  });
});

test('Pause then Rollback from the buttons: the release stops and rolls back, and its message says so', async () => {
  const res = await slash('release v2.0.0 payments');
  ackMs.push(res.ms);
  await reply(res.responseId);
  await fake.waitForCall(topLevelPost('payments', 'v2.0.0'));
  const msg = [...fake.messages.values()].find((m) => m.text?.startsWith('payments v2.0.0') && !m.thread_ts)!;
  await eventually(
    () => status('release:payments'),
    (s) => s.phase === 'rolling_out' && s.windowEndsAt !== null,
    15_000,
  );

  // a second release of the same service: refused in plain words, no second workflow
  const again = await slash('release v2.0.1 payments');
  expect(await reply(again.responseId)).toMatch(
    /^payments v2\.0\.0 is already releasing \(canary 10 %, 10 % traffic\), started by U024BE7LH just now; wait for it, or roll it back first$/,
  );

  // Pause / Resume ten times each: click → the message shows the other button
  const clickToUpdate: number[] = [];
  let t0 = 0;
  for (let i = 0; i < 20; i++) {
    const [action, shows] = i % 2 === 0 ? ['quad_pause', 'quad_resume'] : ['quad_resume', 'quad_pause'];
    t0 = Date.now();
    await click(action, 'release:payments', msg.ts);
    const updated = await fake.waitForCall(updateOf(msg.ts, `"action_id":"${shows}"`, t0), 15_000);
    clickToUpdate.push(updated.at - t0);
    expect((await status('release:payments')).paused).toBe(action === 'quad_pause');
  }
  const pauseMs = `median ${median(clickToUpdate)} ms, max ${Math.max(...clickToUpdate)} ms over ${clickToUpdate.length} clicks`;
  await click('quad_pause', 'release:payments', msg.ts);
  await eventually(
    () => status('release:payments'),
    (s) => s.paused,
  );
  // let the notices of those 21 clicks drain (they are sent one at a time per release) before timing the rollback
  await eventually(
    async () => fake.calls.length,
    (n) => n > 0 && fake.calls.at(-1)!.at < Date.now() - 300,
    20_000,
  );

  t0 = Date.now();
  await click('quad_rollback', 'release:payments', msg.ts);
  const answer = await fake.waitForCall((c) => c.method === 'chat.postEphemeral' && c.body.user === APPROVER && c.at >= t0);
  expect(answer.body.text).toBe(':white_check_mark: rolling back');
  const result = await releases.result('payments');
  expect(result).toMatchObject({ status: 'rolled_back', trafficPercent: 0 });
  expect(result.reason).toBe(`rollback requested by ${APPROVER}`);
  const rolled = await fake.waitForCall(updateOf(msg.ts, ':rewind: *rolled back*', t0), 15_000);
  const rollbackMs = rolled.at - t0;
  expect(JSON.stringify(rolled.body.blocks)).not.toContain('quad_rollback');
  console.log(`button (Pause/Resume) → message updated: ${pauseMs}; button (Rollback) → message shows rolled back: ${rollbackMs} ms`);
});

test('forged, stale or unsigned requests get 401 and start nothing', async () => {
  const calls = fake.calls.length;
  const forged = await slash('release v9.9.9 inventory', APPROVER, { signature: 'v0=' + 'ab'.repeat(32) });
  const wrongSecret = await postSigned(
    url,
    slashCommandBody({ text: 'release v9.9.9 inventory', userId: APPROVER, channelId: channel, responseUrl: fake.responseUrl() }),
    FORM,
    'not-the-secret',
  );
  const stale = await slash('release v9.9.9 inventory', APPROVER, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
  const unsigned = await slash('release v9.9.9 inventory', APPROVER, { signature: null });
  // a genuine signature over a different body (replayed header, tampered text)
  const ts = Math.floor(Date.now() / 1000);
  const { slackSignature } = await import('../support/slack-fake');
  const tampered = await postSigned(
    url,
    slashCommandBody({ text: 'release v9.9.9 inventory', userId: APPROVER, channelId: channel, responseUrl: fake.responseUrl() }),
    FORM,
    SECRET,
    { timestamp: ts, signature: slackSignature(SECRET, ts, slashCommandBody({ text: 'status', userId: APPROVER, channelId: channel, responseUrl: 'x' })) },
  );
  expect([forged.status, wrongSecret.status, stale.status, unsigned.status, tampered.status]).toEqual([401, 401, 401, 401, 401]);
  await new Promise((r) => setTimeout(r, 300));
  await expect(env.client.workflow.getHandle('release:inventory').describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  expect(fake.calls.length).toBe(calls);
});

test('mistakes are answered in plain words', async () => {
  const bad = await slash('release banana checkout');
  expect(bad.status).toBe(200);
  expect(await reply(bad.responseId)).toBe('"banana" is not a version: write it like v1.2.3 (semver)');
  const twice = await slash('rollback');
  expect(JSON.parse(twice.body)).toEqual({ response_type: 'ephemeral', text: 'which service? Write `/quad rollback &lt;service&gt; [reason]`.' });
  const unknown = await slash('release v1.0.0 shipping');
  expect(await reply(unknown.responseId)).toBe('unknown service "shipping"; configured: checkout, inventory, orders, payments');
  const which = await slash('release v1.0.0');
  expect(await reply(which.responseId)).toBe('which service? Write `/quad release v1.2.3 &lt;service&gt;`; configured: checkout, inventory, orders, payments');
  const nothing = await slash('status shipping');
  expect(await reply(nothing.responseId)).toBe('no release of release:shipping found');
  const verb = await slash('yolo');
  expect(JSON.parse(verb.body).text).toBe('I don\'t know "yolo". Try `/quad help`.');
  const help = await slash('help');
  expect(JSON.parse(help.body).text).toContain('/quad rollback <service> [reason]');
});

test('@quad release v1.2.3 as an app mention starts the release and answers in the thread', async () => {
  const ts = fake.seedMessage(channel, `<@${BOT}> release v3.1.0 inventory`, APPROVER);
  const res = await postSigned(
    url,
    appMentionBody({ userId: APPROVER, channelId: channel, text: `<@${BOT}> release v3.1.0 inventory`, ts, botUserId: BOT }),
    'application/json',
    SECRET,
  );
  expect(res.status).toBe(200);
  const answer = await fake.waitForCall((c) => c.method === 'chat.postMessage' && c.body.thread_ts === ts);
  expect(answer.body.channel).toBe(channel);
  expect(answer.body.text).toMatch(/^:rocket: Started inventory v3\.1\.0\./);
  expect(await status('release:inventory')).toMatchObject({ version: 'v3.1.0', requestedBy: APPROVER });
});

test('an app_mention Slack retries (same event_id) answers with the release it started and starts no second', async () => {
  const text = `<@${BOT}> deploy v2.2.0 orders`;
  const ts = fake.seedMessage(channel, text, GROUP_MEMBER);
  const body = appMentionBody({ userId: GROUP_MEMBER, channelId: channel, text, ts, botUserId: BOT });
  expect((await postSigned(url, body, 'application/json', SECRET)).status).toBe(200);
  const first = await fake.waitForCall((c) => c.method === 'chat.postMessage' && c.body.thread_ts === ts);
  expect(first.body.text).toMatch(/^:rocket: Started orders v2\.2\.0\./);
  // Slack's retry: the same event, signed anew (its answer is the next call in the thread, not the first again)
  expect((await postSigned(url, body, 'application/json', SECRET)).status).toBe(200);
  const again = await fake.waitForCall((c) => c !== first && c.method === 'chat.postMessage' && c.body.thread_ts === ts);
  expect(again.body.text).toMatch(/^That request already started orders v2\.2\.0: <http:.*\|in Temporal>\. Nothing new was started\.$/);
  const runs: string[] = [];
  for await (const wf of env.client.workflow.list({ query: 'WorkflowId = "release:orders" AND ExecutionStatus = "Running"' })) runs.push(wf.runId);
  expect(runs).toHaveLength(1);
  await env.client.workflow.getHandle('release:orders').terminate('test over');
});

test('a button whose value names another release than its message is refused: nothing signalled, no message rewritten', async () => {
  const checkoutMsg = [...fake.messages.values()].find((m) => m.text?.startsWith('checkout v1.2.3') && !m.thread_ts)!;
  await eventually(
    () => status('release:inventory'),
    (x) => x.phase === 'awaiting_approval',
    20_000,
  );
  const before = await status('release:inventory');
  const t0 = Date.now();
  for (const action of ['quad_approve', 'quad_pause', 'quad_rollback']) expect((await click(action, 'release:inventory', checkoutMsg.ts)).status).toBe(200);
  const refusals = await eventually(
    async () => fake.callsTo('chat.postEphemeral').filter((c) => c.at >= t0 && c.body.user === APPROVER),
    (r) => r.length === 3,
  );
  for (const r of refusals)
    expect(r.body.text).toBe(
      ":no_entry: Not done: this button does not belong to release:inventory's current message. Use the buttons on that release's own message.",
    );
  const after = await status('release:inventory');
  expect(after).toMatchObject({ phase: 'awaiting_approval', paused: false, approvals: [] });
  expect(after.timeline).toHaveLength(before.timeline.length);
  // and the first release's message was not rewritten to show the other one
  expect(fake.calls.filter((c) => c.method === 'chat.update' && c.body.ts === checkoutMsg.ts && c.at >= t0)).toEqual([]);
  // a value that names no release at all: the same refusal
  await click('quad_approve', 'release:../../etc', checkoutMsg.ts);
  await fake.waitForCall((c) => c.method === 'chat.postEphemeral' && c.at >= t0 && String(c.body.text).includes('release:../../etc'));
});

test('who may start is configured: anyone else is refused by /quad release, /quad flag and @quad deploy, and nothing starts', async () => {
  const rel = await slash('release v4.0.0 checkout', OTHER);
  expect(await reply(rel.responseId)).toBe(':no_entry: Not allowed: only the starters of checkout and the release managers may start a release of it.');
  const ts = fake.seedMessage(channel, `<@${BOT}> deploy v4.0.0 checkout`, OTHER);
  await postSigned(
    url,
    appMentionBody({ userId: OTHER, channelId: channel, text: `<@${BOT}> deploy v4.0.0 checkout`, ts, botUserId: BOT }),
    'application/json',
    SECRET,
  );
  const said = await fake.waitForCall((c) => c.method === 'chat.postMessage' && c.body.thread_ts === ts);
  expect(said.body.text).toBe(':no_entry: Not allowed: only the starters of checkout and the release managers may start a release of it.');
  // a group member may start the service whose starters name the group, and no other
  const grp = await slash('release v4.0.0 checkout', GROUP_MEMBER);
  expect(await reply(grp.responseId)).toMatch(/^:no_entry: Not allowed: only the starters of checkout/);
  expect((await status('release:checkout')).version).toBe('v1.2.3');
});

test('text a person typed is escaped and bounded when echoed: no @channel, @here or group ping, no 5,000-character reply', async () => {
  for (const hostile of ['<!channel>', '<!here>', '<!subteam^S0RELMGRS|@release-managers>', '<!everyone>']) {
    const text = `<@${BOT}> deploy ${hostile} checkout`;
    const ts = fake.seedMessage(channel, text, APPROVER);
    await postSigned(url, appMentionBody({ userId: APPROVER, channelId: channel, text, ts, botUserId: BOT }), 'application/json', SECRET);
    const said = await fake.waitForCall((c) => c.method === 'chat.postMessage' && c.body.thread_ts === ts);
    expect(said.body.text).not.toMatch(/<!/);
    expect(said.body.text).toContain(hostile.replace(/</g, '&lt;').replace(/>/g, '&gt;'));
  }
  const long = 'v1.' + 'x'.repeat(5000);
  // refused while parsing: the answer is the ack itself
  const res = await slash(`release ${long} checkout`);
  const text = String(JSON.parse(res.body).text);
  expect(text.length).toBeLessThan(300);
  expect(text).toBe(`"v1.${'x'.repeat(36)}…" is 5003 characters long; no version, service or flag is over 200.`);
});

test('a signed null body, a block action with no user, or a timestamp 10 minutes ahead: 4xx, the app stays up', async () => {
  const crashes: unknown[] = [];
  const onCrash = (e: unknown) => crashes.push(e);
  process.on('unhandledRejection', onCrash);
  try {
    expect((await postSigned(url, 'null', 'application/json', SECRET)).status).toBe(400);
    expect((await postSigned(url, '[]', 'application/json', SECRET)).status).toBe(400);
    expect((await postSigned(url, '{"event": null}', 'application/json', SECRET)).status).toBe(400);
    expect((await postSigned(url, 'payload=null', FORM, SECRET)).status).toBe(400);
    const noUser = JSON.parse(
      new URLSearchParams(
        buttonClickBody({
          userId: APPROVER,
          channelId: channel,
          messageTs: '1.1',
          actionId: 'quad_approve',
          value: 'release:inventory',
          responseUrl: fake.responseUrl(),
        }),
      ).get('payload')!,
    );
    delete noUser.user;
    expect((await postSigned(url, new URLSearchParams({ payload: JSON.stringify(noUser) }).toString(), FORM, SECRET)).status).toBe(400);
    const future = await slash('release v9.9.9 checkout', APPROVER, { timestamp: Math.floor(Date.now() / 1000) + 10 * 60 });
    expect(future.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(crashes).toEqual([]);
    // still answering
    const ok = await slash('status inventory');
    expect(ok.status).toBe(200);
    await reply(ok.responseId);
  } finally {
    process.off('unhandledRejection', onCrash);
  }
  expect((await status('release:inventory')).approvals).toEqual([]);
});

test('/quad status: one release as blocks, or every running release', async () => {
  const one = await slash('status checkout');
  const r = await fake.waitForResponse((x) => x.id === one.responseId);
  expect(r.body.response_type).toBe('ephemeral');
  expect(JSON.stringify(r.body.blocks)).toContain(':white_check_mark: *succeeded*');
  expect(JSON.stringify(r.body.blocks)).not.toContain('quad_approve');
  const all = await slash('status');
  expect(await reply(all.responseId)).toMatch(/inventory v3\.1\.0\* — /);
});

test('ack latency of the slash command (median of 20)', async () => {
  for (let i = 0; i < 20; i++) {
    const res = await slash('status checkout');
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    ackMs.push(res.ms);
    await reply(res.responseId);
  }
  const m = median(ackMs);
  console.log(`slash command ack: median ${m.toFixed(1)} ms, max ${Math.max(...ackMs).toFixed(1)} ms over ${ackMs.length} commands`);
  expect(m).toBeLessThan(3000);
});

test('no workflow input, result or history event holds the bot token or the signing secret', async () => {
  // Payloads are bytes: walk the history, decode every byte array, and look for the secrets in all of it.
  const texts: string[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) texts.push(Buffer.from(v).toString('utf8'));
    else if (typeof v === 'string') texts.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  let histories = 0;
  for await (const wf of env.client.workflow.list()) {
    walk(await env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory());
    histories++;
  }
  expect(histories).toBeGreaterThan(0);
  const all = texts.join('\n');
  expect(all).toContain(`"requestedBy":"${APPROVER}"`); // the walk does see inside the payloads
  expect(all).not.toContain(TOKEN);
  expect(all).not.toContain(SECRET);
});
