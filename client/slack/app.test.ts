// What does not need Temporal: secrets from the env vars config names, Socket Mode needing its token, the
// manifest in the repo agreeing with what the app listens for, and input refused before Temporal is
// reached (signed requests into the real Bolt HTTP receiver, the Web API a local wire-format fake).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { Client } from '@temporalio/client';
import { createSlackApp, slackSecretsFromEnv, SLASH_COMMAND, ENDPOINT } from './app';
import { configSchema } from '../../config/schema';
import { Releases } from '../releases';
import { startSlackFake, postSigned, slashCommandBody, appMentionBody } from '../../test/support/slack-fake';

const cfg = configSchema.parse({
  providers: { slack: { bot_token: '${QUAD_T_BOT}', signing_secret: '${QUAD_T_SIGNING}' } },
  services: { checkout: { approvers: ['U024BE7LH'] } },
});

test('secrets come from the env vars the config names; a missing one is named, never a value', () => {
  expect(slackSecretsFromEnv(cfg, { QUAD_T_BOT: 'xoxb-1', QUAD_T_SIGNING: 's3cr3t' })).toEqual({ botToken: 'xoxb-1', signingSecret: 's3cr3t' });
  expect(slackSecretsFromEnv(cfg, { QUAD_T_BOT: 'xoxb-1', QUAD_T_SIGNING: 's', SLACK_APP_TOKEN: 'xapp-1' }).appToken).toBe('xapp-1');
  expect(() => slackSecretsFromEnv(cfg, { QUAD_T_BOT: 'xoxb-1' })).toThrow('the Slack signing secret env var QUAD_T_SIGNING is not set');
  expect(() => slackSecretsFromEnv(configSchema.parse({ services: {} }), {})).toThrow(/providers\.slack is not configured/);
});

test('Socket Mode needs an app-level token', () => {
  const releases = {} as Releases;
  expect(() => createSlackApp({ releases, config: cfg, secrets: { botToken: 'xoxb-1', signingSecret: 's' }, socketMode: true, logger: quiet })).toThrow(
    /app-level token/,
  );
});

test('the manifest names the command, the request URLs and the scopes the app uses', () => {
  const m = yaml.load(readFileSync(join(__dirname, '..', '..', 'slack-app-manifest.yml'), 'utf8')) as any;
  expect(m.features.slash_commands.map((c: any) => c.command)).toEqual([SLASH_COMMAND]);
  const urls = [m.features.slash_commands[0].url, m.settings.interactivity.request_url, m.settings.event_subscriptions.request_url];
  for (const u of urls) expect(new URL(u).pathname).toBe(ENDPOINT);
  expect(m.settings.interactivity.is_enabled).toBe(true);
  expect(m.settings.event_subscriptions.bot_events).toEqual(['app_mention']);
  expect([...m.oauth_config.scopes.bot].sort()).toEqual(['app_mentions:read', 'chat:write', 'commands', 'usergroups:read']);
});

describe('names every object inherits, typed into Slack, are unknown services and flags', () => {
  const TOKEN = 'xoxb-app-test';
  const SECRET = 'app-test-signing-secret';
  const APPROVER = 'U024BE7LH';
  const BOT = 'UQUADBOT1';
  // The real Releases, on a client that fails the test if anything reaches Temporal.
  const noTemporal = new Proxy({} as Client, {
    get: (_t, name) => {
      throw new Error(`Temporal must not be reached (client.${String(name)})`);
    },
  });
  let fake: Awaited<ReturnType<typeof startSlackFake>>;
  let slack: ReturnType<typeof createSlackApp>;
  let url: string;
  const errors: string[] = [];

  beforeAll(async () => {
    fake = await startSlackFake({ token: TOKEN, botUserId: BOT });
    const config = configSchema.parse({
      services: { checkout: { approvers: [APPROVER] }, payments: {} },
      feature_flag: { name: 'dark_mode', service: 'checkout', rollout_plan: [{ users_percent: 10 }] },
    });
    slack = createSlackApp({
      releases: new Releases(noTemporal, config, 'app-test'),
      config,
      secrets: { botToken: TOKEN, signingSecret: SECRET },
      slackApiUrl: fake.apiUrl,
      logger: { ...quiet, error: (...m: unknown[]) => void errors.push(m.join(' ')) },
    });
    const { port } = await slack.start({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${port}${ENDPOINT}`;
  });
  afterAll(async () => {
    await slack?.stop();
    await fake?.close();
    // every answer below was a refusal in words, never "something went wrong on our side"
    expect(errors).toEqual([]);
  });

  const slash = async (text: string) => {
    const responseUrl = fake.responseUrl();
    const res = await postSigned(
      url,
      slashCommandBody({ text, userId: APPROVER, channelId: fake.channelId('releases'), responseUrl }),
      'application/x-www-form-urlencoded',
      SECRET,
    );
    expect(res.status).toBe(200);
    const answer = await fake.waitForResponse((r) => r.id === responseUrl.split('/').pop());
    expect(answer.body.response_type).toBe('ephemeral');
    return String(answer.body.text);
  };

  test.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('/quad release v1.2.9 %s: unknown service, in an ephemeral answer', async (name) => {
    expect(await slash(`release v1.2.9 ${name}`)).toBe(`unknown service ${JSON.stringify(name)}; configured: checkout, payments`);
  });

  test.each(['__proto__', 'constructor', 'toString'])('/quad flag %s: no such flag', async (name) => {
    expect(await slash(`flag ${name}`)).toBe(`no rollout plan for flag ${JSON.stringify(name)}; configured: dark_mode`);
  });

  test('/quad rollback constructor: not a release this app knows, and nothing reaches Temporal', async () => {
    expect(await slash('rollback constructor')).toBe(':no_entry: Not allowed: release:constructor is not a release this app knows.');
  });

  test('@quad deploy v1.2.9 __proto__: the answer in the thread says unknown service', async () => {
    const channel = fake.channelId('releases');
    const text = `<@${BOT}> deploy v1.2.9 __proto__`;
    const ts = fake.seedMessage(channel, text, APPROVER);
    const res = await postSigned(url, appMentionBody({ userId: APPROVER, channelId: channel, text, ts, botUserId: BOT }), 'application/json', SECRET);
    expect(res.status).toBe(200);
    const answer = await fake.waitForCall((c) => c.method === 'chat.postMessage' && c.body.thread_ts === ts);
    expect(answer.body.text).toBe('unknown service "__proto__"; configured: checkout, payments');
  });
});

const quiet = { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => 'error' as never, setName() {} };
