// Judge quality on labelled scenarios: streams each scenario interval by interval through guardStep
// (the first breach is the detection), and when the guard stayed quiet runs judgeWindow over the whole
// window — exactly what the release workflow's guard and judge activities do. The naive per-interval
// threshold judge runs on the same scenarios for comparison.
//
//   npm run bench:judge -- [FILE.jsonl | FILE.jsonl.gz] [--bounds] [--dump OUT.jsonl]   (default ../shared/scenarios/judge-public.jsonl)
//
// --dump: one JSON line per scenario with both judges' verdicts, the interval at which each decided
// and, for ours, what decided (guard or window judge), the explanation and the findings — for checking
// that a refactoring of the judge changes no verdict (diff two dumps; timings are left out).
//
// --bounds: for every error-rate regression our judge took longer than BOUND_TARGET intervals to catch, what
// the data allowed: an oracle SPRT that knows the onset and both rates, and a scan bound — how often a
// canary sitting exactly at its limit (same traffic) shows a segment as strong as the real one by
// onset + BOUND_TARGET somewhere in the window. If that is above the guard's alpha, no test valid at alpha
// over the window that treats all onsets alike could have alarmed by then. (Monte Carlo, seeded.)
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { SEQUENTIAL_ALPHA, bernoulliLogLR, binomialUpperTail, guardStep, judgeWindow, median, newGuardState, quantileRank } from '../judge';
import { thresholdJudge } from './threshold-judge';
import { rng } from '../test/support/prng';
import type { Criteria, IntervalSample, MetricFinding, SideAggregate, VerdictKind } from '../contract/verdict';

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
  /** what decided, for --dump: the streaming guard, the window judge, or the threshold judge */
  by: 'guard' | 'window' | 'threshold';
  explanation?: string;
  findings?: MetricFinding[];
  failedChecks?: number;
}

/** what the workflow does: guard every interval, judge the window when the guard stayed quiet */
function runOurs(s: Scenario): Outcome {
  const t0 = performance.now();
  // The workflow knows the window's length in intervals (stage duration / poll interval).
  let state = newGuardState(s.samples.length);
  for (let i = 0; i < s.samples.length; i++) {
    const step = guardStep(state, s.samples[i], s.criteria);
    state = step.state;
    if (step.breach) {
      const micros = (performance.now() - t0) * 1000;
      return { verdict: 'FAIL', failAt: i, micros, by: 'guard', explanation: step.breach.explanation, findings: step.breach.findings };
    }
  }
  const v = judgeWindow(s.samples, s.criteria);
  const micros = (performance.now() - t0) * 1000;
  return {
    verdict: v.verdict,
    failAt: v.verdict === 'FAIL' ? s.samples.length - 1 : null,
    micros,
    by: 'window',
    explanation: v.explanation,
    findings: v.findings,
  };
}

function runThreshold(s: Scenario): Outcome {
  const t0 = performance.now();
  const r = thresholdJudge(s.samples, s.criteria);
  return { verdict: r.verdict, failAt: r.interval, micros: (performance.now() - t0) * 1000, by: 'threshold', failedChecks: r.failedChecks };
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
  /** every scenario's outcome, in file order (for --dump) */
  outcomes: Outcome[];
}

