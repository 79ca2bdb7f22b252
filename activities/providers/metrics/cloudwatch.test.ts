// CloudWatch provider tests, two counterparts:
// 1. a real moto server over HTTP: datapoints go in with PutMetricData, come back through the provider
//    for the statistics moto computes (Sum, Average, SampleCount, Minimum, Maximum);
// 2. a small local HTTP endpoint speaking the SDK's wire format (AWS JSON 1.0) that records the exact
//    GetMetricData request — for what moto cannot answer: p95, metric math, pagination, error answers.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { ApplicationFailure } from '@temporalio/activity';
import { startMoto, useFakeAwsCredentials, type LocalMoto } from '../../../test/support/moto';
import { CloudWatchMetricsSource, renderDimensions, type CloudWatchMetricsOptions } from './cloudwatch';

useFakeAwsCredentials();
const REGION = 'us-east-1';
const MIN = 60_000;

// every source a test builds, closed at the end so no pooled socket outlives the suite
const opened: CloudWatchMetricsSource[] = [];
function source(options: CloudWatchMetricsOptions): CloudWatchMetricsSource {
  const s = new CloudWatchMetricsSource(options);
  opened.push(s);
  return s;
}
afterAll(() => opened.forEach((s) => s.close()));

/** The failure as Temporal sees it: its type, whether it may be retried, its details. */
async function failureOf(p: Promise<unknown>) {
  const err = await p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  const f = err as ApplicationFailure;
  return { type: f.type, nonRetryable: f.nonRetryable, details: f.details?.[0], message: f.message, stack: f.stack };
}

