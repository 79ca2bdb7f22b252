// CloudWatchMetricsSource.conversions() (an A/B test's visits and conversions per variant) and the config
// fragment that declares it. Against a real moto server over HTTP, as cloudwatch.test.ts: datapoints go in
// with PutMetricData and come back summed. moto never pages GetMetricData (it answers every query in one
// response, no NextToken), so paging and the error answers are checked against a wire-format endpoint.
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { startMoto, useFakeAwsCredentials, type LocalMoto } from '../../../test/support/moto';
import { startHttpFake, type HttpFake } from '../../../test/support/http-fake';
import { failureOf } from '../../../test/support/failure-of';
import { conversionSchema } from '../../../config/conversion-schema';
import { CloudWatchMetricsSource, conversionWindow, type CloudWatchMetricsOptions } from './cloudwatch';

useFakeAwsCredentials();
const REGION = 'us-east-1';
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

const opened: CloudWatchMetricsSource[] = [];
function source(options: CloudWatchMetricsOptions): CloudWatchMetricsSource {
  const s = new CloudWatchMetricsSource(options);
  opened.push(s);
  return s;
}
afterAll(() => opened.forEach((s) => s.close()));

// the health metrics every cloudwatch entry has; conversions() never asks for them
const health: CloudWatchMetricsOptions['metrics'] = {
  requests: { metricName: 'Requests' },
  errors: { metricName: 'Errors' },
  latencyP95: { metricName: 'LatencyMs' },
};

