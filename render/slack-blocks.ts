// The one Block Kit message a release has in the channel, rendered from a notice (what the workflow just
// said) and, when known, its status (phase, traffic, the last verdict's findings). Pure: the Slack
// notifier and the Slack app both render through here, so the message looks the same whoever updates it.
import type { Notice, NoticeKind } from '../contract/notice';
import type { ReleaseStatus, Phase } from '../contract/messages';
import type { Verdict } from '../contract/verdict';
import { commandStage } from '../contract/command-signature';

/** What the message shows, whichever source it came from. */
export interface ReleaseView {
  releaseId: string;
  service: string;
  version: string;
  previousVersion: string | null;
  strategy: string;
  requestedBy: string;
  /** words for the state, e.g. "awaiting approval" */
  state: string;
  running: boolean;
  awaitingApproval: boolean;
  paused: boolean;
  stage: string | null;
  stageIndex: number | null;
  stageCount: number | null;
  trafficPercent: number | null;
  verdict: Verdict | null;
  approvals: { by: string; stage: string }[];
  /** the latest notice's line */
  latest: string | null;
  detail: string | null;
  /** the incident a rollback opened, with the log signatures and the hint it found */
  incident?: string | null;
  url: string | null;
  at: number;
  /** what a person must know to act: why it is paused or held, or which undo step failed */
  attention?: string | null;
  /** the gate or stage this message's Approve and Reject are for: the signed command binds it, so a second click, or one on an older message, opens no later gate */
  commandStage?: string | null;
  /** while baking: when the bake ends and the previous version is retired (epoch ms); a revert is one call until then */
  bakeEndsAt?: number | null;
  /** what the release brings */
  changes?: { summary: string; items: { number: number; title: string; url: string }[]; url: string | null } | null;
  /** by waves: each region's line, in wave order */
  regions?: string[];
}

/** The actions block's id carries the stage its buttons were shown for (`quad_actions|<stage>`). */
export const ACTIONS_BLOCK = 'quad_actions';
export function shownStageOf(blockId: unknown): string | undefined {
  return typeof blockId === 'string' && blockId.startsWith(`${ACTIONS_BLOCK}|`) ? blockId.slice(ACTIONS_BLOCK.length + 1) : undefined;
}

export const ACTION_IDS = {
  approve: 'quad_approve',
  reject: 'quad_reject',
  rollback: 'quad_rollback',
  revert: 'quad_revert',
  pause: 'quad_pause',
  resume: 'quad_resume',
  open: 'quad_open',
} as const;

const PHASE_WORDS: Record<Phase, string> = {
  planning: 'planning',
  validating: 'checking gates',
  waiting_window: 'waiting for the release window',
  waiting_service: 'waiting for the service to be free',
  awaiting_approval: 'awaiting approval',
  dependencies: 'running dependencies',
  rolling_out: 'rolling out',
  paused: 'paused',
  post_checks: 'post-deploy checks',
  baking: 'baking',
  rolling_back: 'rolling back',
  succeeded: 'succeeded',
  rolled_back: 'rolled back',
  failed: 'failed',
  rejected: 'rejected',
  cancelled: 'cancelled',
  rollback_failed: 'rollback failed: act by hand',
};

const KIND_WORDS: Record<NoticeKind, string> = {
  started: 'started',
  awaiting_approval: 'awaiting approval',
  approved: 'approved',
  rejected: 'rejected',
  stage_started: 'rolling out',
  stage_passed: 'rolling out',
  paused: 'paused',
  resumed: 'rolling out',
  baking: 'baking',
  breach: 'guardrail breached',
  rolling_back: 'rolling back',
  rolled_back: 'rolled back',
  succeeded: 'succeeded',
  failed: 'failed',
  rollback_failed: 'rollback failed: act by hand',
};

const ENDED: NoticeKind[] = ['rejected', 'rolled_back', 'succeeded', 'failed', 'rolling_back', 'rollback_failed'];

const STATE_ICON: Record<string, string> = {
  succeeded: ':white_check_mark:',
  'rolled back': ':rewind:',
  'rolling back': ':rewind:',
  failed: ':x:',
  rejected: ':no_entry:',
  cancelled: ':no_entry:',
  'rollback failed: act by hand': ':sos:',
  'awaiting approval': ':raised_hand:',
  paused: ':double_vertical_bar:',
  'guardrail breached': ':rotating_light:',
};

