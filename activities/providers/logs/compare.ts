// The canary's log lines against the baseline's over the same window: both sides asked for, grouped into
// signatures and ranked (signatures.ts). Volumes are each side's line count when the source knows it, so
// a baseline serving 95 % of traffic does not look healthier only because its counts are bigger.
import type { LogQuery, LogSource, MetricsQuery } from '../types';
import { BUILT_IN_HINTS, rankSignatures, rootCauseFromLogs, type HintRule, type Signature } from './signatures';

export interface LogComparison {
  signatures: Signature[];
  /** the top signature with its counts and advice, or null when nothing stands out */
  hint: string | null;
  /** what a reader should know about how the logs were read (cut, or a side with none) */
  note?: string;
}

/** The same window and sides the metrics are asked for, without the interval length. */
export type CompareRequest = Omit<MetricsQuery, 'intervalS'>;

export interface CompareOptions {
  /** lines per side (default 10 000) */
  limit?: number;
  top?: number;
  /** config rules first, then the built-in ones */
  rules?: readonly HintRule[];
}

export async function compareLogs(source: LogSource, req: CompareRequest, opts: CompareOptions = {}): Promise<LogComparison> {
  const limit = opts.limit ?? 10_000;
  const side = (version: string): LogQuery => ({
    service: req.service,
    version,
    from: req.from,
    to: req.to,
    limit,
    ...(req.region ? { region: req.region } : {}),
  });
  const [canary, baseline] = await Promise.all([
    source.fetch(side(req.version)),
    req.previousVersion ? source.fetch(side(req.previousVersion)) : Promise.resolve({ events: [], total: 0, truncated: false }),
  ]);
  const signatures = rankSignatures(canary.events, baseline.events, {
    top: opts.top ?? 5,
    canaryVolume: canary.total ?? canary.events.length,
    baselineVolume: baseline.total ?? baseline.events.length,
  });
  const notes: string[] = [];
  if (canary.truncated || baseline.truncated) notes.push(`more than ${limit} lines on a side: counts are of the first ${limit}`);
  if (canary.events.length === 0) notes.push(`no ${req.version} lines at warn or above in the window`);
  const rules = opts.rules ?? BUILT_IN_HINTS;
  return { signatures, hint: signatures[0] ? rootCauseFromLogs(signatures[0], rules) : null, ...(notes.length ? { note: notes.join('; ') } : {}) };
}
