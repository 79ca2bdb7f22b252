// End to end on Kubernetes: a real kube-apiserver (kwok makes the pods ready, the Gateway API CRDs hold
// the HTTPRoute), the Temporal CLI dev server, and the real worker as a child process
// (`tsx worker/main.ts`) whose config says `deployer: { type: kubernetes }` and whose KUBECONFIG points
// at a counting proxy in front of the API server. kwok's pods serve nothing, so the sandbox plays them:
// the route's weights and the Deployments' image tags, read back with the admin client, are applied to
// the sandbox's router under load, and the guard and judge read the sandbox's metrics.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, Watch, type V1Deployment } from '@kubernetes/client-node';
import { localEnv } from '../support/temporal-env';
import { eventually } from '../support/release-harness';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { startKubernetes, type LocalKubernetes } from '../support/kubernetes';
import { kubeconfigThrough, startCountingProxy, type CountingProxy } from '../support/k8s-access';
import { keepNodeLeased } from '../support/e2e-node-lease';
import { mirrorToSandbox, releaseThroughWorkerCrash, splitOf, withDeployer, type Mirror } from '../support/e2e-deploy';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';

jest.setTimeout(120_000);

const BASE = 'v1.2.2';
const REPO = 'registry.example.test/shop/checkout';
const GW = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' } as const;
const taskQueue = `e2e-k8s-${process.pid}`;

let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let cluster: LocalKubernetes;
let proxy: CountingProxy;
let viaProxy: string;
let dir: ReturnType<typeof tempDir>;
let bundle: string;
let apps: AppsV1Api;
let co: CustomObjectsApi;
let core: CoreV1Api;
let kc: KubeConfig;
const workers: Child[] = [];
const mirrors: Mirror[] = [];
const watches: Array<{ abort(): void }> = [];
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
  kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  apps = kc.makeApiClient(AppsV1Api);
  co = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
}, 180_000);

afterAll(async () => {
  watches.forEach((w) => w.abort());
  lease?.stop();
  await Promise.all(mirrors.map((m) => m.stop()));
  await Promise.all(workers.map((w) => w.stop()));
  await proxy?.stop();
  await sandbox?.stop();
  await cluster?.stop();
  await env?.teardown();
  dir?.remove();
}, 60_000);

const deployment = (name: string, image: string, replicas: number): V1Deployment => ({
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'checkout', track: name } },
    template: { metadata: { labels: { app: 'checkout', track: name } }, spec: { containers: [{ name: 'checkout', image }] } },
  },
});

const tagOf = (d: V1Deployment) => d.spec!.template.spec!.containers[0].image!.split(':').pop()!;

interface RouteChange {
  weights: number[];
  /** the canary Deployment when the route changed: its image tag, replicas and ready replicas */
  canary: { tag: string; replicas: number; ready: number };
}

interface RouteObject {
  metadata: { resourceVersion?: string };
  spec: { rules: Array<{ backendRefs: Array<{ weight: number }> }> };
}

/**
 * Calls `onChange` with the weights of every change of the namespace's HTTPRoute. The client ends a watch
 * after 30 s without an event, so it is started again from the last resourceVersion seen: no change is
 * missed or seen twice.
 */
async function watchRoute(ns: string, onChange: (weights: number[]) => void): Promise<void> {
  let rv: string | undefined;
  let stopped = false;
  let current: AbortController | undefined;
  watches.push({
    abort: () => {
      stopped = true;
      current?.abort();
    },
  });
  const start = async (): Promise<void> => {
    current = await new Watch(kc).watch(
      `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`,
      rv ? { resourceVersion: rv } : {},
      (phase, obj: RouteObject) => {
        rv = obj.metadata?.resourceVersion ?? rv;
        if (phase === 'MODIFIED') onChange(obj.spec.rules[0].backendRefs.map((r) => r.weight));
      },
      () => {
        if (!stopped) start().catch((e: unknown) => console.error(`route watch: ${String(e)}`));
      },
    );
  };
  await start();
}