export function viewOfStatus(releaseId: string, s: ReleaseStatus, url: string | null = null, latest: string | null = null): ReleaseView {
  return {
    releaseId,
    service: s.service,
    version: s.version,
    previousVersion: s.previousVersion,
    strategy: s.strategy,
    requestedBy: s.requestedBy,
    state: PHASE_WORDS[s.phase] ?? s.phase,
    running: s.status === 'running' && s.phase !== 'rolling_back',
    awaitingApproval: s.phase === 'awaiting_approval',
    paused: s.paused,
    stage: s.stage,
    stageIndex: s.stageIndex >= 0 ? s.stageIndex : null,
    stageCount: s.stageCount,
    trafficPercent: s.trafficPercent,
    verdict: s.lastVerdict,
    approvals: s.approvals.map((a) => ({ by: a.by, stage: a.stage })),
    latest,
    detail: null,
    url,
    at: s.timeline.at(-1)?.at ?? s.startedAt,
    attention: s.actionRequired ?? (s.paused ? (s.pauseReason ?? null) : null),
    commandStage: commandStage(s),
    bakeEndsAt: s.phase === 'baking' ? (s.bakeEndsAt ?? null) : null,
    changes: s.changes ?? null,
    regions: Object.entries(s.regions ?? {})
      .sort(([, a], [, b]) => a.wave - b.wave)
      .map(
        ([name, p]) =>
          `wave ${p.wave} · ${name}: ${p.status === 'waiting' ? 'waiting' : (PHASE_WORDS[p.phase as Phase] ?? p.phase)} · ${p.trafficPercent} % of ${p.maxPercent} %`,
      ),
  };
}

/** From a notice alone, or from the notice plus the workflow's status at that moment (richer). */
export function viewOfNotice(n: Notice, status?: ReleaseStatus | null): ReleaseView {
  if (status) {
    return {
      ...viewOfStatus(n.releaseId, status, n.url ?? null, n.text),
      detail: n.detail ?? null,
      incident: n.incident ?? null,
      at: Math.max(n.at, status.timeline.at(-1)?.at ?? 0),
    };
  }
  return {
    releaseId: n.releaseId,
    service: n.service,
    version: n.version,
    previousVersion: null,
    strategy: n.strategy,
    requestedBy: n.requestedBy,
    state: KIND_WORDS[n.kind] ?? n.kind,
    running: !ENDED.includes(n.kind),
    awaitingApproval: n.kind === 'awaiting_approval',
    paused: n.kind === 'paused',
    stage: n.stage ?? null,
    stageIndex: null,
    stageCount: null,
    trafficPercent: n.trafficPercent ?? null,
    verdict: null,
    approvals: [],
    latest: n.text,
    detail: n.detail ?? null,
    incident: n.incident ?? null,
    url: n.url ?? null,
    at: n.at,
  };
}

