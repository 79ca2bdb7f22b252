// A webhook as a deployer: POSTs the absolute split as JSON {service, version, previousVersion, percent}
// to a URL, with an optional bearer token read from an env var named in the options. The same step
// always carries the same Idempotency-Key, so a receiver can drop the repeat of a retried activity.
// Failures are ApplicationFailures (../../failures): a missing token env var, 401/403 and a 404 (wrong
// URL) are non-retryable ConfigurationErrors, other 4xx non-retryable rejections; 408/429/5xx, timeouts
// and network errors are retryable. details[0] holds {system, status}.
import { createHash } from 'node:crypto';
import type { DeployCheck, Deployer, TrafficState, TrafficTarget } from '../types';
import { FailureType, configurationError, httpFailure, missingSecret, networkFailure, nonRetryableFailure, redact, retryAfterMs } from '../../failures';

export interface WebhookDeployerOptions {
  url: string;
  /** NAME of the env var holding a bearer token ("${NAME}" accepted); the value never leaves this module */
  tokenEnv?: string;
  /** optional: answers GET ?service=S[&region=R] with {percent, version, previousVersion}; 404 = nothing */
  statusUrl?: string;
  timeoutMs?: number;
  /** where these options live in the config, for messages (default services.<name>.deployer) */
  configPath?: string;
  /**
   * The receiver knows the lifecycle: every step is POSTed with a `phase` (prepare, shift, promote,
   * retire, revert). Without it only traffic moves are sent, as before (revert = percent 0).
   */
  phases?: boolean;
}

type Phase = 'prepare' | 'shift' | 'promote' | 'retire' | 'revert';

const SYSTEM = 'webhook deployer';

export class WebhookDeployer implements Deployer {
  readonly name = 'webhook';
  private readonly tokenEnv: string | undefined;
  private readonly timeoutMs: number;
  private readonly at: string;

