// A webhook as a deployer: POSTs the absolute split as JSON {service, version, previousVersion, percent}
// to a URL, with an optional bearer token read from an env var named in the options. The same step
// always carries the same Idempotency-Key, so a receiver can drop the repeat of a retried activity.
import { createHash } from 'node:crypto';
import type { Deployer, TrafficState, TrafficTarget } from '../types';

export interface WebhookDeployerOptions {
  url: string;
  /** NAME of the env var holding a bearer token ("${NAME}" accepted); the value never leaves this module */
  tokenEnv?: string;
  /** optional: answers GET ?service=S[&region=R] with {percent, version, previousVersion}; 404 = nothing */
  statusUrl?: string;
  timeoutMs?: number;
}

export class WebhookDeployerError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** false when repeating cannot help (4xx other than 408/429, missing token) */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'WebhookDeployerError';
  }
}

const BODY_TAIL_CHARS = 500;

export class WebhookDeployer implements Deployer {
  readonly name = 'webhook';
  private readonly tokenEnv: string | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly opts: WebhookDeployerOptions) {
    new URL(opts.url); // fail at startup on a malformed URL
    if (opts.statusUrl) new URL(opts.statusUrl);
    this.tokenEnv = opts.tokenEnv?.replace(/^\$\{(.*)\}$/, '$1');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  async setTraffic(target: TrafficTarget, percent: number): Promise<TrafficState> {
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw new WebhookDeployerError(`percent must be 0..100, got ${percent}`, 0, false);
    }
    const payload = {
      service: target.service,
      version: target.version,
      previousVersion: target.previousVersion,
      percent,
      ...(target.region ? { region: target.region } : {}),
    };
    const body = JSON.stringify(payload);
    await this.call('POST', this.opts.url, {
      'content-type': 'application/json',
      'idempotency-key': createHash('sha256').update(body).digest('hex').slice(0, 32),
    }, body);
    return { percent, version: target.version, previousVersion: target.previousVersion };
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
      throw new WebhookDeployerError('status answer needs a numeric "percent" and a string "version"', res.status, false);
    }
    return { percent: parsed.percent, version: parsed.version, previousVersion: parsed.previousVersion ?? null };
  }

  private token(): string | undefined {
    if (!this.tokenEnv) return undefined;
    const token = process.env[this.tokenEnv];
    if (!token) throw new WebhookDeployerError(`webhook token env var ${this.tokenEnv} is not set`, 0, false);
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
    const clean = (text: string) => (token ? text.split(token).join('[redacted]') : text);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body,
        redirect: 'error', // never replay the token to wherever a redirect points
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const e = err as Error;
      const why = e.name === 'TimeoutError' ? `no answer within ${this.timeoutMs / 1000} s` : clean(e.message);
      throw new WebhookDeployerError(`webhook ${where}: ${why}`, 0, true);
    }
    const text = await res.text();
    if (res.ok || accept.includes(res.status)) return { status: res.status, text };
    const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
    throw new WebhookDeployerError(
      `webhook ${where}: HTTP ${res.status}: ${clean(text.trim().slice(0, BODY_TAIL_CHARS))}`,
      res.status,
      retryable,
    );
  }
}
