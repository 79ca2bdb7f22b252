// The Jira trigger: a plain Node HTTP server for Jira Cloud's `jira:issue_updated` webhook. When an
// issue moves into the configured status ("Ready for Prod"), it starts a release through `Releases`,
// the same entry Slack and the CLI use. The webhook's shared secret signs the raw body
// (X-Hub-Signature: sha256=<hex HMAC>); nothing is read from an unsigned or forged request.
//   202 {workflowId, url}  started      204  not an event we act on      401  bad signature
//   422 {error}            refused in plain words (bad version, unknown service, already releasing)
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JiraTriggerConfig, QuadConfig } from '../../config/schema';
import { InputError } from '../../config/errors';
import { ownEntry } from '../../config/lookup';
import type { ReleaseAsk } from '../../config/resolve';
import type { Releases } from '../releases';

export const JIRA_ENDPOINT = '/jira/webhook';
/** Jira issue payloads are a few kB; anything far larger is not one. */
const MAX_BODY = 1024 * 1024;

export interface JiraEvent {
  webhookEvent?: string;
  issue?: { key?: string; fields?: Record<string, unknown> };
  changelog?: { items?: { field?: string; fromString?: string | null; toString?: string | null }[] };
  user?: { accountId?: string; displayName?: string };
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
  const moved = (ev.changelog?.items ?? []).some((i) => i.field === 'status' && i.toString === jira.status && i.fromString !== jira.status);
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
}

export interface JiraWebhook {
  server: Server;
  start(listen?: { port?: number; host?: string }): Promise<{ port: number }>;
  stop(): Promise<void>;
}

function send(res: ServerResponse, code: number, doc?: unknown) {
  if (doc === undefined) {
    res.writeHead(code).end();
    return;
  }
  res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
}

function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(null);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function createJiraWebhook(o: JiraWebhookOptions): JiraWebhook {
  const jira = o.config.triggers?.jira;
  if (!jira) throw new InputError('triggers.jira is not configured');
  if (!o.secret) throw new InputError('the Jira webhook needs its shared secret');
  const log = o.log ?? ((line: string) => console.error(line));

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== JIRA_ENDPOINT) return send(res, 404, { error: 'not found' });
    if (req.method !== 'POST') return send(res, 405, { error: 'POST only' });
    const body = await readBody(req);
    if (!body) return send(res, 413, { error: 'body too large' });
    if (!validSignature(o.secret, body, req.headers['x-hub-signature'])) return send(res, 401, { error: 'bad or missing X-Hub-Signature' });
    let ev: JiraEvent;
    try {
      ev = JSON.parse(body.toString('utf8')) as JiraEvent;
    } catch {
      return send(res, 400, { error: 'the body is not JSON' });
    }
    try {
      const ask = releaseAskOf(o.config, jira, ev);
      if (!ask) return send(res, 204);
      const started = await o.releases.release(ask);
      log(`quad jira: ${ev.issue?.key} started ${started.workflowId} (${ask.service} ${ask.version})`);
      return send(res, 202, { workflowId: started.workflowId, runId: started.runId, url: started.url });
    } catch (err) {
      if (err instanceof InputError) {
        log(`quad jira: ${ev.issue?.key ?? 'event'} refused: ${err.message}`);
        return send(res, 422, { error: err.message });
      }
      throw err;
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      log(`quad jira: ${(err as Error)?.stack ?? String(err)}`);
      // Jira retries on 5xx; the message says what went wrong without internals
      if (!res.headersSent)
        send(res, 500, {
          error: `could not start the release: ${String((err as Error)?.message ?? err)
            .split('\n')[0]
            .slice(0, 200)}`,
        });
    });
  });

  return {
    server,
    start: (listen = {}) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(listen.port ?? 0, listen.host ?? '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port }));
      }),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
