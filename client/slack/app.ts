// The Slack app: `/quad ...` slash commands, `@quad ...` mentions and the release message's buttons, on
// Bolt's HTTP receiver or Socket Mode. Over HTTP a guard checks each request first (signature, time
// within 5 minutes either way, a body Bolt can route) and answers 4xx itself (guard.ts). Every handler
// acks first and works after, so Slack's 3-second limit never depends on Temporal. Everything goes
// through `Releases`, the same entry the CLI uses. Starting needs a starter or a release manager
// (config/starters.ts); a button acts only from its own release's message, and only for the service's
// approvers (release managers when it lists none), and the workflow checks again. Anything a person
// typed is escaped and bounded when it is shown back (echo.ts).
import { App, HTTPReceiver, LogLevel, type Logger, type BlockAction, type ButtonAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { QuadConfig } from '../../config/schema';
import { InputError } from '../../config/errors';
import type { Releases } from '../releases';
import type { Command } from '../../contract/messages';
import { parseCommand, HELP, type QuadCommand } from './commands';
import { releaseBlocks, releaseListText, viewOfStatus, escapeMrkdwn, ACTION_IDS, shownStageOf } from '../../render/slack-blocks';
import { mayCommand, memberOfGroups, RELEASE_ID, slackGroupDirectory } from './approvers';
import { guardedListener } from './guard';
import { clickBelongsTo } from './message-binding';
import { echo, ANSWER_MAX } from './echo';
import { mayStart, flagService } from '../../config/starters';
import { resolveRelease, resolveFlagRamp } from '../../config/resolve';
import { envNameOf } from '../../config/env-ref';

export interface SlackSecrets {
  botToken: string;
  signingSecret: string;
  /** xapp-... token; set = Socket Mode (no public URL needed) */
  appToken?: string;
}

/** Secrets from the env vars the config names (`${SLACK_BOT_TOKEN}`); errors name the variable, never a value. */
export function slackSecretsFromEnv(cfg: QuadConfig, env: NodeJS.ProcessEnv = process.env, appTokenEnv = 'SLACK_APP_TOKEN'): SlackSecrets {
  const slack = cfg.providers.slack;
  if (!slack) throw new InputError('providers.slack is not configured: add bot_token and signing_secret as ${ENV_VAR} references');
  const read = (ref: string, what: string) => {
    const name = envNameOf(ref);
    const value = env[name];
    if (!value) throw new InputError(`the Slack ${what} env var ${name} is not set`);
    return value;
  };
  return {
    botToken: read(slack.bot_token, 'bot token'),
    signingSecret: read(slack.signing_secret, 'signing secret'),
    ...(env[appTokenEnv] ? { appToken: env[appTokenEnv] } : {}),
  };
}

export interface SlackAppOptions {
  releases: Releases;
  config: QuadConfig;
  secrets: SlackSecrets;
  /** Socket Mode instead of the HTTP receiver; needs secrets.appToken */
  socketMode?: boolean;
  /** Web API base (tests point it at a local fake); default providers.slack.api_url, then Slack's */
  slackApiUrl?: string;
  /** the slash command's name, as in the manifest */
  command?: string;
  /** HTTP path for commands, interactivity and events */
  endpoint?: string;
  logger?: Logger;
  logLevel?: LogLevel;
}

export interface QuadSlackApp {
  app: App;
  /** HTTP: listens and answers the bound port; Socket Mode: connects */
  start(listen?: { port?: number; host?: string }): Promise<{ port?: number }>;
  stop(): Promise<void>;
}

export const SLASH_COMMAND = '/quad';
export const ENDPOINT = '/slack/events';

const BUTTON_COMMANDS: Record<string, Command> = {
  [ACTION_IDS.approve]: 'approve',
  [ACTION_IDS.reject]: 'reject',
  [ACTION_IDS.rollback]: 'rollback',
  [ACTION_IDS.revert]: 'revert',
  [ACTION_IDS.pause]: 'pause',
  [ACTION_IDS.resume]: 'resume',
};

interface Reply {
  text: string;
  blocks?: Record<string, unknown>[];
}

export function createSlackApp(o: SlackAppOptions): QuadSlackApp {
  const { releases, config } = o;
  const command = o.command ?? SLASH_COMMAND;
  const slackApiUrl = o.slackApiUrl ?? config.providers.slack?.api_url;
  const clientOptions = slackApiUrl ? { slackApiUrl } : {};
  const logLevel = o.logLevel ?? LogLevel.INFO;
  let receiver: HTTPReceiver | undefined;
  let app: App;
  if (o.socketMode) {
    if (!o.secrets.appToken) throw new InputError('Socket Mode needs an app-level token (xapp-...) in SLACK_APP_TOKEN');
    app = new App({
      token: o.secrets.botToken,
      appToken: o.secrets.appToken,
      socketMode: true,
      clientOptions,
      ...(o.logger ? { logger: o.logger } : {}),
      logLevel,
    });
  } else {
    receiver = new HTTPReceiver({
      signingSecret: o.secrets.signingSecret,
      endpoints: o.endpoint ?? ENDPOINT,
      // ack() answers the HTTP request at once; the listener keeps working after it
      processBeforeResponse: false,
      ...(o.logger ? { logger: o.logger } : {}),
      logLevel,
    });
    app = new App({ token: o.secrets.botToken, receiver, clientOptions, ...(o.logger ? { logger: o.logger } : {}), logLevel });
    receiver.requestListener = guardedListener(receiver.requestListener, {
      signingSecret: o.secrets.signingSecret,
      endpoints: [o.endpoint ?? ENDPOINT],
      log: (line) => app.logger.warn(line),
    });
  }
  const log = app.logger;
  // members of the Slack user groups that config names as approvers, asked of Slack with the bot token
  const groups = slackGroupDirectory(app.client);
  const memberOf = memberOfGroups(groups);

  /** Words for the person: InputErrors are written for them; anything else is summarized and logged. */
  const answer = (err: unknown): string => {
    // an InputError often repeats what the person typed: escaped and bounded like every echo
    if (err instanceof InputError) return echo(err.message, ANSWER_MAX);
    log.error(`quad slack: ${(err as Error)?.stack ?? String(err)}`);
    return `Something went wrong on our side (${echo((err as Error)?.name ?? 'error', 40)}). Try again in a minute; if it persists, tell the release team.`;
  };

  const onlyService = (): string => {
    const names = Object.keys(config.services);
    if (names.length === 1) return names[0];
    throw new InputError(`which service? Write \`${command} release v1.2.3 <service>\`; configured: ${names.join(', ') || 'none'}`);
  };

  const releaseIdOf = (service: string) => {
    const id = releases.idFor(service);
    if (!RELEASE_ID.test(id)) throw new InputError(`${JSON.stringify(service.slice(0, 60))} is not a service name`);
    return id;
  };

  /** Refused in words when `user` may not start a release of `service`. */
  const mustStart = async (service: string, user: string) => {
    const may = await mayStart(config, service, { slack: user }, memberOf);
    if (!may.allowed) throw new InputError(`:no_entry: Not allowed: ${may.why}.`);
  };

  /** The work behind a command, after the ack. `requestId`: the Slack request, so a retry starts nothing new. */
  const run = async (c: QuadCommand, user: string, requestId?: string): Promise<Reply> => {
    const once = requestId ? { requestId } : undefined;
    switch (c.kind) {
      case 'help':
        return { text: HELP };
      case 'release': {
        const service = c.service ?? onlyService();
        // checked first, so a mistake is named as such (unknown service, bad version) to anyone
        const input = resolveRelease(config, { service, version: c.version, requestedBy: user, source: 'slack' });
        await mustStart(service, user);
        const started = await releases.start(input, once);
        if (started.again)
          return { text: `That request already started ${echo(service)} ${echo(c.version)}: <${started.url}|in Temporal>. Nothing new was started.` };
        return {
          text: `:rocket: Started ${escapeMrkdwn(service)} ${escapeMrkdwn(c.version)}. Follow it in ${escapeMrkdwn(config.notifications.slack_channel)} or <${started.url}|in Temporal>.`,
        };
      }
      case 'flag': {
        const input = resolveFlagRamp(config, { flag: c.flag, requestedBy: user, source: 'slack' });
        await mustStart(flagService(config, c.flag) ?? input.request.service, user);
        const started = await releases.start(input, once);
        return {
          text: `:rocket: Started the ${escapeMrkdwn(c.flag)} flag ramp. Follow it in ${escapeMrkdwn(config.notifications.slack_channel)} or <${started.url}|in Temporal>.`,
        };
      }
      case 'status': {
        if (!c.service) {
          const running = await releases.list({ status: 'running', limit: 20 });
          return { text: releaseListText(running) };
        }
        const id = releaseIdOf(c.service);
        const status = await releases.status(id);
        return releaseBlocks(viewOfStatus(id, status, releases.webUrl(id)), { actions: false });
      }
      case 'rollback':
      case 'revert': {
        const id = releaseIdOf(c.service);
        const may = await mayCommand(config, id, user, groups);
        if (!may.allowed) return { text: `:no_entry: Not allowed: ${echo(may.why, ANSWER_MAX)}.` };
        const r = await releases.command(id, c.kind, user, c.reason, may.via);
        return { text: r.accepted ? `:rewind: ${echo(c.service)}: ${echo(r.message, ANSWER_MAX)}` : `Not done: ${echo(r.message, ANSWER_MAX)}` };
      }
    }
  };

  app.command(command, async ({ command: cmd, ack, respond }) => {
    let parsed: QuadCommand;
    try {
      parsed = parseCommand(cmd.text);
    } catch (err) {
      await ack({ response_type: 'ephemeral', text: answer(err) });
      return;
    }
    if (parsed.kind === 'help') {
      await ack({ response_type: 'ephemeral', text: HELP });
      return;
    }
    await ack();
    let reply: Reply;
    try {
      reply = await run(parsed, cmd.user_id);
    } catch (err) {
      reply = { text: answer(err) };
    }
    await respond({ response_type: 'ephemeral', ...reply } as never);
  });

  app.event('app_mention', async ({ event, body, say }) => {
    if (!event.user) return;
    // Slack retries an event it thinks went unanswered; its event_id makes the retry the same start
    const eventId = typeof body.event_id === 'string' && /^[A-Za-z0-9]{1,60}$/.test(body.event_id) ? `slack-event:${body.event_id}` : undefined;
    let reply: Reply;
    try {
      reply = await run(parseCommand(event.text), event.user, eventId);
    } catch (err) {
      reply = { text: answer(err) };
    }
    await say({ ...reply, thread_ts: event.thread_ts ?? event.ts } as never);
  });

  // The link button also sends an action; it needs only an ack.
  app.action(ACTION_IDS.open, async ({ ack }) => {
    await ack();
  });

  app.action<BlockAction<ButtonAction>>(
    { type: 'block_actions', action_id: new RegExp(`^(${Object.keys(BUTTON_COMMANDS).join('|')})$`) },
    async ({ ack, body, action, client }) => {
      await ack();
      const cmd = BUTTON_COMMANDS[action.action_id];
      // (the HTTP guard refuses a payload without a user; Socket Mode payloads come from Slack itself)
      const user = body.user?.id;
      const releaseId = typeof action.value === 'string' ? action.value : '';
      const container = body.container as { channel_id?: string; message_ts?: string } | undefined;
      const channel = body.channel?.id ?? container?.channel_id;
      const ts = body.message?.ts ?? container?.message_ts;
      if (!channel || !user) return;
      const tell = (text: string) =>
        client.chat.postEphemeral({ channel, user, text }).catch((err) => log.error(`quad slack: ephemeral answer failed: ${(err as Error).message}`));

      // A button acts on the release whose message it is on: an edited value, or an old message's button
      // after a new release of the service started, reaches nothing and rewrites no message.
      if (!RELEASE_ID.test(releaseId) || !(await clickBelongsTo(releases.client, releaseId, channel, ts))) {
        log.warn(
          `quad slack: refused a ${cmd} click by ${user}: its value ${JSON.stringify(releaseId.slice(0, 120))} is not the release of message ${channel}/${ts}`,
        );
        await tell(
          `:no_entry: Not done: this button does not belong to ${echo(releaseId, 120) || 'a release'}'s current message. Use the buttons on that release's own message.`,
        );
        return;
      }

      const may = await mayCommand(config, releaseId, user, groups);
      if (!may.allowed) {
        // Nothing reaches the workflow: the person learns why at once.
        await tell(`:no_entry: Not allowed: ${echo(may.why, ANSWER_MAX)}. Ask one of them, or the release team.`);
        return;
      }
      try {
        // approve and reject are for the gate the message showed; rollback and pause act whatever the stage
        const shown = cmd === 'approve' || cmd === 'reject' ? shownStageOf(action.block_id) : undefined;
        const r = await releases.command(releaseId, cmd, user, undefined, may.via, shown);
        await Promise.all([
          tell(r.accepted ? `:white_check_mark: ${echo(r.message, ANSWER_MAX)}` : `Not done: ${echo(r.message, ANSWER_MAX)}`),
          ts ? refresh(client, releaseId, channel, ts) : Promise.resolve(),
        ]);
      } catch (err) {
        await tell(answer(err));
      }
    },
  );

  /** Re-render the release message from the workflow's status, right after a button changed it. */
  const refresh = async (client: WebClient, releaseId: string, channel: string, ts: string) => {
    try {
      const status = await releases.status(releaseId);
      await client.chat.update({ channel, ts, ...releaseBlocks(viewOfStatus(releaseId, status, releases.webUrl(releaseId))) });
    } catch (err) {
      log.warn(`quad slack: could not refresh the message of ${releaseId}: ${(err as Error).message}`);
    }
  };

  app.error(async (err) => {
    log.error(`quad slack: unhandled: ${err.message}`);
  });

  return {
    app,
    async start(listen = {}) {
      if (!receiver) {
        await app.start();
        return {};
      }
      const server = (await app.start({ port: listen.port ?? 3000, host: listen.host ?? '127.0.0.1' })) as Server;
      return { port: (server.address() as AddressInfo).port };
    },
    stop: () => app.stop() as Promise<void>,
  };
}
