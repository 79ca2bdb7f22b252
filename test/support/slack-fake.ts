// A small local stand-in for the Slack Web API (and for response_url targets), speaking the real wire
// format: POST /api/<method> with a form-encoded or JSON body, the bot token as `Authorization: Bearer`
// (or a `token` field), HTTP 200 with `{ok: true, ...}` or `{ok: false, error}`. It enforces what the real
// API enforces where our code could get it wrong: a valid token, known channels, chat.update only by
// channel ID and an existing ts, text or blocks present, Block Kit limits. Every call is recorded.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac } from 'node:crypto';

export interface SlackCall {
  method: string;
  /** parsed body; `blocks` / `attachments` given as JSON strings in a form body are parsed, as Slack does */
  body: Record<string, any>;
  encoding: 'form' | 'json';
  at: number;
}

export interface FakeMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: any[];
  thread_ts?: string;
  /** how many times chat.update changed it */
  updates: number;
}

export interface ResponseUrlPost {
  id: string;
  body: Record<string, any>;
  at: number;
}

export interface SlackFake {
  /** base of the Web API, for `clientOptions.slackApiUrl` (ends with /api/) */
  apiUrl: string;
  calls: SlackCall[];
  messages: Map<string, FakeMessage>;
  responses: ResponseUrlPost[];
  /** a fresh response_url that records what is POSTed to it */
  responseUrl(): string;
  /** channel name → ID, as chat.postMessage answers */
  channelId(name: string): string;
  callsTo(method: string): SlackCall[];
  /** a message a person wrote (e.g. the one that mentions the app), so replies can thread under it */
  seedMessage(channel: string, text: string, user: string): string;
  /** resolves with the first call (already made or still to come) that satisfies `pred` */
  waitForCall(pred: (c: SlackCall) => boolean, timeoutMs?: number): Promise<SlackCall>;
  waitForResponse(pred: (r: ResponseUrlPost) => boolean, timeoutMs?: number): Promise<ResponseUrlPost>;
  close(): Promise<void>;
}

export interface SlackFakeOptions {
  token: string;
  /** channel name (without #) → ID */
  channels?: Record<string, string>;
  botUserId?: string;
  /** make a method answer {ok:false, error} (e.g. to simulate an outage or a deleted message) */
  failures?: Record<string, string>;
  /** Slack user groups, by ID (S…): their handle and member user IDs */
  usergroups?: Record<string, { handle: string; users: string[] }>;
}

const LIMITS = { blocks: 50, text: 40_000, sectionText: 3000, headerText: 150, actionElements: 25, buttonValue: 2000, actionId: 255, buttonText: 75 };

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(raw: string, contentType: string): { body: Record<string, any>; encoding: 'form' | 'json' } {
  if (contentType.includes('application/json')) return { body: raw ? JSON.parse(raw) : {}, encoding: 'json' };
  const body: Record<string, any> = Object.fromEntries(new URLSearchParams(raw));
  for (const k of ['blocks', 'attachments', 'metadata']) {
    if (typeof body[k] === 'string') {
      try {
        body[k] = JSON.parse(body[k]);
      } catch {
        body[k] = { invalid: body[k] };
      }
    }
  }
  return { body, encoding: 'form' };
}

