// What every incident says, whatever the tool: the title, what regressed (canary vs baseline with the
// verdict's numbers), where (stage, regions, versions), the top log signatures with their counts, the
// hint, and the links. Each sink lays these out in its own format (plain text, Markdown, ADF, details).
import type { MetricFinding } from '../../../contract/verdict';
import type { Incident } from '../types';
import { describeSignature } from '../logs/signatures';

const fmt = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : Number.isInteger(x) ? String(x) : x.toFixed(2));

/** "error_rate: canary 8.10 vs baseline 0 (limit 1)": the breached findings first */
export function findingLines(findings: MetricFinding[] = []): string[] {
  const order = (f: MetricFinding) => (f.status === 'breach' ? 0 : f.status === 'insufficient' ? 1 : 2);
  return [...findings]
    .sort((a, b) => order(a) - order(b))
    .map(
      (f) =>
        `${f.metric} ${f.status}: canary ${fmt(f.canary)} vs baseline ${fmt(f.baseline)}${f.limit !== undefined ? ` (limit ${fmt(f.limit)})` : ''}${f.sampleSize !== undefined ? `, ${f.sampleSize} requests` : ''}`,
    );
}

export interface IncidentSections {
  title: string;
  /** one line, for tools with a short summary field */
  summary: string;
  /** key facts, in order */
  facts: Array<[string, string]>;
  regressed: string[];
  signatures: string[];
  hint: string;
  evidence: string;
  links: Array<{ href: string; text: string }>;
}

export function sectionsOf(incident: Incident): IncidentSections {
  const kind = incident.manual ? `manual rollback${incident.manual.by ? ` by ${incident.manual.by}` : ''}` : 'automatic rollback';
  const facts: Array<[string, string]> = [
    ['service', incident.service],
    ['version', incident.version],
    ['previous version', incident.previousVersion ?? 'none'],
    ['stage', incident.stage ?? 'before rollout'],
    ...(incident.regions?.length ? ([['regions', incident.regions.join(', ')]] as Array<[string, string]>) : []),
    ['trigger', kind],
    ['rollback', incident.rollbackFinished ? `finished: traffic back on ${incident.previousVersion ?? 'the previous version'}` : 'not finished: act by hand'],
    ...(incident.manual ? ([['reason', incident.manual.why]] as Array<[string, string]>) : []),
    ...(incident.changes ? ([['changes', incident.changes.replace(/^Changes: /, '')]] as Array<[string, string]>) : []),
    ['release', incident.releaseId],
  ];
  const signatures = (incident.signatures ?? []).map(describeSignature);
  const top = incident.signatures?.[0];
  return {
    title: incident.manual ? `${incident.title} (manual rollback)` : incident.title,
    summary: `${incident.title}${top ? ` — top log signature: ${describeSignature(top)}` : ''}`.slice(0, 1000),
    facts,
    regressed: findingLines(incident.findings),
    signatures: signatures.length ? signatures : [incident.logNote ?? 'no log signature stood out'],
    hint: incident.rootCauseHint,
    evidence: incident.evidence,
    links: incident.url ? [{ href: incident.url, text: 'Release in the Temporal Web UI' }] : [],
  };
}

/** The whole incident as Markdown (GitHub), or as plain text when `markdown` is false (webhook, Opsgenie). */
export function renderText(incident: Incident, markdown = true): string {
  const s = sectionsOf(incident);
  const code = (t: string) => (markdown ? t : t.replace(/`/g, ''));
  const h = (t: string) => (markdown ? `### ${t}` : `${t}:`);
  return [
    ...s.facts.map(([k, v]) => (markdown ? `- **${k}**: ${v}` : `${k}: ${v}`)),
    '',
    h('What regressed'),
    ...(s.regressed.length ? s.regressed.map((l) => `- ${l}`) : [`- ${s.evidence}`]),
    '',
    h('Top log signatures (canary vs baseline)'),
    ...s.signatures.map((l) => `- ${code(l)}`),
    '',
    h('Hint'),
    code(s.hint),
    ...(s.links.length ? ['', h('Links'), ...s.links.map((l) => (markdown ? `- [${l.text}](${l.href})` : `- ${l.text}: ${l.href}`))] : []),
  ].join('\n');
}
