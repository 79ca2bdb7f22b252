// Upgrading QUAD itself: makes a new worker version current only after the namespace's recent and
// running releases replay on its workflow code without a nondeterminism error. Releases already running
// stay pinned to the version they started on either way; the replay is the gate for the code itself.
//   npm run worker:promote [-- --build-id <id>]   (default: the build ID of this checkout's workflow code)
import { Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load';
import { connectClient } from '../temporal/connection';
import { buildIdOf, currentVersion, setCurrentVersion } from '../temporal/versioning';
import { workflowBundle } from './main';

export interface PromoteReport {
  replayed: number;
  failed: { workflowId: string; error: string }[];
  promoted: boolean;
  previous: string | null;
}

/** Replays up to `limit` releases (running first, then the most recent) on `bundleCode`; promotes only if every one replays. */
export async function promoteVersion(
  client: Client,
  o: { namespace: string; deploymentName: string; buildId: string; bundleCode: string; limit?: number },
): Promise<PromoteReport> {
  const ids: { workflowId: string; runId: string }[] = [];
  for (const query of ['QuadService IS NOT NULL AND ExecutionStatus = "Running"', 'QuadService IS NOT NULL AND ExecutionStatus != "Running"']) {
    for await (const wf of client.workflow.list({ query, pageSize: 100 })) {
      if (ids.length >= (o.limit ?? 200)) break;
      ids.push({ workflowId: wf.workflowId, runId: wf.runId });
    }
  }
  const histories = await Promise.all(
    ids.map(async (id) => ({ workflowId: id.workflowId, history: await client.workflow.getHandle(id.workflowId, id.runId).fetchHistory() })),
  );
  const failed: PromoteReport['failed'] = [];
  let i = 0;
  for await (const r of Worker.runReplayHistories({ workflowBundle: { code: o.bundleCode }, replayName: `quad-promote-${o.buildId}` }, histories)) {
    if (r.error) failed.push({ workflowId: histories[i].workflowId, error: r.error.message.slice(0, 300) });
    i++;
  }
  const previous = await currentVersion(client, o.namespace, o.deploymentName).catch(() => null);
  if (failed.length > 0) return { replayed: histories.length, failed, promoted: false, previous };
  await setCurrentVersion(client, o.namespace, o.deploymentName, o.buildId);
  return { replayed: histories.length, failed, promoted: true, previous };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'build-id': { type: 'string' }, limit: { type: 'string' } } });
  const cfg = loadConfig();
  const deployment = cfg.temporal.worker_deployment;
  if (!deployment) {
    process.stderr.write('quad: temporal.worker_deployment is not configured: workers are unversioned, there is no version to promote\n');
    return 2;
  }
  const bundle = await workflowBundle();
  const buildId = values['build-id'] ?? buildIdOf(process.env, bundle.code);
  const { client, settings, close } = await connectClient(cfg);
  try {
    const r = await promoteVersion(client, {
      namespace: settings.namespace,
      deploymentName: deployment.name,
      buildId,
      bundleCode: bundle.code,
      ...(values.limit ? { limit: Number(values.limit) } : {}),
    });
    for (const f of r.failed) process.stderr.write(`quad: ${f.workflowId} does not replay on ${buildId}: ${f.error}\n`);
    if (!r.promoted) {
      process.stderr.write(
        `quad: ${buildId} not promoted: ${r.failed.length} of ${r.replayed} releases do not replay on its code; put the change behind patched()\n`,
      );
      return 1;
    }
    process.stdout.write(
      `${r.replayed} releases replay on ${buildId}; it is now the current version of ${deployment.name} (was ${r.previous ?? 'none'}). Running releases stay on their own version.\n`,
    );
    return 0;
  } finally {
    await close();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`quad: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
