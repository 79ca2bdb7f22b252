// The window judge: PASS / FAIL / INCONCLUSIVE over a whole stage window. It replays the guard, takes
// a strict fixed-sample look (exact tests on the best trailing segment, Bonferroni over segments; sign
// and signed-rank tests), refuses to PASS without enough data, and then — the stage's one final
// promote-or-roll-back decision — puts the burden of proof on safety: it promotes only when the whole
// window's error rate is not above a limit with FINAL_CONFIDENCE.
import type { Criteria, IntervalSample, MetricFinding, Verdict } from '../contract/verdict';
import { continuousSpecs, learntScale, METRIC_WORDS, type ContinuousObservation } from './continuous';
import { finalErrorTests, strictErrorTests } from './error-window';
import { fmtConfidence, fmtNum, fmtRatio } from './format';
import { guardStep } from './guard';
import { newGuardState, type GuardState } from './state';
import { binomialUpperTail, median, signedRankUpperTail } from './stats';
import { MAX_DARK_FRACTION, MIN_RANK_INTERVALS, WINDOW_ALPHA } from './tuning';

interface WindowTotals {
  canaryRequests: number;
  canaryErrors: number;
  baselineRequests: number;
  baselineErrors: number;
  canaryDark: number;
  baselineDark: number;
  trailingDark: number;
}

function totals(samples: IntervalSample[]): WindowTotals {
  const t: WindowTotals = { canaryRequests: 0, canaryErrors: 0, baselineRequests: 0, baselineErrors: 0, canaryDark: 0, baselineDark: 0, trailingDark: 0 };
  for (const s of samples) {
    if (s.canary) {
      t.canaryRequests += s.canary.requests;
      t.canaryErrors += s.canary.errors;
      t.trailingDark = 0;
    } else {
      t.canaryDark++;
      t.trailingDark++;
    }
    if (s.baseline) {
      t.baselineRequests += s.baseline.requests;
      t.baselineErrors += s.baseline.errors;
    } else t.baselineDark++;
  }
  return t;
}

/** intervals where the canary reported but a metric it must be judged on was missing */
function metricGaps(samples: IntervalSample[], criteria: Criteria): { metric: string; missing: number; of: number }[] {
  const gaps: { metric: string; missing: number; of: number }[] = [];
  const count = (name: string, applies: boolean, missing: (s: IntervalSample) => boolean | null) => {
    if (!applies) return;
    let m = 0;
    let of = 0;
    for (const s of samples) {
      const r = missing(s);
      if (r === null) continue;
      of++;
      if (r) m++;
    }
    gaps.push({ metric: name, missing: m, of });
  };
  const hasLatency = criteria.latencyP95MaxMs !== undefined || criteria.latencyP95MaxRatio !== undefined;
  count('p95 latency', hasLatency, (s) => (s.canary && s.canary.requests > 0 ? s.canary.latencyP95Ms == null : null));
  count('CPU', criteria.cpuMaxPct !== undefined, (s) => (s.canary ? s.canary.cpuPct == null : null));
  count('memory', criteria.memoryMaxRatio !== undefined, (s) => (s.canary ? s.canary.memoryMb == null : null));
  return gaps;
}

/** one look at the whole window with fixed-sample tests: catches a small, steady regression that the
 * sequential guard (which pays for looking every interval) has not yet proven */
function windowTests(samples: IntervalSample[], criteria: Criteria, guard: GuardState): MetricFinding[] {
  const out: MetricFinding[] = strictErrorTests(samples, criteria);
  for (const [key, spec] of continuousSpecs(criteria)) {
    // the noise scale the guard learnt over the whole window
    const scale = learntScale(guard[key], spec);
    const obs = samples.map((s) => spec.observe(s, scale)).filter((o): o is ContinuousObservation => o !== null);
    if (obs.length === 0) continue;
    // Sign test on the per-interval excess: scale-free and blind to how wild any one interval is. And a
    // signed-rank test, which also weighs by how far: a canary that flaps between fine and far over the
    // limit is over it in only half the intervals. Bonferroni over the two.
    const excess = obs.map((o) => o.excess);
    const above = excess.filter((x) => x > 0).length;
    const pSign = median(excess) > 0 ? binomialUpperTail(above, obs.length, 0.5) : 1;
    const pRank = obs.length >= MIN_RANK_INTERVALS ? signedRankUpperTail(excess) : 1;
    const p = Math.min(1, 2 * Math.min(pSign, pRank));
    const breach = p <= WINDOW_ALPHA;
    const w = METRIC_WORDS[spec.metric];
    const cMed = median(obs.map((o) => o.canary));
    const bMed = median(obs.map((o) => o.baseline).filter((x) => Number.isFinite(x)));
    const what =
      spec.kind === 'ratio'
        ? `${w.name} ${fmtNum(cMed, w.unit)} vs baseline ${fmtNum(bMed, w.unit)} (medians): ${fmtRatio(cMed / bMed)} the baseline, limit ${fmtRatio(spec.limit)}`
        : `${w.name} ${fmtNum(cMed, w.unit)} (median) vs limit ${fmtNum(spec.limit, w.unit)}`;
    out.push({
      metric: spec.metric,
      status: breach ? 'breach' : 'ok',
      canary: cMed,
      baseline: Number.isFinite(bMed) ? bMed : null,
      limit: spec.limit,
      confidence: 1 - p,
      sampleSize: obs.length,
      explanation: `${what}; above the limit in ${above} of ${obs.length} intervals${breach && pRank < pSign ? ' (far above it there, only a little below it elsewhere)' : ''}${breach ? `, ${fmtConfidence(1 - p)} confident it is above the limit` : ''}`,
    });
  }
  return out;
}

