// Judge quality on labelled scenarios: streams each scenario interval by interval through guardStep
// (the first breach is the detection), and when the guard stayed quiet runs judgeWindow over the whole
// window — exactly what the release workflow's guard and judge activities do. The naive per-interval
// threshold judge runs on the same scenarios for comparison.
//
//   npm run bench:judge -- [FILE.jsonl | FILE.jsonl.gz]   (default ../shared/scenarios/judge-public.jsonl)
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { guardStep, judgeWindow, newGuardState, thresholdJudge } from '../workflows/judge';
import { median, quantileRank } from '../workflows/stats';
import type { Criteria, IntervalSample, SideAggregate, VerdictKind } from '../workflows/types';

interface RawSide {
  requests: number;
  errors: number;
  latency_p95_ms: number | null;
  cpu_pct: number | null;
  memory_mb: number | null;
}

interface RawScenario {
  id: string;
  kind: string;
  expect: 'PASS' | 'FAIL' | 'INCONCLUSIVE' | 'ANY';
  interval_s: number;
  onset: number | null;
  criteria: Record<string, number | null | undefined>;
  samples: { baseline: RawSide | null; canary: RawSide | null }[];
}

export interface Scenario {
  id: string;
  kind: string;
  expect: RawScenario['expect'];
  onset: number | null;
  criteria: Criteria;
  samples: IntervalSample[];
}

function side(raw: RawSide | null): SideAggregate | null {
  if (!raw) return null;
  return { requests: raw.requests, errors: raw.errors, latencyP95Ms: raw.latency_p95_ms, cpuPct: raw.cpu_pct, memoryMb: raw.memory_mb };
}

function criteria(raw: RawScenario['criteria']): Criteria {
  const opt = (k: string) => (raw[k] === null || raw[k] === undefined ? undefined : Number(raw[k]));
  const c: Criteria = { minRequests: Number(raw.min_requests ?? 0) };
  const pairs: [keyof Criteria, string][] = [
    ['errorRateMaxPct', 'error_rate_max_pct'],
    ['latencyP95MaxMs', 'latency_p95_max_ms'],
    ['errorRateMaxRatio', 'error_rate_max_ratio'],
    ['latencyP95MaxRatio', 'latency_p95_max_ratio'],
    ['cpuMaxPct', 'cpu_max_pct'],
    ['memoryMaxRatio', 'memory_max_ratio'],
  ];
  for (const [ours, theirs] of pairs) {
    const v = opt(theirs);
    if (v !== undefined) (c as unknown as Record<string, number>)[ours] = v;
  }
  return c;
}

export function parseScenarios(text: string): Scenario[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const raw = JSON.parse(line) as RawScenario;
      const intervalS = raw.interval_s;
      return {
        id: raw.id,
        kind: raw.kind,
        expect: raw.expect,
        onset: raw.onset,
        criteria: criteria(raw.criteria),
        samples: raw.samples.map((s, i) => ({ at: (i + 1) * intervalS * 1000, intervalS, baseline: side(s.baseline), canary: side(s.canary) })),
      };
    });
}

export function loadScenarios(path: string): Scenario[] {
  const buf = readFileSync(path);
  const text = path.endsWith('.gz') ? gunzipSync(buf).toString('utf8') : buf.toString('utf8');
  return parseScenarios(text);
}

interface Outcome {
  verdict: VerdictKind;
  /** interval index at which FAIL was first said */
  failAt: number | null;
  micros: number;
}

/** what the workflow does: guard every interval, judge the window when the guard stayed quiet */
function runOurs(s: Scenario): Outcome {
  const t0 = performance.now();
  // The workflow knows the window's length in intervals (stage duration / poll interval).
  let state = newGuardState(s.samples.length);
  for (let i = 0; i < s.samples.length; i++) {
    const step = guardStep(state, s.samples[i], s.criteria);
    state = step.state;
    if (step.breach) return { verdict: 'FAIL', failAt: i, micros: (performance.now() - t0) * 1000 };
  }
  const v = judgeWindow(s.samples, s.criteria);
  return { verdict: v.verdict, failAt: v.verdict === 'FAIL' ? s.samples.length - 1 : null, micros: (performance.now() - t0) * 1000 };
}

function runThreshold(s: Scenario): Outcome {
  const t0 = performance.now();
  const r = thresholdJudge(s.samples, s.criteria);
  return { verdict: r.verdict, failAt: r.interval, micros: (performance.now() - t0) * 1000 };
}

