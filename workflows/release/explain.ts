// Words for people: verdict evidence and a root-cause hint for the incident. Pure.
import type { Verdict } from '../../contract/verdict';
import type { ReleasePlan } from '../../contract/plan';
import type { ReleaseStatus, SuccessFigures } from '../../contract/messages';
import type { ReleaseChanges } from '../../contract/activities';

export type { SuccessFigures };

export function describeVerdict(v: Verdict): string {
  const lines = [`${v.verdict}: ${v.explanation}`];
  for (const f of v.findings) if (f.status !== 'ok') lines.push(`- ${f.metric} ${f.status}: ${f.explanation}`);
  return lines.join('\n');
}

/** Where to look first: what the evidence points at, and what changed besides the code. */
export function rootCauseHint(plan: ReleasePlan, state: ReleaseStatus, why: string): string {
  const hints: string[] = [];
  const breached = state.lastVerdict?.findings.filter((f) => f.status === 'breach').map((f) => f.metric) ?? [];
  const at = state.stage ? ` at ${state.stage}` : '';
  if (breached.includes('error_rate'))
    hints.push(
      `${plan.version} raised the error rate${at} while ${state.previousVersion ?? 'the previous version'} stayed healthy: look at the error logs of ${plan.version} and the changes since ${state.previousVersion ?? 'the last release'}`,
    );
  if (breached.includes('latency_p95')) hints.push(`${plan.version} is slower${at}: look for new calls on the request path, missing indexes or a cold cache`);
  if (breached.includes('cpu')) hints.push(`${plan.version} uses more CPU${at}: look for hot loops or heavier serialization`);
  if (breached.includes('memory')) hints.push(`${plan.version} uses more memory${at}: look for a leak or an unbounded cache`);
  if (plan.dependencies.length > 0)
    hints.push(`this release also ran ${plan.dependencies.map((d) => d.name).join(', ')}: check whether the new version depends on them behaving differently`);
  if (hints.length === 0) hints.push(why);
  return hints.join('; ');
}

const num = (x: number | null | undefined): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const pct = (x: number) => (x < 0.1 ? x.toFixed(2) : x.toFixed(1));
const minutes = (ms: number) =>
  ms < 120_000 ? `${Math.round(ms / 1000)} s` : ms < 7_200_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`;

export function successFigures(plan: ReleasePlan, status: ReleaseStatus, now: number): SuccessFigures {
  const v = status.lastVerdict?.verdict === 'PASS' ? status.lastVerdict : null;
  const finding = (metric: 'error_rate' | 'latency_p95') => v?.findings.find((f) => f.metric === metric && num(f.canary) !== null);
  const watched = [...plan.stages].reverse().find((s) => s.durationMs > 0);
  const er = finding('error_rate');
  const p95 = finding('latency_p95');
  return {
    errorRatePct: num(er?.canary),
    errorRateBeforePct: num(er?.baseline),
    errorRateSlaPct: num(watched?.criteria.errorRateMaxPct),
    p95Ms: num(p95?.canary),
    p95BeforeMs: num(p95?.baseline),
    p95SlaMs: num(watched?.criteria.latencyP95MaxMs),
    requestsJudged: v?.canaryRequests ?? 0,
    durationMs: Math.max(0, now - status.startedAt),
  };
}

/** "Error rate: 0.06 % (within SLA 1 %) vs 0.05 % before · Latency p95: 148 ms (within SLA 500 ms) vs 151 ms before: 2 % faster · …" */
export function describeSuccess(plan: ReleasePlan, f: SuccessFigures): string {
  const parts: string[] = [];
  const sla = (x: number, limit: number | null, unit: string) =>
    limit === null ? '' : x <= limit ? ` (within SLA ${limit}${unit})` : ` (ABOVE SLA ${limit}${unit})`;
  if (f.errorRatePct !== null) {
    const before = f.errorRateBeforePct !== null ? ` vs ${pct(f.errorRateBeforePct)} % before` : '';
    parts.push(`Error rate: ${pct(f.errorRatePct)} %${sla(f.errorRatePct, f.errorRateSlaPct, ' %')}${before}`);
  }
  if (f.p95Ms !== null) {
    let change = '';
    if (f.p95BeforeMs !== null && f.p95BeforeMs > 0) {
      const d = Math.round((100 * (f.p95Ms - f.p95BeforeMs)) / f.p95BeforeMs);
      change = `: ${d === 0 ? 'the same' : d < 0 ? `${-d} % faster` : `${d} % slower`}`;
    }
    const before = f.p95BeforeMs !== null ? ` vs ${Math.round(f.p95BeforeMs)} ms before${change}` : '';
    parts.push(`Latency p95: ${Math.round(f.p95Ms)} ms${sla(f.p95Ms, f.p95SlaMs, ' ms')}${before}`);
  }
  if (f.requestsJudged > 0) parts.push(`${f.requestsJudged} requests on ${plan.version} in the last watched window`);
  parts.push(`released in ${minutes(f.durationMs)}`);
  return parts.join(' · ');
}

/** "Changes: 2 features, 1 bug fix — #21 Faster cart, #22 Coupons (compare: URL)" */
export function changesLine(c: ReleaseChanges): string {
  const first = c.items.slice(0, 5).map((i) => `#${i.number} ${i.title}`);
  return `Changes: ${c.summary}${first.length ? ` — ${first.join(', ')}${c.items.length > 5 ? ', …' : ''}` : ''}${c.url ? ` (${c.url})` : ''}`;
}

/** A duration as the timeline and the timers' summaries say it: "0.2 min", "15 min". */
export const minutesText = (ms: number): string => `${Math.round(ms / 6000) / 10} min`;
