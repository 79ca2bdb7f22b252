// The worker: loads and validates config, builds providers from it, runs the Temporal Worker with the
// release workflow. Scale out by starting more of these on the same task queue. SIGINT/SIGTERM drain it:
// running activities finish or are picked up again by another worker.
import { NativeConnection, Worker, bundleWorkflowCode, Runtime, DefaultLogger } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { join, resolve } from 'node:path';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { loadConfig } from '../config/load';
import { ConfigError } from '../config/errors';
import { temporalSettings, connectionOptions } from '../temporal/connection';
import { buildIdOf, workerDeploymentOptions } from '../temporal/versioning';
import { buildProviders } from '../activities/providers/factory';
import { checkDeployers, createActivities } from '../activities';
import { statusQuery } from '../contract/messages';
import type { QuadConfig } from '../config/schema';
import { workerTuning } from './tuning';

const ROOT = resolve(__dirname, '..');

export interface WorkerHandle {
  worker: Worker;
  run: Promise<void>;
  shutdown: () => Promise<void>;
}

/** The newest file under `dir`, subfolders included (a folder's own mtime does not change when a file in it is edited). */
function newestIn(dir: string): number {
  return Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newestIn(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)),
  );
}

/** Newer than every source the workflow bundle holds: a stale bundle would replay old code against new histories. */
function fresh(bundle: string): boolean {
  if (!existsSync(bundle)) return false;
  const newest = Math.max(...['workflows', 'contract', 'judge'].map((d) => newestIn(join(ROOT, d))));
  return statSync(bundle).mtimeMs > newest;
}

/** A prebuilt bundle (npm run build:workflows) starts a worker in milliseconds; without one we bundle now. */
export async function workflowBundle(): Promise<{ code: string }> {
  const prebuilt = process.env.QUAD_WORKFLOW_BUNDLE ?? join(ROOT, '.data', 'workflow-bundle.js');
  if (process.env.QUAD_WORKFLOW_BUNDLE || fresh(prebuilt)) return { code: readFileSync(prebuilt, 'utf8') };
  return bundleWorkflowCode({ workflowsPath: join(ROOT, 'workflows', 'index.ts'), logger: new DefaultLogger('WARN') });
}

export async function startWorker(cfg: QuadConfig, env: NodeJS.ProcessEnv = process.env): Promise<WorkerHandle> {
  const settings = temporalSettings(cfg, env);
  const connection = await NativeConnection.connect(connectionOptions(settings));
  const clientConnection = await Connection.connect(connectionOptions(settings));
  const client = new Client({ connection: clientConnection, namespace: settings.namespace });
  const providers = buildProviders(cfg, {
    root: env.QUAD_ROOT ?? process.cwd(),
    env,
    statusOf: (id) => client.workflow.getHandle(id).query(statusQuery),
  });
  const bundle = await workflowBundle();
  const deployment = cfg.temporal.worker_deployment;
  const worker = await Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    workflowBundle: bundle,
    activities: createActivities(providers),
    // slots for long-running guards and a burst of releases (worker/tuning.ts)
    ...workerTuning(env),
    ...(deployment ? { workerDeploymentOptions: workerDeploymentOptions(deployment.name, buildIdOf(env, bundle.code)) } : {}),
  });
  const run = worker.run().finally(async () => {
    await clientConnection.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
  });
  return { worker, run, shutdown: async () => (worker.shutdown(), run) };
}

async function main() {
  Runtime.install({ logger: new DefaultLogger((process.env.QUAD_LOG_LEVEL as 'INFO') ?? 'INFO') });
  let cfg: QuadConfig;
  try {
    cfg = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n');
      process.exit(2);
    }
    throw err;
  }
  const { worker, run } = await startWorker(cfg);
  const s = temporalSettings(cfg);
  const version = worker.options.workerDeploymentOptions?.version;
  process.stdout.write(
    `[quad] worker ${process.pid} on ${s.address} namespace ${s.namespace} task queue ${s.taskQueue}${version ? ` deployment ${version.deploymentName} build ${version.buildId}` : ''} (state ${worker.getState()})\n`,
  );
  // The deployers' own checks, at start: a missing permission shows here, not halfway through a release.
  const reports = await checkDeployers(buildProviders(cfg, { root: process.env.QUAD_ROOT ?? process.cwd() }), Object.keys(cfg.services));
  for (const r of reports)
    for (const c of r.checks) process.stdout.write(`[quad] ${c.ok ? 'ok' : 'CHECK FAILED'} ${r.service} (${r.deployer}): ${c.name}: ${c.detail}\n`);
  await run; // Runtime's default shutdown signals (SIGINT, SIGTERM) drain the worker and resolve this
  process.stdout.write('[quad] worker stopped\n');
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`[quad] worker failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
