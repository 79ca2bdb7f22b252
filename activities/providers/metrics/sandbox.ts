// The sandbox's router stats as a metrics source: one stats call returns every version's interval
// aggregates; the canary side is the released version, the baseline the previous one. Conversions (an
// A/B test's business metric) come from the conversions call: A the previous version, B the new one.
import type { ConversionCounts, ConversionSample, IntervalSample, SideAggregate } from '../../../contract/verdict';
import { sandboxApi, sandboxServiceKey, sandboxUrl } from '../deployers/sandbox';
import type { MetricsQuery, MetricsSource } from '../types';

export interface SandboxMetricsOptions {
  /** the sandbox admin URL; default QUAD_SANDBOX_URL or http://127.0.0.1:8080 */
  url?: string;
  timeoutMs?: number;
}

interface StatsResponse {
  intervals: Array<{ from: number; to: number; at: number; versions: Record<string, SideAggregate & { conversions?: number }> }>;
}

interface ConversionsResponse {
  versions: Record<string, ConversionCounts>;
}

/** The contract's fields only: the stats API adds conversions, which samples do not carry. */
function sideOf(side: (SideAggregate & { conversions?: number }) | undefined): SideAggregate | null {
  if (!side) return null;
  return { requests: side.requests, errors: side.errors, latencyP95Ms: side.latencyP95Ms, cpuPct: side.cpuPct, memoryMb: side.memoryMb };
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
      canary: sideOf(bucket.versions[query.version]),
      baseline: query.previousVersion === null ? null : sideOf(bucket.versions[query.previousVersion]),
    }));
  }

  async conversions(query: Omit<MetricsQuery, 'intervalS'>): Promise<ConversionSample> {
    if (!(query.to > query.from)) return { a: null, b: null };
    const service = encodeURIComponent(sandboxServiceKey(query.service, query.region));
    const params = new URLSearchParams({ from: String(query.from), to: String(query.to) });
    const r = await sandboxApi<ConversionsResponse>(this.base, 'GET', `/admin/services/${service}/conversions?${params}`, this.timeoutMs);
    // as in fetch: a version the sandbox never ran is no data (null), not zero visits
    const counts = (version: string | null): ConversionCounts | null => {
      const c = version === null ? undefined : r.versions[version];
      return c ? { visits: c.visits, conversions: c.conversions } : null;
    };
    return { a: counts(query.previousVersion), b: counts(query.version) };
  }
}
