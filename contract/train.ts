// A release train's input and status, shared by the train workflow and its clients.
import { defineQuery } from '@temporalio/workflow';
import type { ReleaseInput } from './plan';
import type { ReleaseResult } from './messages';

export interface TrainInput {
  train: string;
  requestedBy: string;
  /** in order; each a release as resolved from config */
  steps: ReleaseInput[];
  onFailure: 'rollback' | 'stop';
}

export interface TrainStep {
  service: string;
  version: string;
  workflowId: string;
  status: 'waiting' | 'running' | ReleaseResult['status'] | 'refused' | 'skipped';
  reason: string | null;
  /** what served before, as the release found it (a rollback releases it again) */
  previousVersion: string | null;
  /** on_failure rollback: how going back to the previous version ended */
  back?: ReleaseResult['status'] | 'refused' | null;
}

export interface TrainStatus {
  train: string;
  status: 'running' | 'succeeded' | 'failed' | 'rolled_back';
  steps: TrainStep[];
  reason: string | null;
}

export const trainStatusQuery = defineQuery<TrainStatus>('trainStatus');
