// `quad config check --live`: the deployers' checks must run where their credentials are, on a worker,
// never in the CLI. This workflow runs them there once and returns the report.
import * as wf from '@temporalio/workflow';
import type { ReleaseActivities } from '../contract/activities';
import type { DeployCheckReport } from '../contract/world';

const acts = wf.proxyActivities<ReleaseActivities>({ startToCloseTimeout: '2m', retry: { maximumAttempts: 1 } });

export async function liveCheckWorkflow(services: string[]): Promise<DeployCheckReport[]> {
  return acts.checkDeployers.executeWithOptions({ summary: `check the deployers of ${services.join(', ')}` }, [services]);
}