/** What Slack answers `invalid_blocks` to, or null when the blocks are acceptable. */
export function blockProblem(blocks: unknown): string | null {
  if (!Array.isArray(blocks)) return 'blocks must be an array';
  if (blocks.length > LIMITS.blocks) return `more than ${LIMITS.blocks} blocks`;
  for (const [i, b] of blocks.entries()) {
    if (!b || typeof b.type !== 'string') return `block ${i} has no type`;
    if (b.type === 'header' && (b.text?.type !== 'plain_text' || String(b.text.text).length > LIMITS.headerText))
      return `header ${i}: plain_text of at most ${LIMITS.headerText}`;
    if (b.type === 'section') {
      if (!b.text && !b.fields) return `section ${i} has neither text nor fields`;
      if (b.text && String(b.text.text ?? '').length > LIMITS.sectionText) return `section ${i} text over ${LIMITS.sectionText}`;
      if (b.text && String(b.text.text ?? '').length === 0) return `section ${i} text is empty`;
      if (b.fields && (b.fields.length > 10 || b.fields.some((f: any) => String(f.text).length > 2000))) return `section ${i} fields over limits`;
    }
    if (b.type === 'actions') {
      if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > LIMITS.actionElements)
        return `actions ${i}: 1..${LIMITS.actionElements} elements`;
      const ids = new Set<string>();
      for (const e of b.elements) {
        if (e.type !== 'button') continue;
        if (e.text?.type !== 'plain_text' || String(e.text.text).length > LIMITS.buttonText)
          return `button in block ${i}: plain_text of at most ${LIMITS.buttonText}`;
        if (e.value !== undefined && String(e.value).length > LIMITS.buttonValue) return `button value over ${LIMITS.buttonValue}`;
        if (e.action_id !== undefined) {
          if (String(e.action_id).length > LIMITS.actionId) return 'action_id too long';
          if (ids.has(e.action_id)) return `duplicate action_id ${e.action_id} in block ${i}`;
          ids.add(e.action_id);
        }
        if (e.style !== undefined && !['primary', 'danger'].includes(e.style)) return `button style ${e.style}`;
      }
    }
    if (b.type === 'context' && (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 10)) return `context ${i}: 1..10 elements`;
  }
  return null;
}

