// A release train: several services released in a declared order under one parent (e.g. api before web),
// each its own child release under its real ID `release:<service>` — so a train and a manual release of
// the same service never overlap: the server refuses the second. Each child is a whole release (gates,
// approvals, stages, bake), steered as any other. A failure stops the train there (the failed release
// has undone itself); on_failure rollback then releases each service already done back to its previous
// version, newest first, as a release of its own (the previous version was retired after its bake, so
// going back is a rollout, not a switch); stop keeps them.
import * as wf from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { ReleaseInput } from '../contract/plan';
import type { ReleaseResult } from '../contract/messages';
import { startSearchAttributes } from '../contract/search-attributes';
import { releaseWorkflow } from './release';
import { trainStatusQuery, type TrainInput, type TrainStatus } from '../contract/train';

async function release(input: ReleaseInput, why: string): Promise<{ result: ReleaseResult | null; refused: string | null }> {
  const { request } = input;
  try {
    const result = await wf.executeChild(releaseWorkflow, {
      workflowId: `release:${request.service}`,
      args: [input],
      // the train gone (terminated), a release in flight undoes itself
      parentClosePolicy: 'REQUEST_CANCEL',
      staticSummary: `${request.service} ${request.version} · ${why}`,
      typedSearchAttributes: startSearchAttributes(request),
    });
    return { result, refused: null };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      return { result: null, refused: `${request.service} is already releasing (release:${request.service})` };
    throw err;
  }
}

export async function releaseTrainWorkflow(input: TrainInput): Promise<TrainStatus> {
  const status: TrainStatus = {
    train: input.train,
    status: 'running',
    reason: null,
    steps: input.steps.map((s) => ({
      service: s.plan.service,
      version: s.plan.version,
      workflowId: `release:${s.plan.service}`,
      status: 'waiting',
      reason: null,
      previousVersion: null,
    })),
  };
  wf.setHandler(trainStatusQuery, () => status);
  let failedAt = -1;
  for (const [i, step] of input.steps.entries()) {
    const s = status.steps[i];
    s.status = 'running';
    const { result, refused } = await release(step, `train ${input.train}, ${i + 1} of ${input.steps.length}`);
    s.status = refused ? 'refused' : result!.status;
    s.reason = refused ?? result!.reason;
    s.previousVersion = result?.previousVersion ?? null;
    if (s.status !== 'succeeded') {
      failedAt = i;
      break;
    }
  }
  if (failedAt < 0) {
    status.status = 'succeeded';
    return status;
  }
  const failed = status.steps[failedAt];
  status.steps.slice(failedAt + 1).forEach((s) => (s.status = 'skipped'));
  status.reason = `${failed.service} ${failed.version} ${failed.status.replace('_', ' ')}: ${failed.reason}`;
  if (input.onFailure === 'stop') {
    const kept = status.steps.slice(0, failedAt).map((s) => `${s.service} ${s.version}`);
    status.status = 'failed';
    status.reason += `; stopped there (on_failure: stop)${kept.length ? `, kept ${kept.join(', ')}` : ''}`;
    return status;
  }
  // newest first: a later service may depend on the one before it
  for (let i = failedAt - 1; i >= 0; i--) {
    const s = status.steps[i];
    if (!s.previousVersion) {
      s.back = null;
      continue;
    }
    const { plan, request } = input.steps[i];
    const back: ReleaseInput = {
      request: { ...request, version: s.previousVersion, reason: `train ${input.train}: back to ${s.previousVersion} after ${status.reason}`.slice(0, 500) },
      plan: {
        ...plan,
        version: s.previousVersion,
        previousVersion: s.version,
        // the version it goes back to ran before; its gates, approvals and changes were for the new one
        gates: [],
        approvalRequired: false,
        stages: plan.stages.map((st) => ({ ...st, approval: false })),
        changes: undefined,
      },
    };
    const { result, refused } = await release(back, `train ${input.train}: back to ${s.previousVersion}`);
    s.back = refused ? 'refused' : result!.status;
  }
  const undone = status.steps.slice(0, failedAt).filter((s) => s.previousVersion);
  status.status = undone.every((s) => s.back === 'succeeded') ? 'rolled_back' : 'failed';
  status.reason += `; on_failure rollback: ${undone.map((s) => `${s.service} back to ${s.previousVersion} (${s.back})`).join(', ') || 'nothing was done before it'}`;
  return status;
}
