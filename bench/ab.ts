// How the A/B strategy's sequential decision does on simulated traffic, against the fixed-horizon
// z-test a statistician would size by hand. Seeded, so it prints the same figures every run; it
// measures, it does not assert.
//
//   npm run bench:ab
//
// Scenario (sandbox-like): base conversion 3 %, VISITS_PER_S visits a second split 50/50 by a fair
// coin per visit, the strategy polls every POLL_S seconds up to MAX_S. Scenarios: A/A (both 3 %), B
// +3 % and +10 % relative. The fixed-horizon test is two-sided at the same alpha, sized for 80 % power
// at +3 %, looked at once at the first poll past its horizon, on the same simulated visits as the +3 % runs.
import { performance } from 'node:perf_hooks';
import { AB_PLAN_DEFAULTS, decideAb, type AbDecisionKind, type AbPlan } from '../judge/ab';
import { median, quantileRank } from '../judge';
import { gaussian, rng } from '../test/support/prng';

const BASE_RATE = 0.03;
const VISITS_PER_S = 400;
const POLL_S = 5;
const MAX_S = 2 * 3600;
const RUNS = 1000;
const MDE = 0.03;
const SEED = 20261201;

const plan: AbPlan = { ...AB_PLAN_DEFAULTS, weightB: 0.5, minDetectableEffect: MDE, maxDurationMs: MAX_S * 1000 };

// Normal quantiles for the fixed test: two-sided alpha 0.05 and 80 % power.
const Z_ALPHA_HALF = 1.959964;
const Z_POWER = 0.841621;

/** Binomial(n, p): inversion while the mean is small (exact), normal approximation beyond. */
function binomial(r: () => number, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (n * p < 200 && n * (1 - p) > 200) {
    const ratio = p / (1 - p);
    let pmf = Math.pow(1 - p, n);
    let cdf = pmf;
    const u = r();
    let k = 0;
    while (u > cdf && k < n) {
      pmf *= (ratio * (n - k)) / (k + 1);
      k++;
      cdf += pmf;
    }
    return k;
  }
  const k = Math.round(n * p + Math.sqrt(n * p * (1 - p)) * gaussian(r));
  return Math.max(0, Math.min(n, k));
}

/** two-sided pooled two-proportion z statistic */
function zStat(xA: number, nA: number, xB: number, nB: number): number {
  const p = (xA + xB) / (nA + nB);
  const se = Math.sqrt(p * (1 - p) * (1 / nA + 1 / nB));
  return se > 0 ? (xB / nB - xA / nA) / se : 0;
}

function fixedHorizonPerArm(pA: number, pB: number): number {
  const d = pB - pA;
  return Math.ceil(((Z_ALPHA_HALF + Z_POWER) ** 2 * (pA * (1 - pA) + pB * (1 - pB))) / (d * d));
}

const perArm = fixedHorizonPerArm(BASE_RATE, BASE_RATE * (1 + MDE));
const fixedPolls = Math.ceil((2 * perArm) / (VISITS_PER_S * POLL_S));
const fixedDecisionS = fixedPolls * POLL_S;

interface RunResult {
  kind: AbDecisionKind;
  /** keep_a because the maximum duration came undecided */
  atMax: boolean;
  decisionS: number;
  fixedShip: boolean;
}

function simulate(r: () => number, rateB: number): RunResult {
  const a = { visits: 0, conversions: 0 };
  const b = { visits: 0, conversions: 0 };
  const visitsPerPoll = VISITS_PER_S * POLL_S;
  let decided: { kind: AbDecisionKind; atMax: boolean; decisionS: number } | null = null;
  let fixedShip = false;
  for (let poll = 1; poll * POLL_S <= MAX_S; poll++) {
    const toB = binomial(r, visitsPerPoll, plan.weightB);
    a.visits += visitsPerPoll - toB;
    b.visits += toB;
    a.conversions += binomial(r, visitsPerPoll - toB, BASE_RATE);
    b.conversions += binomial(r, toB, rateB);
    if (poll === fixedPolls) fixedShip = zStat(a.conversions, a.visits, b.conversions, b.visits) > Z_ALPHA_HALF;
    if (!decided) {
      const d = decideAb(plan, { a, b, elapsedMs: poll * POLL_S * 1000 });
      if (d.kind !== 'continue') decided = { kind: d.kind, atMax: d.text.includes('inconclusive'), decisionS: poll * POLL_S };
    }
    if (decided && poll >= fixedPolls) break;
  }
  return { ...(decided ?? { kind: 'keep_a', atMax: true, decisionS: MAX_S }), fixedShip };
}

