// The sandbox as a deploy target: sets the router's split through its admin API. The API takes an
// absolute split and ignores a repeat, so a retried activity never deploys twice. A region maps to its
// own sandbox service ("checkout.eu-west-1"), so region rollouts work against the sandbox too.
// Two URLs: the admin API (QUAD_SANDBOX_URL / `url`) that every call goes to, and the router that users
// (and a version's own endpoint, /pin/<version>/svc/<service>) are served on. They are one URL only when
// the sandbox serves its admin API on the router port, so the router URL is given (`routerUrl` /
// QUAD_SANDBOX_ROUTER_URL) or asked of the sandbox's health call, never guessed from the admin URL.
import type { DeployCheck, Deployer, TrafficState, TrafficTarget } from '../types';

export interface SandboxDeployerOptions {
  /** the sandbox admin URL; default QUAD_SANDBOX_URL or http://127.0.0.1:8080 */
  url?: string;
  /** the sandbox router URL, for endpoint(); default QUAD_SANDBOX_ROUTER_URL, else what the sandbox reports */
  routerUrl?: string;
  timeoutMs?: number;
}

export class SandboxApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'SandboxApiError';
  }
}

export function sandboxUrl(url?: string): string {
  return (url ?? process.env.QUAD_SANDBOX_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
}

/** The sandbox service a target maps to. */
export function sandboxServiceKey(service: string, region?: string): string {
  return region ? `${service}.${region}` : service;
}

/** One admin API call; non-2xx becomes a SandboxApiError carrying the sandbox's own message. */
export async function sandboxApi<T>(base: string, method: string, path: string, timeoutMs: number, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new SandboxApiError(`sandbox ${method} ${path}: ${(err as Error).message} (is the sandbox running at ${base}?)`, 0);
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text.slice(0, 500);
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? message;
    } catch {
      // not JSON: keep the raw text
    }
    throw new SandboxApiError(`sandbox ${method} ${path}: HTTP ${res.status}: ${message}`, res.status);
  }
  return JSON.parse(text) as T;
}

interface TrafficView {
  version: string;
  previousVersion: string | null;
  percent: number;
}

export class SandboxDeployer implements Deployer {
  readonly name = 'sandbox';
  private readonly base: string;
  private readonly routerUrl: string | null;
  private readonly timeoutMs: number;

  constructor(opts: SandboxDeployerOptions = {}) {
    this.base = sandboxUrl(opts.url);
    const router = opts.routerUrl ?? process.env.QUAD_SANDBOX_ROUTER_URL;
    this.routerUrl = router ? router.replace(/\/+$/, '') : null;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
  }

  private path(target: TrafficTarget, what = 'traffic'): string {
    return `/admin/services/${encodeURIComponent(sandboxServiceKey(target.service, target.region))}/${what}`;
  }

  /** The version's process up and listening beside the serving one, with no traffic. */
  async prepare(target: TrafficTarget): Promise<{ detail: string }> {
    const r = await sandboxApi<{ state: string; pid: number | null }>(this.base, 'PUT', this.path(target, 'prepare'), this.timeoutMs, {
      version: target.version,
    });
    return { detail: `${target.version} ${r.state} (pid ${r.pid ?? '?'}), no traffic` };
  }

  /** The split at `percent`; sticky (a user keeps one side) when target.sticky, as an A/B test asks. */
  shift(target: TrafficTarget, percent: number): Promise<TrafficState> {
    return this.setTraffic(target, percent);
  }

  /** The new version alone: the previous one is no longer routed (retire stops it); one side, so never sticky. */
  promote(target: TrafficTarget): Promise<TrafficState> {
    return this.setTraffic({ ...target, previousVersion: null, sticky: false }, 100);
  }

  /** Every previous version at 100 % in one call; the canary stays up until retire. Nobody is split, so not sticky. */
  revert(target: TrafficTarget): Promise<TrafficState> {
    return this.setTraffic({ ...target, sticky: false }, 0);
  }

  async retire(target: TrafficTarget): Promise<{ detail: string }> {
    const r = await sandboxApi<{ stopped: string[] }>(this.base, 'PUT', this.path(target, 'retire'), this.timeoutMs);
    return { detail: r.stopped.length ? `stopped ${r.stopped.join(', ')}` : 'nothing left to stop' };
  }

  /**
   * target.version's own endpoint on the router, whatever the split: /pin/<version>/svc/<service key>.
   * Null when the router URL is unknown (not configured, and a sandbox too old to report it).
   */
  async endpoint(target: TrafficTarget): Promise<string | null> {
    const router = this.routerUrl ?? (await this.reportedRouterUrl());
    if (router === null) return null;
    const key = sandboxServiceKey(target.service, target.region);
    return `${router}/pin/${encodeURIComponent(target.version)}/svc/${encodeURIComponent(key)}`;
  }

  /** The router URL the sandbox reports; the admin URL itself when the admin API is served on the router port. */
  private async reportedRouterUrl(): Promise<string | null> {
    const health = await sandboxApi<{ routerUrl?: unknown; adminOnRouter?: unknown }>(this.base, 'GET', '/admin/health', this.timeoutMs);
    // the URL we reach the admin API at beats the sandbox's own view (127.0.0.1) when they are one port
    if (health.adminOnRouter === true) return this.base;
    return typeof health.routerUrl === 'string' && health.routerUrl !== '' ? health.routerUrl.replace(/\/+$/, '') : null;
  }

  async check(service: string): Promise<DeployCheck[]> {
    try {
      await sandboxApi(this.base, 'GET', '/admin/health', this.timeoutMs);
      return [{ name: `reach the sandbox for ${service}`, ok: true, detail: this.base }];
    } catch (err) {
      return [{ name: `reach the sandbox for ${service}`, ok: false, detail: (err as Error).message }];
    }
  }

  async setTraffic(target: TrafficTarget, percent: number): Promise<TrafficState> {
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) throw new Error(`percent must be 0..100, got ${percent}`);
    // returns once every version that now gets traffic is listening; `sticky` only when asked, so a
    // plain split's body is what it always was
    const view = await sandboxApi<TrafficView>(this.base, 'PUT', this.path(target), this.timeoutMs, {
      version: target.version,
      previousVersion: target.previousVersion,
      percent,
      ...(target.sticky === true ? { sticky: true } : {}),
    });
    return { percent: view.percent, version: view.version, previousVersion: view.previousVersion };
  }

  async currentTraffic(target: TrafficTarget): Promise<TrafficState | null> {
    try {
      const view = await sandboxApi<TrafficView>(this.base, 'GET', this.path(target), this.timeoutMs);
      return { percent: view.percent, version: view.version, previousVersion: view.previousVersion };
    } catch (err) {
      if (err instanceof SandboxApiError && err.status === 404) return null;
      throw err;
    }
  }
}