/**
 * A namespace with the team's manifests (stable at `stable`, 3 replicas; an empty canary; both Services;
 * the HTTPRoute at 100/0), a config releasing into it, the sandbox mirroring it, and a watch recording
 * every change of the route.
 */
async function app(name: string, stable: string, stages: Array<{ traffic_percent: number; duration_minutes?: number }>) {
  const ns = `e2e-${++nsCount}-${process.pid}`;
  await cluster.namespace(ns);
  await apps.createNamespacedDeployment({ namespace: ns, body: deployment('checkout', `${REPO}:${stable}`, 3) });
  await apps.createNamespacedDeployment({ namespace: ns, body: deployment('checkout-canary', `${REPO}:${stable}`, 0) });
  for (const svc of ['checkout', 'checkout-canary']) {
    await core.createNamespacedService({ namespace: ns, body: { metadata: { name: svc }, spec: { selector: { track: svc }, ports: [{ port: 80 }] } } });
  }
  await co.createNamespacedCustomObject({
    ...GW,
    namespace: ns,
    body: {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'checkout' },
      spec: {
        parentRefs: [{ name: 'public' }],
        rules: [
          {
            backendRefs: [
              { name: 'checkout', port: 80, weight: 100 },
              { name: 'checkout-canary', port: 80, weight: 0 },
            ],
          },
        ],
      },
    },
  });
  await eventually(
    () => apps.readNamespacedDeployment({ name: 'checkout', namespace: ns }),
    (d: V1Deployment) => d.status?.readyReplicas === 3,
    30_000,
  );

  const world = async () => {
    const route = await co.getNamespacedCustomObject({ ...GW, namespace: ns, name: 'checkout' });
    const [s, c] = await Promise.all(['checkout', 'checkout-canary'].map((n) => apps.readNamespacedDeployment({ name: n, namespace: ns })));
    return {
      weights: (route.spec.rules[0].backendRefs as Array<{ weight: number }>).map((r) => r.weight),
      stable: { tag: tagOf(s), replicas: s.spec!.replicas ?? 0, ready: s.status?.readyReplicas ?? 0 },
      canary: { tag: tagOf(c), replicas: c.spec!.replicas ?? 0, ready: c.status?.readyReplicas ?? 0 },
    };
  };
  const mirror = mirrorToSandbox(sandbox.url, 'checkout', async () => {
    const w = await world();
    return splitOf(w.stable.tag, w.canary.tag, w.weights[1]);
  });
  mirrors.push(mirror);

  // every change of the route, as the API server stored it, with the canary as it was then
  const changes: RouteChange[] = [];
  await watchRoute(ns, (weights) => {
    const entry: RouteChange = { weights, canary: { tag: '', replicas: -1, ready: -1 } };
    changes.push(entry);
    void apps.readNamespacedDeployment({ name: 'checkout-canary', namespace: ns }).then((c) => {
      entry.canary = { tag: tagOf(c), replicas: c.spec!.replicas ?? 0, ready: c.status?.readyReplicas ?? 0 };
    });
    void mirror.sync();
  });

  const sub = join(dir.path, name);
  mkdirSync(sub);
  const cfg = withDeployer(
    writeStackConfig(sub, { sandboxUrl: sandbox.url, address: env.address, taskQueue, pollIntervalS: 1, minRequests: 20, stages, dataDir: sub }),
    { type: 'kubernetes', namespace: ns, image: REPO, container: 'checkout' },
    { version_pattern: 'image-tag' },
  );
  /** PATCH requests the worker sent through the proxy to this namespace, by object */
  const patches = () =>
    proxy
      .requests()
      .filter((r) => r.startsWith('PATCH ') && r.includes(`/namespaces/${ns}/`))
      .map((r) => r.split('/').slice(-2).join('/'));
  return { ns, cfg, world, changes, patches };
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
