// Incidents POSTed as JSON to an incident tool's webhook (PagerDuty Events, Opsgenie, a Jira automation…).
// The same incident always carries the same Idempotency-Key, so a retried activity opens one incident.
// Failures are ApplicationFailures (../../failures): 401/403, a 404 and a redirect mean the URL in
// providers.incidents.url is wrong (non-retryable ConfigurationError); 408/429/5xx and the network are
// retryable. With a signing secret the body is signed: X-Quad-Timestamp (unix seconds) and
// X-Quad-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">, so the receiver can refuse a
// forged or replayed incident (compare in constant time, and refuse a timestamp older than 5 minutes).
import { createHmac } from 'node:crypto';
import type { IncidentInput, IncidentSink } from '../types';
import { configurationError, httpFailure, networkFailure, retryAfterMs, missingSecret } from '../../failures';

const SYSTEM = 'incident webhook';
const SETTING = 'providers.incidents.url';

/** "sha256=<hex>" over `${timestamp}.${body}` */
export function signIncidentBody(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface WebhookSigning {
  /** env var holding the shared secret (providers.incidents.signing_secret) */
  signingSecretEnv?: string;
  env?: NodeJS.ProcessEnv;
  /** seconds, for tests */
  now?: () => number;
}

export class WebhookIncidentSink implements IncidentSink {
  readonly name = 'webhook';
  constructor(
    private readonly url: string,
    private readonly timeoutMs = 10_000,
    private readonly signing: WebhookSigning = {},
  ) {
    // fail when the worker starts, not when the first rollback needs an incident
    if (!url) throw configurationError(`${SYSTEM}: providers.incidents.type is webhook but ${SETTING} is not set: set it to the tool's http(s) URL`);
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw configurationError(`${SYSTEM}: ${SETTING} ${JSON.stringify(url)} is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw configurationError(`${SYSTEM}: ${SETTING} must be http(s), got ${u.protocol}`);
  }

  async open(incident: IncidentInput): Promise<string> {
    const key = `${incident.releaseId}:${incident.at}`;
    const u = new URL(this.url);
    // the URL may carry a routing key in its query (PagerDuty, Opsgenie): messages show origin and path only
    const where = `POST ${u.origin}${u.pathname}`;
    const payload = JSON.stringify(incident);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': key };
    let signingSecret: string | undefined;
    if (this.signing.signingSecretEnv) {
      signingSecret = (this.signing.env ?? process.env)[this.signing.signingSecretEnv];
      if (!signingSecret) throw missingSecret(SYSTEM, this.signing.signingSecretEnv, 'providers.incidents.signing_secret');
      const ts = Math.floor(this.signing.now?.() ?? Date.now() / 1000);
      headers['x-quad-timestamp'] = String(ts);
      headers['x-quad-signature'] = signIncidentBody(signingSecret, ts, payload);
    }
    const secrets = [...u.searchParams.values(), u.password, u.username, signingSecret];
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers,
        body: payload,
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'manual',
      });
      text = await res.text();
    } catch (err) {
      throw networkFailure(SYSTEM, where, err, { timeoutMs: this.timeoutMs, secrets });
    }
    if (res.status >= 300 && res.status < 400) {
      throw configurationError(`${SYSTEM} ${where}: HTTP ${res.status} redirect, not followed: set ${SETTING} to the address it points to`, {
        system: SYSTEM,
        status: res.status,
      });
    }
    if (!res.ok) {
      const retryAfter = retryAfterMs(res.headers.get('retry-after'));
      throw httpFailure(SYSTEM, res.status, text, {
        what: where,
        credential: `the URL in ${SETTING} (it sends no other credential)`,
        fix: `set ${SETTING} to a URL the tool accepts, with its integration or routing key`,
        permission: 'an integration allowed to open incidents',
        urlSetting: SETTING,
        ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
        secrets,
      });
    }
    let body: { id?: string; url?: string } = {};
    try {
      body = (text ? JSON.parse(text) : {}) as { id?: string; url?: string };
    } catch {
      /* not JSON: the key names the incident */
    }
    return body.url ?? body.id ?? key;
  }
}
