// A service's config → its CloudWatch dashboard (the DashboardBody JSON of PutDashboard). Pure: no AWS
// call, no clock. One widget per guarded metric, canary and baseline side by side, the absolute limits the
// stages judge by drawn as horizontal annotations; relative limits (× baseline) cannot be a fixed line,
// so they are said in the widget's title and in the text widget on top.
//
// The versions are not known when the dashboard is written: the dimension templates' ${version} becomes a
// token per side, and a dashboard variable of type pattern swaps the token for the version a person picks
// (from the versions CloudWatch has datapoints for, when one dimension is just ${version}).
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html
import type { Criteria } from '../../contract/verdict';
import type { QuadConfig, ServiceConfig } from '../../config/schema';
import { buildStages, defaultCriteria } from '../../config/resolve';

type CloudWatchMetrics = Extract<ServiceConfig['metrics'], { type: 'cloudwatch' }>;
export type Side = 'canary' | 'baseline';

/** What a pattern variable replaces; letters and _ only, so the pattern matches itself as a regex. */
export const VERSION_TOKEN: Record<Side, string> = { canary: 'QUAD_CANARY_VERSION', baseline: 'QUAD_BASELINE_VERSION' };
const SIDE_COLOR: Record<Side, string> = { canary: '#ff7f0e', baseline: '#1f77b4' };
const LIMIT_COLOR = '#d62728';
const WIDTH = 12;
const HEIGHT = 6;

/** A metric line: [Namespace, MetricName, dim, value, ..., options], or [ { expression ... } ]. */
export type MetricLine = Array<string | Record<string, unknown>>;
export interface HorizontalAnnotation {
  label: string;
  value: number;
  color: string;
}
export interface MetricWidget {
  type: 'metric';
  x: number;
  y: number;
  width: number;
  height: number;
  properties: {
    title: string;
    view: 'timeSeries';
    stacked: false;
    region: string;
    stat: string;
    period: number;
    metrics: MetricLine[];
    annotations?: { horizontal: HorizontalAnnotation[] };
    yAxis: { left: { min: 0; label: string; showUnits: false } };
  };
}
export interface TextWidget {
  type: 'text';
  x: number;
  y: number;
  width: number;
  height: number;
  properties: { markdown: string };
}
export interface DashboardVariable {
  type: 'pattern';
  pattern: string;
  inputType: 'input' | 'select';
  id: string;
  label: string;
  visible: true;
  defaultValue?: string;
  search?: string;
  populateFrom?: string;
}
export interface DashboardBody {
  start: string;
  periodOverride: 'inherit';
  variables: DashboardVariable[];
  widgets: Array<MetricWidget | TextWidget>;
}

export interface Dashboard {
  service: string;
  name: string;
  region: string;
  body: DashboardBody;
}
export type DashboardPlan = { kind: 'dashboard'; dashboard: Dashboard } | { kind: 'skipped'; service: string; reason: string };

export interface DashboardOptions {
  /** the region when the metrics name none (the SDK's: AWS_REGION, the profile) */
  defaultRegion?: string;
  /** the versions the dashboard opens on; else the first CloudWatch lists (select) or the token (input) */
  versions?: Partial<Record<Side, string>>;
}

/** PutDashboard's rule for DashboardName: letters, digits, - and _, at most 255. */
export function dashboardName(service: string): string {
  const name = `quad-${service}`;
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(name)) throw new Error(`${JSON.stringify(service)} cannot name a CloudWatch dashboard (letters, digits, - and _ only)`);
  return name;
}

