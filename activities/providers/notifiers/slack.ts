// Slack notices: one Block Kit message per release in the configured channel, posted on the first
// notice and updated in place (chat.update) on every later one, with a short thread reply per change so
// the channel itself stays quiet. The ref it returns is `<channel ID>/<ts>`: chat.update needs the
// channel's ID, while config may name the channel (#releases). The bot token is read from the env var
// `tokenEnv` names, at send time; it is never part of options, errors or logs. One attempt per call, short
// timeout: retries belong to the workflow's activity retry policy.
import { WebClient, LogLevel, type Logger } from '@slack/web-api';
import type { Notice, NoticeKind, Notifier } from '../types';
import { NOTICE_KINDS } from '../../../contract/notice';
import type { ReleaseStatus } from '../../../contract/messages';
import type { QuadConfig } from '../../../config/schema';
import { envNameOf } from '../../../config/env-ref';
import { releaseBlocks, viewOfNotice } from '../../../render/slack-blocks';
import { configurationError, missingSecret, transientFailure } from '../../failures';

/** Slack error codes a person must fix (token, scopes, channel membership): retrying cannot help. */
const CONFIG_ERRORS: Record<string, string> = {
  invalid_auth: "the bot token is not valid: set it to the app's Bot User OAuth Token (xoxb-…)",
  not_authed: 'no bot token was sent: set the bot token env var',
  account_inactive: 'the token belongs to a deleted user or an uninstalled app: reinstall the app and set the new bot token',
  token_revoked: 'the bot token was revoked: reinstall the app and set the new bot token',
  token_expired: 'the bot token expired: refresh it, or use a non-expiring bot token',
  missing_scope: 'the app lacks a scope: add chat:write (see slack-app-manifest.yml) and reinstall it',
  no_permission: 'the app may not do this in the workspace: check its scopes and the workspace settings',
  channel_not_found: 'the channel does not exist or the bot cannot see it: check notifications.slack_channel, and invite the bot to it',
  not_in_channel: 'the bot is not in the channel: invite it (/invite @quad) or add the chat:write.public scope',
  is_archived: 'the channel is archived: unarchive it or set another notifications.slack_channel',
  restricted_action: 'a workspace setting forbids posting there: ask a Slack admin, or use another channel',
  ekm_access_denied: "the workspace's EKM blocks the message: ask a Slack admin",
};

export interface SlackNotifierOptions {
  /** name of the env var holding the bot token (xoxb-...) */
  tokenEnv: string;
  /** channel name (#releases) or ID (C0123...) */
  channel: string;
  /** Web API base, default https://slack.com/api/ */
  apiUrl?: string;
  timeoutMs?: number;
  /** kinds that also get a thread reply under the release message; default: every change after the start */
  threadKinds?: NoticeKind[];
  /** the workflow's status at notice time, for a richer message (verdict findings, approvals); optional,
   *  bounded by `statusTimeoutMs`, and the notice alone is rendered when it fails */
  statusOf?: (releaseId: string) => Promise<ReleaseStatus | null>;
  statusTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Every change gets a thread reply, except the start (the message itself) and a stage passing (the next stage's start follows at once). */
const DEFAULT_THREAD_KINDS: NoticeKind[] = NOTICE_KINDS.filter((k) => k !== 'started' && k !== 'stage_passed');

/** The Web API client's own logger stays at ERROR, and never sees the token (it is not logged by it). */
const quiet: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  setLevel() {},
  getLevel: () => LogLevel.ERROR,
  setName() {},
};

export function parseRef(ref: string | undefined, fallbackChannel: string): { channel: string; ts: string } | null {
  if (!ref) return null;
  const i = ref.indexOf('/');
  return i > 0 ? { channel: ref.slice(0, i), ts: ref.slice(i + 1) } : { channel: fallbackChannel, ts: ref };
}

/** Which run a notice belongs to: the Web UI link names the run; without it, the release and version. */
const runKey = (n: Notice) => n.url ?? `${n.releaseId}|${n.version}|${n.requestedBy}`;

export class SlackNotifier implements Notifier {
  readonly name = 'slack';
  private readonly threadKinds: Set<NoticeKind>;
  /**
   * Per run: the last message ref this process saw, and a chain that runs its notices one at a time.
   * The workflow may send a notice before the previous one has returned its ref; without this, two
   * notices in flight would both post a new message. (Across worker processes only the ref helps.)
   */
  private readonly runs = new Map<string, { ref?: string; chain: Promise<unknown>; used: number }>();