export async function startSlackFake(opts: SlackFakeOptions): Promise<SlackFake> {
  const channels: Record<string, string> = { releases: 'C0RELEASES', ...opts.channels };
  const ids = new Set(Object.values(channels));
  const botUserId = opts.botUserId ?? 'UQUADBOT1';
  const calls: SlackCall[] = [];
  const messages = new Map<string, FakeMessage>();
  const responses: ResponseUrlPost[] = [];
  const waiters: (() => void)[] = [];
  let seq = 0;
  let responseSeq = 0;
  const nextTs = () => `${Math.floor(Date.now() / 1000)}.${String(++seq).padStart(6, '0')}`;
  const notify = () => waiters.splice(0).forEach((w) => w());

  /** A channel given as ID, as #name or as name: the ID, or null when unknown. */
  const resolveChannel = (c: unknown, idOnly: boolean): string | null => {
    if (typeof c !== 'string' || !c) return null;
    if (ids.has(c)) return c;
    if (idOnly) return null;
    return channels[c.replace(/^#/, '')] ?? null;
  };

  const methods: Record<string, (b: Record<string, any>) => Record<string, unknown>> = {
    'auth.test': () => ({
      url: 'https://quad-test.slack.com/',
      team: 'Quad Test',
      user: 'quad',
      team_id: 'T0QUADTST',
      user_id: botUserId,
      bot_id: 'B0QUADBOT',
      is_enterprise_install: false,
    }),
    'chat.postMessage': (b) => {
      const channel = resolveChannel(b.channel, false);
      if (!channel) return { ok: false, error: 'channel_not_found' };
      if (!b.text && !b.blocks) return { ok: false, error: 'no_text' };
      if (b.blocks && blockProblem(b.blocks)) return { ok: false, error: 'invalid_blocks', errors: [blockProblem(b.blocks)] };
      if (b.thread_ts && !messages.has(`${channel}/${b.thread_ts}`)) return { ok: false, error: 'thread_not_found' };
      const ts = nextTs();
      const m: FakeMessage = { channel, ts, text: b.text, blocks: b.blocks, ...(b.thread_ts ? { thread_ts: b.thread_ts } : {}), updates: 0 };
      messages.set(`${channel}/${ts}`, m);
      return {
        channel,
        ts,
        message: { type: 'message', bot_id: 'B0QUADBOT', user: botUserId, text: b.text ?? '', ts, ...(b.blocks ? { blocks: b.blocks } : {}) },
      };
    },
    'chat.update': (b) => {
      // The real API wants the channel's ID here; a #name is refused.
      const channel = resolveChannel(b.channel, true);
      if (!channel) return { ok: false, error: 'channel_not_found' };
      const m = messages.get(`${channel}/${b.ts}`);
      if (!m) return { ok: false, error: 'message_not_found' };
      if (!b.text && !b.blocks) return { ok: false, error: 'no_text' };
      if (b.blocks && blockProblem(b.blocks)) return { ok: false, error: 'invalid_blocks', errors: [blockProblem(b.blocks)] };
      if (b.text !== undefined) m.text = b.text;
      if (b.blocks !== undefined) m.blocks = b.blocks;
      m.updates++;
      return { channel, ts: m.ts, text: m.text ?? '', message: { text: m.text ?? '', ...(m.blocks ? { blocks: m.blocks } : {}) } };
    },
    'usergroups.list': () => ({
      usergroups: Object.entries(opts.usergroups ?? {}).map(([id, g]) => ({
        id,
        team_id: 'T0QUADTST',
        is_usergroup: true,
        name: g.handle,
        handle: g.handle,
        description: '',
        user_count: g.users.length,
      })),
    }),
    'usergroups.users.list': (b) => {
      if (typeof b.usergroup !== 'string' || !b.usergroup) return { ok: false, error: 'invalid_arguments' };
      const g = opts.usergroups?.[b.usergroup];
      if (!g) return { ok: false, error: 'no_such_subteam' };
      return { users: [...g.users] };
    },
    'chat.postEphemeral': (b) => {
      const channel = resolveChannel(b.channel, false);
      if (!channel) return { ok: false, error: 'channel_not_found' };
      if (typeof b.user !== 'string' || !/^[UW][A-Z0-9]+$/.test(b.user)) return { ok: false, error: 'user_not_found' };
      if (!b.text && !b.blocks) return { ok: false, error: 'no_text' };
      return { message_ts: nextTs() };
    },
  };

  const server: Server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(payload));
    };
    if (req.method !== 'POST') return send(405, { ok: false, error: 'method_not_allowed' });

    const response = url.pathname.match(/^\/response\/([\w-]+)$/);
    if (response) {
      responses.push({ id: response[1], body: raw ? JSON.parse(raw) : {}, at: Date.now() });
      notify();
      return send(200, { ok: true });
    }

    const api = url.pathname.match(/^\/api\/([\w.]+)$/);
    if (!api) return send(404, { ok: false, error: 'unknown_method' });
    const method = api[1];
    let parsed: ReturnType<typeof parseBody>;
    try {
      parsed = parseBody(raw, String(req.headers['content-type'] ?? ''));
    } catch {
      return send(200, { ok: false, error: 'invalid_json' });
    }
    calls.push({ method, body: parsed.body, encoding: parsed.encoding, at: Date.now() });
    notify();
    const auth = String(req.headers.authorization ?? '');
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : parsed.body.token;
    if (!token) return send(200, { ok: false, error: 'not_authed' });
    if (token !== opts.token) return send(200, { ok: false, error: 'invalid_auth' });
    const failure = opts.failures?.[method];
    if (failure) return send(200, { ok: false, error: failure });
    const handler = methods[method];
    if (!handler) return send(200, { ok: false, error: 'unknown_method' });
    const out = handler(parsed.body);
    send(200, { ok: true, ...out });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function waitFor<T>(list: T[], pred: (x: T) => boolean, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`slack fake: no ${what} matched in ${timeoutMs} ms; seen: ${JSON.stringify(list).slice(0, 1500)}`)),
        timeoutMs,
      );
      const check = () => {
        const hit = list.find(pred);
        if (hit) {
          clearTimeout(timer);
          resolve(hit);
        } else waiters.push(check);
      };
      check();
    });
  }

  return {
    apiUrl: `${base}/api/`,
    calls,
    messages,
    responses,
    responseUrl: () => `${base}/response/r${++responseSeq}`,
    channelId: (name) => channels[name.replace(/^#/, '')],
    callsTo: (method) => calls.filter((c) => c.method === method),
    seedMessage: (channel, text, _user) => {
      const id = resolveChannel(channel, false);
      if (!id) throw new Error(`slack fake: unknown channel ${channel}`);
      const ts = nextTs();
      messages.set(`${id}/${ts}`, { channel: id, ts, text, updates: 0 });
      return ts;
    },
    waitForCall: (pred, timeoutMs = 10_000) => waitFor(calls, pred, timeoutMs, 'call'),
    waitForResponse: (pred, timeoutMs = 10_000) => waitFor(responses, pred, timeoutMs, 'response_url post'),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

// --- requests as Slack sends them to an app ---------------------------------------------------------

/** `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the signing secret, as Slack signs. */
export function slackSignature(secret: string, timestamp: number | string, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

export interface SignedPost {
  status: number;
  body: string;
  /** ms from sending the request to the full response (for a slash command: the ack) */
  ms: number;
}

/** POSTs a body signed like Slack does; `timestamp` / `signature` override for forged or stale requests. */
export async function postSigned(
  url: string,
  rawBody: string,
  contentType: string,
  secret: string,
  over: { timestamp?: number; signature?: string | null } = {},
): Promise<SignedPost> {
  const timestamp = over.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { 'content-type': contentType, 'x-slack-request-timestamp': String(timestamp) };
  const signature = over.signature === undefined ? slackSignature(secret, timestamp, rawBody) : over.signature;
  if (signature !== null) headers['x-slack-signature'] = signature;
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers, body: rawBody });
  const body = await res.text();
  return { status: res.status, body, ms: performance.now() - t0 };
}

/** The form body of a slash command, with the fields Slack sends. */
export function slashCommandBody(o: { text: string; userId: string; channelId: string; responseUrl: string; command?: string }): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T0QUADTST',
    team_domain: 'quad-test',
    channel_id: o.channelId,
    channel_name: 'releases',
    user_id: o.userId,
    user_name: o.userId.toLowerCase(),
    command: o.command ?? '/quad',
    text: o.text,
    api_app_id: 'A0QUADAPP',
    is_enterprise_install: 'false',
    response_url: o.responseUrl,
    trigger_id: `${Date.now()}.123.abc`,
  }).toString();
}

