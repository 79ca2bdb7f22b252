// Upgrading QUAD while releases run, on the dev server with Worker Versioning: a release pinned to the
// version it started on finishes on it while a new version takes new releases; with its version's
// workers gone it waits (no error, no move to new code) until one returns. The new version becomes
// current only through the replay gate (worker/promote.ts), which refuses code the running releases
// do not replay on.
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localEnv } from '../support/temporal-env';
import { stubActivities } from '../support/stub-activities';
import { eventually, repoConfig, workflowBundle } from '../support/release-harness';
import { testSigners } from '../support/test-signers';
import { ROOT } from '../support/temporal-servers';
import { resolveRelease } from '../../config/resolve';
import { configSchema } from '../../config/schema';
import { Releases } from '../../client/releases';
import { statusQuery } from '../../contract/messages';
import { setCurrentVersion, versionOfRun, workerDeploymentOptions } from '../../temporal/versioning';
import { promoteVersion } from '../../worker/promote';

let env: TestWorkflowEnvironment;
let code: string;
beforeAll(async () => {
  [env, { code }] = await Promise.all([localEnv(), workflowBundle()]);
}, 120_000);
afterAll(() => env?.teardown());

const DEPLOYMENT = `quad-${process.pid}`;
const taskQueue = `versioned-${process.pid}`;
const signers = testSigners();
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

async function versionedWorker(buildId: string, bundleCode = code) {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowBundle: { code: bundleCode },
    activities: stubActivities({}).acts,
    workerDeploymentOptions: workerDeploymentOptions(DEPLOYMENT, buildId),
  });
  const running = worker.run();
  return { stop: async () => (worker.shutdown(), running) };
}

function plan(service: string, windowS: number) {
  const cfg = configSchema.parse({
    release_managers: ['ana'],
    deployments: { bake_minutes: 0 },
    services: {
      [service]: {
        approvers: ['ana'],
        poll_interval_seconds: 1,
        rollout_plan: [{ traffic_percent: 10, duration_minutes: windowS / 60 }, { traffic_percent: 100 }],
      },
    },
  });
  const input = resolveRelease(cfg, { service, version: 'v2.0.0', requestedBy: 'ana', source: 'cli' });
  return { request: input.request, plan: { ...input.plan, commandAuth: signers.auth } };
}

test('a release pinned to v1 finishes on v1 while v2 takes new releases; without v1 workers it waits; v2 became current only through the replay gate', async () => {
  const releases = new Releases(env.client, repoConfig(), taskQueue);
  const v1 = await versionedWorker('v1');
  await setCurrentVersion(env.client, 'default', DEPLOYMENT, 'v1');

  const a = await releases.start(plan(`pinned${process.pid}`, 6));
  await eventually(
    () => env.client.workflow.getHandle(a.workflowId).query(statusQuery),
    (s) => s.windowEndsAt !== null,
    20_000,
  );
  expect(await versionOfRun(env.client, a.workflowId)).toEqual({ buildId: 'v1', pinned: true });

  // v2: the same workflow code here (a real upgrade changes it; the gate below is what stops a bad one)
  const v2 = await versionedWorker('v2');
  const gate = await promoteVersion(env.client, { namespace: 'default', deploymentName: DEPLOYMENT, buildId: 'v2', bundleCode: code });
  expect(gate).toMatchObject({ promoted: true, failed: [], previous: 'v1' });
  expect(gate.replayed).toBeGreaterThanOrEqual(1);
  console.log(`replay gate: ${gate.replayed} releases replayed on v2, promoted`);

  // v1's workers gone: A is left waiting, not moved to v2
  await v1.stop();
  const b = await releases.start(plan(`new${process.pid}`, 1));
  expect((await env.client.workflow.getHandle(b.workflowId).result()).status).toBe('succeeded');
  expect(await versionOfRun(env.client, b.workflowId)).toEqual({ buildId: 'v2', pinned: true });
  await new Promise((r) => setTimeout(r, 7_000)); // A's window has ended by now
  expect((await env.client.workflow.getHandle(a.workflowId).describe()).status.name).toBe('RUNNING');
  expect(await versionOfRun(env.client, a.workflowId)).toEqual({ buildId: 'v1', pinned: true });

  // a v1 worker returns: A finishes on it
  const v1again = await versionedWorker('v1');
  const result = await env.client.workflow.getHandle(a.workflowId).result();
  expect(result).toMatchObject({ status: 'succeeded', trafficPercent: 100 });
  expect(await versionOfRun(env.client, a.workflowId)).toEqual({ buildId: 'v1', pinned: true });
  await v1again.stop();
  await v2.stop();
}, 180_000);

test('the gate refuses a version whose code the releases do not replay on, and leaves the current version as it was', async () => {
  // a "new version" whose release workflow issues other commands than the recorded ones
  const dir = join(ROOT, '.data', 'versioning-bad');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'index.ts'),
    "import { sleep } from '@temporalio/workflow';\nexport async function releaseWorkflow() {\n  await sleep('1 day');\n}\n",
  );
  const bad = await bundleWorkflowCode({ workflowsPath: join(dir, 'index.ts'), logger: quiet });
  const v3 = await versionedWorker('v3', bad.code);
  const gate = await promoteVersion(env.client, { namespace: 'default', deploymentName: DEPLOYMENT, buildId: 'v3', bundleCode: bad.code });
  expect(gate.promoted).toBe(false);
  expect(gate.failed.length).toBe(gate.replayed);
  expect(gate.failed[0].error).toMatch(/[Nn]ondeterminism|determinism/);
  expect(gate.previous).toBe('v2');
  await v3.stop();
}, 120_000);