/** Slack mrkdwn control characters; text from people (reasons, names) must not become mentions or links. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A Slack user ID becomes a mention, anything else stays plain text. */
export function person(who: string): string {
  return /^[UW][A-Z0-9]{2,}$/.test(who) ? `<@${who}>` : escapeMrkdwn(who);
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function trafficBar(percent: number): string {
  const filled = Math.round(Math.max(0, Math.min(100, percent)) / 10);
  return '▓'.repeat(filled) + '░'.repeat(10 - filled);
}

const FINDING_ICON = { ok: ':large_green_circle:', breach: ':red_circle:', insufficient: ':white_circle:' } as const;

type Block = Record<string, unknown>;

export interface RenderOptions {
  /** buttons on the channel message; off for ephemeral status answers */
  actions?: boolean;
}

/** The message: `text` is the notification / fallback line, `blocks` the Block Kit layout. */
export function releaseBlocks(v: ReleaseView, opts: RenderOptions = {}): { text: string; blocks: Block[] } {
  const icon = STATE_ICON[v.state] ?? ':rocket:';
  const title = `${v.service} ${v.version}`;
  // the notification line is mrkdwn too: a reason someone typed must not become <!channel> there either
  const text = clip(escapeMrkdwn(`${title}: ${v.state}${v.stage ? ` · ${v.stage}` : ''}${v.latest ? ` — ${v.latest}` : ''}`), 3000);
  const blocks: Block[] = [{ type: 'header', text: { type: 'plain_text', text: clip(`${title} · ${v.strategy}`, 150), emoji: true } }];

  const stage = v.stage
    ? `${escapeMrkdwn(v.stage)}${v.stageIndex !== null && v.stageCount ? ` (stage ${v.stageIndex + 1} of ${v.stageCount})` : ''}`
    : 'not started';
  const lines = [`${icon} *${escapeMrkdwn(v.state)}* · ${stage}`];
  if (v.trafficPercent !== null) {
    const prev = v.previousVersion ? ` · ${escapeMrkdwn(v.previousVersion)} on ${100 - v.trafficPercent} %` : '';
    lines.push(`\`${trafficBar(v.trafficPercent)}\` *${v.trafficPercent} %* on ${escapeMrkdwn(v.version)}${prev}`);
  }
  lines.push(
    `Requested by ${person(v.requestedBy)}${v.approvals.length ? ` · approved by ${v.approvals.map((a) => `${person(a.by)} (${escapeMrkdwn(a.stage)})`).join(', ')}` : ''}`,
  );
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(lines.join('\n'), 3000) } });
  if (v.changes) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(changesText(v.changes), 3000) } });
  if (v.regions?.length) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(v.regions.map((r) => `• ${escapeMrkdwn(r)}`).join('\n'), 3000) } });
  if (v.bakeEndsAt) {
    const until = `<!date^${Math.floor(v.bakeEndsAt / 1000)}^{time}|${new Date(v.bakeEndsAt).toISOString()}>`;
    const warm = v.previousVersion ? escapeMrkdwn(v.previousVersion) : 'the previous version';
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `:hourglass_flowing_sand: Baking until ${until}: ${warm} is kept warm, a revert is instant until then` },
    });
  }
  if (v.attention) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`:warning: ${escapeMrkdwn(v.attention)}`, 3000) } });

  if (v.verdict) {
    const findings = v.verdict.findings.slice(0, 8).map((f) => `${FINDING_ICON[f.status]} ${escapeMrkdwn(f.explanation)}`);
    const body = [`*Last verdict: ${v.verdict.verdict}* — ${escapeMrkdwn(v.verdict.explanation)}`, ...findings].join('\n');
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(body, 3000) } });
  } else if (v.detail) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(escapeMrkdwn(v.detail), 3000) } });
  }
  if (v.incident) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`:rotating_light: *Incident* ${escapeMrkdwn(v.incident)}`, 3000) } });

  const context = [
    v.latest ? escapeMrkdwn(clip(v.latest, 1500)) : null,
    `<!date^${Math.floor(v.at / 1000)}^{date_short_pretty} {time_secs}|${new Date(v.at).toISOString()}>`,
  ]
    .filter(Boolean)
    .join(' · ');
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(context, 2000) }] });

  if (opts.actions !== false) {
    const buttons: Block[] = [];
    const button = (actionId: string, label: string, extra: Block = {}) => ({
      type: 'button',
      action_id: actionId,
      text: { type: 'plain_text', text: label },
      value: v.releaseId,
      ...extra,
    });
    if (v.running) {
      buttons.push(button(ACTION_IDS.approve, 'Approve', v.awaitingApproval ? { style: 'primary' } : {}));
      buttons.push(
        button(ACTION_IDS.reject, 'Reject', {
          style: 'danger',
          confirm: confirm('Reject this release?', `${title} will be stopped and everything it changed undone.`, 'Reject'),
        }),
      );
      if (v.bakeEndsAt)
        buttons.push(
          button(ACTION_IDS.revert, 'Revert', {
            style: 'danger',
            confirm: confirm('Revert now?', `All traffic goes back to ${v.previousVersion ?? 'the previous version'}, still warm, in one switch.`, 'Revert'),
          }),
        );
      else
        buttons.push(
          button(ACTION_IDS.rollback, 'Rollback', {
            style: 'danger',
            confirm: confirm('Roll back now?', `Traffic goes back to ${v.previousVersion ?? 'the previous version'} at once.`, 'Roll back'),
          }),
        );
      if (!v.bakeEndsAt) buttons.push(v.paused ? button(ACTION_IDS.resume, 'Resume') : button(ACTION_IDS.pause, 'Pause'));
    }
    if (v.url && /^https?:\/\//.test(v.url))
      buttons.push({ type: 'button', action_id: ACTION_IDS.open, text: { type: 'plain_text', text: 'Open in Temporal' }, url: v.url });
    // block ids are at most 255 characters; stage names are the plan's, far shorter
    const blockId = v.commandStage ? `${ACTIONS_BLOCK}|${v.commandStage.slice(0, 200)}` : ACTIONS_BLOCK;
    if (buttons.length) blocks.push({ type: 'actions', block_id: blockId, elements: buttons });
  }
  return { text, blocks };
}

function confirm(title: string, text: string, ok: string) {
  return {
    title: { type: 'plain_text', text: title },
    text: { type: 'plain_text', text: clip(text, 300) },
    confirm: { type: 'plain_text', text: ok },
    deny: { type: 'plain_text', text: 'Cancel' },
    style: 'danger',
  };
}

/** One line per running release, for `/quad status` without a service. */
export function releaseListText(rows: { workflowId: string; service?: string; version?: string; stage?: string; status?: string; url: string }[]): string {
  if (rows.length === 0) return 'No release is running.';
  return rows
    .map(
      (r) =>
        `• *${escapeMrkdwn(r.service ?? r.workflowId)} ${escapeMrkdwn(r.version ?? '')}* — ${escapeMrkdwn(r.stage ?? '?')} (${escapeMrkdwn(r.status ?? '?')}) · <${r.url}|Temporal>`,
    )
    .join('\n');
}

/** A URL Slack may link: http(s), and none of the characters that end or split its link markup. */
const linkable = (u: string) => /^https?:\/\/[^\s<>|]+$/.test(u);

/** "*Changes:* 2 features, 1 bug fix · <url|#21 Faster cart> …": titles are people's text, escaped */
function changesText(c: NonNullable<ReleaseView['changes']>): string {
  const items = c.items.slice(0, 5).map((i) => {
    const label = escapeMrkdwn(`#${i.number} ${clip(i.title, 80)}`);
    return linkable(i.url) ? `<${i.url}|${label}>` : label;
  });
  const compare = c.url && linkable(c.url) ? ` (<${c.url}|compare>)` : '';
  return `*Changes:* ${escapeMrkdwn(c.summary)}${compare}${items.length ? `\n${items.map((i) => `• ${i}`).join('\n')}` : ''}`;
}