describe('CloudWatchMetricsSource against moto', () => {
  let moto: LocalMoto;
  let cw: CloudWatchClient;
  // a minute-aligned window of 3 intervals, ending a few minutes ago (CloudWatch keeps datapoints
  // up to two weeks old; moto keeps everything)
  const from = Math.floor(Date.now() / MIN) * MIN - 10 * MIN;
  const to = from + 3 * MIN;
  const service = 'checkout';

  beforeAll(async () => {
    moto = await startMoto();
    console.log(`moto_server answered after ${moto.startMs} ms`);
    cw = new CloudWatchClient({ region: REGION, endpoint: moto.endpoint });
  });
  afterAll(async () => {
    cw?.destroy();
    await moto?.stop();
  });

  const dims = (version: string) => [
    { Name: 'Service', Value: service },
    { Name: 'Version', Value: version },
  ];
  const point = (name: string, version: string, at: number, value: number): MetricDatum => ({
    MetricName: name,
    Dimensions: dims(version),
    Timestamp: new Date(at),
    Value: value,
  });

  // Raw datapoints per version and interval: the test computes what it expects from these.
  type Raw = { requests: number[]; errors: number[]; latency: number[]; cpu: number[]; memory: number[] };
  const empty = (): Raw => ({ requests: [], errors: [], latency: [], cpu: [], memory: [] });
  const data: Record<string, Raw[]> = {
    v1: [
      // baseline: steady
      { requests: [40, 60], errors: [1], latency: [80, 95, 120], cpu: [30, 34], memory: [512, 520] },
      { requests: [50, 50], errors: [], latency: [90, 110], cpu: [31], memory: [515] }, // no error datapoint
      { ...empty(), latency: [15], cpu: [29] }, // a health-check latency but no requests: latency stays null
    ],
    v2: [
      // canary: worse, and silent in the middle interval
      { requests: [10, 15], errors: [2, 1], latency: [150, 300, 240], cpu: [55, 65], memory: [600, 640] },
      empty(),
      { requests: [20], errors: [5], latency: [400, 350], cpu: [70], memory: [700] },
    ],
  };
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const avg = (xs: number[]) => (xs.length ? sum(xs) / xs.length : null);
  const max = (xs: number[]) => (xs.length ? Math.max(...xs) : null);
  const min = (xs: number[]) => (xs.length ? Math.min(...xs) : null);

  beforeAll(async () => {
    const metricData: MetricDatum[] = [];
    for (const [version, intervals] of Object.entries(data)) {
      intervals.forEach((raw, i) => {
        const t = from + i * MIN;
        // spread the datapoints over the interval, never on its end boundary
        const put = (name: string, values: number[]) => values.forEach((v, k) => metricData.push(point(name, version, t + 1000 + k * 7000, v)));
        put('Requests', raw.requests);
        put('Errors', raw.errors);
        put('LatencyMs', raw.latency);
        put('CPUUtilization', raw.cpu);
        put(
          'MemoryUsedBytes',
          raw.memory.map((mb) => mb * 1048576),
        );
      });
    }
    // a datapoint of another service, and one after the window: neither may be counted
    metricData.push({
      ...point('Requests', 'v2', from + 30_000, 9999),
      Dimensions: [
        { Name: 'Service', Value: 'other' },
        { Name: 'Version', Value: 'v2' },
      ],
    });
    metricData.push(point('Requests', 'v2', to + 5000, 7777));
    await cw.send(new PutMetricDataCommand({ Namespace: 'Quad/Test', MetricData: metricData }));
  });

  const baseOptions = (): CloudWatchMetricsOptions => ({
    region: REGION,
    endpoint: moto.endpoint,
    namespace: 'Quad/Test',
    dimensions: { Service: '${service}', Version: '${version}' },
    metrics: {
      requests: { metricName: 'Requests' },
      errors: { metricName: 'Errors' },
      latencyP95: { metricName: 'LatencyMs', stat: 'Maximum' }, // moto answers 500 to p95
      cpu: { metricName: 'CPUUtilization' },
      memory: { metricName: 'MemoryUsedBytes', stat: 'Minimum', scale: 1 / 1048576 },
    },
  });

  test('Sum / Maximum / Average / Minimum per version per interval, canary and baseline in one call', async () => {
    const src = source(baseOptions());
    const query = { service, version: 'v2', previousVersion: 'v1', from, to, intervalS: 60 };
    const series = await src.fetchSeries(query);
    expect(series.pages).toBe(1);
    const samples = await src.fetch(query);
    expect(samples).toHaveLength(3);

    const expectSide = (raw: Raw) => {
      const requests = sum(raw.requests);
      const anyData = Object.values(raw).some((xs) => xs.length > 0);
      if (!anyData) return null;
      return {
        requests,
        errors: sum(raw.errors),
        latencyP95Ms: requests > 0 ? max(raw.latency) : null,
        cpuPct: avg(raw.cpu),
        memoryMb: min(raw.memory),
      };
    };
    samples.forEach((s, i) => {
      expect(s.at).toBe(from + (i + 1) * MIN);
      expect(s.intervalS).toBe(60);
      expect(s.baseline).toEqual(expectSide(data.v1[i]));
      expect(s.canary).toEqual(expectSide(data.v2[i]));
    });
    // the shape the judge sees: the silent canary interval is null, not zeros
    expect(samples[1].canary).toBeNull();
    expect(samples[2].baseline).toMatchObject({ requests: 0, latencyP95Ms: null, cpuPct: 29 });
    expect(samples[0].canary).toMatchObject({ requests: 25, errors: 3, latencyP95Ms: 300 });
  });

  test('SampleCount and Average, and a first release with no baseline', async () => {
    const opts = baseOptions();
    opts.metrics.requests = { metricName: 'LatencyMs', stat: 'SampleCount' }; // one latency datapoint per request
    opts.metrics.latencyP95 = { metricName: 'LatencyMs', stat: 'Average' };
    delete opts.metrics.memory;
    const samples = await source(opts).fetch({ service, version: 'v2', previousVersion: null, from, to, intervalS: 60 });
    expect(samples.map((s) => s.baseline)).toEqual([null, null, null]);
    expect(samples.map((s) => s.canary && s.canary.requests)).toEqual(data.v2.map((r) => (r.latency.length || r.cpu.length ? r.latency.length : null)));
    expect(samples[0].canary!.latencyP95Ms).toBeCloseTo(avg(data.v2[0].latency)!, 9);
    expect(samples[2].canary!.latencyP95Ms).toBeCloseTo(avg(data.v2[2].latency)!, 9);
    expect(samples[0].canary!.memoryMb).toBeNull();
  });

  test('p95 against moto fails with a clear error naming the call (moto cannot compute percentiles)', async () => {
    const opts = baseOptions();
    opts.metrics.latencyP95 = { metricName: 'LatencyMs' }; // default stat p95
    opts.maxAttempts = 1;
    await expect(source(opts).fetch({ service, version: 'v2', previousVersion: 'v1', from, to, intervalS: 60 })).rejects.toThrow(
      /CloudWatch GetMetricData failed for checkout/,
    );
  });

  test('a flag ramp judged by variant: ${flag} and ${variant} select the on and off sides', async () => {
    const variantDims = (variant: string) => [
      { Name: 'Service', Value: service },
      { Name: 'Flag', Value: 'dark_mode' },
      { Name: 'Variant', Value: variant },
    ];
    const at = (i: number, k: number) => new Date(from + i * MIN + 2000 + k * 5000);
    const put: MetricDatum[] = [];
    // per interval: [requests, errors] with the flag on, then off
    const on = [
      [30, 3],
      [25, 2],
      [40, 4],
    ];
    const off = [
      [270, 1],
      [275, 0],
      [260, 2],
    ];
    for (const [variant, rows] of [
      ['on', on],
      ['off', off],
    ] as const) {
      rows.forEach(([requests, errors], i) => {
        put.push({ MetricName: 'Requests', Dimensions: variantDims(variant), Timestamp: at(i, 0), Value: requests });
        put.push({ MetricName: 'Errors', Dimensions: variantDims(variant), Timestamp: at(i, 1), Value: errors });
        put.push({ MetricName: 'LatencyMs', Dimensions: variantDims(variant), Timestamp: at(i, 2), Value: variant === 'on' ? 180 : 120 });
      });
    }
    await cw.send(new PutMetricDataCommand({ Namespace: 'Quad/Flags', MetricData: put }));
    const src = source({
      region: REGION,
      endpoint: moto.endpoint,
      namespace: 'Quad/Flags',
      dimensions: { Service: '${service}', Flag: '${flag}', Variant: '${variant}' },
      metrics: { requests: { metricName: 'Requests' }, errors: { metricName: 'Errors' }, latencyP95: { metricName: 'LatencyMs', stat: 'Maximum' } },
    });
    const samples = await src.fetch({ service, version: 'flag:dark_mode=on', previousVersion: 'flag:dark_mode=off', from, to, intervalS: 60 });
    expect(samples.map((x) => [x.canary?.requests, x.canary?.errors, x.baseline?.requests, x.baseline?.errors])).toEqual(on.map((r, i) => [...r, ...off[i]]));
    expect(samples.map((x) => [x.canary?.latencyP95Ms, x.baseline?.latencyP95Ms])).toEqual([
      [180, 120],
      [180, 120],
      [180, 120],
    ]);
    // outside a flag ramp the flag placeholders have no value: a config error, not an empty dimension
    await expect(src.fetch({ service, version: 'v2', previousVersion: 'v1', from, to, intervalS: 60 })).rejects.toThrow(
      'CloudWatch dimension Flag: ${flag} only has a value in a flag ramp with watch: variants (this side is version v2)',
    );
  });

  test('a 403 from moto with its IAM checks on (the fake key is in no IAM user) is a non-retryable ConfigurationError', async () => {
    // moto checks every request against its IAM from here on. It answers InvalidClientTokenId as an XML page
    // the JSON-protocol SDK cannot read, so only the 403 classifies it (the wire-format test below has the named errors).
    const auth = (count: string) => fetch(`${moto.endpoint}/moto-api/reset-auth`, { method: 'POST', body: count }).then((r) => r.text());
    await auth('0');
    try {
      const opts = baseOptions();
      opts.maxAttempts = 1;
      const f = await failureOf(source(opts).fetch({ service, version: 'v2', previousVersion: 'v1', from, to, intervalS: 60 }));
      expect(f).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: { system: 'CloudWatch', status: 403 } });
      expect(f.message).toMatch(
        /^CloudWatch GetMetricData failed for checkout \(namespace \S+\): HTTP 403 .*: the worker's AWS identity lacks the permission: allow it cloudwatch:GetMetricData$/,
      );
    } finally {
      await auth('inf');
    }
  });
});

