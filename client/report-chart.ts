// A release's timeline as an SVG chart, rendered server-side by Vega-Lite (no browser, no canvas):
// traffic on the new version per stage over time, each verdict, breach and rollback marked where it
// happened, and below it the deciding verdict's metrics, canary against baseline, with their limits.
// vega and vega-lite are ESM-only: loaded on first use, like the Kubernetes client.
import type * as Vega from 'vega';
import type { ReleaseStatus } from '../contract/messages';

type Mark = { t: number; event: string; detail: string };

/** vega-lite's types resolve only under node16 module resolution; this is the one call used. */
interface VegaLite {
  compile(spec: unknown): { spec: Vega.Spec };
}
const VEGA_LITE: string = 'vega-lite';
/**
 * A real import(), not the require() this CommonJS build turns `import()` into: vega's canvas module
 * uses top-level await, which require() of ESM refuses.
 */
const esmImport = new Function('specifier', 'return import(specifier)') as <T>(specifier: string) => Promise<T>;

const MARKED = /^(verdict (PASS|FAIL|INCONCLUSIVE)|breach|rolling back|promoted|paused|resumed)$/;

/** The chart's data, from the timeline: traffic as a step line, events as marks (seconds since the start). */
export function chartData(s: ReleaseStatus): { traffic: Array<{ t: number; percent: number }>; marks: Mark[]; findings: Array<Record<string, unknown>> } {
  const t0 = s.startedAt;
  const sec = (at: number) => Math.round((at - t0) / 100) / 10;
  const traffic: Array<{ t: number; percent: number }> = [{ t: 0, percent: 0 }];
  for (const e of s.timeline) {
    const shifted = e.event === 'shifted' ? Number(/(\d+(?:\.\d+)?) %$/.exec(e.detail ?? '')?.[1]) : NaN;
    if (Number.isFinite(shifted)) traffic.push({ t: sec(e.at), percent: shifted });
    if (e.event === 'undone' && (e.detail === 'traffic' || e.detail === 'flag')) traffic.push({ t: sec(e.at), percent: 0 });
  }
  const last = s.timeline.at(-1);
  if (last) traffic.push({ t: sec(last.at), percent: traffic.at(-1)!.percent });
  const marks = s.timeline.filter((e) => MARKED.test(e.event)).map((e) => ({ t: sec(e.at), event: e.event, detail: (e.detail ?? '').slice(0, 120) }));
  const findings = (s.lastVerdict?.findings ?? []).flatMap((f) =>
    (['canary', 'baseline', 'limit'] as const)
      .filter((k) => typeof f[k] === 'number')
      .map((k) => ({ metric: f.metric, side: k, value: f[k] as number, status: f.status })),
  );
  return { traffic, marks, findings };
}

export async function releaseChartSvg(s: ReleaseStatus): Promise<string> {
  // one after the other: jest's ESM loader fails to link modules two imports are loading at once
  const vega = await esmImport<typeof Vega>('vega');
  const vl = await esmImport<VegaLite>(VEGA_LITE);
  const { traffic, marks, findings } = chartData(s);
  const title = `${s.service} ${s.version} · ${s.strategy} · ${s.status}`;
  const colors = {
    domain: ['verdict PASS', 'verdict INCONCLUSIVE', 'verdict FAIL', 'breach', 'rolling back', 'promoted', 'paused', 'resumed'],
    range: ['#2a9d4b', '#d9a400', '#d62728', '#d62728', '#7f3fbf', '#1f77b4', '#888888', '#888888'],
  };
  const timeline = {
    title,
    width: 640,
    height: 220,
    layer: [
      {
        data: { values: traffic },
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
        encoding: {
          x: { field: 't', type: 'quantitative', title: 'seconds since the release started' },
          y: { field: 'percent', type: 'quantitative', title: `traffic on ${s.version} (%)`, scale: { domain: [0, 100] } },
        },
      },
      {
        data: { values: marks },
        mark: { type: 'rule', strokeDash: [4, 3] },
        encoding: { x: { field: 't', type: 'quantitative' }, color: { field: 'event', type: 'nominal', scale: colors, title: 'events' } },
      },
      {
        data: { values: marks },
        mark: { type: 'text', angle: 270, align: 'left', dx: 4, dy: -4, fontSize: 9 },
        encoding: { x: { field: 't', type: 'quantitative' }, y: { value: 210 }, text: { field: 'event' } },
      },
    ],
  };
  // one row per metric, each on its own scale: an error rate in % and a p95 in ms do not share an axis
  const metrics = {
    title: s.lastVerdict ? `deciding verdict ${s.lastVerdict.verdict}: canary, baseline and limit per metric` : 'no verdict recorded',
    data: { values: findings.length ? findings : [{ metric: 'none', side: 'canary', value: 0, status: 'ok' }] },
    facet: { row: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: 560,
      height: 48,
      mark: 'bar',
      encoding: {
        y: { field: 'side', type: 'nominal', title: null, sort: ['canary', 'baseline', 'limit'] },
        x: { field: 'value', type: 'quantitative', title: null },
        color: { field: 'side', type: 'nominal', scale: { domain: ['canary', 'baseline', 'limit'], range: ['#d62728', '#1f77b4', '#999999'] }, legend: null },
      },
    },
    resolve: { scale: { x: 'independent' } },
  };
  const spec = vl.compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    vconcat: [timeline, metrics],
    resolve: { scale: { color: 'independent' } },
  }).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