describe('conversions() against moto', () => {
  let moto: LocalMoto;
  let cw: CloudWatchClient;
  // a minute-aligned 10-minute window ending a few minutes ago
  const from = Math.floor(Date.now() / MIN) * MIN - 15 * MIN;
  const to = from + 10 * MIN;
  const service = 'checkout';

  const dims = (variant: string, svc = service) => [
    { Name: 'Service', Value: svc },
    { Name: 'Variant', Value: variant },
  ];
  const point = (name: string, variant: string, at: number, value: number, svc = service): MetricDatum => ({
    MetricName: name,
    Dimensions: dims(variant, svc),
    Timestamp: new Date(at),
    Value: value,
  });

  // per version, the batches published inside the window: [visits, conversions] at minute i
  const published: Record<string, Array<[number, number]>> = {
    v1: [
      [120, 4],
      [130, 3],
      [110, 5],
      [140, 2],
    ],
    v2: [
      [118, 6],
      [125, 7],
      [131, 5],
    ],
    // visits but not one conversion published
    v4: [
      [40, 0],
      [35, 0],
    ],
  };
  const sum = (rows: Array<[number, number]>, k: 0 | 1) => rows.reduce((a, r) => a + r[k], 0);

  beforeAll(async () => {
    moto = await startMoto();
    cw = new CloudWatchClient({ region: REGION, endpoint: moto.endpoint });
    const data: MetricDatum[] = [];
    for (const [version, rows] of Object.entries(published)) {
      rows.forEach(([visits, conversions], i) => {
        const at = from + i * 2 * MIN + 5000;
        data.push(point('CheckoutStarted', version, at, visits));
        if (conversions > 0) data.push(point('CheckoutCompleted', version, at + 1000, conversions));
      });
    }
    // none of these may be counted: before the window, at its (exclusive) end, another service's
    data.push(point('CheckoutStarted', 'v2', from - 30_000, 9000));
    data.push(point('CheckoutCompleted', 'v2', to, 900));
    data.push(point('CheckoutStarted', 'v1', from + MIN, 7000, 'cart'));
    // conversions published, their visits not (yet): reported as CloudWatch holds them, not hidden
    data.push(point('CheckoutCompleted', 'v5', from + MIN, 3));
    await cw.send(new PutMetricDataCommand({ Namespace: 'Shop', MetricData: data }));
  });
  afterAll(async () => {
    cw?.destroy();
    await moto?.stop();
  });

  const options = (conversion: CloudWatchMetricsOptions['conversion']): CloudWatchMetricsOptions => ({
    region: REGION,
    endpoint: moto.endpoint,
    namespace: 'Shop', // the conversion's namespace defaults to it
    dimensions: { Service: '${service}', Version: '${version}' },
    metrics: health,
    conversion,
  });
  const shop = { visitsMetric: 'CheckoutStarted', conversionsMetric: 'CheckoutCompleted', variantDimension: 'Variant', dimensions: { Service: '${service}' } };

  test('sums visits and conversions per variant over the window: B is the version, A the previous one', async () => {
    const src = source(options(shop));
    expect(typeof src.conversions).toBe('function');
    const sample = await src.conversions!({ service, version: 'v2', previousVersion: 'v1', from, to });
    expect(sample).toEqual({
      a: { visits: sum(published.v1, 0), conversions: sum(published.v1, 1) },
      b: { visits: sum(published.v2, 0), conversions: sum(published.v2, 1) },
    });
    expect(sample.b).toEqual({ visits: 374, conversions: 18 }); // the same, by hand
  });

  test('a variant with no datapoint is null; a metric of it without datapoints counts 0', async () => {
    const src = source(options(shop));
    expect(await src.conversions!({ service, version: 'v3', previousVersion: 'v4', from, to })).toEqual({
      a: { visits: 75, conversions: 0 },
      b: null,
    });
    expect(await src.conversions!({ service, version: 'v5', previousVersion: 'v3', from, to })).toEqual({
      a: null,
      b: { visits: 0, conversions: 3 },
    });
    // a first release has no A; another service's datapoints are not this one's
    expect(await src.conversions!({ service: 'cart', version: 'v2', previousVersion: null, from, to })).toEqual({ a: null, b: null });
    expect(await src.conversions!({ service: 'cart', version: 'v1', previousVersion: null, from, to })).toEqual({
      a: null,
      b: { visits: 7000, conversions: 0 },
    });
  });

  test('SampleCount counts datapoints (one per event); a narrower window counts less', async () => {
    const src = source(options({ ...shop, stat: 'SampleCount' }));
    expect(await src.conversions!({ service, version: 'v2', previousVersion: 'v1', from, to })).toEqual({
      a: { visits: 4, conversions: 4 },
      b: { visits: 3, conversions: 3 },
    });
    // minutes 0–3: v1's batches at minutes 0 and 2
    const sumSrc = source(options(shop));
    expect(await sumSrc.conversions!({ service, version: 'v2', previousVersion: 'v1', from, to: from + 4 * MIN })).toEqual({
      a: { visits: 250, conversions: 7 },
      b: { visits: 243, conversions: 13 },
    });
  });

  test('an unaligned window is widened to whole minutes (CloudWatch rounds StartTime down too)', async () => {
    const src = source(options(shop));
    // from 20 s into minute 0 (its batch is at 5 s) to 10 s into minute 2 (its batch at 5 s): both minutes counted whole
    expect(await src.conversions!({ service, version: 'v2', previousVersion: null, from: from + 20_000, to: from + 2 * MIN + 10_000 })).toEqual({
      a: null,
      b: { visits: 243, conversions: 13 },
    });
  });

  test('without conversion configured the method is absent, and the request builder says what to set', () => {
    const src = source({ ...options(undefined) });
    expect('conversions' in src).toBe(false);
    expect(typeof src.conversions).toBe('undefined');
    expect(() => src.buildConversionRequest({ service, version: 'v2', previousVersion: 'v1', from, to })).toThrow(
      expect.objectContaining({
        type: 'ConfigurationError',
        nonRetryable: true,
        message: 'CloudWatch metrics of checkout measure no conversion: set services.checkout.metrics.conversion',
      }),
    );
  });

  test("a 403 from moto's IAM checks is a non-retryable ConfigurationError naming the conversions call", async () => {
    const auth = (count: string) => fetch(`${moto.endpoint}/moto-api/reset-auth`, { method: 'POST', body: count }).then((r) => r.text());
    await auth('0');
    try {
      const f = await failureOf(source({ ...options(shop), maxAttempts: 1 }).conversions!({ service, version: 'v2', previousVersion: 'v1', from, to }));
      expect(f).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: { system: 'CloudWatch', status: 403 } });
      expect(f.message).toMatch(
        /^CloudWatch GetMetricData failed for checkout's conversions \(namespace Shop\): HTTP 403 .*: the worker's AWS identity lacks the permission: allow it cloudwatch:GetMetricData$/,
      );
    } finally {
      await auth('inf');
    }
  });
});

