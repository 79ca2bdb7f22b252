// Log lines → signatures (the line with its variable parts masked), and the signatures that are new in
// the canary or far more frequent there than in the baseline. Pure: no I/O, no clock. A template miner
// such as Drain learns templates from token positions; release logs are small and the variable parts of
// error lines are the usual few (numbers, ids, hex, UUIDs, quoted values, addresses), so masking them
// with ordered rules is enough and keeps "connection refused to db" apart from "… to redis".

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug';

export interface LogEvent {
  /** epoch ms */
  at: number;
  /** the raw line (text or JSON) */
  message: string;
  /** when the source knows it (the sandbox does); else read from the line */
  level?: LogLevel;
}

export interface Signature {
  template: string;
  level: LogLevel | null;
  canary: number;
  baseline: number;
  /** one real line of it from the canary (for the dependency a hint names) */
  example: string;
}

// Order matters: wider shapes first, so a UUID is not read as hex and numbers, an IP not as four numbers.
const MASKS: Array<[RegExp, string]> = [
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g, '<ts>'],
  [/"(?:[^"\\]|\\.)*"/g, '"<str>"'],
  [/'(?:[^'\\]|\\.)*'/g, "'<str>'"],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\b(?:\d{1,3}\.){3}\d{1,3}\b/g, '<ip>'],
  [/\b0x[0-9a-f]+\b/gi, '<hex>'],
  // a hex run with at least one digit and one letter (kid=3f9a2c41, a sha), a long all-letter one, or an
  // 8+ digit one: a random hex id is all digits now and then (kid=40712385), and must not split off
  [/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b|\b[a-f]{16,}\b|\b\d{8,}\b/gi, '<hex>'],
  // dotted runs are one value (1.5, v1.2.4)
  [/\d+(?:\.\d+)*/g, '<num>'],
];

const LEVELS: Record<string, LogLevel> = {
  fatal: 'fatal',
  critical: 'fatal',
  crit: 'fatal',
  panic: 'fatal',
  error: 'error',
  err: 'error',
  warn: 'warn',
  warning: 'warn',
  info: 'info',
  notice: 'info',
  debug: 'debug',
  trace: 'debug',
};
// pino / bunyan numeric levels
const NUMERIC_LEVELS: Array<[number, LogLevel]> = [
  [60, 'fatal'],
  [50, 'error'],
  [40, 'warn'],
  [30, 'info'],
  [0, 'debug'],
];

/** A line's level and its message without the leading timestamp and level (JSON lines: their msg / message field). */
export function parseLine(line: string): { level: LogLevel | null; message: string } {
  const text = line.trim();
  if (text.startsWith('{')) {
    try {
      const o = JSON.parse(text) as Record<string, unknown>;
      const msg = o.msg ?? o.message ?? o.error ?? text;
      const raw = o.level ?? o.severity ?? o.lvl;
      const level =
        typeof raw === 'number' ? (NUMERIC_LEVELS.find(([n]) => raw >= n)?.[1] ?? null) : typeof raw === 'string' ? (LEVELS[raw.toLowerCase()] ?? null) : null;
      return { level, message: typeof msg === 'string' ? msg : JSON.stringify(msg) };
    } catch {
      /* not JSON after all: read it as text */
    }
  }
  const rest = text.replace(/^\[?\d{4}-\d{2}-\d{2}[T ][\d:.,]+(?:Z|[+-]\d{2}:?\d{2})?\]?\s*/, '');
  const word = /^\[?([A-Za-z]+)\]?:?\s+/.exec(rest);
  const wordLevel = word ? LEVELS[word[1].toLowerCase()] : undefined;
  if (word && wordLevel) return { level: wordLevel, message: rest.slice(word[0].length) };
  // logfmt: level=error msg="…"
  const kv = /\blevel=([A-Za-z]+)\b/.exec(rest);
  const msg = /\bmsg=("(?:[^"\\]|\\.)*"|\S+)/.exec(rest);
  const message = msg ? (msg[1].startsWith('"') ? msg[1].slice(1, -1).replace(/\\(.)/g, '$1') : msg[1]) : rest;
  return { level: kv ? (LEVELS[kv[1].toLowerCase()] ?? null) : null, message };
}

/** The message with its variable parts masked; lines with the same template are one signature. */
export function templateOf(message: string): string {
  let t = message;
  for (const [re, mask] of MASKS) t = t.replace(re, mask);
  return t.replace(/\s+/g, ' ').trim().slice(0, 300);
}

const QUIET: ReadonlySet<LogLevel> = new Set(['info', 'debug']);

interface Count {
  level: LogLevel | null;
  n: number;
  example: string;
}

function countSignatures(events: LogEvent[]): Map<string, Count> {
  const counts = new Map<string, Count>();
  for (const e of events) {
    const parsed = parseLine(e.message);
    const level = e.level ?? parsed.level;
    // ordinary info/debug noise says nothing about a regression; lines of unknown level are kept
    if (level && QUIET.has(level)) continue;
    const key = templateOf(parsed.message);
    const c = counts.get(key);
    if (c) c.n += 1;
    else counts.set(key, { level, n: 1, example: parsed.message.slice(0, 300) });
  }
  return counts;
}