const scenarios = [
  { name: 'A/A', lift: 0 },
  { name: '+3 %', lift: 0.03 },
  { name: '+10 %', lift: 0.1 },
];

const started = performance.now();
const results = new Map<string, RunResult[]>();
scenarios.forEach((s, i) => {
  const r = rng(SEED + i);
  results.set(
    s.name,
    Array.from({ length: RUNS }, () => simulate(r, BASE_RATE * (1 + s.lift))),
  );
});
const elapsed = (performance.now() - started) / 1000;

const share = (rs: RunResult[], f: (x: RunResult) => boolean): number => rs.filter(f).length / rs.length;
const pad = (s: string | number, n: number): string => String(s).padStart(n);

const row = (cells: (string | number)[]): string => cells.map((c, i) => (i === 0 ? String(c).padEnd(11) : pad(c, 9))).join('');
const frac = (x: number): string => x.toFixed(3);

// keep_a counts keeping A on the evidence; at_max the runs that reached the maximum undecided (also keep_a)
console.log(row(['scenario', 'runs', 'ship_b', 'keep_a', 'at_max', 'srm', 'median_s', 'p90_s']));
for (const s of scenarios) {
  const rs = results.get(s.name)!;
  const times = rs.map((x) => x.decisionS);
  console.log(
    row([
      s.name,
      rs.length,
      frac(share(rs, (x) => x.kind === 'ship_b')),
      frac(share(rs, (x) => x.kind === 'keep_a' && !x.atMax)),
      frac(share(rs, (x) => x.atMax)),
      frac(share(rs, (x) => x.kind === 'stop_srm')),
      Math.round(median(times)),
      quantileRank(times, 0.9),
    ]),
  );
}
const fixed3 = share(results.get('+3 %')!, (x) => x.fixedShip);
const fixedAa = share(results.get('A/A')!, (x) => x.fixedShip);
console.log(row(['fixed +3 %', RUNS, frac(fixed3), '', '', '', fixedDecisionS, fixedDecisionS]));
console.log(row(['fixed A/A', RUNS, frac(fixedAa), '', '', '', fixedDecisionS, fixedDecisionS]));
console.log('');
console.log(
  `parameters: base conversion ${BASE_RATE * 100} %, ${VISITS_PER_S} visits/s split 50/50, poll every ${POLL_S} s, max ${MAX_S} s, ` +
    `alpha ${plan.alpha}, MDE +${MDE * 100} %, margin ${plan.margin}, SRM alpha ${plan.srmAlpha}, ${RUNS} runs per scenario, seed ${SEED}`,
);
console.log(
  `fixed horizon: ${perArm} visits per arm (${2 * perArm} total) for 80 % power at +${MDE * 100} %, two-sided alpha ${plan.alpha}, ` +
    `looked at once at ${fixedDecisionS} s; decision time = time to ship_b, keep_a or the maximum; ${elapsed.toFixed(1)} s to simulate`,
);
const rs10 = results.get('+10 %')!;
console.log(
  `summary false_ship_aa=${share(results.get('A/A')!, (x) => x.kind === 'ship_b').toFixed(3)} power_3pct=${share(results.get('+3 %')!, (x) => x.kind === 'ship_b').toFixed(3)} ` +
    `power_10pct=${share(rs10, (x) => x.kind === 'ship_b').toFixed(3)} decision_median_10pct_s=${Math.round(median(rs10.map((x) => x.decisionS)))} ` +
    `fixed_power_3pct=${fixed3.toFixed(3)} fixed_decision_s=${fixedDecisionS}`,
);
