// Worker Versioning: a worker joins its worker deployment with a build ID, releases are pinned to the
// version they started on, and a new version takes new releases only once it is made current — after
// the recorded and recent histories replay on its code (worker/promote.ts). The TS client has no
// deployment API yet, so the current version is set through the workflow service.
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';

const BUILD_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** The build ID a worker runs as: QUAD_BUILD_ID, else one derived from the workflow code itself. */
export function buildIdOf(env: NodeJS.ProcessEnv, bundleCode: string): string {
  const given = env.QUAD_BUILD_ID;
  if (given !== undefined) {
    if (!BUILD_ID.test(given)) throw new Error(`QUAD_BUILD_ID ${JSON.stringify(given.slice(0, 40))} is not a build ID (letters, digits and ._-)`);
    return given;
  }
  // the same workflow code is the same version: a restart joins its own version, a change makes a new one
  return `wf-${createHash('sha256').update(bundleCode).digest('hex').slice(0, 12)}`;
}

/** What Worker.create takes: pinned by default, so a release never moves to code it did not start on. */
export function workerDeploymentOptions(deploymentName: string, buildId: string) {
  return { useWorkerVersioning: true as const, version: { deploymentName, buildId }, defaultVersioningBehavior: 'PINNED' as const };
}

/**
 * Makes `buildId` the deployment's current version: new releases start on it. A version is known to the
 * server only after one of its workers polled, so this retries for up to `waitMs`.
 */
export async function setCurrentVersion(client: Client, namespace: string, deploymentName: string, buildId: string, waitMs = 30_000): Promise<void> {
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      await client.workflowService.setWorkerDeploymentCurrentVersion({ namespace, deploymentName, buildId, identity: 'quad' });
      return;
    } catch (err) {
      if (Date.now() > until) throw new Error(`could not make ${deploymentName} ${buildId} current: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** The deployment's current build ID, or null when none is set. */
export async function currentVersion(client: Client, namespace: string, deploymentName: string): Promise<string | null> {
  const d = await client.workflowService.describeWorkerDeployment({ namespace, deploymentName });
  return d.workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId || null;
}

/** The version a release runs on, and whether it is pinned there. */
export async function versionOfRun(client: Client, workflowId: string): Promise<{ buildId: string | null; pinned: boolean }> {
  const d = await client.workflow.getHandle(workflowId).describe();
  const v = d.raw.workflowExecutionInfo?.versioningInfo;
  // VersioningBehavior: 1 = PINNED, 2 = AUTO_UPGRADE
  return { buildId: v?.deploymentVersion?.buildId || null, pinned: Number(v?.behavior) === 1 };
}
