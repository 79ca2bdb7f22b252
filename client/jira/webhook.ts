// The Jira trigger: a plain Node HTTP server for Jira Cloud's `jira:issue_updated` webhook. When an
// issue moves into the configured status ("Ready for Prod"), it starts a release through `Releases`,
// the same entry Slack and the CLI use. The webhook's shared secret signs the raw body
// (X-Hub-Signature: sha256=<hex HMAC>); nothing is read from an unsigned or forged request. The
// signature covers no time and Jira retries, so a delivery is one request: its ID is the hash of the
// signed body (the body carries Jira's `timestamp`), and a start is idempotent per request; a delivery
// older than the dedupe window, or from the future, is refused, so a replay can never start anything.
//   202 {workflowId, url}  started         200 {…, duplicate: true}  this delivery already started it
//   204  not an event we act on            400  not a JSON object / not a Jira event / no timestamp
//   401  bad signature     403  the Jira user may not start this service (services.<name>.starters)
//   413  body over 1 MiB  422 {error}  refused in plain words (bad version, unknown service, already
//   releasing, a stale or future delivery). Nothing a sender writes reaches an answer as internal text.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JiraTriggerConfig, QuadConfig } from '../../config/schema';
import { InputError } from '../../config/errors';
import { ownEntry } from '../../config/lookup';
import { serviceConfig, type ReleaseAsk } from '../../config/resolve';
import { SAME_REQUEST_MS, type Releases, type Started } from '../releases';
import { mayStart } from '../../config/starters';
import { readBoundedBody, sendJson, webhookServer, type WebhookServer } from '../webhook-http';

export const JIRA_ENDPOINT = '/jira/webhook';
/** Jira issue payloads are a few kB; anything far larger is not one. */
export const MAX_BODY = 1024 * 1024;
/** Past this, an oversize body is not drained for its 413 any more: the connection is cut. */
/** Jira's clock and ours may differ a little; a delivery from further in the future is refused. */
const FUTURE_SKEW_MS = 5 * 60 * 1000;

// What we read of a delivery, checked before anything reads it: any other shape is a 400, never a crash.
// Unknown keys pass (Jira sends many); `fields` is read through ownEntry, so inherited names find nothing.
const text = z.string().max(10_000);
const jiraEventSchema = z.looseObject({
  webhookEvent: text.optional(),
  timestamp: z.number().int().positive().optional(),
  issue: z.looseObject({ key: text.optional(), fields: z.record(z.string(), z.unknown()).optional() }).optional(),
  changelog: z
    .looseObject({
      // `toString` is read as an own key in releaseAskOf (a schema key would see Object.prototype's)
      items: z.array(z.looseObject({ field: text.optional(), fromString: text.nullish() })).optional(),
    })
    .optional(),
  user: z.looseObject({ accountId: text.optional(), displayName: text.optional() }).optional(),
});
export type JiraEvent = z.infer<typeof jiraEventSchema>;

/** The event in a delivery's body, or the reason in words it is not one (no internal text). */
export function parseJiraEvent(body: Buffer): { event: JiraEvent } | { error: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return { error: 'the body is not JSON' };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { error: 'the body is not a Jira event (a JSON object)' };
  const parsed = jiraEventSchema.safeParse(doc);
  if (!parsed.success) {
    const where = parsed.error.issues[0]?.path.map(String).join('.') || 'the body';
    return { error: `the body is not a Jira event: ${where.slice(0, 100)} has the wrong type` };
  }
  return { event: parsed.data };
}

/** The secret from the env var the config names (`${JIRA_WEBHOOK_SECRET}`); errors name the variable, never a value. */
export function jiraSecretFromEnv(cfg: QuadConfig, env: NodeJS.ProcessEnv = process.env): string {
  const jira = cfg.triggers?.jira;
  if (!jira) throw new InputError('triggers.jira is not configured: add at least secret: ${JIRA_WEBHOOK_SECRET}');
  const name = jira.secret.slice(2, -1);
  const value = env[name];
  if (!value) throw new InputError(`the Jira webhook secret env var ${name} is not set`);
  return value;
}

