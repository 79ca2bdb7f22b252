// Blue-green end to end on Kubernetes: a real kube-apiserver (kwok makes the pods ready, the Gateway API
// CRDs hold the HTTPRoute), the Temporal CLI dev server and the real worker as a child process whose
// config says `strategy: blue-green` and `deployer: { type: kubernetes }`, its KUBECONFIG through a
// counting proxy. Green is the canary Deployment: prepared and ready while the route stays 100/0 (blue),
// then one switch to 0/100, the bake with blue warm, and a `revert` during it puts 100/0 back in one PATCH.
// kwok's pods serve nothing, so the sandbox plays them (the route and image tags mirrored to its router)
// and no smoke checks are configured: green's in-cluster endpoint is not reachable from the host.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { KubeConfig, Watch, type V1Deployment } from '@kubernetes/client-node';
import { localEnv } from '../support/temporal-env';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { startKubernetes, type LocalKubernetes } from '../support/kubernetes';
import { kubeconfigThrough, startCountingProxy, type CountingProxy } from '../support/k8s-access';
import { keepNodeLeased } from '../support/e2e-node-lease';
import { withDeployer } from '../support/e2e-deploy';
import { trustNewSigner } from '../support/config-signer';
import { createKubernetesApp, IMAGE_REPO, type KubernetesApp } from '../support/k8s-app';
import { KubernetesDeployer } from '../../activities/providers/deployers/kubernetes';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';
import type { ReleaseStatus } from '../../contract/messages';

jest.setTimeout(120_000);

const BASE = 'v1.2.2';
const GREEN = 'v1.3.0';
const taskQueue = `e2e-k8s-bg-${process.pid}`;

let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let cluster: LocalKubernetes;
let proxy: CountingProxy;
let viaProxy: string;
let dir: ReturnType<typeof tempDir>;
let bundle: string;
const workers: Child[] = [];
const apps: KubernetesApp[] = [];
const stops: Array<() => void> = [];
let lease: { stop(): void } | undefined;

beforeAll(async () => {
  dir = tempDir('quad-e2e-k8s-bg-');
  [env, sandbox, bundle, cluster] = await Promise.all([
    localEnv(),
    startSandboxProcess({ serve: { checkout: BASE }, loadRps: 100, loadMaxS: 900 }),
    bundleFile(dir.path),
    startKubernetes(),
  ]);
  // kwok renews no node Lease: without one the node goes NotReady after 50 s and so do the pods
  lease = await keepNodeLeased(cluster.kubeconfigPath);
  proxy = await startCountingProxy(cluster);
  viaProxy = kubeconfigThrough(cluster, proxy, cluster.adminToken, 'e2e-worker');
}, 180_000);

afterAll(async () => {
  stops.forEach((s) => s());
  lease?.stop();
  await Promise.all(apps.map((a) => a.stop()));
  await Promise.all(workers.map((w) => w.stop()));
  await proxy?.stop();
  await sandbox?.stop();
  await cluster?.stop();
  await env?.teardown();
  dir?.remove();
}, 60_000);

interface CanarySeen {
  at: number;
  tag: string;
  ready: number;
  replicas: number;
}

/** Every change of the canary (green) Deployment, as the API server stored it, with the time it was seen. */
async function watchCanary(ns: string): Promise<CanarySeen[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  const seen: CanarySeen[] = [];
  const ctl = await new Watch(kc).watch(
    `/apis/apps/v1/namespaces/${ns}/deployments`,
    { fieldSelector: 'metadata.name=checkout-canary' },
    (_phase, d: V1Deployment) => {
      seen.push({
        at: Date.now(),
        tag: d.spec!.template.spec!.containers[0].image!.split(':').pop()!,
        ready: d.status?.readyReplicas ?? 0,
        replicas: d.spec?.replicas ?? 0,
      });
    },
    () => undefined,
  );
  stops.push(() => ctl.abort());
  return seen;
}

