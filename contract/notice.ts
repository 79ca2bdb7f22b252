// What people are told (notices) and what an incident carries: crosses the workflow/activity boundary.
// Serializable and secret-free.

export type NoticeKind =
  | 'started'
  | 'awaiting_approval'
  | 'approved'
  | 'rejected'
  | 'stage_started'
  | 'stage_passed'
  | 'paused'
  | 'resumed'
  | 'baking'
  | 'breach'
  | 'rolling_back'
  | 'rolled_back'
  | 'succeeded'
  | 'failed'
  | 'rollback_failed';

/** Every kind, for renderers and the test that each one is really sent. */
export const NOTICE_KINDS = [
  'started',
  'awaiting_approval',
  'approved',
  'rejected',
  'stage_started',
  'stage_passed',
  'paused',
  'resumed',
  'baking',
  'breach',
  'rolling_back',
  'rolled_back',
  'succeeded',
  'failed',
  'rollback_failed',
] as const satisfies readonly NoticeKind[];
type Missing = Exclude<NoticeKind, (typeof NOTICE_KINDS)[number]>;
/** fails to compile when a kind is added to NoticeKind and not to NOTICE_KINDS */
export const NOTICE_KINDS_COMPLETE: Missing extends never ? true : never = true;

/** What a notifier is told: one release's state at one moment. Secret-free, serializable. */
export interface Notice {
  kind: NoticeKind;
  releaseId: string;
  service: string;
  version: string;
  strategy: string;
  requestedBy: string;
  /** stage label, e.g. "canary 25 %" */
  stage?: string;
  trafficPercent?: number;
  /** one line a person reads */
  text: string;
  /** verdict / breach explanation with numbers */
  detail?: string;
  at: number;
  /** the incident a rollback opened: its ref, top log signatures with counts and the hint (bounded) */
  incident?: string;
  /** link to the release in the Temporal Web UI, when known */
  url?: string;
  /** what this notifier returned for the previous notice of the release (e.g. a Slack message ts) */
  ref?: string;
}

export interface IncidentInput {
  releaseId: string;
  service: string;
  version: string;
  title: string;
  evidence: string;
  rootCauseHint: string;
  at: number;
}