/** Markdown is rendered by the console: text from the config shows as written, never as markup. */
export function markdownText(s: string): string {
  return s.replace(/[\\`*_{}[\]()<>#+\-.!|~&]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ');
}

const fmt = (n: number) => String(Math.round(n * 1000) / 1000);

/** ${service}, ${region}, and ${version} as the side's token; any other placeholder has no value on a dashboard. */
function fillDimension(name: string, template: string, ctx: { service: string; region: string; side: Side }): string {
  return template.replace(/\$\{(\w+)\}/g, (_m, key: string) => {
    if (key === 'service') return ctx.service;
    if (key === 'region') return ctx.region;
    if (key === 'version') return VERSION_TOKEN[ctx.side];
    throw new Error(`dimension ${name} uses \${${key}}, which has no value on a service dashboard (only \${service}, \${version}, \${region})`);
  });
}

interface Limits {
  /** distinct absolute values with the stages that judge by each */
  absolute: Map<number, string[]>;
  /** distinct ratios to the baseline */
  relative: Map<number, string[]>;
}

/** The stages' criteria: a rollout_plan's own, else the service's (every default stage judges by them). */
function stageCriteria(cfg: QuadConfig, svc: ServiceConfig): Array<{ stage: string; criteria: Criteria }> {
  const base = defaultCriteria(cfg, svc);
  if (!svc.rollout_plan) return [{ stage: 'every stage', criteria: base }];
  const strategy = svc.strategy === 'flag-ramp' ? 'canary' : svc.strategy;
  return buildStages(strategy, svc.rollout_plan, base).map((s) => ({ stage: s.name, criteria: s.criteria }));
}

function limitsOf(stages: Array<{ stage: string; criteria: Criteria }>, abs?: keyof Criteria, rel?: keyof Criteria): Limits {
  const out: Limits = { absolute: new Map(), relative: new Map() };
  for (const { stage, criteria } of stages) {
    for (const [key, into] of [
      [abs, out.absolute],
      [rel, out.relative],
    ] as const) {
      const v = key ? criteria[key] : undefined;
      if (v === undefined || !(v > 0)) continue;
      into.set(v, [...(into.get(v) ?? []), stage]);
    }
  }
  return out;
}

const stagesText = (stages: string[]) => (stages.length === 1 && stages[0] === 'every stage' ? 'every stage' : stages.join(', '));

interface MetricSpec {
  key: string;
  title: string;
  unit: string;
  stat: string;
  /** the lines of one side; ids are prefixed with the side */
  lines: (side: Side, dims: (side: Side) => string[]) => MetricLine[];
  limits: Limits;
}

/** Every dashboard this config describes: one per service with CloudWatch metrics, a reason for each other. */
export function planDashboards(cfg: QuadConfig, opts: DashboardOptions = {}, only?: string): DashboardPlan[] {
  const names = only ? [only] : Object.keys(cfg.services);
  return names.map((service) => {
    const svc = Object.hasOwn(cfg.services, service) ? cfg.services[service] : undefined;
    if (!svc) return { kind: 'skipped', service, reason: `no service ${service} is configured` };
    if (svc.metrics.type !== 'cloudwatch') return { kind: 'skipped', service, reason: `its metrics are ${svc.metrics.type}, not CloudWatch` };
    try {
      return { kind: 'dashboard', dashboard: serviceDashboard(cfg, service, svc, svc.metrics, opts) };
    } catch (err) {
      return { kind: 'skipped', service, reason: (err as Error).message };
    }
  });
}

export function serviceDashboard(cfg: QuadConfig, service: string, svc: ServiceConfig, m: CloudWatchMetrics, opts: DashboardOptions = {}): Dashboard {
  const region = m.region ?? opts.defaultRegion;
  if (!region) throw new Error(`no region: set services.${service}.metrics.region, or AWS_REGION`);
  const name = dashboardName(service);
  const period = Math.max(60, Math.ceil(svc.poll_interval_seconds / 60) * 60);
  const dimsOf = (side: Side) => Object.entries(m.dimensions).flatMap(([dim, tpl]) => [dim, fillDimension(dim, tpl, { service, region, side })]);
  // every side's dimensions are filled once up front, so a bad template fails before any widget is built
  dimsOf('canary');
  const stages = stageCriteria(cfg, svc);
  const metric =
    (metricName: string, stat: string, id: string, label: string, extra: Record<string, unknown> = {}) =>
    (side: Side, dims: (side: Side) => string[]): MetricLine => [
      m.namespace,
      metricName,
      ...dims(side),
      { id: `${side}_${id}`, label: `${side} ${VERSION_TOKEN[side]} ${label}`, stat, color: SIDE_COLOR[side], ...extra },
    ];

  const specs: MetricSpec[] = [
    {
      key: 'error_rate',
      title: 'error rate %',
      unit: '%',
      stat: 'Sum',
      lines: (side, dims) => [
        metric(m.metrics.requests, 'Sum', 'requests', 'requests', { visible: false })(side, dims),
        metric(m.metrics.errors, 'Sum', 'errors', 'errors', { visible: false })(side, dims),
        // as the judge reads it: an interval with requests and no error datapoint has 0 % errors
        [
          {
            expression: `100 * FILL(${side}_errors, 0) / ${side}_requests`,
            id: `${side}_error_rate`,
            label: `${side} ${VERSION_TOKEN[side]} error rate %`,
            color: SIDE_COLOR[side],
          },
        ],
      ],
      limits: limitsOf(stages, 'errorRateMaxPct', 'errorRateMaxRatio'),
    },
    {
      key: 'latency_p95',
      title: `latency ${m.latency_stat ?? 'p95'} ms`,
      unit: 'ms',
      stat: m.latency_stat ?? 'p95',
      lines: (side, dims) => [metric(m.metrics.latency, m.latency_stat ?? 'p95', 'latency', `latency ${m.latency_stat ?? 'p95'}`)(side, dims)],
      limits: limitsOf(stages, 'latencyP95MaxMs', 'latencyP95MaxRatio'),
    },
  ];
  if (m.metrics.cpu) {
    const cpu = m.metrics.cpu;
    specs.push({
      key: 'cpu',
      title: 'CPU %',
      unit: '%',
      stat: 'Average',
      lines: (side, dims) => [metric(cpu, 'Average', 'cpu', 'CPU')(side, dims)],
      limits: limitsOf(stages, 'cpuMaxPct'),
    });
  }
  if (m.metrics.memory) {
    const memory = m.metrics.memory;
    specs.push({
      key: 'memory',
      title: 'memory',
      unit: 'memory',
      stat: 'Average',
      lines: (side, dims) => [metric(memory, 'Average', 'memory', 'memory')(side, dims)],
      limits: limitsOf(stages, undefined, 'memoryMaxRatio'),
    });
  }
  specs.push({
    key: 'requests',
    title: 'requests',
    unit: 'requests',
    stat: 'Sum',
    lines: (side, dims) => [metric(m.metrics.requests, 'Sum', 'requests', 'requests')(side, dims)],
    limits: { absolute: new Map(), relative: new Map() },
  });

  const textHeight = 4;
  const widgets: Array<MetricWidget | TextWidget> = [
    { type: 'text', x: 0, y: 0, width: 24, height: textHeight, properties: { markdown: summaryMarkdown(service, m, specs) } },
  ];
  specs.forEach((spec, i) => {
    const relative = [...spec.limits.relative.keys()].map((r) => `${fmt(r)}× baseline`);
    const horizontal = [...spec.limits.absolute].map(([value, st]) => ({
      label: `limit ${fmt(value)} ${spec.unit} (${stagesText(st)})`,
      value,
      color: LIMIT_COLOR,
    }));
    widgets.push({
      type: 'metric',
      x: (i % 2) * WIDTH,
      y: textHeight + Math.floor(i / 2) * HEIGHT,
      width: WIDTH,
      height: HEIGHT,
      properties: {
        title: `${service} ${spec.title}: canary vs baseline${relative.length ? ` (relative limit ${relative.join(', ')})` : ''}`,
        view: 'timeSeries',
        stacked: false,
        region,
        stat: spec.stat,
        period,
        metrics: [...spec.lines('canary', dimsOf), ...spec.lines('baseline', dimsOf)],
        ...(horizontal.length ? { annotations: { horizontal } } : {}),
        yAxis: { left: { min: 0, label: spec.unit, showUnits: false } },
      },
    });
  });

  return { service, name, region, body: { start: '-PT3H', periodOverride: 'inherit', variables: variablesOf(m, service, region, opts), widgets } };
}

/** A pattern variable per side; a select listing the versions CloudWatch knows when one dimension is just ${version}. */
function variablesOf(m: CloudWatchMetrics, service: string, region: string, opts: DashboardOptions): DashboardVariable[] {
  const versionDim = Object.entries(m.dimensions).find(([, tpl]) => tpl === '${version}')?.[0];
  return (['canary', 'baseline'] as const).map((side) => {
    const chosen = opts.versions?.[side];
    const base = { type: 'pattern' as const, pattern: VERSION_TOKEN[side], id: `${side}_version`, label: `${side} version`, visible: true as const };
    if (!versionDim) return { ...base, inputType: 'input' as const, ...(chosen ? { defaultValue: chosen } : {}) };
    // the versions of this service only: every dimension without ${version} is pinned to its value
    const pinned = Object.entries(m.dimensions)
      .filter(([, tpl]) => !tpl.includes('${version}') && !/\$\{(?!service\}|region\})/.test(tpl))
      .map(([dim, tpl]) => `${searchTerm(dim)}=${JSON.stringify(fillDimension(dim, tpl, { service, region, side }))}`);
    return {
      ...base,
      inputType: 'select' as const,
      search: [
        `{${[m.namespace, ...Object.keys(m.dimensions)].map(searchTerm).join(',')}}`,
        `MetricName=${JSON.stringify(m.metrics.requests)}`,
        ...pinned,
      ].join(' '),
      populateFrom: versionDim,
      defaultValue: chosen ?? '__FIRST',
    };
  });
}

/** A namespace or dimension name in a SEARCH schema: quoted when it holds anything but letters, digits, / _ . - */
function searchTerm(s: string): string {
  return /^[A-Za-z0-9/_.-]+$/.test(s) ? s : JSON.stringify(s);
}

function summaryMarkdown(service: string, m: CloudWatchMetrics, specs: MetricSpec[]): string {
  const lines = [
    `## ${markdownText(service)}: canary vs baseline (namespace ${markdownText(m.namespace)})`,
    'Pick the canary and baseline versions in the variables above. Red lines: the absolute limits the stages judge by.',
  ];
  for (const spec of specs) {
    const rel = [...spec.limits.relative].map(([r, st]) => `canary at most ${fmt(r)}× the baseline (${markdownText(stagesText(st))})`);
    const abs = [...spec.limits.absolute].map(([v, st]) => `${fmt(v)} ${markdownText(spec.unit)} (${markdownText(stagesText(st))})`);
    if (rel.length || abs.length) lines.push(`* **${markdownText(spec.title)}**: ${[...abs.map((a) => `limit ${a}`), ...rel].join('; ')}`);
  }
  return lines.join('\n\n');
}