  constructor(private readonly opts: WebhookDeployerOptions) {
    this.at = opts.configPath ?? 'services.<name>.deployer';
    // fail at startup on a missing or malformed URL
    checkUrl(opts.url, `${this.at}.url`);
    if (opts.statusUrl) checkUrl(opts.statusUrl, 'the deployer status URL');
    this.tokenEnv = opts.tokenEnv?.replace(/^\$\{(.*)\}$/, '$1');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  async prepare(target: TrafficTarget): Promise<{ detail: string }> {
    if (!this.opts.phases) return { detail: 'the webhook takes traffic moves only (phases off): nothing to prepare' };
    await this.post(target, 0, 'prepare');
    return { detail: 'the receiver reported it prepared' };
  }

  shift(target: TrafficTarget, percent: number): Promise<TrafficState> {
    return this.setTraffic(target, percent);
  }

  async promote(target: TrafficTarget): Promise<TrafficState> {
    if (this.opts.phases) await this.post(target, 100, 'promote');
    return { percent: 100, version: target.version, previousVersion: null };
  }

  async retire(target: TrafficTarget): Promise<{ detail: string }> {
    if (!this.opts.phases) return { detail: 'the webhook takes traffic moves only (phases off): nothing to retire' };
    await this.post(target, null, 'retire');
    return { detail: 'the receiver reported it retired' };
  }

  async revert(target: TrafficTarget): Promise<TrafficState> {
    await this.post(target, 0, this.opts.phases ? 'revert' : undefined);
    return { percent: 0, version: target.version, previousVersion: target.previousVersion };
  }

  async check(service: string): Promise<DeployCheck[]> {
    const name = `reach ${new URL(this.opts.url).origin} for ${service}`;
    try {
      this.token();
      return [
        {
          name,
          ok: true,
          detail: this.opts.statusUrl ? `status at ${new URL(this.opts.statusUrl).pathname}` : 'URL and token configured (no status URL to ask)',
        },
      ];
    } catch (err) {
      return [{ name, ok: false, detail: (err as Error).message }];
    }
  }

  async setTraffic(target: TrafficTarget, percent: number): Promise<TrafficState> {
    await this.post(target, percent, this.opts.phases ? 'shift' : undefined);
    return { percent, version: target.version, previousVersion: target.previousVersion };
  }

  private async post(target: TrafficTarget, percent: number | null, phase?: Phase): Promise<void> {
    if (percent !== null && (!Number.isFinite(percent) || percent < 0 || percent > 100)) {
      throw nonRetryableFailure(FailureType.Rejected, `${SYSTEM}: percent must be 0..100, got ${percent}`);
    }
    const payload = {
      ...(phase ? { phase } : {}),
      service: target.service,
      version: target.version,
      previousVersion: target.previousVersion,
      percent,
      ...(target.region ? { region: target.region } : {}),
    };
    const body = JSON.stringify(payload);
    await this.call(
      'POST',
      this.opts.url,
      {
        'content-type': 'application/json',
        'idempotency-key': createHash('sha256').update(body).digest('hex').slice(0, 32),
      },
      body,
    );
  }

  async currentTraffic(target: TrafficTarget): Promise<TrafficState | null> {
    if (!this.opts.statusUrl) return null; // the webhook gives no way to ask
    const url = new URL(this.opts.statusUrl);
    url.searchParams.set('service', target.service);
    if (target.region) url.searchParams.set('region', target.region);
    const res = await this.call('GET', url.toString(), {}, undefined, [404]);
    if (res.status === 404) return null;
    const parsed = JSON.parse(res.text) as Partial<TrafficState> | null;
    if (!parsed) return null;
    if (typeof parsed.percent !== 'number' || typeof parsed.version !== 'string') {
      throw configurationError(`${SYSTEM}: the status URL's answer needs a numeric "percent" and a string "version": check the status URL`, {
        system: SYSTEM,
        status: res.status,
      });
    }
    return { percent: parsed.percent, version: parsed.version, previousVersion: parsed.previousVersion ?? null };
  }

  private token(): string | undefined {
    if (!this.tokenEnv) return undefined;
    const token = process.env[this.tokenEnv];
    if (!token) throw missingSecret(SYSTEM, this.tokenEnv, `${this.at}.token`);
    return token;
  }

  private async call(
    method: string,
    url: string,
    headers: Record<string, string>,
    body?: string,
    accept: number[] = [],
  ): Promise<{ status: number; text: string }> {
    const token = this.token();
    const where = `${method} ${new URL(url).origin}${new URL(url).pathname}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body,
        redirect: 'manual', // never replay the token to wherever a redirect points
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw networkFailure(SYSTEM, where, err, { timeoutMs: this.timeoutMs, secrets: [token] });
    }
    if (res.ok || accept.includes(res.status)) return { status: res.status, text };
    if (res.status >= 300 && res.status < 400) {
      const to = redact(res.headers.get('location') ?? '?', [token]);
      throw configurationError(
        `${SYSTEM} ${where}: HTTP ${res.status} redirect to ${to}, not followed (a token is never sent on): ` +
          `set ${this.at}.url to the address it points to`,
        { system: SYSTEM, status: res.status },
      );
    }
    const retryAfter = retryAfterMs(res.headers.get('retry-after'));
    throw httpFailure(SYSTEM, res.status, text, {
      what: where,
      credential: this.tokenEnv ? `the bearer token in env var ${this.tokenEnv}` : `a request without a token (${this.at}.token is not set)`,
      fix: this.tokenEnv
        ? `set ${this.tokenEnv} on the worker to a token the receiver accepts`
        : `set ${this.at}.token to the env var reference holding the token the receiver expects`,
      urlSetting: `${this.at}.url`,
      ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
      secrets: [token],
    });
  }
}

function checkUrl(url: string | undefined, setting: string): void {
  if (!url) throw configurationError(`${SYSTEM}: ${setting} is missing: set it to the receiver's http(s) URL`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw configurationError(`${SYSTEM}: ${setting} ${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw configurationError(`${SYSTEM}: ${setting} must be http(s), got ${u.protocol}`);
}
