// Criteria as people write them in YAML ("error_rate < 0.5%", "latency_p95 < 200ms") → typed limits.
import type { Criteria } from '../contract/verdict';

type Limits = Omit<Criteria, 'minRequests'> & { minRequests?: number };

const RULES: { metric: RegExp; op: '<' | '>='; unit: RegExp; key: keyof Limits; what: string }[] = [
  { metric: /^error_rate$/, op: '<', unit: /^%$/, key: 'errorRateMaxPct', what: 'error_rate < 0.5%' },
  { metric: /^latency_p95$/, op: '<', unit: /^ms$/, key: 'latencyP95MaxMs', what: 'latency_p95 < 200ms' },
  { metric: /^cpu$/, op: '<', unit: /^%$/, key: 'cpuMaxPct', what: 'cpu < 90%' },
  { metric: /^error_rate_vs_baseline$/, op: '<', unit: /^x$/, key: 'errorRateMaxRatio', what: 'error_rate_vs_baseline < 2x' },
  { metric: /^latency_p95_vs_baseline$/, op: '<', unit: /^x$/, key: 'latencyP95MaxRatio', what: 'latency_p95_vs_baseline < 1.25x' },
  { metric: /^memory_vs_baseline$/, op: '<', unit: /^x$/, key: 'memoryMaxRatio', what: 'memory_vs_baseline < 1.5x' },
  { metric: /^requests$/, op: '>=', unit: /^$/, key: 'minRequests', what: 'requests >= 200' },
];

const FORM = /^\s*([a-z_0-9]+)\s*(<=|<|>=|>)\s*([0-9]+(?:\.[0-9]+)?)\s*(%|ms|x|×)?\s*$/;

export function parseCriteria(list: string[]): Limits {
  const out: Limits = {};
  for (const text of list) {
    const m = FORM.exec(text);
    if (!m) throw new Error(`cannot read criterion ${JSON.stringify(text)}: write it like "error_rate < 0.5%"`);
    const [, metric, rawOp, num, rawUnit = ''] = m;
    const op = rawOp === '<=' ? '<' : rawOp;
    const unit = rawUnit === '×' ? 'x' : rawUnit;
    const rule = RULES.find((r) => r.metric.test(metric));
    if (!rule) throw new Error(`unknown metric ${JSON.stringify(metric)} in ${JSON.stringify(text)}; known: ${RULES.map((r) => r.what).join(', ')}`);
    if (op !== rule.op || !rule.unit.test(unit)) throw new Error(`${JSON.stringify(text)} should read like "${rule.what}"`);
    (out as Record<string, number>)[rule.key] = Number(num);
  }
  return out;
}
