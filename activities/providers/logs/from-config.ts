// providers.logs → what the incident activity reads logs with: the source, how far back, how many lines,
// and the hint rules (config's first, then the built-in ones). Absent or type none: no log source.
import type { QuadConfig } from '../../../config/schema';
import type { LogSource } from '../types';
import { CloudWatchLogsSource } from './cloudwatch-logs';
import { SandboxLogSource } from './sandbox';
import { BUILT_IN_HINTS, type HintRule } from './signatures';

export interface IncidentLogs {
  source: LogSource;
  windowMinutes: number;
  limit: number;
  /** read the lines no sooner than this after the window's end (ingestion delay) */
  settleMs: number;
  rules: readonly HintRule[];
}

export function incidentLogsFor(cfg: QuadConfig): IncidentLogs | undefined {
  const l = cfg.providers.logs;
  if (!l || l.type === 'none') return undefined;
  const source: LogSource =
    l.type === 'sandbox'
      ? new SandboxLogSource({ ...((l.url ?? cfg.providers.sandbox?.url) ? { url: l.url ?? cfg.providers.sandbox?.url } : {}) })
      : new CloudWatchLogsSource({
          logGroup: l.log_group ?? '',
          ...(l.stream_prefix ? { streamPrefix: l.stream_prefix } : {}),
          ...(l.filter_pattern ? { filterPattern: l.filter_pattern } : {}),
          ...(l.region ? { region: l.region } : {}),
          ...(l.endpoint ? { endpoint: l.endpoint } : {}),
        });
  const rules: HintRule[] = [...l.hints.map((h) => ({ match: new RegExp(h.match, 'i'), hint: h.hint })), ...BUILT_IN_HINTS];
  return { source, windowMinutes: l.window_minutes, limit: l.limit, settleMs: l.settle_seconds * 1000, rules };
}