  constructor(private readonly options: SlackNotifierOptions) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(options.tokenEnv)) throw new Error(`slack: ${JSON.stringify(options.tokenEnv)} is not an env var name`);
    if (!options.channel) throw new Error('slack: a channel is required');
    this.threadKinds = new Set(options.threadKinds ?? DEFAULT_THREAD_KINDS);
  }

  async notify(notice: Notice): Promise<{ ref: string }> {
    const key = runKey(notice);
    const run = this.runs.get(key) ?? { chain: Promise.resolve(), used: 0 };
    run.used = Date.now();
    this.runs.set(key, run);
    this.forgetOldRuns();
    const result = run.chain
      .catch(() => undefined)
      .then(async () => {
        const out = await this.send(notice, notice.ref ?? run.ref);
        run.ref = out.ref;
        return out;
      });
    run.chain = result;
    return result;
  }

  private forgetOldRuns() {
    if (this.runs.size < 1000) return;
    const oldest = [...this.runs.entries()].sort((a, b) => a[1].used - b[1].used).slice(0, 500);
    for (const [k] of oldest) this.runs.delete(k);
  }

  private async send(notice: Notice, ref: string | undefined): Promise<{ ref: string }> {
    const client = this.client();
    const status = await this.status(notice.releaseId);
    const message = releaseBlocks(viewOfNotice(notice, status));
    const prior = parseRef(ref, this.options.channel);

    let channel: string;
    let ts: string;
    let fresh = false;
    if (prior) {
      try {
        await this.call(notice, 'chat.update', () => client.chat.update({ channel: prior.channel, ts: prior.ts, ...message }));
        ({ channel, ts } = prior);
      } catch (err) {
        // Someone deleted the release message: start a new one rather than go silent.
        if (slackError(err) !== 'message_not_found') throw err;
        ({ channel, ts } = await this.post(client, notice, message));
        fresh = true;
      }
    } else {
      ({ channel, ts } = await this.post(client, notice, message));
      fresh = true;
    }
    if (!fresh && this.threadKinds.has(notice.kind)) {
      const line = notice.detail ? `${notice.text}\n${notice.detail}` : notice.text;
      await this.call(notice, 'chat.postMessage (thread)', () =>
        client.chat.postMessage({ channel, thread_ts: ts, text: escapeText(line).slice(0, 3000), unfurl_links: false }),
      );
    }
    return { ref: `${channel}/${ts}` };
  }

  private async post(client: WebClient, notice: Notice, message: ReturnType<typeof releaseBlocks>) {
    const r = await this.call(notice, 'chat.postMessage', () => client.chat.postMessage({ channel: this.options.channel, ...message, unfurl_links: false }));
    if (!r.channel || !r.ts) throw new Error(`slack chat.postMessage for ${notice.releaseId} answered without channel/ts`);
    return { channel: r.channel, ts: r.ts };
  }

  private client(): WebClient {
    const env = this.options.env ?? process.env;
    const token = env[this.options.tokenEnv];
    if (!token) throw missingSecret('slack', this.options.tokenEnv, 'providers.slack.bot_token');
    return new WebClient(token, {
      ...(this.options.apiUrl ? { slackApiUrl: this.options.apiUrl } : {}),
      timeout: this.options.timeoutMs ?? 5_000,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      logger: quiet,
      logLevel: LogLevel.ERROR,
    });
  }

  private async status(releaseId: string): Promise<ReleaseStatus | null> {
    if (!this.options.statusOf) return null;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((r) => {
      timer = setTimeout(() => r(null), this.options.statusTimeoutMs ?? 2_000);
    });
    try {
      return await Promise.race([this.options.statusOf(releaseId).catch(() => null), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * One Web API call; failures name the method, the release and Slack's error code — never the token.
   * A code a person must fix (invalid_auth, missing_scope, channel_not_found, …) is a non-retryable
   * ConfigurationError; rate limiting, Slack's own errors and the network are retryable.
   */
  private async call<T>(notice: Notice, what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const code = slackError(err);
      const message = `slack ${what} for ${notice.releaseId} (${notice.kind}) failed: ${code ?? redact((err as Error).message)}`;
      const status = (err as { statusCode?: number }).statusCode;
      const details = { system: 'slack', ...(code ? { slackError: code } : {}), ...(status !== undefined ? { status } : {}) };
      const fix = code ? CONFIG_ERRORS[code] : status === 401 || status === 403 ? "Slack refused the bot token: check it and the app's scopes" : undefined;
      const e = fix ? configurationError(`${message}: ${fix}`, details) : transientFailure(message, details);
      (e as Error & { slackError?: string }).slackError = code ?? undefined;
      throw e;
    }
  }
}

/** Slack's error code (`channel_not_found`, `invalid_auth`, ...) from a Web API error, or null. */
export function slackError(err: unknown): string | null {
  const e = err as { data?: { error?: string }; slackError?: string; code?: string };
  return e?.slackError ?? e?.data?.error ?? null;
}

const redact = (s: string) => s.replace(/xox[a-z]-[A-Za-z0-9-]+/g, 'xox?-[redacted]');
const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The notifier the worker builds from config (providers.slack + notifications.slack_channel). */
export function slackNotifierFromConfig(cfg: QuadConfig, extra: Pick<SlackNotifierOptions, 'statusOf' | 'env'> = {}): SlackNotifier {
  const slack = cfg.providers.slack;
  if (!slack) throw new Error('slack notifications are enabled but providers.slack is not configured (bot_token, signing_secret)');
  return new SlackNotifier({
    tokenEnv: envNameOf(slack.bot_token),
    channel: cfg.notifications.slack_channel,
    ...(slack.api_url ? { apiUrl: slack.api_url } : {}),
    ...extra,
  });
}