/** Constant-time check of `sha256=<hex>` against the HMAC of the raw body. */
export function validSignature(secret: string, body: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Jira account IDs look like `712020:3f2a...` or `5b10ac8d...`; validatePerson allows letters, digits and `._@-`. */
export function personOf(user: JiraEvent['user']): string {
  const raw = (user?.accountId || user?.displayName || '').replace(/[^A-Za-z0-9._@-]+/g, '-').replace(/^-+|-+$/g, '');
  return raw ? `jira-${raw}`.slice(0, 80) : 'jira';
}

/** A field's text: a string, or a version / option / component object's name or value. */
function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.length ? textOf(v[0]) : undefined;
  if (v && typeof v === 'object') {
    const o = v as { name?: unknown; value?: unknown };
    return textOf(o.name ?? o.value);
  }
  return undefined;
}

function serviceOf(cfg: QuadConfig, jira: JiraTriggerConfig, fields: Record<string, unknown>): string {
  if (jira.service_field) {
    const s = textOf(ownEntry(fields, jira.service_field));
    if (!s) throw new InputError(`the issue has no service in its ${jira.service_field} field`);
    return s.trim();
  }
  const labels = Array.isArray(fields.labels) ? fields.labels.filter((l): l is string => typeof l === 'string') : [];
  const components = Array.isArray(fields.components) ? fields.components.map(textOf).filter((c): c is string => Boolean(c)) : [];
  // labels are whatever people typed in Jira: `constructor` or `toString` must map to nothing
  const mapped = [...new Set([...labels, ...components].map((n) => ownEntry(jira.services, n)).filter((s): s is string => Boolean(s)))];
  if (mapped.length === 1) return mapped[0];
  if (mapped.length > 1) throw new InputError(`the issue's labels and components name several services (${mapped.join(', ')}); keep one`);
  const names = Object.keys(cfg.services);
  if (names.length === 1) return names[0];
  throw new InputError(
    `which service? Give the issue a label or component listed under triggers.jira.services (${Object.keys(jira.services).join(', ') || 'none listed'})`,
  );
}

/**
 * The release an event asks for, or null when it is not an issue moving into the trigger status.
 * Throws InputError when it is, but the issue does not say what to release.
 */
export function releaseAskOf(cfg: QuadConfig, jira: JiraTriggerConfig, ev: JiraEvent): ReleaseAsk | null {
  if (ev.webhookEvent !== 'jira:issue_updated') return null;
  const toStatus = (i: object) => (Object.hasOwn(i, 'toString') ? (i as { toString: unknown }).toString : undefined);
  const moved = (ev.changelog?.items ?? []).some((i) => i.field === 'status' && toStatus(i) === jira.status && i.fromString !== jira.status);
  if (!moved) return null;
  const fields = ev.issue?.fields ?? {};
  const key = typeof ev.issue?.key === 'string' ? ev.issue.key : 'an issue';
  const version = textOf(ownEntry(fields, jira.version_field));
  if (!version) throw new InputError(`${key} has no version in its ${jira.version_field} field`);
  const summary = typeof fields.summary === 'string' ? fields.summary : '';
  const who = ev.user?.displayName ? ` (moved by ${ev.user.displayName})` : '';
  return {
    service: serviceOf(cfg, jira, fields),
    version: version.trim(),
    requestedBy: personOf(ev.user),
    source: 'jira',
    reason: `${key}${summary ? `: ${summary}` : ''}${who}`,
  };
}

export interface JiraWebhookOptions {
  releases: Pick<Releases, 'release'>;
  config: QuadConfig;
  secret: string;
  log?: (line: string) => void;
  /** how long a delivery counts as the same request (and how old a delivery may be); default a day */
  dedupeMs?: number;
  now?: () => number;
}

/** A delivery's request ID: the hash of its signed body, so a changed header cannot make a replay new. */
export const deliveryRequestId = (body: Buffer) => `jira:${createHash('sha256').update(body).digest('hex').slice(0, 40)}`;

