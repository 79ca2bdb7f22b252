// A schedule's firing: Temporal appends the firing time to a scheduled workflow's ID, which would let a
// scheduled release run beside a manual one. So a schedule starts this small workflow, which starts the
// release as a child under the real ID `release:<service>`: the server refuses it while one runs, and the
// firing is recorded as skipped. The child is abandoned, so it lives on after this workflow completes.
import * as wf from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { ReleaseInput } from '../contract/plan';
import { releaseWorkflow } from './release';
import { startSearchAttributes } from '../contract/search-attributes';

export interface ScheduledResult {
  started: boolean;
  workflowId: string;
  message: string;
}

export async function scheduledReleaseWorkflow(input: ReleaseInput): Promise<ScheduledResult> {
  const { request } = input;
  const workflowId = `release:${request.service}`;
  try {
    const child = await wf.startChild(releaseWorkflow, {
      workflowId,
      args: [input],
      parentClosePolicy: 'ABANDON',
      staticSummary: `${request.service} ${request.version} · ${request.strategy} · scheduled by ${request.requestedBy}`,
      typedSearchAttributes: startSearchAttributes(request),
    });
    return { started: true, workflowId, message: `started ${request.service} ${request.version} (run ${child.firstExecutionRunId})` };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      return { started: false, workflowId, message: `skipped: ${request.service} is already releasing (${workflowId})` };
    }
    throw err;
  }
}