export interface RankOptions {
  /** how many to return (default 5) */
  top?: number;
  /** at least this many canary lines (default 3): one stray line is not a regression */
  minCanary?: number;
  /** a signature in both counts when its canary rate is at least this many times the baseline's (default 3) */
  factor?: number;
  /** what each side's counts are divided by to compare rates (e.g. requests or all lines); default 1 each */
  canaryVolume?: number;
  baselineVolume?: number;
}

/**
 * The signatures of warn/error lines that are new in the canary or `factor` times as frequent there (per
 * unit of volume), new ones first, then by how much more often; ties by canary count.
 */
export function rankSignatures(canary: LogEvent[], baseline: LogEvent[], opts: RankOptions = {}): Signature[] {
  const { top = 5, minCanary = 3, factor = 3 } = opts;
  const cv = Math.max(opts.canaryVolume ?? 1, 1);
  const bv = Math.max(opts.baselineVolume ?? 1, 1);
  const base = countSignatures(baseline);
  const ranked: Array<Signature & { ratio: number }> = [];
  for (const [template, c] of countSignatures(canary)) {
    if (c.n < minCanary) continue;
    const b = base.get(template)?.n ?? 0;
    const ratio = b === 0 ? Infinity : c.n / cv / (b / bv);
    if (ratio < factor) continue;
    ranked.push({ template, level: c.level, canary: c.n, baseline: b, example: c.example, ratio });
  }
  ranked.sort((x, y) => (x.ratio === y.ratio ? y.canary - x.canary : y.ratio - x.ratio) || y.canary - x.canary);
  return ranked.slice(0, top).map(({ ratio: _ratio, ...s }) => s);
}

/** "`JWT validation failed: … kid=<hex>` — 412 on canary, 0 on baseline" */
export function describeSignature(s: Signature): string {
  return `\`${s.template}\` — ${s.canary} on canary, ${s.baseline} on baseline`;
}

export interface HintRule {
  /** tested against the template and the example line, case-insensitive */
  match: RegExp;
  /** the advice; `{dependency}` is replaced by the host or service the line names, when it names one */
  hint: string;
}

/** Well-known signatures and what to check first. Config rules (providers.logs.hints) come before these. */
export const BUILT_IN_HINTS: readonly HintRule[] = [
  {
    match: /\bjwt\b|signature (?:mismatch|verification|invalid)|invalid (?:token|signature)|token (?:expired|invalid)|\bkid=/i,
    hint: 'check secret or signing-key rotation: the new version may read a different secret or key than the one serving',
  },
  {
    match: /connection refused|econnrefused|econnreset|etimedout|timed? ?out|enotfound|getaddrinfo|no route to host|connection reset/i,
    hint: 'check the dependency it calls ({dependency}): reachable from the new version, same address and credentials',
  },
  {
    match: /out of memory|\boom\b|heap (?:out|limit)|javascript heap|enomem|memory limit|allocation failed|oomkilled/i,
    hint: 'check memory limits and look for a leak or an unbounded cache in the new version',
  },
  {
    match: /migration|\bcolumn\b|relation "?<?\w*>?"? does not exist|no such table|unknown column|undefined column/i,
    hint: 'check the database migration this release depends on: did it run, and before the new code?',
  },
];

/** The host[:port] or service a line names after "to", "host", "connect", "dial" or "ECONNREFUSED". */
function dependencyOf(line: string): string | null {
  const re =
    /(?:\bto|\bhost|connect(?:ing)?(?: to)?|dial(?:ing)?|ECONNREFUSED|ETIMEDOUT|ENOTFOUND|calling)(?:\s+E[A-Z]{4,})?\s+(?:tcp\s+)?"?([A-Za-z0-9][\w.-]*(?::\d+)?)/gi;
  for (const m of line.matchAll(re)) {
    // "connect ECONNREFUSED 10.0.3.17:5432": the error code is not the host, the next match is
    if (!/^(?:the|a|an|E[A-Z]+)$/.test(m[1])) return m[1];
  }
  return null;
}

/** The advice of the first rule that matches (config rules first), or null. */
export function hintFor(s: Signature, rules: readonly HintRule[] = BUILT_IN_HINTS): string | null {
  for (const r of rules) {
    if (r.match.test(s.template) || r.match.test(s.example)) return r.hint.replace('{dependency}', dependencyOf(s.example) ?? 'the one in the message');
  }
  return null;
}

/** The incident's hint: the top signature with its counts and the advice for it. */
export function rootCauseFromLogs(top: Signature, rules: readonly HintRule[] = BUILT_IN_HINTS): string {
  const advice = hintFor(top, rules);
  return `${describeSignature(top)}${advice ? `: ${advice}` : ''}`;
}
