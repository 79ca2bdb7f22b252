// The flag-change trigger: a plain Node HTTP server for Unleash's webhook addon and LaunchDarkly's
// webhooks. When a person turns on a flag that has a flag plan in the config, the flag is at once turned
// back off and its ramp (10 % → 50 % → 100 %, per the plan) starts instead, through `Releases`; so a flag
// goes to its users the way its plan says, not to everyone at once. QUAD's own changes (its token, named
// in triggers.flags.self) start nothing, and neither does any change while that flag's ramp runs (the ramp
// itself turns the flag on). A start is idempotent per event ID.
//   POST /flags/unleash       Authorization: <triggers.flags.unleash_secret>  (the addon's Authorization)
//   POST /flags/launchdarkly  X-LD-Signature: <hex HMAC-SHA256 of the body with the webhook's secret>
//   202 {workflowId, url}  held off, ramp started   200 {ignored}  QUAD's own change, a ramp running, a retry
//   204  not a flag turned on that has a plan        400  not a JSON event of that tool
//   401  bad secret or signature   403  the person may not start the ramp (the flag is left as they set it)
//   413  body over 1 MiB   422 {error}  a stale event, or refused in plain words
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FlagTriggerConfig, QuadConfig } from '../../config/schema';
import { InputError } from '../../config/errors';
import { flagPlan } from '../../config/resolve';
import { flagService, mayStart, type Starter } from '../../config/starters';
import type { Releases } from '../releases';
import { readBoundedBody, sendJson, webhookServer, type WebhookServer } from '../webhook-http';

export const UNLEASH_ENDPOINT = '/flags/unleash';
export const LAUNCHDARKLY_ENDPOINT = '/flags/launchdarkly';
export const MAX_BODY = 1024 * 1024;
/**
 * An event older than this is not acted on: the flag may have been ramped and left on since, and turning
 * it off again would undo that ramp. Both tools deliver within seconds (Unleash retries once at once).
 */
export const EVENT_WINDOW_MS = 10 * 60 * 1000;
const FUTURE_SKEW_MS = 5 * 60 * 1000;

export type FlagTool = 'unleash' | 'launchdarkly';

/** A flag turned on, as a tool's event says it. */
export interface FlagToggle {
  tool: FlagTool;
  eventId: string;
  flag: string;
  at: number;
  /** the names the tool gives whoever made the change (compared with triggers.flags.self) */
  actors: string[];
  starter: Starter;
  /** who, as QUAD records it (letters, digits and ._@-) */
  by: string;
}

const text = z.string().max(2_000);
const unleashEventSchema = z.looseObject({
  id: z.union([z.number().int(), text]).optional(),
  type: text,
  createdBy: text.optional(),
  featureName: text.nullish(),
  project: text.nullish(),
  environment: text.nullish(),
  createdAt: text.optional(),
});
const launchDarklyEventSchema = z.looseObject({
  _id: text,
  date: z.number().int().nonnegative(),
  kind: text,
  accesses: z
    .array(z.looseObject({ action: text, resource: text }))
    .max(100)
    .default([]),
  member: z.looseObject({ _id: text.optional(), email: text.optional() }).optional(),
  token: z.looseObject({ _id: text.optional(), name: text.optional() }).optional(),
});

/** A name fit for requestedBy: the tool's name for the person, anything else as -. */
function personOf(tool: FlagTool, who: string): string {
  const clean = who.replace(/[^A-Za-z0-9._@-]+/g, '-').replace(/^-+|-+$/g, '');
  return (clean || tool).slice(0, 80);
}

function parseJson(body: Buffer): { doc: unknown } | { error: string } {
  try {
    return { doc: JSON.parse(body.toString('utf8')) };
  } catch {
    return { error: 'the body is not JSON' };
  }
}

function schemaError(err: z.ZodError, what: string): { error: string } {
  const where = err.issues[0]?.path.map(String).join('.') || 'the body';
  return { error: `the body is not ${what}: ${where.slice(0, 100)} is missing or has the wrong type` };
}