/**
 * The verdict over a whole stage window. Replays the guard first (so a breach it would have raised
 * is a FAIL here too), then one fixed-sample look at the window, then asks whether there is enough
 * canary data to promote at all.
 */
export function judgeWindow(samples: IntervalSample[], criteria: Criteria): Verdict {
  const tot = totals(samples);
  const intervals = samples.length;
  const base = { canaryRequests: tot.canaryRequests, intervals };

  let state = newGuardState(samples.length);
  for (const s of samples) {
    const step = guardStep(state, s, criteria);
    state = step.state;
    if (step.breach) {
      return { verdict: 'FAIL', explanation: `${step.breach.explanation} (interval ${step.breach.interval})`, findings: step.breach.findings, ...base };
    }
  }

  const findings = windowTests(samples, criteria, state);
  const breaches = findings.filter((f) => f.status === 'breach');
  if (breaches.length > 0) {
    return { verdict: 'FAIL', explanation: `over the whole window: ${breaches.map((f) => f.explanation).join('; and ')}`, findings, ...base };
  }

  const problems: MetricFinding[] = [];
  const darkLimit = Math.max(1, Math.floor(MAX_DARK_FRACTION * intervals));
  const trailingLimit = Math.max(3, Math.ceil(0.1 * intervals));
  if (intervals === 0 || tot.canaryDark > darkLimit || tot.trailingDark >= trailingLimit) {
    problems.push({
      metric: 'data',
      status: 'insufficient',
      sampleSize: intervals - tot.canaryDark,
      explanation:
        intervals === 0
          ? 'no canary metrics at all'
          : `canary metrics missing in ${tot.canaryDark} of ${intervals} intervals${tot.trailingDark > 0 ? ` (the last ${tot.trailingDark} in a row)` : ''}`,
    });
  }
  const hasRatio = criteria.errorRateMaxRatio !== undefined || criteria.latencyP95MaxRatio !== undefined || criteria.memoryMaxRatio !== undefined;
  if (hasRatio && intervals > 0 && tot.baselineDark > darkLimit) {
    problems.push({
      metric: 'data',
      status: 'insufficient',
      sampleSize: intervals - tot.baselineDark,
      explanation: `baseline metrics missing in ${tot.baselineDark} of ${intervals} intervals: nothing to compare the canary with`,
    });
  }
  for (const g of metricGaps(samples, criteria)) {
    if (g.of > 0 && g.missing > Math.max(1, Math.floor(MAX_DARK_FRACTION * g.of))) {
      problems.push({
        metric: 'data',
        status: 'insufficient',
        sampleSize: g.of - g.missing,
        explanation: `canary ${g.metric} missing in ${g.missing} of ${g.of} intervals`,
      });
    }
  }
  if (tot.canaryRequests < criteria.minRequests) {
    problems.push({
      metric: 'traffic',
      status: 'insufficient',
      sampleSize: tot.canaryRequests,
      limit: criteria.minRequests,
      explanation: `canary saw ${tot.canaryRequests} requests, fewer than the ${criteria.minRequests} needed to promote`,
    });
  }
  if (problems.length > 0) {
    return { verdict: 'INCONCLUSIVE', explanation: problems.map((f) => f.explanation).join('; '), findings: [...problems, ...findings], ...base };
  }
  // Enough data to decide: the one final promote-or-roll-back look, burden of proof on safety.
  const final = finalErrorTests(samples, criteria);
  const against = final.filter((f) => f.status === 'breach');
  if (against.length > 0) {
    return {
      verdict: 'FAIL',
      explanation: `at the end of the window: ${against.map((f) => f.explanation).join('; and ')}`,
      findings: [...final, ...findings.filter((f) => f.metric !== 'error_rate')],
      ...base,
    };
  }
  const shown = [...final, ...findings.filter((f) => f.metric !== 'error_rate')];
  // One short clause per metric for Slack and the CLI; every check's full wording stays in `findings`.
  const perMetric = new Map<string, string>();
  for (const f of shown) if (!perMetric.has(f.metric)) perMetric.set(f.metric, f.explanation.split(/[:;]/)[0].trim());
  const summary = perMetric.size > 0 ? [...perMetric.values()].join('; ') : 'no criteria to check';
  return {
    verdict: 'PASS',
    explanation: `within limits over ${intervals} intervals and ${tot.canaryRequests} canary requests: ${summary}`,
    findings: shown,
    ...base,
  };
}
