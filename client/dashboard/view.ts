// What the dashboard shows of a release, from its status query: the same fields for the HTML page and the
// JSON the page polls. Every text is bounded here; it is escaped where it is written (render.ts, or
// textContent in the page's script).
import type { ReleaseStatus } from '../../contract/messages';
import { commandStage } from '../../contract/command-signature';

const TEXT_MAX = 300;
const TIMELINE_MAX = 200;
const bound = (s: string | null | undefined, max = TEXT_MAX) => (s ?? '').slice(0, max);

export interface ReleaseView {
  workflowId: string;
  service: string;
  version: string;
  previousVersion: string;
  strategy: string;
  requestedBy: string;
  startedAt: number;
  status: string;
  phase: string;
  /** "canary 25 % (stage 1/2)", "awaiting approval for 100 %", "paused: …" */
  stage: string;
  trafficPercent: number;
  verdict: string;
  verdictExplanation: string;
  /** the gate an Approve would open now, if one waits */
  awaitingApproval: string | null;
  paused: boolean;
  /** what the page's buttons carry: the gate or stage the person saw (commandStage) */
  shownStage: string;
  running: boolean;
  actionRequired: string;
  timeline: Array<{ at: number; event: string; by: string; detail: string }>;
  /** each verdict, breach and decision, with its explanation */
  verdicts: Array<{ at: number; event: string; detail: string }>;
}

const VERDICT_EVENT = /^(verdict |breach|rolling back|judge)/;

export function stageText(s: ReleaseStatus): string {
  if (s.status !== 'running') return s.status.replace('_', ' ');
  if (s.paused) return `paused${s.pauseReason ? `: ${s.pauseReason}` : ''}`;
  if (s.awaitingApproval) return `awaiting approval for ${s.awaitingApproval}`;
  const where = s.stage ?? s.phase.replace('_', ' ');
  return s.stageCount > 0 && s.stage ? `${where} (stage ${s.stageIndex + 1}/${s.stageCount})` : where;
}

export function releaseView(workflowId: string, s: ReleaseStatus): ReleaseView {
  const timeline = s.timeline.slice(-TIMELINE_MAX).map((e) => ({ at: e.at, event: bound(e.event, 80), by: bound(e.by, 80), detail: bound(e.detail) }));
  return {
    workflowId,
    service: bound(s.service, 100),
    version: bound(s.version, 128),
    previousVersion: bound(s.previousVersion, 128),
    strategy: bound(s.strategy, 40),
    requestedBy: bound(s.requestedBy, 80),
    startedAt: s.startedAt,
    status: s.status,
    phase: s.phase,
    stage: bound(stageText(s)),
    trafficPercent: s.trafficPercent,
    verdict: s.lastVerdict?.verdict ?? '',
    verdictExplanation: bound(s.lastVerdict?.explanation, 1000),
    awaitingApproval: s.awaitingApproval ? bound(s.awaitingApproval, 80) : null,
    paused: s.paused,
    shownStage: bound(commandStage(s), 80),
    running: s.status === 'running',
    actionRequired: bound(s.actionRequired, 1000),
    timeline,
    verdicts: timeline.filter((e) => VERDICT_EVENT.test(e.event)).map(({ at, event, detail }) => ({ at, event, detail })),
  };
}

/** One row of the releases list: the search attributes, and the live status where one could be read. */
export interface ReleaseRow {
  workflowId: string;
  service: string;
  version: string;
  strategy: string;
  status: string;
  stage: string;
  trafficPercent: number | null;
  verdict: string;
  requestedBy: string;
  startedAt: number;
}