/**
 * An Unleash event (the webhook addon's default body: the event itself) turning a flag on in the
 * environment QUAD ramps (providers.unleash), or null when it is anything else.
 */
export function unleashToggleOf(cfg: QuadConfig, body: Buffer): FlagToggle | null | { error: string } {
  const json = parseJson(body);
  if ('error' in json) return json;
  const parsed = unleashEventSchema.safeParse(json.doc);
  if (!parsed.success) return schemaError(parsed.error, 'an Unleash event');
  const ev = parsed.data;
  const where = cfg.providers.unleash;
  if (ev.type !== 'feature-environment-enabled' || !ev.featureName || !where) return null;
  if ((ev.project ?? 'default') !== where.project || ev.environment !== where.environment) return null;
  const at = ev.createdAt ? Date.parse(ev.createdAt) : NaN;
  if (Number.isNaN(at)) return { error: 'the event has no createdAt time' };
  const who = ev.createdBy ?? '';
  return {
    tool: 'unleash',
    eventId: ev.id !== undefined ? String(ev.id) : hashOf(body),
    flag: ev.featureName,
    at,
    actors: [who].filter(Boolean),
    starter: { unleash: who },
    by: personOf('unleash', who),
  };
}

/**
 * A LaunchDarkly webhook (an audit log entry) turning a flag on (`updateOn`, with the flag now on) in the
 * project and environment QUAD ramps (providers.launchdarkly), or null when it is anything else.
 */
export function launchDarklyToggleOf(cfg: QuadConfig, body: Buffer): FlagToggle | null | { error: string } {
  const json = parseJson(body);
  if ('error' in json) return json;
  const parsed = launchDarklyEventSchema.safeParse(json.doc);
  if (!parsed.success) return schemaError(parsed.error, 'a LaunchDarkly audit log entry');
  const ev = parsed.data;
  const where = cfg.providers.launchdarkly;
  if (ev.kind !== 'flag' || !where) return null;
  const prefix = `proj/${where.project}:env/${where.environment}:flag/`;
  const access = ev.accesses.find((a) => a.action === 'updateOn' && a.resource.startsWith(prefix));
  if (!access) return null;
  const flag = access.resource.slice(prefix.length);
  // `updateOn` is any on/off change: read whether it is on now from the entry's copy of the flag
  const current = (json.doc as { currentVersion?: { environments?: Record<string, { on?: unknown }> } }).currentVersion;
  const on = current?.environments && Object.hasOwn(current.environments, where.environment) ? current.environments[where.environment]?.on : undefined;
  if (on !== true) return null;
  const who = ev.member?.email ?? ev.member?._id ?? '';
  return {
    tool: 'launchdarkly',
    eventId: ev._id,
    flag,
    at: ev.date,
    actors: [ev.member?.email, ev.member?._id, ev.token?.name, ev.token?._id].filter((a): a is string => Boolean(a)),
    starter: { launchdarkly: who },
    by: personOf('launchdarkly', who),
  };
}

const hashOf = (body: Buffer) => createHash('sha256').update(body).digest('hex').slice(0, 40);

function sameSecret(given: string, secret: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(given), h(secret));
}

/** Constant-time check of X-LD-Signature (hex) against the HMAC-SHA256 of the raw body. */
export function validLaunchDarklySignature(secret: string, body: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !/^[0-9a-fA-F]{64}$/.test(header)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(Buffer.from(header, 'hex'), expected);
}

/** Turns a flag off in its tool, as QUAD (the same token its flag provider uses). */
export type HoldOff = (tool: FlagTool, flag: string) => Promise<void>;

