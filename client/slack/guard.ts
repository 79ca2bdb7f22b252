// A guard in front of Bolt's HTTP receiver. Bolt reads a signed body before checking its shape: a signed
// `null` crashes its receiver outside any handler (an unhandled rejection that kills the process), a
// block action without a user is a 500, and a timestamp ahead of our clock is never refused. Here every
// request to the endpoint is read once, checked (signature and time both ways, then shape) and answered
// 4xx when bad; only a good one is handed to Bolt, which reuses the body read here.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { readBoundedBody } from '../webhook-http';

/** Slack's own rule: a request more than 5 minutes from our clock, either way, is refused. */
export const MAX_SKEW_S = 5 * 60;
/** Bolt's own default body limit (4 MB). */
export const MAX_BODY = 4 * 1024 * 1024;

export interface GuardOptions {
  signingSecret: string;
  endpoints: string[];
  now?: () => number;
  log?: (line: string) => void;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optObject = (v: unknown) => v === undefined || isObject(v);
const optString = (v: unknown) => v === undefined || typeof v === 'string';

/** Why a signed, parsed body is not a request Bolt can route (words for the log), or null when it is. */
export function slackBodyProblem(body: unknown): string | null {
  if (!isObject(body)) return 'the body is not an object';
  if (body.ssl_check === '1' || body.type === 'url_verification') return null;
  if ('event' in body) {
    const ev = body.event;
    if (!isObject(ev) || typeof ev.type !== 'string') return 'event is not an object with a type';
    if (!optString(ev.user) || !optString(ev.text) || !optString(ev.ts) || !optString(ev.thread_ts)) return 'an event field has the wrong type';
    if ('item' in ev && !isObject(ev.item)) return 'event.item is not an object';
    if ('authorizations' in body && (!Array.isArray(body.authorizations) || !body.authorizations.every(isObject)))
      return 'authorizations is not a list of objects';
    return null;
  }
  if ('command' in body) {
    if (typeof body.command !== 'string' || typeof body.user_id !== 'string' || !optString(body.text) || !optString(body.channel_id))
      return 'a slash command needs command, user_id and text as strings';
    return null;
  }
  // everything else is an interaction: a person did it, in a team, maybe in a channel
  if (!isObject(body.user) || typeof body.user.id !== 'string') return 'the interaction names no user';
  if (!optObject(body.channel) || !optObject(body.container) || !optObject(body.message) || !optObject(body.view)) return 'a payload field is not an object';
  if (body.team !== undefined && body.team !== null && !isObject(body.team)) return 'team is not an object';
  if ('actions' in body && (!Array.isArray(body.actions) || !body.actions.every(isObject))) return 'actions is not a list of objects';
  if (body.type === 'view_submission' || body.type === 'view_closed') return isObject(body.view) ? null : 'a view payload has no view';
  return null;
}

/** Parses a body the way Bolt does: form (a `payload` JSON field, or the fields) or JSON. Throws on bad JSON. */
export function parseSlackBody(raw: string, contentType: string | undefined): unknown {
  if (contentType === 'application/x-www-form-urlencoded') {
    const form = parseQuery(raw);
    return typeof form.payload === 'string' ? JSON.parse(form.payload) : { ...form };
  }
  return JSON.parse(raw);
}

/** Is `v0=<hex>` the HMAC of `v0:<ts>:<body>`, and `ts` within MAX_SKEW_S of now (past or future)? */
export function signatureProblem(secret: string, req: IncomingMessage, raw: Buffer, nowMs: number): string | null {
  const ts = req.headers['x-slack-request-timestamp'];
  const sig = req.headers['x-slack-signature'];
  if (typeof ts !== 'string' || !/^\d{1,12}$/.test(ts)) return 'no request timestamp';
  if (Math.abs(Math.floor(nowMs / 1000) - Number(ts)) > MAX_SKEW_S) return 'the request timestamp is more than 5 minutes from our clock';
  if (typeof sig !== 'string' || !sig.startsWith('v0=')) return 'no v0 signature';
  const given = Buffer.from(sig.slice(3), 'hex');
  const expected = createHmac('sha256', secret).update(`v0:${ts}:`).update(raw).digest();
  return given.length === expected.length && timingSafeEqual(given, expected) ? null : 'signature mismatch';
}

function answer(res: ServerResponse, code: number) {
  res.writeHead(code).end();
}

/** Wraps Bolt's request listener: requests to the endpoints are checked here first. */
export function guardedListener(inner: RequestListener, o: GuardOptions): RequestListener {
  const now = o.now ?? Date.now;
  const log = o.log ?? (() => undefined);
  const check = async (req: IncomingMessage, res: ServerResponse) => {
    // an oversize body is drained up to 4× the limit, so the sender gets its 413
    const raw = await readBoundedBody(req, MAX_BODY, 4 * MAX_BODY);
    if (!raw) return answer(res, 413);
    const text = raw.toString('utf8');
    const contentType = req.headers['content-type'];
    // Slack's ssl_check is unsigned by design; Bolt answers it and reads nothing else from it
    const sslCheck = contentType === 'application/x-www-form-urlencoded' && parseQuery(text).ssl_check === '1';
    if (!sslCheck) {
      const bad = signatureProblem(o.signingSecret, req, raw, now());
      if (bad) {
        log(`quad slack: refused a request (401): ${bad}`);
        return answer(res, 401);
      }
      let body: unknown;
      try {
        body = parseSlackBody(text, contentType);
      } catch {
        log('quad slack: refused a signed request (400): the body does not parse');
        return answer(res, 400);
      }
      const problem = slackBodyProblem(body);
      if (problem) {
        log(`quad slack: refused a signed request (400): ${problem}`);
        return answer(res, 400);
      }
    }
    // Bolt reuses a body already read (BufferedIncomingMessage) instead of reading the stream again
    (req as IncomingMessage & { rawBody?: Buffer }).rawBody = raw;
    inner(req, res);
  };
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'POST' || !o.endpoints.includes(path)) return inner(req, res);
    check(req, res).catch((err) => {
      log(`quad slack: could not read a request: ${(err as Error).message}`);
      if (!res.headersSent) answer(res, 400);
    });
  };
}
