// The lines one sandbox version wrote to its stdout (JSON lines: {at, level, msg}), kept for a retention
// window and a line cap, so the sandbox log source can ask for a version's lines in [from, to) the way it
// would ask a real log store.

export type SandboxLogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface SandboxLogLine {
  at: number;
  level: SandboxLogLevel;
  message: string;
}

const LEVEL_RANK: Record<SandboxLogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
export const SANDBOX_LOG_LEVELS = Object.keys(LEVEL_RANK) as SandboxLogLevel[];

const DEFAULT_RETENTION_MS = 30 * 60_000;
const DEFAULT_MAX_LINES = 200_000;
const MAX_MESSAGE_CHARS = 2000;

/** One stdout line of a version process, or null when it is not one of its log lines. */
export function parseVersionLogLine(line: string): SandboxLogLine | null {
  let o: { at?: unknown; level?: unknown; msg?: unknown };
  try {
    o = JSON.parse(line) as typeof o;
  } catch {
    return null;
  }
  if (typeof o?.at !== 'number' || typeof o.msg !== 'string' || typeof o.level !== 'string' || !(o.level in LEVEL_RANK)) return null;
  return { at: o.at, level: o.level as SandboxLogLevel, message: o.msg.slice(0, MAX_MESSAGE_CHARS) };
}

export class LineLog {
  private lines: SandboxLogLine[] = [];
  private head = 0;

  constructor(
    private readonly retentionMs = DEFAULT_RETENTION_MS,
    private readonly maxLines = DEFAULT_MAX_LINES,
  ) {}

  /** Lines arrive in time order from one process; a late one is placed by time. */
  add(line: SandboxLogLine): void {
    let i = this.lines.length;
    while (i > this.head && this.lines[i - 1].at > line.at) i -= 1;
    this.lines.splice(i, 0, line);
    const cutoff = line.at - this.retentionMs;
    while (this.head < this.lines.length && (this.lines[this.head].at < cutoff || this.lines.length - this.head > this.maxLines)) this.head += 1;
    if (this.head > 4096 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Lines in [from, to) at `minLevel` or above, oldest first, at most `limit`; `total` counts every line
   * in the window whatever its level (the volume the counts are compared against).
   */
  between(from: number, to: number, minLevel: SandboxLogLevel, limit: number): { lines: SandboxLogLine[]; total: number; truncated: boolean } {
    const lines: SandboxLogLine[] = [];
    let total = 0;
    let truncated = false;
    const min = LEVEL_RANK[minLevel];
    for (let i = this.head; i < this.lines.length; i += 1) {
      const l = this.lines[i];
      if (l.at < from) continue;
      if (l.at >= to) break;
      total += 1;
      if (LEVEL_RANK[l.level] < min) continue;
      if (lines.length < limit) lines.push(l);
      else truncated = true;
    }
    return { lines, total, truncated };
  }
}