/** The tool's API through providers.unleash / providers.launchdarkly, with the token their env vars hold. */
export function holdOffThroughApi(cfg: QuadConfig, env: NodeJS.ProcessEnv = process.env): HoldOff {
  const token = (ref: string) => {
    const name = ref.slice(2, -1);
    if (!env[name]) throw new Error(`the env var ${name} is not set: the flag cannot be held off`);
    return env[name];
  };
  const call = async (what: string, url: string, init: RequestInit) => {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
    const body = await res.text();
    if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${body.slice(0, 200)}`);
  };
  return async (tool, flag) => {
    const enc = encodeURIComponent;
    if (tool === 'unleash') {
      const u = cfg.providers.unleash!;
      const base = u.url.replace(/\/+$/, '').replace(/\/api$/, '');
      const path = `/api/admin/projects/${enc(u.project)}/features/${enc(flag)}/environments/${enc(u.environment)}/off`;
      return call(`Unleash POST ${path}`, base + path, { method: 'POST', headers: { Authorization: token(u.token) } });
    }
    const l = cfg.providers.launchdarkly!;
    const path = `/api/v2/flags/${enc(l.project)}/${enc(flag)}`;
    return call(`LaunchDarkly PATCH ${path}`, l.url.replace(/\/+$/, '') + path, {
      method: 'PATCH',
      headers: { Authorization: token(l.token), 'Content-Type': 'application/json; domain-model=launchdarkly.semanticpatch' },
      body: JSON.stringify({ environmentKey: l.environment, comment: `QUAD: held off; ${flag} ramps by its plan`, instructions: [{ kind: 'turnFlagOff' }] }),
    });
  };
}

/** The secrets' values from the env vars triggers.flags names; errors name the variable, never a value. */
export function flagSecretsFromEnv(cfg: QuadConfig, env: NodeJS.ProcessEnv = process.env): { unleash?: string; launchdarkly?: string } {
  const flags = cfg.triggers?.flags;
  if (!flags) throw new InputError('triggers.flags is not configured: add self and unleash_secret or launchdarkly_secret');
  const read = (ref: string | undefined) => {
    if (!ref) return undefined;
    const value = env[ref.slice(2, -1)];
    if (!value) throw new InputError(`the flag webhook secret env var ${ref.slice(2, -1)} is not set`);
    return value;
  };
  return { unleash: read(flags.unleash_secret), launchdarkly: read(flags.launchdarkly_secret) };
}

export interface FlagWebhookOptions {
  releases: Pick<Releases, 'flagRamp' | 'client'>;
  config: QuadConfig;
  secrets: { unleash?: string; launchdarkly?: string };
  holdOff?: HoldOff;
  log?: (line: string) => void;
  now?: () => number;
}

export type FlagWebhook = WebhookServer;

const send = sendJson;
const readBody = (req: IncomingMessage) => readBoundedBody(req, MAX_BODY);

export function createFlagWebhook(o: FlagWebhookOptions): FlagWebhook {
  const flags: FlagTriggerConfig | undefined = o.config.triggers?.flags;
  if (!flags) throw new InputError('triggers.flags is not configured');
  if (!o.secrets.unleash && !o.secrets.launchdarkly) throw new InputError('the flag webhook needs unleash_secret or launchdarkly_secret');
  const log = o.log ?? ((line: string) => console.error(line));
  const now = o.now ?? Date.now;
  const holdOff = o.holdOff ?? holdOffThroughApi(o.config);
  const self = new Set(flags.self);
  // events answered by this process, and flags being handled now: a retry or a race touches nothing twice
  const answered = new Map<string, { at: number; doc: unknown }>();
  const handling = new Set<string>();

  const rampRunning = async (flag: string) => {
    try {
      return (await o.releases.client.workflow.getHandle(`flag:${flag}`).describe()).status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  };

  const act = async (res: ServerResponse, t: FlagToggle) => {
    const key = `${t.tool}:${t.eventId}`;
    const label = `${t.tool} event ${t.eventId.slice(0, 40)} (${t.flag.slice(0, 100)})`;
    const ignore = (why: string) => {
      log(`quad flags: ${label} ignored: ${why}`);
      send(res, 200, { ignored: why });
    };
    const seen = answered.get(key);
    if (seen) return send(res, 200, { ...(seen.doc as object), duplicate: true });
    if (t.actors.some((a) => self.has(a))) return ignore("QUAD's own change");
    if (!flagPlan(o.config, t.flag)) return send(res, 204);
    const age = now() - t.at;
    if (age > EVENT_WINDOW_MS) return send(res, 422, { error: `the event is ${Math.round(age / 60000)} min old; only events of the last 10 min are acted on` });
    if (age < -FUTURE_SKEW_MS) return send(res, 422, { error: 'the event is dated in the future' });
    const service = flagService(o.config, t.flag);
    const may = service ? await mayStart(o.config, service, t.starter) : { allowed: false as const, why: 'no service judges this flag' };
    if (!may.allowed) {
      log(`quad flags: ${label} refused: ${may.why}`);
      return send(res, 403, { error: `${t.by} may not start the ramp of ${t.flag}: ${may.why} (add ${t.tool}:${t.by} to the starters of ${service})` });
    }
    if (handling.has(t.flag)) return ignore(`a change of ${t.flag} is being handled`);
    handling.add(t.flag);
    try {
      if (await rampRunning(t.flag)) return ignore(`the ramp of ${t.flag} is running`);
      // off first: from now until the ramp's first step, nobody has the flag
      await holdOff(t.tool, t.flag);
      const toolName = t.tool === 'unleash' ? 'Unleash' : 'LaunchDarkly';
      const started = await o.releases.flagRamp(
        { flag: t.flag, requestedBy: t.by, source: t.tool, reason: `turned on in ${toolName} by ${t.by}; ramped by its plan instead` },
        { requestId: `${t.tool}:${t.eventId.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 120)}` },
      );
      const doc = { workflowId: started.workflowId, runId: started.runId, url: started.url, heldOff: true };
      const at = now();
      for (const [k, v] of answered) if (at - v.at > EVENT_WINDOW_MS || answered.size > 10_000) answered.delete(k);
      answered.set(key, { at, doc });
      log(`quad flags: ${label} held off and ${started.again ? 'found' : 'started'} ${started.workflowId}`);
      return send(res, started.again ? 200 : 202, started.again ? { ...doc, duplicate: true } : doc);
    } catch (err) {
      if (err instanceof InputError) {
        log(`quad flags: ${label} refused: ${err.message}`);
        return send(res, 422, { error: err.message });
      }
      throw err;
    } finally {
      handling.delete(t.flag);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    const tool: FlagTool | null = path === UNLEASH_ENDPOINT ? 'unleash' : path === LAUNCHDARKLY_ENDPOINT ? 'launchdarkly' : null;
    if (!tool || !o.secrets[tool]) return send(res, 404, { error: 'not found' });
    if (req.method !== 'POST') return send(res, 405, { error: 'POST only' });
    const body = await readBody(req);
    if (!body) return send(res, 413, { error: `body too large (over ${MAX_BODY} bytes)` });
    if (tool === 'unleash') {
      const auth = req.headers.authorization;
      if (typeof auth !== 'string' || !sameSecret(auth, o.secrets.unleash!)) return send(res, 401, { error: 'bad or missing Authorization' });
    } else if (!validLaunchDarklySignature(o.secrets.launchdarkly!, body, req.headers['x-ld-signature'])) {
      return send(res, 401, { error: 'bad or missing X-LD-Signature' });
    }
    const toggle = tool === 'unleash' ? unleashToggleOf(o.config, body) : launchDarklyToggleOf(o.config, body);
    if (toggle === null) return send(res, 204);
    if ('error' in toggle) return send(res, 400, { error: toggle.error });
    return act(res, toggle);
  };

  return webhookServer(handle, { log, name: 'quad flags', failure: 'could not act on the event; the webhook log says why' });
}
