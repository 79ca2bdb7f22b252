// The sandbox's router stats as a metrics source: one stats call returns every version's interval
// aggregates; the canary side is the released version, the baseline the previous one.
import type { IntervalSample, SideAggregate } from '../../../contract/verdict';
import { sandboxApi, sandboxServiceKey, sandboxUrl } from '../deployers/sandbox';
import type { MetricsQuery, MetricsSource } from '../types';

export interface SandboxMetricsOptions {
  /** the sandbox admin URL; default QUAD_SANDBOX_URL or http://127.0.0.1:8080 */
  url?: string;
  timeoutMs?: number;
}

interface StatsResponse {
  intervals: Array<{ from: number; to: number; at: number; versions: Record<string, SideAggregate> }>;
}

export class SandboxMetricsSource implements MetricsSource {
  readonly name = 'sandbox';
  private readonly base: string;
  private readonly timeoutMs: number;

  constructor(opts: SandboxMetricsOptions = {}) {
    this.base = sandboxUrl(opts.url);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async fetch(query: MetricsQuery): Promise<IntervalSample[]> {
    if (!(query.to > query.from) || !(query.intervalS > 0)) return [];
    const service = encodeURIComponent(sandboxServiceKey(query.service, query.region));
    const params = new URLSearchParams({ from: String(query.from), to: String(query.to), interval_s: String(query.intervalS) });
    const stats = await sandboxApi<StatsResponse>(this.base, 'GET', `/admin/services/${service}/stats?${params}`, this.timeoutMs);
    // a version the sandbox never ran has no entry at all: that side is "no data" (null), not zero
    return stats.intervals.map((bucket) => ({
      at: bucket.at,
      intervalS: query.intervalS,
      canary: bucket.versions[query.version] ?? null,
      baseline: query.previousVersion === null ? null : (bucket.versions[query.previousVersion] ?? null),
    }));
  }
}