describe('conversions(): the request it sends, paging and errors (wire format)', () => {
  // recent, hour-aligned: one-minute data, so the one period is exactly the window
  const from = Math.floor(Date.now() / (60 * MIN)) * 60 * MIN - 3 * 60 * MIN;
  const to = from + 90 * MIN;
  const now = to + 5 * MIN;
  const ts = (ms: number) => ms / 1000; // JSON 1.0 timestamps are epoch seconds
  const fakes: HttpFake[] = [];
  afterAll(() => Promise.all(fakes.map((f) => f.close())));

  /** A CloudWatch JSON 1.0 endpoint answering from a queue. */
  async function wire(answers: Array<{ status?: number; body: unknown }>) {
    const fake = await startHttpFake(() => {
      const a = answers.shift() ?? { status: 500, body: { __type: 'InternalFailure', message: 'no answer queued' } };
      return { status: a.status ?? 200, body: a.body, headers: { 'content-type': 'application/x-amz-json-1.0' } };
    });
    fakes.push(fake);
    return fake;
  }
  const options = (endpoint: string): CloudWatchMetricsOptions => ({
    region: REGION,
    endpoint,
    maxAttempts: 1,
    namespace: 'AWS/ApplicationELB',
    dimensions: { TargetGroup: 'targetgroup/${service}-${version}/abc' },
    metrics: health,
    conversion: {
      namespace: 'Shop',
      visitsMetric: 'CheckoutStarted',
      conversionsMetric: 'CheckoutCompleted',
      dimensions: { Service: '${service}', Region: '${region}' },
    },
  });

  test('one call of four queries, one period spanning the window; every page is followed and summed', async () => {
    const fake = await wire([
      {
        body: {
          NextToken: 'page-2',
          MetricDataResults: [
            { Id: 'b_visits', Timestamps: [ts(from)], Values: [1000], StatusCode: 'PartialData' },
            { Id: 'a_visits', Timestamps: [ts(from)], Values: [990], StatusCode: 'PartialData' },
          ],
        },
      },
      {
        body: {
          MetricDataResults: [
            // CloudWatch may split an id's datapoints over pages: summed, whatever the page
            { Id: 'b_visits', Timestamps: [ts(from + MIN)], Values: [24], StatusCode: 'Complete' },
            { Id: 'b_conversions', Timestamps: [ts(from)], Values: [41], StatusCode: 'Complete' },
            { Id: 'a_conversions', Timestamps: [ts(from)], Values: [30], StatusCode: 'Complete' },
          ],
        },
      },
    ]);
    const src = source(options(fake.url));
    const query = { service: 'checkout', version: 'v1.2.3', previousVersion: 'v1.2.2', from, to, region: 'eu-west-1' };
    expect(await src.conversions!(query)).toEqual({ a: { visits: 990, conversions: 30 }, b: { visits: 1024, conversions: 41 } });

    expect(fake.requests).toHaveLength(2);
    const [first, second] = fake.requests;
    expect(first.headers['x-amz-target']).toBe('GraniteServiceVersion20100801.GetMetricData');
    const q = (variant: string, version: string, what: string, metric: string) => ({
      Id: `${variant.toLowerCase()}_${what}`,
      Label: `${variant} ${version} ${what}`,
      ReturnData: true,
      MetricStat: {
        Metric: {
          Namespace: 'Shop',
          MetricName: metric,
          Dimensions: [
            { Name: 'Service', Value: 'checkout' },
            { Name: 'Region', Value: 'eu-west-1' },
            { Name: 'Version', Value: version },
          ],
        },
        Period: 90 * 60,
        Stat: 'Sum',
      },
    });
    expect(first.body).toEqual({
      MetricDataQueries: [
        q('B', 'v1.2.3', 'visits', 'CheckoutStarted'),
        q('B', 'v1.2.3', 'conversions', 'CheckoutCompleted'),
        q('A', 'v1.2.2', 'visits', 'CheckoutStarted'),
        q('A', 'v1.2.2', 'conversions', 'CheckoutCompleted'),
      ],
      StartTime: ts(from),
      EndTime: ts(to),
      ScanBy: 'TimestampAscending',
    });
    expect(second.body).toEqual({ ...(first.body as object), NextToken: 'page-2' });
    // the input as built, for a first release: B's two queries only
    const built = src.buildConversionRequest({ ...query, previousVersion: null }, '', now);
    expect(built.input.MetricDataQueries!.map((x) => x.Id)).toEqual(['b_visits', 'b_conversions']);
  });

  test("the period is on the coarsest grid CloudWatch keeps for the window's age; an empty window is refused", () => {
    const at = Date.UTC(2026, 0, 15, 12, 0, 0);
    // recent: whole minutes, start rounded down and end up
    expect(conversionWindow(at + 12_000, at + 10 * MIN + 1, at + 11 * MIN)).toEqual({ start: at, end: at + 11 * MIN, periodS: 11 * 60 });
    // 20 days old: 1-minute data is gone, 5-minute datapoints remain
    expect(conversionWindow(at + 2 * MIN, at + 60 * MIN + 1, at + 20 * DAY)).toEqual({ start: at, end: at + 65 * MIN, periodS: 65 * 60 });
    // 70 days old: hourly
    expect(conversionWindow(at + 2 * MIN, at + 61 * MIN, at + 70 * DAY)).toEqual({ start: at, end: at + 120 * MIN, periodS: 7200 });
    // within the hour before 15 days the coarser grid is already used: the call may reach CloudWatch later
    expect(conversionWindow(at, at + MIN, at + 15 * DAY - 30 * MIN).periodS).toBe(300);
    expect(() => conversionWindow(at, at, at)).toThrow(expect.objectContaining({ type: 'RequestRejected', nonRetryable: true }));
  });

  test('a query CloudWatch forbids is a ConfigurationError; throttling is retryable', async () => {
    const fake = await wire([
      {
        body: {
          MetricDataResults: [{ Id: 'b_visits', Label: 'B v2 visits', StatusCode: 'Forbidden', Messages: [{ Code: 'Forbidden', Value: 'no access to Shop' }] }],
        },
      },
      { status: 400, body: { __type: 'com.amazonaws.cloudwatch#LimitExceededException', message: 'Rate exceeded' } },
    ]);
    const src = source(options(fake.url));
    const query = { service: 'checkout', version: 'v2', previousVersion: 'v1', from, to };
    const forbidden = await failureOf(src.conversions!(query));
    expect(forbidden).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: { code: 'Forbidden' } });
    expect(forbidden.message).toBe(
      "CloudWatch answered Forbidden for B v2 visits (Forbidden: no access to Shop): the worker's AWS identity lacks the permission: allow it cloudwatch:GetMetricData on this namespace",
    );
    const throttled = await failureOf(src.conversions!(query));
    expect(throttled).toMatchObject({ type: 'TransientError', nonRetryable: false });
    expect(throttled.message).toMatch(/^CloudWatch GetMetricData failed for checkout's conversions \(namespace Shop\): .*Rate exceeded \(retrying\)$/);
  });
});

