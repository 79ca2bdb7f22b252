// The dashboard body a service's config becomes: canary and baseline lines for every guarded metric, the
// stages' absolute limits as horizontal annotations, relative limits said in words, and names from the
// config reaching the JSON and the markdown as text.
import yaml from 'js-yaml';
import { parseConfig } from '../../config/load';
import { VERSION_TOKEN, markdownText, planDashboards, type Dashboard, type MetricWidget, type TextWidget } from './body';

const config = (checkout: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  parseConfig(
    yaml.dump({
      deployments: { error_rate_threshold: 1, latency_threshold_ms: 300 },
      services: { checkout, web: {} },
      ...extra,
    }),
  );

const cloudwatch = (over: Record<string, unknown> = {}) => ({
  type: 'cloudwatch',
  region: 'eu-west-1',
  namespace: 'Shop/App',
  dimensions: { Service: '${service}', Version: '${version}' },
  metrics: { requests: 'Requests', errors: 'Errors', latency: 'LatencyMs', cpu: 'CPUUtilization', memory: 'MemoryMB' },
  ...over,
});

function only(cfg: ReturnType<typeof config>): Dashboard {
  const p = planDashboards(cfg, {}, 'checkout')[0];
  if (p.kind !== 'dashboard') throw new Error(`skipped: ${p.reason}`);
  return p.dashboard;
}
const metricWidgets = (d: Dashboard) => d.body.widgets.filter((w): w is MetricWidget => w.type === 'metric');
const widget = (d: Dashboard, title: RegExp) => metricWidgets(d).find((w) => title.test(w.properties.title))!;
const text = (d: Dashboard) => (d.body.widgets.find((w) => w.type === 'text') as TextWidget).properties.markdown;

/** The rules of the DashboardBody reference every metric widget here must follow. */
function expectWellFormed(d: Dashboard) {
  expect(d.name).toMatch(/^[A-Za-z0-9_-]{1,255}$/);
  const body = JSON.parse(JSON.stringify(d.body));
  expect(Array.isArray(body.widgets)).toBe(true);
  for (const w of body.widgets) {
    expect(['metric', 'text']).toContain(w.type);
    for (const k of ['x', 'y', 'width', 'height']) expect(Number.isInteger(w[k])).toBe(true);
    expect(w.x + w.width).toBeLessThanOrEqual(24);
    if (w.type !== 'metric') continue;
    expect(w.properties).toMatchObject({ view: 'timeSeries', region: d.region, stat: expect.any(String), period: expect.any(Number) });
    expect(w.properties.period % 60).toBe(0);
    for (const line of w.properties.metrics) {
      const opts = line.at(-1);
      expect(opts.id).toMatch(/^[a-z][a-zA-Z0-9_]*$/); // ids start with a lowercase letter
      if (line.length === 1) expect(typeof opts.expression).toBe('string');
      else {
        // [Namespace, MetricName, name, value, ..., options]: names and values in pairs
        const strings = line.slice(0, -1);
        expect(strings.every((s: unknown) => typeof s === 'string')).toBe(true);
        expect(strings.length % 2).toBe(0);
      }
    }
  }
}

test('one dashboard per CloudWatch service, named quad-<service>; a sandbox service is skipped with the reason', () => {
  const plans = planDashboards(config({ metrics: cloudwatch() }));
  expect(plans.map((p) => (p.kind === 'dashboard' ? p.dashboard.name : `skipped ${p.service}: ${p.reason}`))).toEqual([
    'quad-checkout',
    'skipped web: its metrics are sandbox, not CloudWatch',
  ]);
});

test('canary and baseline lines for each guarded metric, each with its side’s version token in the dimensions', () => {
  const d = only(config({ metrics: cloudwatch() }));
  expectWellFormed(d);
  expect(metricWidgets(d).map((w) => w.properties.title)).toEqual([
    'checkout error rate %: canary vs baseline (relative limit 2× baseline)',
    'checkout latency p95 ms: canary vs baseline (relative limit 1.25× baseline)',
    'checkout CPU %: canary vs baseline',
    'checkout memory: canary vs baseline (relative limit 1.5× baseline)',
    'checkout requests: canary vs baseline',
  ]);
  const latency = widget(d, /latency/).properties;
  expect(latency.stat).toBe('p95');
  expect(latency.metrics).toEqual([
    ['Shop/App', 'LatencyMs', 'Service', 'checkout', 'Version', VERSION_TOKEN.canary, expect.objectContaining({ id: 'canary_latency', stat: 'p95' })],
    ['Shop/App', 'LatencyMs', 'Service', 'checkout', 'Version', VERSION_TOKEN.baseline, expect.objectContaining({ id: 'baseline_latency', stat: 'p95' })],
  ]);
  // the error rate is CloudWatch metric math over the hidden counts, as the guard computes it
  const errors = widget(d, /error rate/).properties.metrics;
  expect(errors.filter((l) => l.length === 1).map((l) => (l[0] as { expression: string }).expression)).toEqual([
    '100 * FILL(canary_errors, 0) / canary_requests',
    '100 * FILL(baseline_errors, 0) / baseline_requests',
  ]);
  expect(errors.filter((l) => l.length > 1).every((l) => (l.at(-1) as { visible?: boolean }).visible === false)).toBe(true);
  // a pattern variable per side swaps the token for a version CloudWatch lists for this service
  expect(d.body.variables).toEqual([
    expect.objectContaining({ type: 'pattern', pattern: VERSION_TOKEN.canary, inputType: 'select', populateFrom: 'Version' }),
    expect.objectContaining({ type: 'pattern', pattern: VERSION_TOKEN.baseline, inputType: 'select', populateFrom: 'Version' }),
  ]);
  expect(d.body.variables[0].search).toBe('{Shop/App,Service,Version} MetricName="Requests" Service="checkout"');
});

test("the stages' absolute limits are drawn, each value once with the stages that judge by it; relative ones are written", () => {
  const d = only(
    config({
      metrics: cloudwatch({ latency_stat: 'p99' }),
      criteria: ['cpu < 80%'],
      rollout_plan: [
        { traffic_percent: 10, duration_minutes: 5, criteria: ['error_rate < 0.5%', 'latency_p95 < 200ms'] },
        { traffic_percent: 50, duration_minutes: 5, error_threshold: 0.8 },
        { name: 'everyone', traffic_percent: 100 },
      ],
    }),
  );
  expectWellFormed(d);
  const lines = (title: RegExp) => widget(d, title).properties.annotations?.horizontal.map((a) => [a.value, a.label]);
  expect(lines(/error rate/)).toEqual([
    [0.5, 'limit 0.5 % (canary 10 %)'],
    [0.8, 'limit 0.8 % (canary 50 %)'],
    [1, 'limit 1 % (everyone)'],
  ]);
  expect(lines(/latency p99/)).toEqual([
    [200, 'limit 200 ms (canary 10 %)'],
    [300, 'limit 300 ms (canary 50 %, everyone)'],
  ]);
  expect(lines(/CPU/)).toEqual([[80, 'limit 80 % (canary 10 %, canary 50 %, everyone)']]);
  // memory has only a ratio to the baseline: no fixed line, the ratio in the title and the text
  expect(widget(d, /memory/).properties.annotations).toBeUndefined();
  expect(text(d)).toContain('canary at most 1.5× the baseline');
  expect(widget(d, /latency p99/).properties.stat).toBe('p99');
});

test('no CPU or memory widget when the metrics name none; without a rollout_plan the service criteria are every stage’s', () => {
  const d = only(config({ metrics: cloudwatch({ metrics: { requests: 'Requests', errors: 'Errors', latency: 'LatencyMs' } }) }));
  expect(metricWidgets(d).map((w) => w.properties.title.split(':')[0])).toEqual(['checkout error rate %', 'checkout latency p95 ms', 'checkout requests']);
  expect(widget(d, /error rate/).properties.annotations?.horizontal).toEqual([{ label: 'limit 1 % (every stage)', value: 1, color: expect.any(String) }]);
});

test('names from the config stay text: quotes and backslashes in JSON, markup in the markdown escaped', () => {
  const hostile = 'Errors "5xx" \\ <script>alert(1)</script> *bold* [x](http://e.vil)';
  const d = only(
    config({
      metrics: cloudwatch({
        namespace: 'Shop "prod"',
        dimensions: { 'Team Name': 'pay"ments', Version: 'v=${version}' },
        metrics: { requests: 'Req', errors: hostile, latency: 'L' },
      }),
      rollout_plan: [{ name: '# <b>big</b> | stage', traffic_percent: 20, error_threshold: 2 }, { traffic_percent: 100 }],
    }),
  );
  expectWellFormed(d);
  const body = JSON.stringify(d.body);
  // the JSON round-trips to the very strings of the config
  const errorsLine = widget(d, /error rate/).properties.metrics.find((l) => l[1] === hostile)!;
  expect(errorsLine.slice(0, 6)).toEqual(['Shop "prod"', hostile, 'Team Name', 'pay"ments', 'Version', `v=${VERSION_TOKEN.canary}`]);
  expect(JSON.parse(body)).toEqual(JSON.parse(JSON.stringify(d.body)));
  // the version dimension is not just ${version}: the variable is typed in, not listed
  expect(d.body.variables[0]).toMatchObject({ inputType: 'input' });
  expect(d.body.variables[0].search).toBeUndefined();
  const md = text(d);
  expect(md).not.toMatch(/(?<!\\)<b>|\n# |(?<!\\)\| stage/); // every markup character is escaped
  expect(md).toContain('\\# \\<b\\>big\\</b\\> \\| stage');
  expect(md).toContain('Shop "prod"');
  expect(markdownText('a\nb*c')).toBe('a b\\*c');
});

test('a dimension placeholder a dashboard cannot fill, or no region, skips the service saying why', () => {
  const flagged = config({ metrics: cloudwatch({ dimensions: { Variant: '${variant}' } }) });
  expect(planDashboards(flagged, {}, 'checkout')).toEqual([
    { kind: 'skipped', service: 'checkout', reason: expect.stringContaining('dimension Variant uses ${variant}') },
  ]);
  const noRegion = config({ metrics: cloudwatch({ region: undefined }) });
  expect(planDashboards(noRegion, {}, 'checkout')[0]).toMatchObject({ kind: 'skipped', reason: expect.stringContaining('no region') });
  expect(planDashboards(noRegion, { defaultRegion: 'us-west-2' }, 'checkout')[0]).toMatchObject({ kind: 'dashboard', dashboard: { region: 'us-west-2' } });
});

test('--canary / --baseline become the variables’ default values', () => {
  const d = planDashboards(config({ metrics: cloudwatch() }), { versions: { canary: 'v1.2.4', baseline: 'v1.2.3' } }, 'checkout')[0];
  expect(d.kind === 'dashboard' && d.dashboard.body.variables.map((v) => v.defaultValue)).toEqual(['v1.2.4', 'v1.2.3']);
});
