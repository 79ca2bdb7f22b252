// `quad report`: the seed's success metrics computed from the releases themselves (each run's status, as
// the workflow recorded it), with the targets beside them. Pure: the records come from Temporal
// (./release-records), so the figures are tested on real runs and on hand-made timelines alike.
//
// What counts, from each release's timeline:
//   deployment        a finished release that moved traffic or a flag at least once ('shifted')
//   success           it ended succeeded
//   caught failure    rolled back before reaching 100 % (the canary did its job)
//   change failure    a deployment that failed after reaching 100 % of users, or whose rollback did not finish
//   time to detect    from the last traffic shift before the decision (the bad version's exposure) to the
//                     decision: the guard's 'breach' or the judge's 'verdict FAIL' (manual rollbacks excluded)
//   time to roll back from 'rolling back' to the traffic (or flag) undo done
//   zero downtime     no unfinished rollback, and where the deployer prepares, the new version was ready
//                     ('prepared') before it took traffic
//   incident          the release opened one
import type { ReleaseStatus, TimelineEntry } from '../contract/messages';
import { InputError } from '../config/errors';

export interface ReleaseRecord {
  workflowId: string;
  runId: string;
  url: string;
  status: ReleaseStatus;
}

export interface Report {
  service: string | null;
  sinceMs: number;
  untilMs: number;
  releases: number;
  deployments: number;
  succeeded: number;
  caught_failures: number;
  change_failures: number;
  success_rate: number | null;
  change_failure_rate: number | null;
  mttd_s: number | null;
  mttd_p90_s: number | null;
  mttr_s: number | null;
  zero_downtime_rate: number | null;
  incidents: number;
  incidents_per_deployment: number | null;
  releases_per_week: number;
  /** per rolled-back deployment: what the means are made of */
  rollbacks: Array<{ workflowId: string; version: string; detect_s: number | null; rollback_s: number | null; max_traffic_percent: number; by: string | null }>;
}

/** The user's targets (the seed's table). */
export const TARGETS = { success_rate: 0.98, mttd_s: 120, mttr_s: 60, zero_downtime_rate: 1, incidents_per_deployment: 0.01 } as const;

const at = (t: TimelineEntry[], event: string, detail?: string) =>
  t.find((e) => e.event === event && (detail === undefined || e.detail === detail))?.at ?? null;
const percentOf = (e: TimelineEntry) => Number(/(\d+(?:\.\d+)?) %$/.exec(e.detail ?? '')?.[1] ?? NaN);

export function maxTraffic(t: TimelineEntry[]): number {
  return Math.max(
    0,
    ...t
      .filter((e) => e.event === 'shifted')
      .map(percentOf)
      .filter((p) => Number.isFinite(p)),
  );
}

/** The decision to roll back, if the system made it (the guard or the judge), and the exposure before it. */
export function detection(t: TimelineEntry[]): { decidedAt: number; exposedAt: number } | null {
  const decided = t.find((e) => e.event === 'breach' || e.event === 'verdict FAIL');
  if (!decided) return null;
  const exposed = t.filter((e) => e.event === 'shifted' && e.at <= decided.at).at(-1);
  return exposed ? { decidedAt: decided.at, exposedAt: exposed.at } : null;
}

export function rollbackDuration(t: TimelineEntry[]): number | null {
  const from = at(t, 'rolling back');
  if (from === null) return null;
  const done = t.find((e) => e.event === 'undone' && (e.detail === 'traffic' || e.detail === 'flag') && e.at >= from);
  return done ? done.at - from : null;
}

function zeroDowntime(s: ReleaseStatus): boolean {
  if (s.status === 'rollback_failed') return false;
  const prepared = at(s.timeline, 'prepared');
  const firstShift = at(s.timeline, 'shifted');
  return prepared === null || firstShift === null || prepared <= firstShift;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
function p90(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.9 * s.length) - 1)];
}
const ratio = (n: number, d: number) => (d > 0 ? n / d : null);

