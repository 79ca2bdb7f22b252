// CloudWatch as a metrics source: ONE GetMetricData call (paginated by NextToken) returns canary and
// baseline for every metric over the window, one datapoint per interval (Period = intervalS).
// Error rate is CloudWatch metric math (errors / requests); latency uses a percentile stat ("p95").
// With `conversion` configured it also measures an A/B test (conversions()): visits and conversions per
// variant, summed by CloudWatch over one period spanning the whole window.
// Credentials and region come from the SDK's default chain (env, profile, SSO, instance role);
// nothing here reads, logs or returns them.
// Failures are ApplicationFailures (../../failures): credentials the service does not accept, a missing
// permission (AccessDenied, a Forbidden query), no region, a bad period or dimension template are
// non-retryable ConfigurationErrors; throttling, server errors and the network are retryable.
import {
  CloudWatchClient,
  GetMetricDataCommand,
  type Dimension,
  type GetMetricDataCommandInput,
  type MetricDataQuery,
  type MetricDataResult,
  type StandardUnit,
} from '@aws-sdk/client-cloudwatch';
import type { ConversionCounts, ConversionSample, IntervalSample, SideAggregate } from '../../../contract/verdict';
import type { MetricsQuery, MetricsSource } from '../types';
import type { ApplicationFailure } from '@temporalio/activity';
import { AWS_CREDENTIAL_ERRORS as CREDENTIAL_ERRORS, FailureType, configurationError, nonRetryableFailure, redact, transientFailure } from '../../failures';

const SYSTEM = 'CloudWatch';
/** the credentials are fine, their identity may not do this */
const PERMISSION_ERRORS = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'NotAuthorized']);
/** the request itself is wrong: sending it again cannot help */
const REJECTED_ERRORS = new Set([
  'InvalidParameterValue',
  'InvalidParameterValueException',
  'InvalidParameterCombination',
  'InvalidParameterCombinationException',
  'MissingParameter',
  'MissingRequiredParameterException',
  'ValidationError',
  'ValidationException',
]);
const PERMISSION = 'cloudwatch:GetMetricData';

/** AWS secrets the SDK may have read from the environment: never in a message. */
const awsSecrets = () => [process.env.AWS_SECRET_ACCESS_KEY, process.env.AWS_SESSION_TOKEN];

/**
 * A GetMetricData call that threw, classified by the SDK's error name and HTTP status. `what` names the
 * call, e.g. "GetMetricData failed for checkout (namespace App)".
 */
