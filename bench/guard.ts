// How often the streaming guard rolls back a canary that is not worse than its limit: the realized
// false-alarm rate per stage window, next to the bound (alpha) the guard is built to keep. Healthy
// canaries (1× the baseline), canaries in between, and the worst case — exactly at the 2× ratio
// limit — at 5, 20 and 200 canary requests per interval, the baseline with 9× the traffic, 90
// intervals per window, binomial errors from a seeded generator (the same figures every run).
//
//   npm run bench:guard -- [--runs N] [--alpha 0.01,0.03,0.05]
import { guardStep, newGuardState, SEQUENTIAL_ALPHA } from '../judge';
import { rng } from '../test/support/prng';
import type { Criteria, SideAggregate } from '../contract/verdict';

const criteria: Criteria = {
  errorRateMaxPct: 1,
  latencyP95MaxMs: 200,
  errorRateMaxRatio: 2,
  latencyP95MaxRatio: 1.25,
  cpuMaxPct: 90,
  memoryMaxRatio: 1.5,
  minRequests: 200,
};
const INTERVALS = 90;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function binomial(r: () => number, n: number, p: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (r() < p) k++;
  return k;
}

function side(r: () => number, requests: number, errorRate: number): SideAggregate {
  return { requests, errors: binomial(r, requests, errorRate), latencyP95Ms: 120 * (1 + 0.02 * (r() - 0.5)), cpuPct: 55 + 4 * (r() - 0.5), memoryMb: 500 };
}

/** per alpha, the share of `runs` windows in which the guard raised a breach (the same windows for all) */
function falseAlarmRates(alphas: number[], times: number, perInterval: number, baselineRate: number, runs: number): number[] {
  const alarms = alphas.map(() => 0);
  for (let i = 0; i < runs; i++) {
    const r = rng(5000 + i);
    const samples = Array.from({ length: INTERVALS }, (_, t) => ({
      at: (t + 1) * 10_000,
      intervalS: 10,
      baseline: side(r, 9 * perInterval, baselineRate),
      canary: side(r, perInterval, baselineRate * times),
    }));
    alphas.forEach((alpha, j) => {
      let state = newGuardState(INTERVALS);
      for (const sample of samples) {
        const step = guardStep(state, sample, criteria, alpha);
        state = step.state;
        if (step.breach) {
          alarms[j]++;
          break;
        }
      }
    });
  }
  return alarms.map((a) => a / runs);
}

const runs = Number(arg('--runs') ?? 1000);
const alphas = (arg('--alpha') ?? `0.01,${SEQUENTIAL_ALPHA},0.05`)
  .split(',')
  .map(Number)
  .filter((a, i, all) => a > 0 && a < 1 && all.indexOf(a) === i);
const cells: [number, number, number][] = [];
for (const perInterval of [5, 20, 200]) for (const times of [1, 1.5, 2]) cells.push([times, perInterval, 0.002]);
cells.push([2, 200, 0.0005]);

console.log(
  `guard false alarms per ${INTERVALS}-interval window, ${runs} windows per cell (limit: 2× the baseline, 1 % absolute); the default alpha is ${SEQUENTIAL_ALPHA}`,
);
console.log(['canary', 'req/interval', 'baseline', ...alphas.map((a) => `alpha=${a}`)].join('\t'));
const worst = new Map<number, number>();
for (const [times, perInterval, baselineRate] of cells) {
  const rates = falseAlarmRates(alphas, times, perInterval, baselineRate, runs);
  rates.forEach((x, i) => worst.set(alphas[i], Math.max(worst.get(alphas[i]) ?? 0, x)));
  console.log([`${times}×`, perInterval, `${(baselineRate * 100).toFixed(2)} %`, ...rates.map((x) => `${(x * 100).toFixed(1)} %`)].join('\t'));
}
console.log(`summary ${alphas.map((a) => `alpha=${a} worst=${((worst.get(a) ?? 0) * 100).toFixed(1)}%`).join(' ')}`);