export function summarize(records: ReleaseRecord[], opts: { service: string | null; sinceMs: number; untilMs: number }): Report {
  const finished = records.filter((r) => r.status.status !== 'running');
  const deployed = finished.filter((r) => r.status.timeline.some((e) => e.event === 'shifted'));
  const failedEnds = new Set(['rolled_back', 'failed', 'rollback_failed', 'cancelled', 'rejected']);
  const failures = deployed.filter((r) => failedEnds.has(r.status.status));
  const reachedAll = (r: ReleaseRecord) => maxTraffic(r.status.timeline) >= 100;
  const change = failures.filter((r) => reachedAll(r) || r.status.status === 'rollback_failed');
  const rollbacks = deployed
    .filter((r) => at(r.status.timeline, 'rolling back') !== null)
    .map((r) => {
      const d = detection(r.status.timeline);
      const rb = rollbackDuration(r.status.timeline);
      return {
        workflowId: r.workflowId,
        version: r.status.version,
        detect_s: d ? (d.decidedAt - d.exposedAt) / 1000 : null,
        rollback_s: rb === null ? null : rb / 1000,
        max_traffic_percent: maxTraffic(r.status.timeline),
        by: r.status.timeline.find((e) => e.event === 'rolling back')?.by ?? null,
      };
    });
  const detects = rollbacks.map((r) => r.detect_s).filter((x): x is number => x !== null);
  const restores = rollbacks.map((r) => r.rollback_s).filter((x): x is number => x !== null);
  const incidents = deployed.filter((r) => r.status.timeline.some((e) => e.event === 'incident opened')).length;
  const weeks = Math.max((opts.untilMs - opts.sinceMs) / (7 * 86_400_000), 1 / 7);
  return {
    service: opts.service,
    sinceMs: opts.sinceMs,
    untilMs: opts.untilMs,
    releases: records.length,
    deployments: deployed.length,
    succeeded: deployed.filter((r) => r.status.status === 'succeeded').length,
    caught_failures: failures.length - change.length,
    change_failures: change.length,
    success_rate: ratio(deployed.filter((r) => r.status.status === 'succeeded').length, deployed.length),
    change_failure_rate: ratio(change.length, deployed.length),
    mttd_s: mean(detects),
    mttd_p90_s: p90(detects),
    mttr_s: mean(restores),
    zero_downtime_rate: ratio(deployed.filter((r) => zeroDowntime(r.status)).length, deployed.length),
    incidents,
    incidents_per_deployment: ratio(incidents, deployed.length),
    releases_per_week: deployed.length / weeks,
    rollbacks,
  };
}

const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(1)} %`);
const secs = (x: number | null) => (x === null ? '—' : x < 120 ? `${x.toFixed(1)} s` : `${(x / 60).toFixed(1)} min`);
const mark = (ok: boolean | null) => (ok === null ? '' : ok ? 'met' : 'MISSED');

/** The seed's table: each figure, its target, and whether it is met. */
export function formatReport(r: Report): string[] {
  const hours = Math.round((r.untilMs - r.sinceMs) / 3_600_000);
  const span = hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} days`;
  const rows: Array<[string, string, string, boolean | null]> = [
    ['deployment success rate', pct(r.success_rate), '≥ 98 %', r.success_rate === null ? null : r.success_rate >= TARGETS.success_rate],
    ['change failure rate (reached all users)', pct(r.change_failure_rate), '', null],
    ['failures caught at a canary stage', String(r.caught_failures), '', null],
    ['mean time to detect', secs(r.mttd_s), '< 2 min', r.mttd_s === null ? null : r.mttd_s < TARGETS.mttd_s],
    ['p90 time to detect', secs(r.mttd_p90_s), '', null],
    ['mean time to roll back', secs(r.mttr_s), '< 1 min', r.mttr_s === null ? null : r.mttr_s < TARGETS.mttr_s],
    [
      'zero-downtime deployments',
      pct(r.zero_downtime_rate),
      '100 %',
      r.zero_downtime_rate === null ? null : r.zero_downtime_rate >= TARGETS.zero_downtime_rate,
    ],
    [
      'incidents per deployment',
      pct(r.incidents_per_deployment),
      '< 1 %',
      r.incidents_per_deployment === null ? null : r.incidents_per_deployment < TARGETS.incidents_per_deployment,
    ],
    ['deployments per week', r.releases_per_week.toFixed(1), '', null],
  ];
  const w = Math.max(...rows.map((x) => x[0].length));
  const v = Math.max(...rows.map((x) => x[1].length));
  const others = r.releases - r.deployments;
  return [
    `QUAD report · ${r.service ?? 'all services'} · last ${span} · ${r.deployments} deployment${r.deployments === 1 ? '' : 's'}` +
      (others ? ` (${others} more moved no traffic or still run)` : ''),
    `  ${'metric'.padEnd(w)}  ${'value'.padEnd(v)}  target   `,
    ...rows.map(([name, value, target, ok]) => `  ${name.padEnd(w)}  ${value.padEnd(v)}  ${target.padEnd(7)}  ${mark(ok)}`.trimEnd()),
    ...r.rollbacks.map(
      (x) =>
        `  rolled back ${x.version} at ${x.max_traffic_percent} %${x.by ? ` by ${x.by}` : ''}: detected in ${secs(x.detect_s)}, rolled back in ${secs(x.rollback_s)}`,
    ),
  ];
}

/** `30d`, `12h`, `2w` → ms. */
export function parseSince(s: string): number {
  const m = /^(\d{1,4})([hdw])$/.exec(s);
  if (!m) throw new InputError(`--since takes a span like 30d, 12h or 2w, not ${JSON.stringify(s)}`);
  return Number(m[1]) * { h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'h' | 'd' | 'w'];
}