export function cloudWatchFailure(err: unknown, what: string): ApplicationFailure {
  const e = err as Error & { $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? 'Error';
  const status = e?.$metadata?.httpStatusCode;
  // an answer the SDK could not read (e.g. an XML error page) says nothing beyond its status
  const unreadable = name === 'SyntaxError' || /Deserialization error/.test(e?.message ?? '');
  const said = redact(unreadable ? `HTTP ${status ?? '?'} (an answer the SDK could not read)` : `${name}: ${e?.message ?? String(err)}`, awsSecrets());
  const base = `CloudWatch ${what}: ${said}`;
  const details = { system: SYSTEM, ...(status !== undefined ? { status } : {}), ...(unreadable ? {} : { code: name }) };
  if (CREDENTIAL_ERRORS.has(name) || status === 401) {
    return configurationError(
      `${base}: the worker's AWS credentials were not accepted: check its default credential chain ` +
        '(AWS_PROFILE, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, SSO login, the instance or task role)',
      details,
    );
  }
  if (PERMISSION_ERRORS.has(name) || status === 403) {
    return configurationError(`${base}: the worker's AWS identity lacks the permission: allow it ${PERMISSION}`, details);
  }
  if (/Region is missing/i.test(e?.message ?? '')) {
    return configurationError(`${base}: set the metrics region (services.<name>.metrics.region) or AWS_REGION on the worker`, details);
  }
  if (REJECTED_ERRORS.has(name)) return nonRetryableFailure(FailureType.Rejected, base, details);
  return transientFailure(`${base} (retrying)`, details);
}

/** What a dimension template's `${...}` placeholders may name. */
export interface DimensionContext {
  service: string;
  version: string;
  region: string;
  /** flag ramps judged by variant (version `flag:<name>=on|off`): the flag's name and `on` / `off` */
  flag?: string;
  variant?: 'on' | 'off';
}

const FLAG_SIDE = /^flag:(.+)=(on|off)$/;

/** The context of one side: a flag variant side also fills ${flag} and ${variant}. */
export function dimensionContext(service: string, version: string, region: string): DimensionContext {
  const m = FLAG_SIDE.exec(version);
  return m ? { service, version, region, flag: m[1], variant: m[2] as 'on' | 'off' } : { service, version, region };
}

/**
 * Dimensions selecting one version's datapoints: either a function, or a template
 * `{ DimensionName: "value with ${version}, ${service} or ${region}" }` (what the YAML config maps onto).
 */
export type CloudWatchDimensions = Record<string, string> | ((version: string, ctx: DimensionContext) => Dimension[]);

export interface CloudWatchMetricSpec {
  metricName: string;
  /** CloudWatch statistic: Sum, Average, Maximum, Minimum, SampleCount, p95, p99, tm90 ... */
  stat?: string;
  /** overrides the source's namespace for this metric */
  namespace?: string;
  /** overrides the source's dimensions for this metric (e.g. CPU published per service, not per version) */
  dimensions?: CloudWatchDimensions;
  /** only datapoints published with this unit */
  unit?: StandardUnit;
  /** multiplies every value, e.g. 1000 for a latency published in seconds, 1/1048576 for bytes → MB */
  scale?: number;
}

/** An A/B test's business metric: per variant, the visits (the denominator) and the visits that converted. */
export interface CloudWatchConversionSpec {
  /** default: the source's namespace */
  namespace?: string;
  visitsMetric: string;
  conversionsMetric: string;
  /** the dimension whose value is the version (A: query.previousVersion, B: query.version); default "Version" */
  variantDimension?: string;
  /** other dimensions both metrics are published with; `${service}`, `${region}`, `${version}` filled per variant */
  dimensions?: Record<string, string>;
  /** only additive statistics can be summed over the window: Sum (default), or SampleCount for one datapoint per event */
  stat?: 'Sum' | 'SampleCount';
}

/** The window conversions() is asked for: the whole test so far, no interval. */
export type ConversionQuery = Omit<MetricsQuery, 'intervalS'>;

export interface CloudWatchMetricsOptions {
  /** AWS region; default: the SDK's chain (AWS_REGION, profile) */
  region?: string;
  /** a custom endpoint (moto, a VPC endpoint); default: the region's public endpoint */
  endpoint?: string;
  namespace: string;
  dimensions: CloudWatchDimensions;
  metrics: {
    /** count of requests; stat defaults to Sum */
    requests: CloudWatchMetricSpec;
    /** count of failed requests; stat defaults to Sum */
    errors: CloudWatchMetricSpec;
    /** latency in ms (use `scale` otherwise); stat defaults to p95 */
    latencyP95: CloudWatchMetricSpec;
    /** percent; stat defaults to Average */
    cpu?: CloudWatchMetricSpec;
    /** MB (use `scale` otherwise); stat defaults to Average */
    memory?: CloudWatchMetricSpec;
  };
  /** the A/B test's conversions; absent: the source has no conversions() method */
  conversion?: CloudWatchConversionSpec;
  /** SDK attempts per call (the activity retries too); default 3 */
  maxAttempts?: number;
  /** a ready client (shared, or instrumented in tests); region/endpoint/maxAttempts are then ignored */
  client?: CloudWatchClient;
}

type MetricKey = 'requests' | 'errors' | 'latencyP95' | 'cpu' | 'memory';
type SideKey = 'canary' | 'baseline';

const DEFAULT_STAT: Record<MetricKey, string> = {
  requests: 'Sum',
  errors: 'Sum',
  latencyP95: 'p95',
  cpu: 'Average',
  memory: 'Average',
};
const METRIC_KEYS: MetricKey[] = ['requests', 'errors', 'latencyP95', 'cpu', 'memory'];
// Query ids must start with a lowercase letter and hold only [a-zA-Z0-9_].
const SIDE_PREFIX: Record<SideKey, string> = { canary: 'canary', baseline: 'baseline' };
const queryId = (side: SideKey, what: MetricKey | 'errorRate') => `${SIDE_PREFIX[side]}_${what}`;

/** One value per interval index (0 = oldest); absent = CloudWatch had no datapoint there. */
export type IntervalSeries = Map<number, number>;

export interface SideSeries {
  requests: IntervalSeries;
  errors: IntervalSeries;
  /** percent, computed by CloudWatch metric math: 100 * errors / requests */
  errorRatePct: IntervalSeries;
  latencyP95: IntervalSeries;
  cpu: IntervalSeries;
  memory: IntervalSeries;
}

/** The window as CloudWatch was asked for it, with every series it returned. */
export interface CloudWatchSeries {
  /** epoch ms of the first interval's start (the query's `from`, rounded down as CloudWatch would) */
  start: number;
  intervalS: number;
  intervals: number;
  canary: SideSeries;
  /** null when the query has no previous version */
  baseline: SideSeries | null;
  /** GetMetricData pages it took */
  pages: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * One period spanning [from, to), on the coarsest grid CloudWatch still keeps for data that old: 1-minute
 * datapoints for 15 days, 5-minute for 63, hourly beyond. A period that is not a multiple of it returns
 * no datapoints at all, silently, so the grid is picked an hour early. The window is widened to the grid
 * (start down, as CloudWatch itself rounds StartTime; end up, so no part of [from, to) is left out).
 */
export function conversionWindow(from: number, to: number, now: number): { start: number; end: number; periodS: number } {
  if (!(to > from)) throw nonRetryableFailure(FailureType.Rejected, `empty conversions window: from ${from} is not before to ${to}`);
  const age = now - from;
  const gridMs = (age > 63 * DAY_MS - HOUR_MS ? 3600 : age > 15 * DAY_MS - HOUR_MS ? 300 : 60) * 1000;
  const start = Math.floor(from / gridMs) * gridMs;
  const end = Math.ceil(to / gridMs) * gridMs;
  return { start, end, periodS: (end - start) / 1000 };
}

type Variant = 'a' | 'b';
const conversionId = (variant: Variant, what: 'visits' | 'conversions') => `${variant}_${what}`;

// Periods GetMetricData accepts: high resolution 1/5/10/20/30 s, otherwise whole minutes.
function checkPeriod(intervalS: number): void {
  const ok = [1, 5, 10, 20, 30].includes(intervalS) || (Number.isInteger(intervalS) && intervalS >= 60 && intervalS % 60 === 0);
  if (!ok) throw configurationError(`CloudWatch cannot use a ${intervalS} s interval: use 1, 5, 10, 20, 30 or a multiple of 60 seconds (the poll interval)`);
}

/**
 * Fills `${service}`, `${version}`, `${region}`, and for a flag ramp judged by variant `${flag}` and
 * `${variant}`; an unknown placeholder, or a flag placeholder outside a flag ramp, is a config error,
 * not an empty string.
 */
export function renderDimensions(spec: CloudWatchDimensions, ctx: DimensionContext): Dimension[] {
  if (typeof spec === 'function') return spec(ctx.version, ctx);
  return Object.entries(spec).map(([Name, template]) => ({
    Name,
    Value: template.replace(/\$\{(\w+)\}/g, (_m, key: string) => {
      if (key === 'service' || key === 'version' || key === 'region') return ctx[key];
      if (key === 'flag' || key === 'variant') {
        const v = ctx[key];
        if (v === undefined)
          throw configurationError(
            `CloudWatch dimension ${Name}: \${${key}} only has a value in a flag ramp with watch: variants (this side is version ${ctx.version})`,
          );
        return v;
      }
      throw configurationError(
        `CloudWatch dimension ${Name}: unknown placeholder \${${key}} (use \${service}, \${version}, \${region}, \${flag} or \${variant})`,
      );
    }),
  }));
}

export class CloudWatchMetricsSource implements MetricsSource {
  readonly name = 'cloudwatch';
  /**
   * Only when `conversion` is configured: the release asks `typeof source.conversions === 'function'`, so
   * a source that measures no conversion must not have the method at all (`declare`: no field is emitted).
   */
  declare readonly conversions?: (query: ConversionQuery) => Promise<ConversionSample>;
  private readonly client: CloudWatchClient;
  private readonly ownsClient: boolean;

  constructor(private readonly options: CloudWatchMetricsOptions) {
    this.ownsClient = !options.client;
    this.client =
      options.client ??
      new CloudWatchClient({
        region: options.region,
        endpoint: options.endpoint,
        maxAttempts: options.maxAttempts ?? 3,
      });
    if (options.conversion) this.conversions = (query) => this.fetchConversions(query);
  }

  /** Closes the client's pooled connections (only a client this source created). */
  close(): void {
    if (this.ownsClient) this.client.destroy();
  }

  /** The exact GetMetricData input for a window (without NextToken). Pure; exported for tests and dry runs. */
  buildRequest(query: MetricsQuery, clientRegion = ''): { input: GetMetricDataCommandInput; start: number; intervals: number } {
    checkPeriod(query.intervalS);
    if (!(query.to > query.from)) throw nonRetryableFailure(FailureType.Rejected, `empty metrics window: from ${query.from} is not before to ${query.to}`);
    const stepMs = query.intervalS * 1000;
    // CloudWatch rounds StartTime down (to the minute for periods >= 60 s); do it ourselves so the
    // datapoints' timestamps land exactly on our interval grid.
    const alignMs = Math.min(query.intervalS, 60) * 1000;
    const start = Math.floor(query.from / alignMs) * alignMs;
    const intervals = Math.ceil((query.to - start) / stepMs);
    // ${region} in a dimension: the query's region (region rollouts), else the client's own
    const region = query.region ?? clientRegion;

    const queries: MetricDataQuery[] = [];
    const sides: Array<[SideKey, string]> = [['canary', query.version]];
    if (query.previousVersion) sides.push(['baseline', query.previousVersion]);
    for (const [side, version] of sides) {
      const ctx = dimensionContext(query.service, version, region);
      for (const key of METRIC_KEYS) {
        const spec = this.options.metrics[key];
        if (!spec) continue;
        queries.push({
          Id: queryId(side, key),
          Label: `${side} ${version} ${key}`,
          MetricStat: {
            Metric: {
              Namespace: spec.namespace ?? this.options.namespace,
              MetricName: spec.metricName,
              Dimensions: renderDimensions(spec.dimensions ?? this.options.dimensions, ctx),
            },
            Period: query.intervalS,
            Stat: spec.stat ?? DEFAULT_STAT[key],
            ...(spec.unit ? { Unit: spec.unit } : {}),
          },
          ReturnData: true,
        });
      }
      // Metric math: an interval with requests but no error datapoint has 0 % errors, hence FILL.
      queries.push({
        Id: queryId(side, 'errorRate'),
        Label: `${side} ${version} error rate %`,
        Expression: `100 * FILL(${queryId(side, 'errors')}, 0) / ${queryId(side, 'requests')}`,
        ReturnData: true,
      });
    }
    return {
      input: {
        MetricDataQueries: queries,
        StartTime: new Date(start),
        EndTime: new Date(start + intervals * stepMs),
        ScanBy: 'TimestampAscending',
      },
      start,
      intervals,
    };
  }

  /** Every series CloudWatch returned for the window, by interval index; follows NextToken to the end. */
  async fetchSeries(query: MetricsQuery): Promise<CloudWatchSeries> {
    const { input, start, intervals } = this.buildRequest(query, await this.clientRegion());
    const stepMs = query.intervalS * 1000;
    const results = new Map<string, IntervalSeries>();
    let nextToken: string | undefined;
    let pages = 0;
    do {
      let out;
      try {
        out = await this.client.send(new GetMetricDataCommand({ ...input, NextToken: nextToken }));
      } catch (err) {
        throw cloudWatchFailure(err, `GetMetricData failed for ${query.service} (namespace ${this.options.namespace})`);
      }
      pages++;
      for (const r of out.MetricDataResults ?? []) this.collect(r, results, start, stepMs, intervals);
      nextToken = out.NextToken;
    } while (nextToken);

    const side = (s: SideKey): SideSeries => {
      const get = (what: MetricKey | 'errorRate') => results.get(queryId(s, what)) ?? new Map<number, number>();
      return {
        requests: get('requests'),
        errors: get('errors'),
        errorRatePct: get('errorRate'),
        latencyP95: scaled(get('latencyP95'), this.options.metrics.latencyP95.scale),
        cpu: scaled(get('cpu'), this.options.metrics.cpu?.scale),
        memory: scaled(get('memory'), this.options.metrics.memory?.scale),
      };
    };
    return {
      start,
      intervalS: query.intervalS,
      intervals,
      canary: side('canary'),
      baseline: query.previousVersion ? side('baseline') : null,
      pages,
    };
  }

  async fetch(query: MetricsQuery): Promise<IntervalSample[]> {
    return toSamples(await this.fetchSeries(query));
  }

  /**
   * The exact GetMetricData input for an A/B test's window (without NextToken): visits and conversions of
   * B, then of A when there is a previous version. Pure; exported for tests and dry runs.
   */
  buildConversionRequest(query: ConversionQuery, clientRegion = '', now = Date.now()): { input: GetMetricDataCommandInput; start: number; end: number } {
    const spec = this.options.conversion;
    if (!spec) throw configurationError(`CloudWatch metrics of ${query.service} measure no conversion: set services.${query.service}.metrics.conversion`);
    const { start, end, periodS } = conversionWindow(query.from, query.to, now);
    const region = query.region ?? clientRegion;
    const variants: Array<[Variant, string]> = [['b', query.version]];
    if (query.previousVersion) variants.push(['a', query.previousVersion]);
    const queries: MetricDataQuery[] = [];
    for (const [variant, version] of variants) {
      const dimensions = [
        ...renderDimensions(spec.dimensions ?? {}, dimensionContext(query.service, version, region)),
        { Name: spec.variantDimension ?? 'Version', Value: version },
      ];
      for (const [what, metricName] of [
        ['visits', spec.visitsMetric],
        ['conversions', spec.conversionsMetric],
      ] as const) {
        queries.push({
          Id: conversionId(variant, what),
          Label: `${variant.toUpperCase()} ${version} ${what}`,
          MetricStat: {
            Metric: { Namespace: spec.namespace ?? this.options.namespace, MetricName: metricName, Dimensions: dimensions },
            Period: periodS,
            Stat: spec.stat ?? 'Sum',
          },
          ReturnData: true,
        });
      }
    }
    return { input: { MetricDataQueries: queries, StartTime: new Date(start), EndTime: new Date(end), ScanBy: 'TimestampAscending' }, start, end };
  }

  /** Visits and conversions per variant over the window, summed; a variant CloudWatch has no datapoint of is null. */
  private async fetchConversions(query: ConversionQuery): Promise<ConversionSample> {
    const { input } = this.buildConversionRequest(query, await this.clientRegion());
    const namespace = this.options.conversion?.namespace ?? this.options.namespace;
    // only ids that returned at least one datapoint are in here: absent = no data, not 0
    const sums = new Map<string, number>();
    let nextToken: string | undefined;
    do {
      let out;
      try {
        out = await this.client.send(new GetMetricDataCommand({ ...input, NextToken: nextToken }));
      } catch (err) {
        throw cloudWatchFailure(err, `GetMetricData failed for ${query.service}'s conversions (namespace ${namespace})`);
      }
      for (const r of out.MetricDataResults ?? []) {
        checkResult(r);
        if (!r.Id) continue;
        for (const v of r.Values ?? []) if (Number.isFinite(v)) sums.set(r.Id, (sums.get(r.Id) ?? 0) + v);
      }
      nextToken = out.NextToken;
    } while (nextToken);

    const counts = (variant: Variant): ConversionCounts | null => {
      const visits = sums.get(conversionId(variant, 'visits'));
      const conversions = sums.get(conversionId(variant, 'conversions'));
      if (visits === undefined && conversions === undefined) return null;
      // one of the two without a datapoint was not published in the window: none of it happened
      return { visits: visits ?? 0, conversions: conversions ?? 0 };
    };
    return { a: query.previousVersion ? counts('a') : null, b: counts('b') };
  }

  /** The region the SDK resolved (options, AWS_REGION, profile); "" when none could be found. */
  private async clientRegion(): Promise<string> {
    try {
      return await this.client.config.region();
    } catch {
      return ''; // the call itself will then fail with the SDK's "Region is missing"
    }
  }

  private collect(r: MetricDataResult, into: Map<string, IntervalSeries>, start: number, stepMs: number, intervals: number): void {
    checkResult(r);
    if (!r.Id) return;
    const series = into.get(r.Id) ?? new Map<number, number>();
    into.set(r.Id, series);
    const ts = r.Timestamps ?? [];
    const vs = r.Values ?? [];
    for (let i = 0; i < ts.length && i < vs.length; i++) {
      const idx = Math.floor((ts[i].getTime() - start) / stepMs);
      if (idx >= 0 && idx < intervals && Number.isFinite(vs[i])) series.set(idx, vs[i]);
    }
  }
}

/** A query CloudWatch could not answer, inside a successful call: Forbidden is configuration, InternalError is retried. */
function checkResult(r: MetricDataResult): void {
  if (r.StatusCode !== 'InternalError' && r.StatusCode !== 'Forbidden') return;
  const why = (r.Messages ?? []).map((m) => `${m.Code}: ${m.Value}`).join('; ');
  const message = `CloudWatch answered ${r.StatusCode} for ${r.Label ?? r.Id}${why ? ` (${why})` : ''}`;
  throw r.StatusCode === 'Forbidden'
    ? configurationError(`${message}: the worker's AWS identity lacks the permission: allow it ${PERMISSION} on this namespace`, {
        system: SYSTEM,
        code: 'Forbidden',
      })
    : transientFailure(`${message} (retrying)`, { system: SYSTEM, code: 'InternalError' });
}

function scaled(series: IntervalSeries, factor: number | undefined): IntervalSeries {
  if (factor === undefined || factor === 1) return series;
  return new Map([...series].map(([i, v]) => [i, v * factor]));
}

/** One sample per interval; a side with no datapoint at all in an interval is null. */
export function toSamples(series: CloudWatchSeries): IntervalSample[] {
  const stepMs = series.intervalS * 1000;
  const side = (s: SideSeries | null, i: number): SideAggregate | null => {
    if (!s) return null;
    const has = [s.requests, s.errors, s.latencyP95, s.cpu, s.memory].some((m) => m.has(i));
    if (!has) return null;
    const requests = s.requests.get(i) ?? 0;
    // No error datapoint in an interval with data means no errors were published: 0, as FILL does in
    // the metric-math rate. The judge works from counts; the CloudWatch-computed rate (errorRatePct in
    // fetchSeries) is there for people, to compare with the console's graph.
    const errors = s.errors.get(i) ?? 0;
    return {
      requests,
      errors,
      latencyP95Ms: requests > 0 ? (s.latencyP95.get(i) ?? null) : null,
      cpuPct: s.cpu.get(i) ?? null,
      memoryMb: s.memory.get(i) ?? null,
    };
  };
  const samples: IntervalSample[] = [];
  for (let i = 0; i < series.intervals; i++) {
    samples.push({
      at: series.start + (i + 1) * stepMs,
      intervalS: series.intervalS,
      baseline: side(series.baseline, i),
      canary: side(series.canary, i),
    });
  }
  return samples;
}
