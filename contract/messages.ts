// Signals, updates and the query of the release workflow, shared by the workflow and its clients.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Verdict } from './verdict';

export interface Actor {
  by: string;
  reason?: string;
  /**
   * The `group:` approver entry through which a client found `by` allowed. Only the Slack app sets it,
   * after asking Slack for the group's members: the workflow cannot call Slack, so it accepts a group
   * entry that its plan names, and nothing else.
   */
  via?: string;
}

export type Command = 'approve' | 'reject' | 'rollback' | 'pause' | 'resume' | 'promote';
export const COMMANDS: Command[] = ['approve', 'reject', 'rollback', 'pause', 'resume', 'promote'];

export const approveSignal = defineSignal<[Actor]>('approve');
export const rejectSignal = defineSignal<[Actor]>('reject');
export const rollbackSignal = defineSignal<[Actor]>('rollback');
export const pauseSignal = defineSignal<[Actor]>('pause');
export const resumeSignal = defineSignal<[Actor]>('resume');
export const promoteSignal = defineSignal<[Actor]>('promote');

export const SIGNALS = {
  approve: approveSignal,
  reject: rejectSignal,
  rollback: rollbackSignal,
  pause: pauseSignal,
  resume: resumeSignal,
  promote: promoteSignal,
} as const;

/** The same commands as an update, so a caller (Slack button, CLI) learns at once whether it was accepted. */
export interface CommandResult {
  accepted: boolean;
  message: string;
}
export const commandUpdate = defineUpdate<CommandResult, [Command, Actor]>('command');

export type Phase =
  | 'planning' | 'validating' | 'waiting_window' | 'awaiting_approval' | 'dependencies' | 'rolling_out'
  | 'paused' | 'post_checks' | 'rolling_back' | 'succeeded' | 'rolled_back' | 'failed' | 'rejected' | 'cancelled';

export type Status = 'running' | 'succeeded' | 'rolled_back' | 'failed' | 'rejected' | 'cancelled';

export interface TimelineEntry {
  at: number;
  event: string;
  by?: string;
  detail?: string;
}

export interface ReleaseStatus {
  service: string;
  version: string;
  previousVersion: string | null;
  strategy: string;
  requestedBy: string;
  startedAt: number;
  phase: Phase;
  status: Status;
  stageIndex: number;
  stageCount: number;
  stage: string | null;
  trafficPercent: number;
  /** when the current monitoring window ends (epoch ms), while watching */
  windowEndsAt: number | null;
  lastVerdict: Verdict | null;
  approvals: { by: string; at: number; stage: string }[];
  paused: boolean;
  timeline: TimelineEntry[];
}

export const statusQuery = defineQuery<ReleaseStatus>('status');

export interface ReleaseResult {
  status: Status;
  version: string;
  trafficPercent: number;
  reason: string;
  lastVerdict: Verdict | null;
  incident?: string;
}
