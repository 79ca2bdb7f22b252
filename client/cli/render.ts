// Words and layout for the `quad` CLI: a release's progress as a block redrawn in place on a terminal,
// or as plain lines (only when something changed) when the output is a pipe or a file. Pure apart from
// the writes, so tests feed it statuses and read what it wrote.
import type { ReleaseStatus, ReleaseResult, Status, TimelineEntry } from '../../contract/messages';
import type { MetricFinding } from '../../contract/verdict';
import { visible } from '../../contract/visible';

// Text people typed (reasons, PR titles, names) as a terminal shows it as written (contract/visible.ts).
export { visible };

export interface Out {
  write(text: string): unknown;
  isTTY?: boolean;
  /** terminal width: longer lines are cut, since a wrapped line would throw off the redraw */
  columns?: number;
}

/** 75_000 → "1m 15s" */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export const phaseWords = (phase: string) => phase.replace(/_/g, ' ');

function stageText(s: ReleaseStatus): string {
  if (s.stageIndex < 0 || !s.stage) return `stage 0/${s.stageCount}`;
  return `stage ${s.stageIndex + 1}/${s.stageCount} ${s.stage}`;
}

function windowText(s: ReleaseStatus, now: number): string | null {
  if (s.phase === 'baking' && s.bakeEndsAt) return `bake ${formatDuration(s.bakeEndsAt - now)} left (revert is instant until then)`;
  return s.windowEndsAt === null ? null : `window ${formatDuration(s.windowEndsAt - now)} left`;
}

/** By waves: one line per region, in wave order. */
function regionLines(s: ReleaseStatus): string[] {
  const regions = Object.entries(s.regions ?? {}).sort(([, a], [, b]) => a.wave - b.wave);
  if (regions.length === 0) return [];
  return [
    '  regions:',
    ...regions.map(
      ([name, p]) =>
        `    wave ${p.wave} ${name}: ${p.status === 'waiting' ? 'waiting for its wave' : phaseWords(p.phase === 'waiting' ? 'planning' : p.phase)}${p.stage ? ` · ${p.stage}` : ''} · ${p.trafficPercent} % of ${p.maxPercent} %${p.previousVersion ? ` (was ${p.previousVersion})` : ''}`,
    ),
  ];
}

function findingText(f: MetricFinding): string {
  const mark = f.status === 'ok' ? 'ok' : f.status === 'breach' ? 'BREACH' : 'not enough data';
  return `${f.metric} ${mark}: ${f.explanation}`;
}

const approvalsText = (s: ReleaseStatus) => s.approvals.map((a) => `${a.by} (${a.stage})`).join(', ');

/** The gate and post-check report: each check with what it saw (the timeline's entries). */
const CHECK_EVENTS = [
  ['gates', 'gate passed', 'gate failed'],
  ['post checks', 'post check passed', 'post check failed'],
] as const;

/** The block shown on a terminal, redrawn on every poll (the window countdown moves). */
export function describeStatus(s: ReleaseStatus, now: number): string[] {
  const lines = [`${s.service} ${s.version} · ${s.strategy} · by ${s.requestedBy} · started ${formatDuration(now - s.startedAt)} ago`];
  const where = [phaseWords(s.phase) + (s.paused && s.phase !== 'paused' ? ' (paused)' : ''), stageText(s), `traffic ${s.trafficPercent} %`];
  const w = windowText(s, now);
  if (w) where.push(w);
  lines.push(`  ${where.join(' · ')}`);
  if (s.changes) lines.push(`  changes: ${s.changes.summary}${s.changes.url ? ` (${s.changes.url})` : ''}`);
  lines.push(...regionLines(s));
  if (s.abTest) lines.push(`  A/B test: ${s.abTest.text}`);
  if (s.lastVerdict) {
    lines.push(`  verdict ${s.lastVerdict.verdict}: ${s.lastVerdict.explanation}`);
    for (const f of s.lastVerdict.findings) lines.push(`    ${findingText(f)}`);
  }
  for (const [title, passed, failed] of CHECK_EVENTS) {
    const seen = s.timeline.filter((t) => t.event === passed || t.event === failed);
    if (seen.length > 0) lines.push(`  ${title}:`, ...seen.map((t) => `    ${t.event === passed ? 'ok  ' : 'FAIL'} ${t.detail ?? ''}`));
  }
  if (s.approvals.length > 0) lines.push(`  approvals: ${approvalsText(s)}`);
  if (s.paused && s.pauseReason) lines.push(`  paused: ${s.pauseReason}`);
  if ((s.phase === 'waiting_window' || s.phase === 'waiting_service') && s.pauseReason) lines.push(`  waiting: ${s.pauseReason}`);
  if (s.actionRequired) lines.push(`  ACT BY HAND: ${s.actionRequired}`);
  const last = s.timeline.at(-1);
  if (last) lines.push(`  last event: ${timelineText(last)}`);
  return lines.map(visible);
}