describe('conversionSchema', () => {
  const base = { conversions_metric: 'CheckoutCompleted', visits_metric: 'CheckoutStarted' };
  const issues = (input: unknown) => {
    const r = conversionSchema.safeParse(input);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  test('the example parses, with Version and Sum as defaults and the namespace left to the metrics entry', () => {
    expect(conversionSchema.parse(base)).toEqual({ ...base, variant_dimension: 'Version', stat: 'Sum' });
    const full = { namespace: 'Shop', ...base, variant_dimension: 'Variant', dimensions: { Service: '${service}', Region: '${region}' }, stat: 'SampleCount' };
    expect(conversionSchema.parse(full)).toEqual(full);
  });

  test('names CloudWatch refuses are refused here', () => {
    expect(issues({ ...base, conversions_metric: '' })).toEqual(['conversions_metric: a metric name of 1 to 255 characters']);
    expect(issues({ ...base, visits_metric: 'x'.repeat(256) })).toEqual(['visits_metric: a metric name of 1 to 255 characters']);
    expect(issues({ ...base, visits_metric: 'x'.repeat(255) })).toEqual([]);
    expect(issues({ ...base, visits_metric: 'Checkout\nStarted' })).toEqual(['visits_metric: a metric name without control characters']);
    expect(issues({ ...base, visits_metric: '   ' })).toEqual(['visits_metric: a metric name with at least one character that is not whitespace']);
    expect(issues({ ...base, namespace: 'Shöp' })).toEqual(['namespace: a namespace of ASCII characters only']);
    expect(issues({ ...base, namespace: ':Shop' })).toEqual(['namespace: a namespace not starting with ":"']);
    expect(issues({ ...base, variant_dimension: ':Variant' })).toEqual(['variant_dimension: a dimension name not starting with ":"']);
    expect(issues({ ...base, dimensions: { Service: 'a\tb' } })).toEqual(['dimensions.Service: a dimension value without control characters']);
    expect(issues({ ...base, dimensions: { Service: 'x'.repeat(1025) } })).toEqual(['dimensions.Service: a dimension value of 1 to 1024 characters']);
    expect(issues({ ...base, dimensions: { Service: '' } })).toEqual(['dimensions.Service: a dimension value of 1 to 1024 characters']);
  });

  test('unknown keys, placeholders and statistics, clashing or too many dimensions are refused', () => {
    expect(issues({ ...base, namspace: 'Shop' })).toEqual([': Unrecognized key: "namspace"']);
    expect(issues({ ...base, dimensions: { Flag: '${flag}' } })).toEqual(['dimensions.Flag: placeholders may only be ${service}, ${region} or ${version}']);
    expect(issues({ ...base, stat: 'Average' })[0]).toMatch(/^stat: /);
    expect(issues({ ...base, visits_metric: 'CheckoutCompleted' })).toEqual(['visits_metric: conversions_metric and visits_metric must differ']);
    expect(issues({ ...base, dimensions: { Version: '${version}' } })).toEqual([
      'dimensions: the variant dimension is filled with the version; do not list it in dimensions',
    ]);
    const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`D${i}`, 'x']));
    expect(issues({ ...base, dimensions: many })).toEqual(['dimensions: at most 29 dimensions besides the variant dimension']);
    expect(issues({ ...base, dimensions: Object.fromEntries(Object.entries(many).slice(1)) })).toEqual([]);
    expect(issues({ conversions_metric: 'CheckoutCompleted' })[0]).toMatch(/^visits_metric: /);
  });
});