/** The `payload=` form body of a button click on a message. */
export function buttonClickBody(o: {
  userId: string;
  channelId: string;
  messageTs: string;
  actionId: string;
  value: string;
  responseUrl: string;
  blocks?: unknown[];
}): string {
  const payload = {
    type: 'block_actions',
    user: { id: o.userId, username: o.userId.toLowerCase(), name: o.userId.toLowerCase(), team_id: 'T0QUADTST' },
    api_app_id: 'A0QUADAPP',
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: o.messageTs, channel_id: o.channelId, is_ephemeral: false },
    trigger_id: `${Date.now()}.123.abc`,
    team: { id: 'T0QUADTST', domain: 'quad-test' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: o.channelId, name: 'releases' },
    message: { type: 'message', subtype: 'bot_message', text: 'release', ts: o.messageTs, bot_id: 'B0QUADBOT', blocks: o.blocks ?? [] },
    state: { values: {} },
    response_url: o.responseUrl,
    actions: [
      {
        action_id: o.actionId,
        // as Slack does: the block id of the message's actions block the button sits in
        block_id: ((o.blocks ?? []) as Array<{ type?: string; block_id?: string }>).find((b) => b.type === 'actions')?.block_id ?? 'quad_actions',
        text: { type: 'plain_text', text: o.actionId, emoji: true },
        value: o.value,
        type: 'button',
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** The JSON body of an app_mention event (Events API). */
export function appMentionBody(o: { userId: string; channelId: string; text: string; ts: string; botUserId: string }): string {
  return JSON.stringify({
    token: 'deprecated-verification-token',
    team_id: 'T0QUADTST',
    api_app_id: 'A0QUADAPP',
    type: 'event_callback',
    event: { type: 'app_mention', user: o.userId, text: o.text, ts: o.ts, channel: o.channelId, event_ts: o.ts },
    event_id: `Ev${Date.now()}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: 'T0QUADTST', user_id: o.botUserId, is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
  });
}
