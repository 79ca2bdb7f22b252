// End to end on Kubernetes: a real kube-apiserver (kwok makes the pods ready, the Gateway API CRDs hold
// the HTTPRoute), the Temporal CLI dev server, and the real worker as a child process
// (`tsx worker/main.ts`) whose config says `deployer: { type: kubernetes }` and whose KUBECONFIG points
// at a counting proxy in front of the API server. kwok's pods serve nothing, so the sandbox plays them:
// the route's weights and the Deployments' image tags, read back with the admin client, are applied to
// the sandbox's router under load, and the guard and judge read the sandbox's metrics.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { startKubernetes, type LocalKubernetes } from '../support/kubernetes';
import { kubeconfigThrough, startCountingProxy, type CountingProxy } from '../support/k8s-access';
import { keepNodeLeased } from '../support/e2e-node-lease';
import { releaseThroughWorkerCrash, withDeployer } from '../support/e2e-deploy';
import { createKubernetesApp, type KubernetesApp } from '../support/k8s-app';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';

jest.setTimeout(120_000);

const BASE = 'v1.2.2';
const taskQueue = `e2e-k8s-${process.pid}`;

let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let cluster: LocalKubernetes;
let proxy: CountingProxy;
let viaProxy: string;
let dir: ReturnType<typeof tempDir>;
let bundle: string;
const workers: Child[] = [];
const apps: KubernetesApp[] = [];
let nsCount = 0;
let lease: { stop(): void } | undefined;

beforeAll(async () => {
  dir = tempDir('quad-e2e-k8s-');
  [env, sandbox, bundle, cluster] = await Promise.all([
    localEnv(),
    startSandboxProcess({ serve: { checkout: BASE }, loadRps: 100, loadMaxS: 900 }),
    bundleFile(dir.path),
    startKubernetes(),
  ]);
  // kwok renews no node Lease: without one the node goes NotReady after 50 s and so do the canary's pods
  lease = await keepNodeLeased(cluster.kubeconfigPath);
  proxy = await startCountingProxy(cluster);
  viaProxy = kubeconfigThrough(cluster, proxy, cluster.adminToken, 'e2e-worker');
}, 180_000);

afterAll(async () => {
  lease?.stop();
  await Promise.all(apps.map((a) => a.stop()));
  await Promise.all(workers.map((w) => w.stop()));
  await proxy?.stop();
  await sandbox?.stop();
  await cluster?.stop();
  await env?.teardown();
  dir?.remove();
}, 60_000);

/** The team's app in a fresh namespace (see k8s-app), and a config releasing into it. */
async function app(name: string, stable: string, stages: Array<{ traffic_percent: number; duration_minutes?: number }>) {
  const ns = `e2e-${++nsCount}-${process.pid}`;
  const k = await createKubernetesApp(cluster, { ns, stable, sandboxUrl: sandbox.url });
  apps.push(k);
  const sub = join(dir.path, name);
  mkdirSync(sub);
  const cfg = withDeployer(
    writeStackConfig(sub, { sandboxUrl: sandbox.url, address: env.address, taskQueue, pollIntervalS: 1, minRequests: 20, stages, dataDir: sub }),
    k.deployer,
    { version_pattern: 'image-tag' },
  );
  /** PATCH requests the worker sent through the proxy to this namespace, by object */
  const patches = () =>
    proxy
      .requests()
      .filter((r) => r.startsWith('PATCH ') && r.includes(`/namespaces/${ns}/`))
      .map((r) => r.split('/').slice(-2).join('/'));
  return { ns, cfg, world: k.world, changes: k.changes, patches };
}

async function worker(configFile: string): Promise<Child> {
  const w = await startWorkerProcess({ configFile, address: env.address, taskQueue, bundle, env: { KUBECONFIG: viaProxy } });
  workers.push(w);
  return w;
}