/** One line for logs: what a person needs to see that something moved. */
export function statusLine(s: ReleaseStatus, now: number): string {
  const parts = [
    `${s.service} ${s.version}`,
    phaseWords(s.phase) + (s.paused && s.phase !== 'paused' ? ' (paused)' : ''),
    stageText(s),
    `traffic ${s.trafficPercent} %`,
  ];
  const w = windowText(s, now);
  if (w) parts.push(w);
  if (s.lastVerdict) parts.push(`verdict ${s.lastVerdict.verdict}: ${s.lastVerdict.explanation}`);
  if (s.approvals.length > 0) parts.push(`approved by ${approvalsText(s)}`);
  return visible(parts.join(' · '));
}

/** What counts as "something changed" for plain output: everything but the countdown. */
export function changeKey(s: ReleaseStatus): string {
  return JSON.stringify([
    s.phase,
    s.status,
    s.stageIndex,
    s.trafficPercent,
    s.paused,
    s.pauseReason,
    s.actionRequired,
    s.lastVerdict?.verdict,
    s.lastVerdict?.explanation,
    s.approvals.length,
    s.windowEndsAt,
    s.bakeEndsAt,
    s.abTest?.kind,
    Object.values(s.regions ?? {}).map((p) => [p.status, p.stage, p.trafficPercent]),
  ]);
}

export function timelineText(t: TimelineEntry): string {
  return visible(`${t.event}${t.by ? ` by ${t.by}` : ''}${t.detail ? `: ${t.detail}` : ''}`);
}

const clock = (at: number) => new Date(at).toISOString().slice(11, 19);

/**
 * Shows a release's progress. On a TTY it redraws its block in place (cursor up over the last block,
 * clear to the end of the screen); otherwise it writes a status line and the new timeline entries
 * only when something changed, so a CI log stays readable.
 */
export class ProgressView {
  private drawn = 0;
  private lastKey = '';
  private seen = 0;

  constructor(
    private readonly out: Out,
    private readonly tty = out.isTTY === true,
  ) {}

  update(s: ReleaseStatus, now = Date.now()): void {
    if (this.tty) {
      const width = this.out.columns;
      const lines = describeStatus(s, now).map((l) => (width && l.length >= width ? `${l.slice(0, width - 2)}…` : l));
      const up = this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[0J` : '';
      this.out.write(up + lines.join('\n') + '\n');
      this.drawn = lines.length;
      return;
    }
    const fresh = s.timeline.slice(this.seen);
    this.seen = s.timeline.length;
    for (const t of fresh) this.out.write(`${clock(t.at)}   ${timelineText(t)}\n`);
    const key = changeKey(s);
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.out.write(`${clock(now)} ${statusLine(s, now)}\n`);
    }
  }
}

export const FINISHED_WORDS: Record<Status, string> = {
  running: 'still running',
  succeeded: 'released',
  rolled_back: 'rolled back',
  failed: 'failed',
  rejected: 'rejected',
  cancelled: 'cancelled',
  rollback_failed: 'rollback failed: act by hand',
};

/** "released checkout v1.2.3: 100 % traffic" / "rolled back checkout v1.2.4-bad: canary 5 %: error rate …" */
export function finalLine(s: ReleaseStatus, result: ReleaseResult | null): string {
  const words = FINISHED_WORDS[result?.status ?? s.status];
  const reason = result?.reason ?? s.timeline.at(-1)?.detail;
  const why = reason && reason !== words ? reason : undefined;
  const incident = result?.incident ? ` (incident ${result.incident})` : '';
  return visible(`${words} ${s.service} ${s.version} · traffic ${result?.trafficPercent ?? s.trafficPercent} %${why ? ` · ${why}` : ''}${incident}`);
}

export interface ListRow {
  workflowId: string;
  version?: string;
  strategy?: string;
  stage?: string;
  status?: string;
  startTime: Date;
  url: string;
}

/** Columns padded to their widest cell; the Web UI link last so it can be copied whole. */
export function listTable(rows: ListRow[]): string {
  if (rows.length === 0) return 'no releases found\n';
  const cells = [['RELEASE', 'VERSION', 'STRATEGY', 'STAGE', 'STATUS', 'STARTED', 'WEB UI']];
  for (const r of rows)
    cells.push([
      r.workflowId,
      r.version ?? '-',
      r.strategy ?? '-',
      r.stage ?? '-',
      r.status ?? '-',
      r.startTime.toISOString().slice(0, 19).replace('T', ' '),
      r.url,
    ]);
  const widths = cells[0].map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  return cells.map((c) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}
