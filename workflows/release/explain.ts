// Words for people: verdict evidence and a root-cause hint for the incident. Pure.
import type { Verdict } from '../../contract/verdict';
import type { ReleasePlan } from '../../contract/plan';
import type { ReleaseStatus } from '../../contract/messages';

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
