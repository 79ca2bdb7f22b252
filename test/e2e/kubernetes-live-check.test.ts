// `quad config check --live` against the real API server: the worker (tsx worker/main.ts) holds a
// ServiceAccount token whose Role lacks `patch` on HTTPRoutes; the CLI (bin/quad, a separate process with
// no Kubernetes credentials at all) asks it to run the deployer's checks and names the missing permission.
// The worker says the same when it starts.
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { ROOT } from '../support/temporal-servers';
import { startWorkerProcess, writeStackConfig, tempDir, bundleFile, type Child } from '../support/stack';
import { startKubernetes, type LocalKubernetes } from '../support/kubernetes';
import { DEPLOYER_ROLE_RULES, limitedKubeconfig } from '../support/k8s-access';
import { createKubernetesApp } from '../support/k8s-app';
import { withDeployer } from '../support/e2e-deploy';

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;
let cluster: LocalKubernetes;
let dir: ReturnType<typeof tempDir>;
let bundle: string;
const workers: Child[] = [];
const taskQueue = `e2e-k8s-live-${process.pid}`;

beforeAll(async () => {
  dir = tempDir('quad-e2e-k8s-live-');
  [env, bundle, cluster] = await Promise.all([localEnv(), bundleFile(dir.path), startKubernetes()]);
}, 180_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await cluster?.stop();
  await env?.teardown();
  dir?.remove();
}, 60_000);

/** The Role README.md documents, with `patch` on httproutes left out when `withoutRoutePatch`. */
const role = (withoutRoutePatch: boolean) =>
  DEPLOYER_ROLE_RULES.map((r) => (withoutRoutePatch && r.resources?.[0] === 'httproutes' ? { ...r, verbs: ['get'] } : r));

function quad(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_TASK_QUEUE: taskQueue };
  delete childEnv.KUBECONFIG;
  return new Promise((resolve) => {
    execFile(join(ROOT, 'bin', 'quad'), args, { cwd: ROOT, env: childEnv, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? Number((err as NodeJS.ErrnoException).code ?? -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function setup(name: string, withoutRoutePatch: boolean) {
  const ns = `live-${name}-${process.pid}`;
  const app = await createKubernetesApp(cluster, { ns, stable: 'v1.2.2' });
  const sa = await limitedKubeconfig(cluster, { namespace: ns, name: 'quad-worker', rules: role(withoutRoutePatch) });
  const sub = join(dir.path, name);
  mkdirSync(sub);
  const cfg = withDeployer(
    writeStackConfig(sub, {
      sandboxUrl: 'http://127.0.0.1:9',
      address: env.address,
      taskQueue,
      pollIntervalS: 1,
      minRequests: 20,
      stages: [{ traffic_percent: 100 }],
      dataDir: sub,
    }),
    app.deployer,
    { version_pattern: 'image-tag' },
  );
  // the worker's identity comes from the default chain, as in production: KUBECONFIG, not the config file
  const worker = await startWorkerProcess({ configFile: cfg, address: env.address, taskQueue, bundle, env: { KUBECONFIG: sa.kubeconfigPath } });
  workers.push(worker);
  await app.stop();
  return { ns, cfg, worker };
}

test('a Role without patch on httproutes: the live check names the permission and exits 1; the worker said so at start', async () => {
  const { ns, cfg, worker } = await setup('no-patch', true);
  const out = await quad(['config', 'check', '--live', '-f', cfg]);
  const lines = out.stdout.split('\n');
  const failing = lines.filter((l) => l.includes('FAIL'));
  console.log(`quad config check --live (exit ${out.code}):\n${out.stdout}${out.stderr}`);
  expect(failing).toEqual([
    expect.stringContaining(
      `FAIL checkout (kubernetes): may patch httproutes.gateway.networking.k8s.io in namespace ${ns}: not allowed: grant verb "patch" on httproutes.gateway.networking.k8s.io in ${ns}`,
    ),
  ]);
  expect(lines).toEqual(expect.arrayContaining([`  ok   checkout (kubernetes): may patch deployments.apps in namespace ${ns}: allowed`]));
  expect(out.code).toBe(1);
  expect(worker.output()).toContain(`CHECK FAILED checkout (kubernetes): may patch httproutes.gateway.networking.k8s.io in namespace ${ns}`);
  // the token never leaves the worker
  expect(out.stdout + out.stderr).not.toMatch(/eyJ[\w-]{20,}/);
  await worker.stop();
});

test('the documented Role: every check passes, exit 0', async () => {
  const { cfg, worker } = await setup('full', false);
  const out = await quad(['config', 'check', '--live', '-f', cfg]);
  expect(out.stdout).not.toContain('FAIL');
  expect(out.stdout).toContain('ok   checkout (kubernetes): reach the API server');
  expect(out.code).toBe(0);
  await worker.stop();
});
