// The sandbox's version logs as a log source: each version process's stdout lines, asked for per
// version and window over the sandbox admin API (GET /admin/services/{s}/logs). Only warn and above
// come back; `total` still counts every line, the volume the two sides' counts are compared against.
import { sandboxApi, sandboxServiceKey, sandboxUrl } from '../deployers/sandbox';
import type { LogBatch, LogLevel, LogQuery, LogSource } from '../types';

export interface SandboxLogOptions {
  /** the sandbox admin URL; default QUAD_SANDBOX_URL or http://127.0.0.1:8080 */
  url?: string;
  timeoutMs?: number;
}

interface LogsResponse {
  lines: Array<{ at: number; level: LogLevel; message: string }>;
  total: number;
  truncated: boolean;
}

export class SandboxLogSource implements LogSource {
  readonly name = 'sandbox';
  private readonly base: string;
  private readonly timeoutMs: number;

  constructor(opts: SandboxLogOptions = {}) {
    this.base = sandboxUrl(opts.url);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async fetch(q: LogQuery): Promise<LogBatch> {
    const service = encodeURIComponent(sandboxServiceKey(q.service, q.region));
    const params = new URLSearchParams({ version: q.version, from: String(q.from), to: String(q.to), min_level: 'warn', limit: String(q.limit) });
    const r = await sandboxApi<LogsResponse>(this.base, 'GET', `/admin/services/${service}/logs?${params}`, this.timeoutMs);
    return { events: r.lines.map((l) => ({ at: l.at, level: l.level, message: l.message })), total: r.total, truncated: r.truncated };
  }
}
