// A release's timeline as an SVG chart, rendered server-side by Vega-Lite (no browser, no canvas):
// traffic on the new version per stage over time, each verdict, breach and rollback marked where it
// happened, and below it the deciding verdict's metrics, canary against baseline, with their limits.
// vega and vega-lite are ESM with top-level await: the drawing itself runs in a child (render-vega.mjs).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { ReleaseStatus } from '../contract/messages';

type Mark = { t: number; event: string; detail: string };

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
  return renderSvg({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', vconcat: [timeline, metrics], resolve: { scale: { color: 'independent' } } });
}

/** Vega-Lite spec → SVG, in a child process (see render-vega.mjs for why). */
function renderSvg(spec: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'render-vega.mjs')], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const svg = Buffer.concat(out).toString('utf8');
      if (code === 0 && svg.startsWith('<svg')) resolve(svg);
      else reject(new Error(`the chart could not be drawn (exit ${code}): ${Buffer.concat(err).toString('utf8').slice(-500)}`));
    });
    child.stdin.end(JSON.stringify(spec));
  });
}
