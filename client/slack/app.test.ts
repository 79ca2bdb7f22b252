// What does not need a server: secrets from the env vars config names, Socket Mode needing its token, and
// the manifest in the repo agreeing with what the app listens for.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { createSlackApp, slackSecretsFromEnv, SLASH_COMMAND, ENDPOINT } from './app';
import { configSchema } from '../../config/schema';
import type { Releases } from '../releases';

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
  expect(() => createSlackApp({ releases, config: cfg, secrets: { botToken: 'xoxb-1', signingSecret: 's' }, socketMode: true, logger: quiet }))
    .toThrow(/app-level token/);
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

const quiet = { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => 'error' as never, setName() {} };