export type JiraWebhook = WebhookServer;

const send = sendJson;
const readBody = (req: IncomingMessage) => readBoundedBody(req, MAX_BODY);

export function createJiraWebhook(o: JiraWebhookOptions): JiraWebhook {
  const jira = o.config.triggers?.jira;
  if (!jira) throw new InputError('triggers.jira is not configured');
  if (!o.secret) throw new InputError('the Jira webhook needs its shared secret');
  const log = o.log ?? ((line: string) => console.error(line));

  const dedupeMs = o.dedupeMs ?? SAME_REQUEST_MS;
  const now = o.now ?? Date.now;
  // Jira's delivery IDs this process has answered: a retry is answered from here without a lookup
  const delivered = new Map<string, { at: number; started: Started }>();
  const remember = (id: string, started: Started) => {
    const t = now();
    for (const [k, v] of delivered) if (t - v.at > dedupeMs || delivered.size > 10_000) delivered.delete(k);
    delivered.set(id, { at: t, started });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== JIRA_ENDPOINT) return send(res, 404, { error: 'not found' });
    if (req.method !== 'POST') return send(res, 405, { error: 'POST only' });
    const body = await readBody(req);
    if (!body) return send(res, 413, { error: `body too large (over ${MAX_BODY} bytes)` });
    if (!validSignature(o.secret, body, req.headers['x-hub-signature'])) return send(res, 401, { error: 'bad or missing X-Hub-Signature' });
    const parsed = parseJiraEvent(body);
    if ('error' in parsed) return send(res, 400, { error: parsed.error });
    const ev = parsed.event;
    const key = (ev.issue?.key ?? 'event').slice(0, 40);
    // the signature covers no time: the body's own timestamp bounds how long it can be replayed
    if (ev.timestamp === undefined) return send(res, 400, { error: 'the delivery has no timestamp' });
    const age = now() - ev.timestamp;
    if (age > dedupeMs)
      return send(res, 422, {
        error: `the delivery is ${Math.round(age / 3_600_000)} h old; only deliveries of the last ${Math.round(dedupeMs / 3_600_000)} h are acted on`,
      });
    if (age < -FUTURE_SKEW_MS) return send(res, 422, { error: 'the delivery is dated in the future' });
    const deliveryId = req.headers['x-atlassian-webhook-identifier'];
    const known = typeof deliveryId === 'string' ? delivered.get(deliveryId) : undefined;
    if (known) return send(res, 200, { workflowId: known.started.workflowId, runId: known.started.runId, url: known.started.url, duplicate: true });
    try {
      const ask = releaseAskOf(o.config, jira, ev);
      if (!ask) return send(res, 204);
      serviceConfig(o.config, ask.service); // an unknown service is named as such, before who may start it
      const may = await mayStart(o.config, ask.service, { jira: ev.user?.accountId ?? '' });
      if (!may.allowed) {
        log(`quad jira: ${key} refused: ${may.why}`);
        return send(res, 403, { error: `${ask.requestedBy} may not start ${ask.service}: ${may.why}` });
      }
      const started = await o.releases.release(ask, { requestId: deliveryRequestId(body), withinMs: dedupeMs });
      if (typeof deliveryId === 'string' && /^[A-Za-z0-9_-]{1,100}$/.test(deliveryId)) remember(deliveryId, started);
      const doc = { workflowId: started.workflowId, runId: started.runId, url: started.url };
      if (started.again) {
        log(`quad jira: ${key} delivered again; ${started.workflowId} was started by it (nothing new started)`);
        return send(res, 200, { ...doc, duplicate: true });
      }
      log(`quad jira: ${key} started ${started.workflowId} (${ask.service} ${ask.version})`);
      return send(res, 202, doc);
    } catch (err) {
      if (err instanceof InputError) {
        log(`quad jira: ${key} refused: ${err.message}`);
        return send(res, 422, { error: err.message });
      }
      throw err;
    }
  };

  return webhookServer(handle, { log, name: 'quad jira', failure: 'could not start the release; the webhook log says why' });
}