// ---- the exact request, against a wire-format endpoint ----

interface Recorded {
  headers: IncomingHttpHeaders;
  body: any;
}
type Answer = { status?: number; body: unknown };

/** Speaks AWS JSON 1.0 as CloudWatch does: records each request, answers from the queue. */
async function startWireFake(answers: Answer[]): Promise<{ endpoint: string; requests: Recorded[]; server: Server }> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: JSON.parse(raw) });
      const a = answers.shift() ?? { status: 500, body: { __type: 'InternalFailure', message: 'no answer queued' } };
      res.writeHead(a.status ?? 200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': `req-${requests.length}` });
      res.end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

describe('CloudWatchMetricsSource: the request it sends (wire format)', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  const from = Date.UTC(2026, 0, 15, 12, 0, 0);
  const to = from + 2 * MIN;
  const options = (endpoint: string): CloudWatchMetricsOptions => ({
    region: REGION,
    endpoint,
    maxAttempts: 1,
    namespace: 'AWS/ApplicationELB',
    dimensions: { LoadBalancer: 'app/shop/123', TargetGroup: 'targetgroup/${service}-${version}/abc' },
    metrics: {
      requests: { metricName: 'RequestCount' },
      errors: { metricName: 'HTTPCode_Target_5XX_Count' },
      latencyP95: { metricName: 'TargetResponseTime', scale: 1000 },
      cpu: { metricName: 'CPUUtilization', namespace: 'AWS/ECS', dimensions: (version) => [{ Name: 'ServiceName', Value: `checkout-${version}` }] },
    },
  });
  const ts = (ms: number) => ms / 1000; // JSON 1.0 timestamps are epoch seconds

  test('one call: Sum counts, p95 latency, Average CPU, errors/requests by metric math; pages followed', async () => {
    const t0 = ts(from),
      t1 = ts(from + MIN);
    const fake = await startWireFake([
      {
        body: {
          NextToken: 'page-2',
          MetricDataResults: [
            { Id: 'canary_requests', Timestamps: [t0, t1], Values: [200, 180], StatusCode: 'PartialData' },
            { Id: 'canary_errors', Timestamps: [t0], Values: [4], StatusCode: 'PartialData' },
            { Id: 'canary_latencyP95', Timestamps: [t0, t1], Values: [0.25, 0.31], StatusCode: 'Complete' },
          ],
        },
      },
      {
        body: {
          MetricDataResults: [
            { Id: 'canary_cpu', Timestamps: [t0, t1], Values: [61.5, 64], StatusCode: 'Complete' },
            // CloudWatch's FILL makes the rate exist where errors had no datapoint
            { Id: 'canary_errorRate', Timestamps: [t0, t1], Values: [2, 0], StatusCode: 'Complete' },
            { Id: 'baseline_requests', Timestamps: [t0, t1], Values: [800, 820], StatusCode: 'Complete' },
            { Id: 'baseline_errors', Timestamps: [t1], Values: [2], StatusCode: 'Complete' },
            { Id: 'baseline_latencyP95', Timestamps: [t0, t1], Values: [0.2, 0.21], StatusCode: 'Complete' },
            { Id: 'baseline_cpu', Timestamps: [t1], Values: [40], StatusCode: 'Complete' },
            { Id: 'baseline_errorRate', Timestamps: [t0, t1], Values: [0, 2 / 8.2], StatusCode: 'Complete' },
          ],
        },
      },
    ]);
    servers.push(fake.server);
    const src = source(options(fake.endpoint));
    const samples = await src.fetch({ service: 'checkout', version: 'v1.2.3', previousVersion: 'v1.2.2', from, to, intervalS: 60 });

    expect(fake.requests).toHaveLength(2);
    const [first, second] = fake.requests;
    expect(first.headers['x-amz-target']).toBe('GraniteServiceVersion20100801.GetMetricData');
    expect(first.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(String(first.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=testing\/\d{8}\/us-east-1\/monitoring\/aws4_request,/);

    const stat = (side: string, version: string, key: string, ns: string, name: string, dims: object[], s: string) => ({
      Id: `${side}_${key}`,
      Label: `${side} ${version} ${key}`,
      ReturnData: true,
      MetricStat: { Metric: { Namespace: ns, MetricName: name, Dimensions: dims }, Period: 60, Stat: s },
    });
    const elb = (v: string) => [
      { Name: 'LoadBalancer', Value: 'app/shop/123' },
      { Name: 'TargetGroup', Value: `targetgroup/checkout-${v}/abc` },
    ];
    const side = (s: string, v: string) => [
      stat(s, v, 'requests', 'AWS/ApplicationELB', 'RequestCount', elb(v), 'Sum'),
      stat(s, v, 'errors', 'AWS/ApplicationELB', 'HTTPCode_Target_5XX_Count', elb(v), 'Sum'),
      stat(s, v, 'latencyP95', 'AWS/ApplicationELB', 'TargetResponseTime', elb(v), 'p95'),
      stat(s, v, 'cpu', 'AWS/ECS', 'CPUUtilization', [{ Name: 'ServiceName', Value: `checkout-${v}` }], 'Average'),
      { Id: `${s}_errorRate`, Label: `${s} ${v} error rate %`, ReturnData: true, Expression: `100 * FILL(${s}_errors, 0) / ${s}_requests` },
    ];
    expect(first.body).toEqual({
      MetricDataQueries: [...side('canary', 'v1.2.3'), ...side('baseline', 'v1.2.2')],
      StartTime: ts(from),
      EndTime: ts(to),
      ScanBy: 'TimestampAscending',
    });
    // the second page repeats the request with the token, nothing else changed
    expect(second.body).toEqual({ ...first.body, NextToken: 'page-2' });

    expect(samples).toEqual([
      {
        at: from + MIN,
        intervalS: 60,
        canary: { requests: 200, errors: 4, latencyP95Ms: 250, cpuPct: 61.5, memoryMb: null },
        baseline: { requests: 800, errors: 0, latencyP95Ms: 200, cpuPct: null, memoryMb: null },
      },
      {
        at: from + 2 * MIN,
        intervalS: 60,
        canary: { requests: 180, errors: 0, latencyP95Ms: 310, cpuPct: 64, memoryMb: null },
        baseline: { requests: 820, errors: 2, latencyP95Ms: 210, cpuPct: 40, memoryMb: null },
      },
    ]);
  });

  test('fetchSeries keeps the error rate CloudWatch computed by metric math, per interval', async () => {
    const fake = await startWireFake([
      {
        body: {
          MetricDataResults: [
            { Id: 'canary_requests', Timestamps: [ts(from), ts(from + MIN)], Values: [400, 500], StatusCode: 'Complete' },
            { Id: 'canary_errors', Timestamps: [ts(from)], Values: [6], StatusCode: 'Complete' },
            { Id: 'canary_errorRate', Timestamps: [ts(from), ts(from + MIN)], Values: [1.5, 0], StatusCode: 'Complete' },
          ],
        },
      },
    ]);
    servers.push(fake.server);
    const series = await source(options(fake.endpoint)).fetchSeries({ service: 'checkout', version: 'v2', previousVersion: null, from, to, intervalS: 60 });
    expect([...series.canary.errorRatePct]).toEqual([
      [0, 1.5],
      [1, 0],
    ]);
    expect([...series.canary.errors]).toEqual([[0, 6]]);
    expect(series.baseline).toBeNull();
    expect(fake.requests[0].body.MetricDataQueries.map((q: { Id: string }) => q.Id)).toEqual([
      'canary_requests',
      'canary_errors',
      'canary_latencyP95',
      'canary_cpu',
      'canary_errorRate',
    ]);
  });

  test("${region} in a dimension is the query's region (region rollouts), else the client's", async () => {
    const fake = await startWireFake([{ body: { MetricDataResults: [] } }, { body: { MetricDataResults: [] } }]);
    servers.push(fake.server);
    const src = source({ ...options(fake.endpoint), dimensions: { Service: '${service}', Region: '${region}' } });
    const q = { service: 'checkout', version: 'v2', previousVersion: null, from, to, intervalS: 60 };
    const samples = await src.fetch(q);
    await src.fetch({ ...q, region: 'eu-west-1' });
    const dimsSent = fake.requests.map((r) => r.body.MetricDataQueries[0].MetricStat.Metric.Dimensions);
    expect(dimsSent).toEqual([
      [
        { Name: 'Service', Value: 'checkout' },
        { Name: 'Region', Value: REGION },
      ],
      [
        { Name: 'Service', Value: 'checkout' },
        { Name: 'Region', Value: 'eu-west-1' },
      ],
    ]);
    // no datapoints at all: every interval is there, each side null
    expect(samples).toEqual([
      { at: from + MIN, intervalS: 60, canary: null, baseline: null },
      { at: from + 2 * MIN, intervalS: 60, canary: null, baseline: null },
    ]);
  });

  test('a throttling answer or a failed query rejects with a clear error; credentials never appear', async () => {
    const fake = await startWireFake([
      { status: 400, body: { __type: 'com.amazonaws.cloudwatch#LimitExceededException', message: 'Rate exceeded' } },
      {
        body: {
          MetricDataResults: [
            {
              Id: 'canary_requests',
              Label: 'canary v2 requests',
              StatusCode: 'Forbidden',
              Messages: [{ Code: 'Forbidden', Value: 'no access to AWS/ApplicationELB' }],
            },
          ],
        },
      },
    ]);
    servers.push(fake.server);
    process.env.AWS_SECRET_ACCESS_KEY = 'testing-secret-value';
    try {
      const src = source(options(fake.endpoint));
      const q = { service: 'checkout', version: 'v2', previousVersion: 'v1', from, to, intervalS: 60 };
      const e1 = await src.fetch(q).catch((e: Error) => e);
      expect(e1).toBeInstanceOf(Error);
      expect((e1 as Error).message).toMatch(/GetMetricData failed for checkout \(namespace AWS\/ApplicationELB\): .*Rate exceeded/);
      expect(e1).toMatchObject({ type: 'TransientError', nonRetryable: false }); // throttling: retried
      const e2 = await src.fetch(q).catch((e: Error) => e);
      expect((e2 as Error).message).toBe(
        'CloudWatch answered Forbidden for canary v2 requests (Forbidden: no access to AWS/ApplicationELB): ' +
          "the worker's AWS identity lacks the permission: allow it cloudwatch:GetMetricData on this namespace",
      );
      expect(e2).toMatchObject({ type: 'ConfigurationError', nonRetryable: true });
      for (const e of [e1, e2]) expect(JSON.stringify({ m: (e as Error).message, s: (e as Error).stack })).not.toContain('testing-secret-value');
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = 'testing';
    }
  });

  test('credentials CloudWatch does not accept and a missing permission are non-retryable ConfigurationErrors; a server error stays retryable', async () => {
    const fake = await startWireFake([
      {
        status: 400,
        body: { __type: 'com.amazon.coral.service#UnrecognizedClientException', message: 'The security token included in the request is invalid.' },
      },
      {
        status: 400,
        body: {
          __type: 'com.amazon.coral.service#AccessDeniedException',
          message:
            'User: arn:aws:iam::123456789012:user/quad is not authorized to perform: cloudwatch:GetMetricData because no identity-based policy allows it',
        },
      },
      { status: 500, body: { __type: 'com.amazonaws.cloudwatch#InternalServiceFault', message: 'Internal service error' } },
      { status: 400, body: { __type: 'com.amazonaws.cloudwatch#InvalidParameterValueException', message: 'The parameter Period must be a multiple of 60.' } },
    ]);
    servers.push(fake.server);
    process.env.AWS_SECRET_ACCESS_KEY = 'testing-secret-value';
    try {
      const src = source(options(fake.endpoint));
      const q = { service: 'checkout', version: 'v2', previousVersion: 'v1', from, to, intervalS: 60 };
      const creds = await failureOf(src.fetch(q));
      expect(creds).toMatchObject({
        type: 'ConfigurationError',
        nonRetryable: true,
        details: { system: 'CloudWatch', status: 400, code: 'UnrecognizedClientException' },
      });
      expect(creds.message).toMatch(
        /UnrecognizedClientException: The security token included in the request is invalid\.: the worker's AWS credentials were not accepted: check its default credential chain/,
      );
      const denied = await failureOf(src.fetch(q));
      expect(denied).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: { code: 'AccessDeniedException' } });
      expect(denied.message).toMatch(/lacks the permission: allow it cloudwatch:GetMetricData$/);
      const server = await failureOf(src.fetch(q));
      expect(server).toMatchObject({ type: 'TransientError', nonRetryable: false, details: { status: 500 } });
      expect(await failureOf(src.fetch(q))).toMatchObject({ type: 'RequestRejected', nonRetryable: true });
      for (const f of [creds, denied, server]) expect(JSON.stringify({ m: f.message, s: f.stack })).not.toContain('testing-secret-value');
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = 'testing';
    }
  });

  test('no region anywhere is a ConfigurationError', async () => {
    const saved = { r: process.env.AWS_REGION, d: process.env.AWS_DEFAULT_REGION, c: process.env.AWS_CONFIG_FILE };
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    process.env.AWS_CONFIG_FILE = '/nonexistent/quad-test-aws-config';
    try {
      const { region: _r, ...noRegion } = options('http://127.0.0.1:9');
      const f = await failureOf(source(noRegion).fetch({ service: 'checkout', version: 'v2', previousVersion: null, from, to, intervalS: 60 }));
      expect(f).toMatchObject({ type: 'ConfigurationError', nonRetryable: true });
      expect(f.message).toMatch(/Region is missing.*set the metrics region/);
    } finally {
      for (const [k, v] of [
        ['AWS_REGION', saved.r],
        ['AWS_DEFAULT_REGION', saved.d],
        ['AWS_CONFIG_FILE', saved.c],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  test('periods CloudWatch refuses and unknown dimension placeholders are config errors, before any call', () => {
    const src = source(options('http://127.0.0.1:9'));
    const q = { service: 'checkout', version: 'v2', previousVersion: 'v1', from, to, intervalS: 45 };
    expect(() => src.buildRequest(q)).toThrow(
      expect.objectContaining({ type: 'ConfigurationError', nonRetryable: true, message: expect.stringMatching(/cannot use a 45 s interval/) }),
    );
    expect(src.buildRequest({ ...q, intervalS: 10 }).input.MetricDataQueries![0].MetricStat!.Period).toBe(10);
    expect(src.buildRequest({ ...q, intervalS: 300 }).intervals).toBe(1);
    expect(() => renderDimensions({ Env: '${stage}' }, { service: 's', version: 'v', region: 'r' })).toThrow(/unknown placeholder \$\{stage\}/);
    expect(renderDimensions({ Fn: '${service}@${region}:${version}' }, { service: 's', version: 'v', region: 'eu-west-1' })).toEqual([
      { Name: 'Fn', Value: 's@eu-west-1:v' },
    ]);
  });

  test('an unaligned window is rounded down to the period, as CloudWatch would; datapoints land on the grid', async () => {
    const fake = await startWireFake([
      { body: { MetricDataResults: [{ Id: 'canary_requests', Timestamps: [ts(from), ts(from + MIN)], Values: [3, 4], StatusCode: 'Complete' }] } },
    ]);
    servers.push(fake.server);
    const samples = await source(options(fake.endpoint)).fetch({
      service: 'checkout',
      version: 'v2',
      previousVersion: null,
      from: from + 12_345,
      to: from + MIN + 30_000,
      intervalS: 60,
    });
    expect(fake.requests[0].body.StartTime).toBe(ts(from));
    expect(fake.requests[0].body.EndTime).toBe(ts(from + 2 * MIN));
    expect(samples.map((s) => [s.at, s.canary?.requests ?? null])).toEqual([
      [from + MIN, 3],
      [from + 2 * MIN, 4],
    ]);
  });
});