interface Score {
  healthy: number;
  falseRollbacks: number;
  healthyPromoted: number;
  bad: number;
  missed: number;
  insufficient: number;
  unsafe: number;
  detections: number[];
  micros: number[];
  wrong: string[];
}

function score(scenarios: Scenario[], run: (s: Scenario) => Outcome): Score {
  const sc: Score = { healthy: 0, falseRollbacks: 0, healthyPromoted: 0, bad: 0, missed: 0, insufficient: 0, unsafe: 0, detections: [], micros: [], wrong: [] };
  for (const s of scenarios) {
    const o = run(s);
    sc.micros.push(o.micros);
    if (s.expect === 'PASS') {
      sc.healthy++;
      if (o.verdict === 'FAIL') { sc.falseRollbacks++; sc.wrong.push(`${s.id} ${s.kind} false rollback at ${o.failAt}`); }
      if (o.verdict === 'PASS') sc.healthyPromoted++;
      else if (o.verdict === 'INCONCLUSIVE') sc.wrong.push(`${s.id} ${s.kind} healthy not promoted (INCONCLUSIVE)`);
    } else if (s.expect === 'FAIL') {
      sc.bad++;
      if (o.verdict !== 'FAIL') { sc.missed++; sc.wrong.push(`${s.id} ${s.kind} missed (${o.verdict})`); }
      else sc.detections.push(Math.max(0, o.failAt! - (s.onset ?? 0)));
    } else if (s.expect === 'INCONCLUSIVE') {
      sc.insufficient++;
      if (o.verdict === 'PASS') { sc.unsafe++; sc.wrong.push(`${s.id} ${s.kind} unsafe promotion`); }
    }
  }
  return sc;
}

function fmtTime(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(0)} µs`;
}

function report(name: string, sc: Score, listWrong: boolean): void {
  const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(1)} %` : 'n/a');
  console.log(`== ${name}`);
  console.log(`  false rollbacks     ${sc.falseRollbacks}/${sc.healthy}`);
  console.log(`  healthy promoted    ${sc.healthyPromoted}/${sc.healthy} (${pct(sc.healthyPromoted, sc.healthy)})`);
  console.log(`  missed regressions  ${sc.missed}/${sc.bad}`);
  console.log(`  unsafe promotions   ${sc.unsafe}/${sc.insufficient}`);
  console.log(`  detections ${[...sc.detections].sort((a, b) => a - b).join(" ")}`);
  console.log(`  detection intervals median ${median(sc.detections)} p90 ${quantileRank(sc.detections, 0.9)} max ${Math.max(...sc.detections)} (n=${sc.detections.length})`);
  console.log(`  time per scenario   median ${fmtTime(median(sc.micros))} p99 ${fmtTime(quantileRank(sc.micros, 0.99))}`);
  if (listWrong) for (const w of sc.wrong) console.log(`    ${w}`);
}

function main(): void {
  const repoRoot = resolve(__dirname, '..');
  const file = process.argv[2] ? resolve(process.argv[2]) : resolve(repoRoot, '..', 'shared', 'scenarios', 'judge-public.jsonl');
  const scenarios = loadScenarios(file);
  const kinds = new Map<string, number>();
  for (const s of scenarios) kinds.set(`${s.kind}/${s.expect}`, (kinds.get(`${s.kind}/${s.expect}`) ?? 0) + 1);
  console.log(`${scenarios.length} scenarios from ${file}`);
  console.log(`  ${[...kinds].map(([k, n]) => `${k}=${n}`).join(' ')}`);
  const naive = score(scenarios, runThreshold);
  const ours = score(scenarios, runOurs);
  report('threshold judge (per-interval limits, 5 failed checks roll back, Flagger-style)', naive, false);
  report('quad judge (sequential guard + window judge)', ours, true);
  console.log(
    `summary false_rollbacks=${ours.falseRollbacks}/${ours.healthy} healthy_promoted=${ours.healthyPromoted}/${ours.healthy} ` +
      `missed=${ours.missed}/${ours.bad} unsafe_promotions=${ours.unsafe}/${ours.insufficient} ` +
      `detection_median=${median(ours.detections)} detection_p90=${quantileRank(ours.detections, 0.9)}`,
  );
}

if (require.main === module) main();