const releases = (configFile: string) => new Releases(env.client, loadConfig(configFile), taskQueue);
const count = (xs: string[]) => xs.reduce<Record<string, number>>((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {});

test('kubernetes: a release prepares the canary (ready before any traffic moves), shifts 5 → 25 → 100 and promotes', async () => {
  const a = await app('good', BASE, [{ traffic_percent: 5, duration_minutes: 0.2 }, { traffic_percent: 25, duration_minutes: 0.15 }, { traffic_percent: 100 }]);
  const w = await worker(a.cfg);
  const rel = releases(a.cfg);
  await rel.release({ service: 'checkout', version: 'v1.3.0', requestedBy: 'ana', source: 'cli' });
  const result = await rel.result('checkout');
  expect(result).toMatchObject({ status: 'succeeded', version: 'v1.3.0', trafficPercent: 100 });

  // the route moved 5 → 25 → 100, then back to 100/0 once the stable side ran v1.3.0
  expect(a.changes.map((c) => c.weights)).toEqual([
    [95, 5],
    [75, 25],
    [0, 100],
    [100, 0],
  ]);
  // the canary ran v1.3.0 on all 3 replicas, ready, when the first traffic moved to it
  expect(a.changes[0].canary).toEqual({ tag: 'v1.3.0', replicas: 3, ready: 3 });
  // and prepare's write of the canary came before any write of the route
  const p = a.patches();
  expect(p.indexOf('deployments/checkout-canary')).toBeLessThan(p.indexOf('httproutes/checkout'));
  // promoted: the stable side runs v1.3.0, the canary side is empty
  const after = await a.world();
  expect(after.weights).toEqual([100, 0]);
  expect(after.stable).toEqual({ tag: 'v1.3.0', replicas: 3, ready: 3 });
  expect(after.canary.replicas).toBe(0);
  // the judge saw real requests to v1.3.0 in the sandbox that played its pods
  const v = (await sandbox.versions('checkout')).find((x) => x.version === 'v1.3.0')!;
  expect(v.requests).toBeGreaterThan(20);
  console.log(
    `kubernetes good release: route PATCHes ${JSON.stringify(count(p))}; timeline ${(await rel.status('checkout')).timeline.map((e) => e.event).join(' | ')}`,
  );
  await w.stop();
});

test('kubernetes: a bad release is reverted by the guard, the route back at 100 % stable', async () => {
  const a = await app('bad', BASE, [{ traffic_percent: 25, duration_minutes: 0.5 }, { traffic_percent: 100 }]);
  const w = await worker(a.cfg);
  const rel = releases(a.cfg);
  await rel.release({ service: 'checkout', version: 'v1.3.1-bad', requestedBy: 'ana', source: 'cli' });
  const result = await rel.result('checkout');
  expect(result.status).toBe('rolled_back');
  expect(result.reason).toMatch(/error rate/);
  const events = (await rel.status('checkout')).timeline.map((e) => e.event);
  expect(events).toContain('breach');

  expect(a.changes.map((c) => c.weights)).toEqual([
    [75, 25],
    [100, 0],
  ]);
  const after = await a.world();
  expect(after.weights).toEqual([100, 0]);
  expect(after.stable).toEqual({ tag: BASE, replicas: 3, ready: 3 });
  console.log(`kubernetes bad release: PATCHes ${JSON.stringify(count(a.patches()))}; canary after: ${JSON.stringify(after.canary)}`);
  await w.stop();
});

test('kubernetes: kill -9 of the worker mid-stage, a new worker finishes the release with each split PATCHed once', async () => {
  const a = await app('crash', BASE, [{ traffic_percent: 5, duration_minutes: 0.1 }, { traffic_percent: 25, duration_minutes: 0.2 }, { traffic_percent: 100 }]);
  await releaseThroughWorkerCrash(releases(a.cfg), () => worker(a.cfg), 'v1.3.2');

  // each split reached the API server once: one PATCH of the route per distinct weight
  const routeChanges = a.changes.map((c) => c.weights.join('/'));
  expect(routeChanges).toEqual(['95/5', '75/25', '0/100', '100/0']);
  const p = count(a.patches());
  expect(p['httproutes/checkout']).toBe(routeChanges.length);
  const after = await a.world();
  expect(after.stable).toEqual({ tag: 'v1.3.2', replicas: 3, ready: 3 });
  expect(after.canary.replicas).toBe(0);
  console.log(`kubernetes kill -9: route changes ${routeChanges.join(' → ')}; PATCHes ${JSON.stringify(p)}`);
});
