// A team's app on the local Kubernetes control plane, as the kubernetes deployer expects it: in its own
// namespace a stable and a canary Deployment (`checkout`, `checkout-canary`), a Service for each, and an
// HTTPRoute whose two backendRefs carry the split (100/0 at first). kwok's pods serve nothing, so the
// sandbox plays them: the route's weights and the Deployments' image tags, read back with the admin
// client, are applied to the sandbox's router (mirrorToSandbox). A watch records every change of the
// route with the time it was seen. Used by the e2e test, bench:release and the Kubernetes demo.
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, Watch, type V1Deployment } from '@kubernetes/client-node';
import { eventually } from './release-harness';
import { mirrorToSandbox, splitOf, type Mirror } from './e2e-deploy';
import type { LocalKubernetes } from './kubernetes';

export const GATEWAY_ROUTES = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' } as const;
export const IMAGE_REPO = 'registry.example.test/shop/checkout';

export interface RouteChange {
  /** Date.now() when the watch saw it */
  at: number;
  /** [stable, canary] */
  weights: number[];
  /** the canary Deployment when the route changed: its image tag, replicas and ready replicas */
  canary: { tag: string; replicas: number; ready: number };
}

export interface K8sWorld {
  weights: number[];
  stable: { tag: string; replicas: number; ready: number };
  canary: { tag: string; replicas: number; ready: number };
}

export interface KubernetesApp {
  ns: string;
  /** the `deployer:` block of a service releasing into this app */
  deployer: Record<string, unknown>;
  /** the route's weights and both Deployments, read back from the API server */
  world(): Promise<K8sWorld>;
  /** every change of the route, in order */
  changes: RouteChange[];
  /** the sandbox playing the pods (when a sandbox URL was given) */
  mirror: Mirror | null;
  stop(): Promise<void>;
}

interface RouteObject {
  metadata: { resourceVersion?: string };
  spec: { rules: Array<{ backendRefs: Array<{ weight: number }> }> };
}

/** The team's HTTPRoute `checkout`: its one rule's two backendRefs carry the split, 100/0 to begin with. */
export function routeManifest(): Record<string, unknown> {
  return {
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
  };
}

const deployment = (name: string, image: string, replicas: number): V1Deployment => ({
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'checkout', track: name } },
    template: { metadata: { labels: { app: 'checkout', track: name } }, spec: { containers: [{ name: 'checkout', image }] } },
  },
});

const tagOf = (d: V1Deployment) => d.spec!.template.spec!.containers[0].image!.split(':').pop()!;
const side = (d: V1Deployment) => ({ tag: tagOf(d), replicas: d.spec!.replicas ?? 0, ready: d.status?.readyReplicas ?? 0 });

/**
 * Calls `onChange` with the weights of every change of the namespace's HTTPRoute. The client ends a watch
 * after 30 s without an event, so it is started again from the last resourceVersion seen: no change is
 * missed or seen twice.
 */
async function watchRoute(kc: KubeConfig, ns: string, onChange: (weights: number[]) => void): Promise<() => void> {
  let rv: string | undefined;
  let stopped = false;
  let current: AbortController | undefined;
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
  return () => {
    stopped = true;
    current?.abort();
  };
}

/** Creates the app in namespace `ns` with the stable side on `stable` (`replicas` ready) and an empty canary. */
export async function createKubernetesApp(
  cluster: LocalKubernetes,
  opts: { ns: string; stable: string; sandboxUrl?: string; replicas?: number; repo?: string },
): Promise<KubernetesApp> {
  const { ns, stable } = opts;
  const replicas = opts.replicas ?? 3;
  const repo = opts.repo ?? IMAGE_REPO;
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  const apps = kc.makeApiClient(AppsV1Api);
  const co = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);

  await cluster.namespace(ns);
  await apps.createNamespacedDeployment({ namespace: ns, body: deployment('checkout', `${repo}:${stable}`, replicas) });
  await apps.createNamespacedDeployment({ namespace: ns, body: deployment('checkout-canary', `${repo}:${stable}`, 0) });
  for (const svc of ['checkout', 'checkout-canary']) {
    await core.createNamespacedService({ namespace: ns, body: { metadata: { name: svc }, spec: { selector: { track: svc }, ports: [{ port: 80 }] } } });
  }
  await co.createNamespacedCustomObject({ ...GATEWAY_ROUTES, namespace: ns, body: routeManifest() });
  await eventually(
    () => apps.readNamespacedDeployment({ name: 'checkout', namespace: ns }),
    (d: V1Deployment) => d.status?.readyReplicas === replicas,
    30_000,
  );

  const world = async (): Promise<K8sWorld> => {
    const route = await co.getNamespacedCustomObject({ ...GATEWAY_ROUTES, namespace: ns, name: 'checkout' });
    const [s, c] = await Promise.all(['checkout', 'checkout-canary'].map((n) => apps.readNamespacedDeployment({ name: n, namespace: ns })));
    return { weights: (route.spec.rules[0].backendRefs as Array<{ weight: number }>).map((r) => r.weight), stable: side(s), canary: side(c) };
  };
  const mirror = opts.sandboxUrl
    ? mirrorToSandbox(opts.sandboxUrl, 'checkout', async () => {
        const w = await world();
        return splitOf(w.stable.tag, w.canary.tag, w.weights[1]);
      })
    : null;

  // every change of the route, as the API server stored it, with the canary as it was then
  const changes: RouteChange[] = [];
  const stopWatch = await watchRoute(kc, ns, (weights) => {
    const entry: RouteChange = { at: Date.now(), weights, canary: { tag: '', replicas: -1, ready: -1 } };
    changes.push(entry);
    void apps.readNamespacedDeployment({ name: 'checkout-canary', namespace: ns }).then((c) => (entry.canary = side(c)));
    void mirror?.sync();
  });

  return {
    ns,
    deployer: { type: 'kubernetes', namespace: ns, image: repo, container: 'checkout' },
    world,
    changes,
    mirror,
    async stop() {
      stopWatch();
      await mirror?.stop();
    },
  };
}