async function statusUntil(rel: Releases, ok: (s: ReleaseStatus) => boolean, what: string, timeoutMs = 60_000): Promise<ReleaseStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await rel.status('checkout');
    if (ok(s)) return s;
    if (s.status !== 'running') throw new Error(`${what}: the release ended ${s.status} (${s.phase}) first`);
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms (phase ${s.phase})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('kubernetes blue-green: green ready with the route still 100/0, one switch to 0/100, and a revert during the bake is one PATCH back to 100/0', async () => {
  const ns = `e2e-bg-${process.pid}`;
  const k = await createKubernetesApp(cluster, { ns, stable: BASE, sandboxUrl: sandbox.url });
  apps.push(k);
  const canarySeen = await watchCanary(ns);
  const sub = join(dir.path, 'blue-green');
  mkdirSync(sub);
  const cfg = withDeployer(
    writeStackConfig(sub, {
      sandboxUrl: sandbox.url,
      address: env.address,
      taskQueue,
      pollIntervalS: 1,
      minRequests: 20,
      strategy: 'blue-green',
      bakeMinutes: 0.2,
      stages: [{ traffic_percent: 100, duration_minutes: 0 }],
      dataDir: sub,
    }),
    k.deployer,
    { version_pattern: 'image-tag' },
  );
  const routePatches = () => proxy.requests().filter((r) => r.startsWith('PATCH ') && r.includes(`/namespaces/${ns}/httproutes/`)).length;
  expect((await k.world()).weights).toEqual([100, 0]);

  // commands are signed: ana's key trusted in the config the worker reads
  const ana = trustNewSigner(cfg, 'ana');
  const w = await startWorkerProcess({ configFile: cfg, address: env.address, taskQueue, bundle, env: { KUBECONFIG: viaProxy } });
  workers.push(w);
  const rel = new Releases(env.client, loadConfig(cfg), taskQueue, ana);
  await rel.release({ service: 'checkout', version: GREEN, requestedBy: 'ana', source: 'cli' });

  const baking = await statusUntil(rel, (s) => s.phase === 'baking', 'the bake');
  expect(baking.trafficPercent).toBe(100);
  // the switch: one change of the route, straight from 100/0 to 0/100
  expect(k.changes.map((c) => c.weights)).toEqual([[0, 100]]);
  let world = await k.world();
  expect(world.weights).toEqual([0, 100]);
  // blue kept warm through the bake
  expect(world.stable).toEqual({ tag: BASE, replicas: 3, ready: 3 });
  expect(world.canary).toEqual({ tag: GREEN, replicas: 3, ready: 3 });
  // green was ready on all 3 replicas before the route changed at all (so while it was still 100/0)
  const greenReady = canarySeen.find((c) => c.tag === GREEN && c.ready === 3);
  expect(greenReady).toBeDefined();
  expect(greenReady!.at).toBeLessThanOrEqual(k.changes[0].at);
  expect(k.changes[0].canary).toEqual({ tag: GREEN, replicas: 3, ready: 3 });
  // green's own endpoint, for smoke checks from inside the cluster
  const admin = new KubernetesDeployer({ service: 'checkout', namespace: ns, image: IMAGE_REPO, container: 'checkout', kubeconfig: cluster.kubeconfigPath });
  expect(await admin.endpoint({ service: 'checkout', version: GREEN, previousVersion: BASE })).toBe(`http://checkout-canary.${ns}.svc.cluster.local:80`);

  // revert during the bake: all users back on blue in one PATCH of the route
  const before = routePatches();
  const t0 = Date.now();
  const answer = await rel.command('checkout', 'revert', 'ana', 'checkout conversions dropped');
  expect(answer).toEqual({ accepted: true, message: expect.stringContaining('reverting') });
  const result = await rel.result('checkout');
  expect(result.status).toBe('rolled_back');
  expect(result.reason).toContain('reverted by ana');
  expect(routePatches() - before).toBe(1);
  expect(k.changes.map((c) => c.weights)).toEqual([
    [0, 100],
    [100, 0],
  ]);
  world = await k.world();
  expect(world.weights).toEqual([100, 0]);
  expect(world.stable).toEqual({ tag: BASE, replicas: 3, ready: 3 });
  // blue was never touched: no PATCH of the stable Deployment
  expect(proxy.requests().filter((r) => r.startsWith('PATCH ') && r.endsWith(`/namespaces/${ns}/deployments/checkout`))).toEqual([]);
  const events = (await rel.status('checkout')).timeline.map((e) => e.event);
  expect(events).toEqual(expect.arrayContaining(['revert requested', 'rolled_back']));
  console.log(
    `kubernetes blue-green: green ready ${k.changes[0].at - greenReady!.at} ms before the switch; revert to 100/0 seen ${k.changes[1].at - t0} ms after the command (undo ${result.undoMs} ms); timeline ${events.join(' | ')}`,
  );
  await w.stop();
});