function score(scenarios: Scenario[], run: (s: Scenario) => Outcome): Score {
  const sc: Score = {
    healthy: 0,
    falseRollbacks: 0,
    healthyPromoted: 0,
    bad: 0,
    missed: 0,
    insufficient: 0,
    unsafe: 0,
    detections: [],
    micros: [],
    wrong: [],
    outcomes: [],
  };
  for (const s of scenarios) {
    const o = run(s);
    sc.outcomes.push(o);
    sc.micros.push(o.micros);
    if (s.expect === 'PASS') {
      sc.healthy++;
      if (o.verdict === 'FAIL') {
        sc.falseRollbacks++;
        sc.wrong.push(`${s.id} ${s.kind} false rollback at ${o.failAt}`);
      }
      if (o.verdict === 'PASS') sc.healthyPromoted++;
      else if (o.verdict === 'INCONCLUSIVE') sc.wrong.push(`${s.id} ${s.kind} healthy not promoted (INCONCLUSIVE)`);
    } else if (s.expect === 'FAIL') {
      sc.bad++;
      if (o.verdict !== 'FAIL') {
        sc.missed++;
        sc.wrong.push(`${s.id} ${s.kind} missed (${o.verdict})`);
      } else sc.detections.push(Math.max(0, o.failAt! - (s.onset ?? 0)));
    } else if (s.expect === 'INCONCLUSIVE') {
      sc.insufficient++;
      if (o.verdict === 'PASS') {
        sc.unsafe++;
        sc.wrong.push(`${s.id} ${s.kind} unsafe promotion`);
      }
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
  console.log(`  detections ${[...sc.detections].sort((a, b) => a - b).join(' ')}`);
  console.log(
    `  detection intervals median ${median(sc.detections)} p90 ${quantileRank(sc.detections, 0.9)} max ${Math.max(...sc.detections)} (n=${sc.detections.length})`,
  );
  console.log(`  time per scenario   median ${fmtTime(median(sc.micros))} p99 ${fmtTime(quantileRank(sc.micros, 0.99))}`);
  if (listWrong) for (const w of sc.wrong) console.log(`    ${w}`);
}

const BOUND_TARGET = 6;
const BOUND_SIMS = 4000;

/** smallest exact binomial p-value (vs rate q) over segments [a, b] with b <= last; stops once <= stopAt */
function strongestSegment(n: readonly number[], k: readonly number[], q: number, last: number, stopAt = -1): number {
  let best = 1;
  for (let a = 0; a <= last; a++) {
    if (k[a] === 0) continue;
    let N = 0;
    let K = 0;
    for (let b = a; b <= last; b++) {
      N += n[b];
      K += k[b];
      if (k[b] === 0) continue;
      best = Math.min(best, binomialUpperTail(K, N, q));
      if (best <= stopAt) return best;
    }
  }
  return best;
}

function binomialDraw(n: number, p: number, rand: () => number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (rand() < p) k++;
  return k;
}

function reportBounds(scenarios: Scenario[]): void {
  console.log(
    `== detection bounds (error-rate regressions caught after more than ${BOUND_TARGET} intervals; limit = min(absolute, ratio × the window's pooled baseline rate))`,
  );
  const rand = rng(6);
  for (const s of scenarios) {
    if (s.expect !== 'FAIL' || s.onset === null || s.criteria.errorRateMaxPct === undefined) continue;
    const o = runOurs(s);
    if (o.verdict !== 'FAIL' || o.failAt! - s.onset <= BOUND_TARGET) continue;
    const T = s.samples.length;
    let bn = 0,
      be = 0,
      cn = 0,
      ce = 0;
    s.samples.forEach((x, i) => {
      if (x.baseline) {
        bn += x.baseline.requests;
        be += x.baseline.errors;
      }
      if (i >= s.onset! && x.canary) {
        cn += x.canary.requests;
        ce += x.canary.errors;
      }
    });
    const abs = s.criteria.errorRateMaxPct / 100;
    // a baseline with no errors at all says nothing about its rate: the absolute limit then binds
    const q = s.criteria.errorRateMaxRatio !== undefined && be > 0 ? Math.min(abs, (s.criteria.errorRateMaxRatio * be) / bn) : abs;
    const pc = ce / cn;
    const n = s.samples.map((x) => x.canary?.requests ?? 0);
    const k = s.samples.map((x) => x.canary?.errors ?? 0);
    let llr = 0;
    let sprt: number | null = null;
    let llrBy = -Infinity;
    for (let t = s.onset; t < T; t++) {
      llr += bernoulliLogLR(k[t], n[t], q, pc);
      if (t <= s.onset + BOUND_TARGET) llrBy = Math.max(llrBy, llr);
      if (sprt === null && llr >= Math.log(1 / SEQUENTIAL_ALPHA)) sprt = t - s.onset;
    }
    const observed = strongestSegment(n, k, q, Math.min(T - 1, s.onset + BOUND_TARGET));
    let hits = 0;
    for (let r = 0; r < BOUND_SIMS; r++) {
      const kk = n.map((m) => binomialDraw(m, q, rand));
      if (strongestSegment(n, kk, q, T - 1, observed) <= observed) hits++;
    }
    console.log(
      `  ${s.id} ${s.kind}: ours +${o.failAt! - s.onset}; canary ${fmtRate(pc)} after onset vs limit ${fmtRate(q)} (${(pc / q).toFixed(1)}×), ` +
        `~${Math.round(cn / (T - s.onset))} canary requests/interval; oracle SPRT +${sprt ?? 'never'} (best log-LR by +${BOUND_TARGET}: ${llrBy.toFixed(2)}, ` +
        `alarm at ${Math.log(1 / SEQUENTIAL_ALPHA).toFixed(2)}); strongest segment by +${BOUND_TARGET} p=${observed.toExponential(1)}, ` +
        `a canary at its limit shows one as strong in ${pctSe(hits, BOUND_SIMS)} of windows`,
    );
  }
}

/** a Monte Carlo share with its standard error */
function pctSe(hits: number, sims: number): string {
  const p = hits / sims;
  return `${(100 * p).toFixed(1)} ± ${(100 * Math.sqrt((p * (1 - p)) / sims)).toFixed(1)} %`;
}

function fmtRate(r: number): string {
  return `${(100 * r).toFixed(r < 0.01 ? 3 : 2)} %`;
}

function main(): void {
  const repoRoot = resolve(__dirname, '..');
  const args = process.argv.slice(2);
  const dumpAt = args.indexOf('--dump');
  const dump = dumpAt >= 0 ? args[dumpAt + 1] : undefined;
  if (dumpAt >= 0 && (!dump || dump.startsWith('--'))) throw new Error('--dump takes a file to write');
  const path = args.find((a, i) => !a.startsWith('--') && (dumpAt < 0 || i !== dumpAt + 1));
  const file = path ? resolve(path) : resolve(repoRoot, '..', 'shared', 'scenarios', 'judge-public.jsonl');
  const scenarios = loadScenarios(file);
  const kinds = new Map<string, number>();
  for (const s of scenarios) kinds.set(`${s.kind}/${s.expect}`, (kinds.get(`${s.kind}/${s.expect}`) ?? 0) + 1);
  console.log(`${scenarios.length} scenarios from ${file}`);
  console.log(`  ${[...kinds].map(([k, n]) => `${k}=${n}`).join(' ')}`);
  const naive = score(scenarios, runThreshold);
  const ours = score(scenarios, runOurs);
  report('threshold judge (per-interval limits, 5 failed checks roll back, Flagger-style)', naive, false);
  report('quad judge (sequential guard + window judge)', ours, true);
  if (args.includes('--bounds')) reportBounds(scenarios);
  if (dump) {
    // timings left out: they differ between runs
    const untimed = ({ micros: _micros, ...o }: Outcome) => o;
    const line = (s: Scenario, i: number) =>
      JSON.stringify({ id: s.id, kind: s.kind, expect: s.expect, onset: s.onset, ours: untimed(ours.outcomes[i]), threshold: untimed(naive.outcomes[i]) });
    writeFileSync(resolve(dump), scenarios.map(line).join('\n') + '\n');
    console.log(`per-scenario verdicts → ${resolve(dump)}`);
  }
  console.log(
    `summary false_rollbacks=${ours.falseRollbacks}/${ours.healthy} healthy_promoted=${ours.healthyPromoted}/${ours.healthy} ` +
      `missed=${ours.missed}/${ours.bad} unsafe_promotions=${ours.unsafe}/${ours.insufficient} ` +
      `detection_median=${median(ours.detections)} detection_p90=${quantileRank(ours.detections, 0.9)}`,
  );
}

if (require.main === module) main();
