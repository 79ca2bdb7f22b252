// The incident activity: read the canary's and the baseline's logs for the window the workflow names,
// put the top signatures and the hint from them into the incident, open it in the configured tool, and
// resolve it there when the rollback has finished. The logs are read here, not in the workflow, so no
// log line enters workflow history beyond the bounded summary this returns.
import type { IncidentRequest } from '../contract/activities';
import type { Incident } from './providers/types';
import type { Providers } from './providers/factory';
import { compareLogs } from './providers/logs/compare';
import { describeSignature } from './providers/logs/signatures';

const SUMMARY_CHARS = 400;

/** The incident with what the logs say: signatures and, when one stands out, its hint first. */
export async function withLogFindings(p: Pick<Providers, 'incidentLogs'>, req: IncidentRequest, now = Date.now()): Promise<Incident> {
  const logs = p.incidentLogs;
  if (!logs) return { ...req, logNote: 'no log source configured (providers.logs)' };
  if (!req.window) return { ...req, logNote: 'no window to read the logs for' };
  // the lines of the window's last requests reach the store a moment after them: read once they have
  const wait = req.window.to + (logs.settleMs ?? 0) - now;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  // the canary's time in production, at most window_minutes back from the rollback
  const to = Math.min(req.window.to, now);
  const from = Math.max(req.window.from, to - logs.windowMinutes * 60_000);
  try {
    const cmp = await compareLogs(
      logs.source,
      {
        service: req.service,
        version: req.version,
        previousVersion: req.previousVersion ?? null,
        // by-region releases: the first region's lines (the one a breach is usually found in first)
        ...(req.regions?.[0] ? { region: req.regions[0] } : {}),
        from,
        to: to + 1,
      },
      { limit: logs.limit, rules: logs.rules },
    );
    return {
      ...req,
      signatures: cmp.signatures,
      ...(cmp.hint ? { rootCauseHint: `${cmp.hint}\n${req.rootCauseHint}` } : {}),
      ...(cmp.note ? { logNote: cmp.note } : {}),
    };
  } catch (err) {
    // the incident matters more than its log findings: open it, and say why they are missing
    return { ...req, logNote: `logs could not be read from ${logs.source.name}: ${(err as Error).message.slice(0, 300)}` };
  }
}

/** Opens (and, after a finished rollback, resolves) the incident; '' when config says a manual rollback opens none. */
export async function openIncident(p: Pick<Providers, 'incidents' | 'incidentLogs' | 'incidentOnManualRollback'>, req: IncidentRequest): Promise<string> {
  if (req.manual && !p.incidentOnManualRollback) return '';
  const incident = await withLogFindings(p, req);
  const ref = await p.incidents.open(incident);
  if (req.rollbackFinished && p.incidents.resolve) await p.incidents.resolve(incident, ref);
  return incidentSummary(ref, incident);
}

/**
 * What the workflow keeps of the incident (and shows in the rollback's notice): its ref, the top log
 * signatures with their counts, canary against baseline, and the hint the logs gave. Bounded.
 */
export function incidentSummary(ref: string, incident: Incident): string {
  const [top, ...more] = incident.signatures ?? [];
  if (!top) return ref.slice(0, SUMMARY_CHARS);
  const described = describeSignature(top);
  // withLogFindings put the logs' hint first: "<signature>: <advice>"
  const first = incident.rootCauseHint.split('\n')[0];
  const advice = first.startsWith(`${described}: `) ? first.slice(described.length + 2) : null;
  const lines = [
    `${ref} · top log signature: ${described}`.slice(0, SUMMARY_CHARS),
    ...(advice ? [`hint: ${advice}`.slice(0, SUMMARY_CHARS)] : []),
    ...(more.length ? [`also: ${more.slice(0, 2).map(describeSignature).join('; ')}`.slice(0, SUMMARY_CHARS)] : []),
  ];
  return lines.join('\n');
}
