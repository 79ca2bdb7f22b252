// Serializable types shared by the workflow, activities, providers and clients. Pure: no imports with
// side effects, safe inside the workflow sandbox. Nothing here may ever hold a secret.

/** One interval's aggregates for one side (baseline = previous version, canary = new version). */
export interface SideAggregate {
  requests: number;
  errors: number;
  /** null when the interval had no requests */
  latencyP95Ms: number | null;
  cpuPct: number | null;
  memoryMb: number | null;
}

/** A business metric's counts on one side of an A/B test, over a window: visits and the visits that converted. */
export interface ConversionCounts {
  visits: number;
  conversions: number;
}

/** Both variants' conversion counts over one window: B is the new version (canary side), A the serving one. */
export interface ConversionSample {
  a: ConversionCounts | null;
  b: ConversionCounts | null;
}

/** One poll interval as a metrics provider returns it; null = the source returned nothing for that side. */
export interface IntervalSample {
  /** epoch ms of the interval's end */
  at: number;
  intervalS: number;
  baseline: SideAggregate | null;
  canary: SideAggregate | null;
}

/** Limits a stage is judged against. Absolute limits and ratios to the baseline; any may be absent. */
export interface Criteria {
  errorRateMaxPct?: number;
  latencyP95MaxMs?: number;
  errorRateMaxRatio?: number;
  latencyP95MaxRatio?: number;
  cpuMaxPct?: number;
  memoryMaxRatio?: number;
  /** the canary must see at least this many requests in a window before it can PASS */
  minRequests: number;
}

export type VerdictKind = 'PASS' | 'FAIL' | 'INCONCLUSIVE';

/** One metric's finding, with the numbers a person needs to trust it. */
export interface MetricFinding {
  metric: 'error_rate' | 'latency_p95' | 'cpu' | 'memory' | 'traffic' | 'data';
  status: 'ok' | 'breach' | 'insufficient';
  canary?: number | null;
  baseline?: number | null;
  limit?: number;
  confidence?: number;
  sampleSize?: number;
  explanation: string;
}

export interface Verdict {
  verdict: VerdictKind;
  /** one line for Slack / the CLI */
  explanation: string;
  findings: MetricFinding[];
  canaryRequests: number;
  intervals: number;
}

export interface GuardBreach {
  kind: 'breach';
  explanation: string;
  findings: MetricFinding[];
  /** index (0-based, within the guard's stream) of the interval that decided it */
  interval: number;
}
