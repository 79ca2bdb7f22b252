// The sandbox as a deploy target: sets the router's split through its admin API. The API takes an
// absolute split and ignores a repeat, so a retried activity never deploys twice. A region maps to its
// own sandbox service ("checkout.eu-west-1"), so region rollouts work against the sandbox too.
import type { DeployCheck, Deployer, TrafficState, TrafficTarget } from '../types';

export interface SandboxDeployerOptions {
  /** the sandbox admin URL; default QUAD_SANDBOX_URL or http://127.0.0.1:8080 */
  url?: string;
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
  private readonly timeoutMs: number;

  constructor(opts: SandboxDeployerOptions = {}) {
    this.base = sandboxUrl(opts.url);
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

  shift(target: TrafficTarget, percent: number): Promise<TrafficState> {
    return this.setTraffic(target, percent);
  }

  /** The new version alone: the previous one is no longer routed (retire stops it). */
  promote(target: TrafficTarget): Promise<TrafficState> {
    return this.setTraffic({ ...target, previousVersion: null }, 100);
  }

  /** Every previous version at 100 % in one call; the canary stays up until retire. */
  revert(target: TrafficTarget): Promise<TrafficState> {
    return this.setTraffic(target, 0);
  }

  async retire(target: TrafficTarget): Promise<{ detail: string }> {
    const r = await sandboxApi<{ stopped: string[] }>(this.base, 'PUT', this.path(target, 'retire'), this.timeoutMs);
    return { detail: r.stopped.length ? `stopped ${r.stopped.join(', ')}` : 'nothing left to stop' };
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
    // returns once every version that now gets traffic is listening
    const view = await sandboxApi<TrafficView>(this.base, 'PUT', this.path(target), this.timeoutMs, {
      version: target.version,
      previousVersion: target.previousVersion,
      percent,
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
