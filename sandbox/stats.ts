// Per-version request records and their interval aggregates, measured at the router the way a load
// balancer sees them (latency to the last byte, errors = 5xx or no answer). Raw records are kept for a
// retention window so any [from, to) / interval the metrics provider asks for is answered exactly;
// p95 comes from an HDR histogram built per interval. Flag variants (the requests a flag was on / off
// for) keep logs of their own and are aggregated the same way. Each record also says whether the visit
// converted (the router decides; see behaviour.ts), for A/B tests' business metric.
import * as hdr from 'hdr-histogram-js';
import type { SideAggregate } from '../contract/verdict';
import type { UsageSample } from './version-process';

const DEFAULT_RETENTION_MS = 30 * 60_000;

export class RequestLog {
  private at: number[] = [];
  private ms: number[] = [];
  private error: boolean[] = [];
  private converted: boolean[] = [];
  private head = 0;
  total = 0;
  errors = 0;
  conversions = 0;
  firstRequestAt: number | null = null;
  firstErrorAt: number | null = null;

  constructor(private readonly retentionMs = DEFAULT_RETENTION_MS) {}

  record(at: number, latencyMs: number, isError: boolean, converted = false): void {
    // requests finish out of order; keep the log sorted by time so lookups can bisect
    let i = this.at.length;
    while (i > this.head && this.at[i - 1] > at) i -= 1;
    if (i === this.at.length) {
      this.at.push(at);
      this.ms.push(latencyMs);
      this.error.push(isError);
      this.converted.push(converted);
    } else {
      this.at.splice(i, 0, at);
      this.ms.splice(i, 0, latencyMs);
      this.error.splice(i, 0, isError);
      this.converted.splice(i, 0, converted);
    }
    this.total += 1;
    if (converted) this.conversions += 1;
    this.firstRequestAt = Math.min(this.firstRequestAt ?? at, at);
    if (isError) {
      this.errors += 1;
      this.firstErrorAt = Math.min(this.firstErrorAt ?? at, at);
    }
    this.prune(at - this.retentionMs);
  }

  private prune(cutoff: number): void {
    while (this.head < this.at.length && this.at[this.head] < cutoff) this.head += 1;
    // compact now and then instead of shifting on every record
    if (this.head > 4096 && this.head * 2 > this.at.length) {
      this.at = this.at.slice(this.head);
      this.ms = this.ms.slice(this.head);
      this.error = this.error.slice(this.head);
      this.converted = this.converted.slice(this.head);
      this.head = 0;
    }
  }

  private lowerBound(t: number): number {
    let lo = this.head;
    let hi = this.at.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Calls fn for every record with time in [from, to). */
  forEachBetween(from: number, to: number, fn: (latencyMs: number, isError: boolean, converted: boolean) => void): void {
    for (let i = this.lowerBound(from); i < this.at.length && this.at[i] < to; i += 1) fn(this.ms[i], this.error[i], this.converted[i]);
  }

  /** Visits (every request recorded) and the ones that converted, in [from, to). */
  conversionsBetween(from: number, to: number): { visits: number; conversions: number } {
    let visits = 0;
    let conversions = 0;
    this.forEachBetween(from, to, (_ms, _error, converted) => {
      visits += 1;
      if (converted) conversions += 1;
    });
    return { visits, conversions };
  }
}

/** A side's aggregate as the stats API gives it: the contract's, plus the visits that converted. */
export interface StatsSide extends SideAggregate {
  conversions?: number;
}

export interface IntervalBucket {
  from: number;
  to: number;
  /** the interval's end, as IntervalSample.at */
  at: number;
  versions: Record<string, StatsSide>;
}

export interface VersionSource {
  version: string;
  log: RequestLog;
  usageBetween(from: number, to: number): UsageSample[];
}

/** Interval edges: ceil((to - from) / interval) buckets, the last one clipped at `to`. */
export function intervalEdges(from: number, to: number, intervalS: number): Array<[number, number]> {
  const step = intervalS * 1000;
  const edges: Array<[number, number]> = [];
  for (let start = from; start < to; start += step) edges.push([start, Math.min(start + step, to)]);
  return edges;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** A slice of requests with no process of its own, e.g. the users a flag is on for. */
export interface VariantSource {
  /** the key in IntervalBucket.versions, e.g. flag:dark_mode=on */
  key: string;
  log: RequestLog;
}

type Histogram = ReturnType<typeof hdr.build>;

function requestsBetween(histogram: Histogram, log: RequestLog, from: number, to: number) {
  histogram.reset();
  let requests = 0;
  let errors = 0;
  let conversions = 0;
  log.forEachBetween(from, to, (latencyMs, isError, converted) => {
    requests += 1;
    if (isError) errors += 1;
    if (converted) conversions += 1;
    histogram.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
  });
  return { requests, errors, latencyP95Ms: requests > 0 ? round1(histogram.getValueAtPercentile(95) / 1000) : null, conversions };
}

/**
 * Every version in every interval (with zeros when it got nothing), plus each variant in the intervals
 * where it saw requests: a variant without requests is absent, so a reader takes that side as no data.
 */
export function aggregateIntervals(sources: VersionSource[], from: number, to: number, intervalS: number, variants: VariantSource[] = []): IntervalBucket[] {
  // microseconds, 3 significant digits: p95 to 0.1 % of its value
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  try {
    return intervalEdges(from, to, intervalS).map(([start, end]) => {
      const versions: Record<string, StatsSide> = {};
      for (const source of sources) {
        const usage = source.usageBetween(start, end);
        const { conversions, ...side } = requestsBetween(histogram, source.log, start, end);
        versions[source.version] = {
          ...side,
          cpuPct: usage.length > 0 ? round1(usage.reduce((s, u) => s + u.cpuPct, 0) / usage.length) : null,
          memoryMb: usage.length > 0 ? round1(usage.reduce((s, u) => s + u.rssMb, 0) / usage.length) : null,
          conversions,
        };
      }
      for (const variant of variants) {
        const { conversions, ...side } = requestsBetween(histogram, variant.log, start, end);
        if (side.requests > 0) versions[variant.key] = { ...side, cpuPct: null, memoryMb: null, conversions };
      }
      return { from: start, to: end, at: end, versions };
    });
  } finally {
    histogram.destroy();
  }
}
