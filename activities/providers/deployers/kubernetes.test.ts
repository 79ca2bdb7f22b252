// KubernetesDeployer against a real kube-apiserver 1.36 (etcd, controller-manager, scheduler) with kwok
// making pods ready, and the Gateway API v1.4.1 CRDs: what the deployer leaves is read back with the admin
// client, and the writes it sends are counted by a proxy in front of the API server.
import { ApplicationFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { rootCertificates } from 'node:tls';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { startKubernetes, writeKubeconfig, NEVER_READY_SUFFIX, type LocalKubernetes } from '../../../test/support/kubernetes';
import { DEPLOYER_ROLE_RULES, kubeconfigThrough, limitedKubeconfig, startCountingProxy, type CountingProxy } from '../../../test/support/k8s-access';
import { freePort } from '../../../test/support/net';
import { DEPLOY_NOT_READY, KubernetesDeployer, type KubernetesDeployerOptions } from './kubernetes';
import { routeManifest } from '../../../test/support/k8s-app';

const REPO = 'registry.example.test/shop/checkout';
const GW = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' } as const;
let cluster: LocalKubernetes;
let proxy: CountingProxy;
let viaProxy: string;
let apps: AppsV1Api;
let co: CustomObjectsApi;
let core: CoreV1Api;
let nsCount = 0;

beforeAll(async () => {
  cluster = await startKubernetes();
  console.log(`Kubernetes control plane ready: ${JSON.stringify(cluster.timings)}`);
  proxy = await startCountingProxy(cluster);
  viaProxy = kubeconfigThrough(cluster, proxy, cluster.adminToken);
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  apps = kc.makeApiClient(AppsV1Api);
  co = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await cluster?.stop();
}, 60_000);

const deployment = (name: string, app: string, image: string, replicas: number, progressDeadlineSeconds = 600): V1Deployment => ({
  metadata: { name },
  spec: {
    replicas,
    progressDeadlineSeconds,
    selector: { matchLabels: { app, track: name } },
    template: {
      metadata: { labels: { app, track: name } },
      spec: {
        containers: [
          { name: 'checkout', image },
          { name: 'sidecar', image: 'example.test/proxy:1' },
        ],
      },
    },
  },
});

/** A fresh namespace with the team's manifests: stable at v1 (3 replicas), an empty canary, both Services, the route at 100/0. */
async function app(opts: { canaryDeadlineS?: number } = {}): Promise<{ ns: string; deployer: (o?: Partial<KubernetesDeployerOptions>) => KubernetesDeployer }> {
  const ns = `k8s-${++nsCount}-${process.pid}`;
  await cluster.namespace(ns);
  await apps.createNamespacedDeployment({ namespace: ns, body: deployment('checkout', 'checkout', `${REPO}:v1`, 3) });
  await apps.createNamespacedDeployment({ namespace: ns, body: deployment('checkout-canary', 'checkout', `${REPO}:v1`, 0, opts.canaryDeadlineS ?? 600) });
  for (const name of ['checkout', 'checkout-canary']) {
    await core.createNamespacedService({ namespace: ns, body: { metadata: { name }, spec: { selector: { track: name }, ports: [{ port: 80 }] } } });
  }
  await co.createNamespacedCustomObject({ ...GW, namespace: ns, body: routeManifest() });
  await until(async () => (await apps.readNamespacedDeployment({ name: 'checkout', namespace: ns })).status?.readyReplicas === 3, 'stable ready');
  return {
    ns,
    deployer: (o = {}) =>
      new KubernetesDeployer({ service: 'checkout', namespace: ns, image: REPO, container: 'checkout', kubeconfig: viaProxy, pollMs: 200, ...o }),
  };
}

async function until(ok: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What the route and the Deployments hold, read with the admin client (not the deployer). */
async function world(ns: string) {
  const route = await co.getNamespacedCustomObject({ ...GW, namespace: ns, name: 'checkout' });
  const read = (name: string) => apps.readNamespacedDeployment({ name, namespace: ns });
  const [stable, canary] = await Promise.all([read('checkout'), read('checkout-canary')]);
  const image = (d: V1Deployment) => d.spec!.template.spec!.containers.find((c) => c.name === 'checkout')!.image;
  return {
    weights: (route.spec.rules[0].backendRefs as Array<{ weight: number }>).map((r) => r.weight),
    routeVersion: route.metadata.resourceVersion as string,
    stable: { image: image(stable), replicas: stable.spec!.replicas, ready: stable.status?.readyReplicas ?? 0 },
    canary: { image: image(canary), replicas: canary.spec!.replicas, ready: canary.status?.readyReplicas ?? 0 },
    sidecars: [stable, canary].map((d) => d.spec!.template.spec!.containers[1].image),
  };
}

// what the deployer sets (ready counts move on their own while pods come and go)
const specOf = (w: Awaited<ReturnType<typeof world>>) => ({
  weights: w.weights,
  routeVersion: w.routeVersion,
  images: [w.stable.image, w.canary.image],
  replicas: [w.stable.replicas, w.canary.replicas],
});
const target = (version: string, previousVersion: string | null = 'v1') => ({ service: 'checkout', version, previousVersion });
const writesTo = (ns: string) =>
  Object.entries(proxy.writes())
    .filter(([path]) => path.includes(`/namespaces/${ns}/`))
    .map(([path, n]) => `${path.split('/').slice(-2).join('/')} ${n}`)
    .sort();

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

test('a release prepares (canary ready before any traffic moves), shifts 5 → 25 → 100 and promotes', async () => {
  const { ns, deployer } = await app();
  const d = deployer();

  const prepared = await d.prepare(target('v2'));
  let w = await world(ns);
  expect(w.weights).toEqual([100, 0]);
  expect(w.canary).toEqual({ image: `${REPO}:v2`, replicas: 3, ready: 3 });
  expect(w.stable).toEqual({ image: `${REPO}:v1`, replicas: 3, ready: 3 });
  expect(prepared.detail).toContain('3 ready replica(s)');

  for (const [percent, weights] of [
    [5, [95, 5]],
    [25, [75, 25]],
    [100, [0, 100]],
  ] as const) {
    expect(await d.shift(target('v2'), percent)).toEqual({ percent, version: 'v2', previousVersion: 'v1' });
    expect((await world(ns)).weights).toEqual(weights);
    expect(await d.currentTraffic(target('v2'))).toEqual({ percent, version: 'v2', previousVersion: 'v1' });
  }

  expect(await d.promote(target('v2'))).toEqual({ percent: 100, version: 'v2', previousVersion: 'v1' });
  w = await world(ns);
  expect(w.weights).toEqual([100, 0]);
  expect(w.stable).toEqual({ image: `${REPO}:v2`, replicas: 3, ready: 3 });
  expect(w.canary.replicas).toBe(0);
  // only the versioned container changed
  expect(w.sidecars).toEqual(['example.test/proxy:1', 'example.test/proxy:1']);
  expect(await d.currentTraffic(target('v2'))).toEqual({ percent: 100, version: 'v2', previousVersion: 'v1' });
  await until(async () => (await world(ns)).canary.ready === 0, 'canary pods gone');
});

test('a bad release is reverted in one PATCH with the route back at 100 % stable, then retired', async () => {
  const { ns, deployer } = await app();
  const d = deployer();
  await d.prepare(target('v3-bad'));
  await d.shift(target('v3-bad'), 25);
  expect((await world(ns)).weights).toEqual([75, 25]);
  // retiring a canary that still gets traffic would drop requests
  const early = await failureOf(d.retire(target('v3-bad')));
  expect([early.type, early.nonRetryable, early.message]).toEqual(['RequestRejected', true, expect.stringContaining('still gets 25 %')]);

  proxy.reset();
  expect(await d.revert(target('v3-bad'))).toEqual({ percent: 0, version: 'v3-bad', previousVersion: 'v1' });
  expect(writesTo(ns)).toEqual(['httproutes/checkout 1']);
  const w = await world(ns);
  expect(w.weights).toEqual([100, 0]);
  expect(w.stable).toEqual({ image: `${REPO}:v1`, replicas: 3, ready: 3 });
  expect(await d.currentTraffic(target('v3-bad'))).toEqual({ percent: 0, version: 'v3-bad', previousVersion: 'v1' });

  expect((await d.retire(target('v3-bad'))).detail).toContain('scaled to 0 (was 3)');
  expect((await world(ns)).canary.replicas).toBe(0);
});

test('revert after a promote rolls the stable side back to the previous image', async () => {
  const { ns, deployer } = await app();
  const d = deployer();
  await d.prepare(target('v2'));
  await d.promote(target('v2'));
  expect((await world(ns)).stable.image).toBe(`${REPO}:v2`);
  await d.revert(target('v2'));
  const w = await world(ns);
  expect(w.stable).toEqual({ image: `${REPO}:v1`, replicas: 3, ready: 3 });
  expect(w.weights).toEqual([100, 0]);
});

test('each step called twice writes once: the second call reads and leaves the same state', async () => {
  const { ns, deployer } = await app();
  const d = deployer();
  const steps: Array<[string, () => Promise<unknown>, string[]]> = [
    ['prepare', () => d.prepare(target('v2')), ['deployments/checkout-canary 1']], // the route already is at 100/0
    ['shift 5', () => d.shift(target('v2'), 5), ['httproutes/checkout 1']],
    ['shift 25', () => d.shift(target('v2'), 25), ['httproutes/checkout 1']],
    ['revert', () => d.revert(target('v2')), ['httproutes/checkout 1']],
    ['shift 100', () => d.shift(target('v2'), 100), ['httproutes/checkout 1']],
    ['promote', () => d.promote(target('v2')), ['deployments/checkout 1', 'deployments/checkout-canary 1', 'httproutes/checkout 1']],
    ['retire', () => d.retire(target('v2')), []], // promote already emptied the canary
  ];
  for (const [name, step, firstWrites] of steps) {
    proxy.reset();
    await step();
    const after = specOf(await world(ns));
    expect([name, writesTo(ns)]).toEqual([name, firstWrites]);
    proxy.reset();
    await step();
    expect([name, writesTo(ns)]).toEqual([name, []]);
    // the same state, and the route not even rewritten (its resourceVersion unchanged)
    expect([name, specOf(await world(ns))]).toEqual([name, after]);
  }
});

test('a conflicting write (409) is read again and applied once', async () => {
  const { ns, deployer } = await app();
  const d = deployer();
  await d.prepare(target('v2'));
  proxy.reset();
  proxy.failNext('PATCH', `/namespaces/${ns}/httproutes/checkout`, 409, 'the object has been modified');
  await d.shift(target('v2'), 5);
  // the refused PATCH, then the one that landed
  expect(proxy.requests().filter((r) => r.startsWith('PATCH'))).toHaveLength(2);
  expect((await world(ns)).weights).toEqual([95, 5]);
});

test('a version that never becomes ready fails prepare with DeployNotReady, and no traffic moves', async () => {
  const { ns, deployer } = await app({ canaryDeadlineS: 2 });
  const d = deployer();
  const version = `v4${NEVER_READY_SUFFIX}`;
  proxy.reset();
  const err = await failureOf(d.prepare(target(version)));
  expect(err.type).toBe(DEPLOY_NOT_READY);
  expect(err.nonRetryable).toBe(true);
  expect(err.message).toMatch(/timed out progressing/);
  expect(err.message).toContain(`3 pod(s) ImagePullBackOff: Back-off pulling image "${REPO}:${version}"`);
  expect(writesTo(ns)).toEqual(['deployments/checkout-canary 1']);
  expect((await world(ns)).weights).toEqual([100, 0]);
  // and traffic cannot be sent to it afterwards
  const refused = await failureOf(d.shift(target(version), 5));
  expect([refused.type, refused.message]).toEqual(['RequestRejected', expect.stringContaining('0 ready replica(s)')]);
  expect((await world(ns)).weights).toEqual([100, 0]);
}, 60_000);

test('prepare heartbeats while it waits, inside an activity', async () => {
  const { ns, deployer } = await app();
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  await env.run(() => deployer({ pollMs: 50 }).prepare(target('v2')));
  expect(beats.length).toBeGreaterThan(0);
  expect(beats[0]).toEqual(expect.objectContaining({ deployment: `${ns}/checkout-canary`, image: `${REPO}:v2`, replicas: 3 }));
  expect(JSON.stringify(beats)).not.toContain(cluster.adminToken);
});

const FULL_ROLE = DEPLOYER_ROLE_RULES;

test('check passes with the minimal Role and names the permission a token lacks', async () => {
  const { ns, deployer } = await app();
  const full = await limitedKubeconfig(cluster, { namespace: ns, name: 'quad-full', rules: FULL_ROLE });
  const ok = await deployer({ kubeconfig: full.kubeconfigPath }).check('checkout');
  expect(ok.filter((c) => !c.ok)).toEqual([]);
  expect(ok.map((c) => c.name)).toEqual([
    `reach the API server ${cluster.server}`,
    `deployment ${ns}/checkout exists`,
    `deployment ${ns}/checkout-canary exists`,
    `service ${ns}/checkout exists`,
    `service ${ns}/checkout-canary exists`,
    `httproute ${ns}/checkout splits checkout / checkout-canary`,
    `may get deployments.apps in namespace ${ns}`,
    `may patch deployments.apps in namespace ${ns}`,
    `may get httproutes.gateway.networking.k8s.io in namespace ${ns}`,
    `may patch httproutes.gateway.networking.k8s.io in namespace ${ns}`,
    `may get services in namespace ${ns}`,
  ]);

  const rules = FULL_ROLE.map((r) => (r.resources?.[0] === 'httproutes' ? { ...r, verbs: ['get'] } : r));
  const limited = await limitedKubeconfig(cluster, { namespace: ns, name: 'quad-no-route-patch', rules });
  const d = deployer({ kubeconfig: limited.kubeconfigPath });
  const failed = (await d.check('checkout')).filter((c) => !c.ok);
  expect(failed).toEqual([
    {
      name: `may patch httproutes.gateway.networking.k8s.io in namespace ${ns}`,
      ok: false,
      detail: expect.stringContaining(`grant verb "patch" on httproutes.gateway.networking.k8s.io in ${ns}`),
    },
  ]);
  // and the shift it would need fails for good, naming the permission (403)
  const err = await failureOf(d.prepare(target('v2')).then(() => d.shift(target('v2'), 5)));
  expect([err.type, err.nonRetryable]).toEqual(['ConfigurationError', true]);
  expect(err.message).toContain(`it needs patch on httproutes.gateway.networking.k8s.io in namespace ${ns}`);
  expect(err.message).not.toContain(cluster.adminToken);
});

test('check reports what is missing without throwing', async () => {
  const { ns, deployer } = await app();
  const d = deployer({ route: 'storefront', canaryDeployment: 'checkout-next', canaryService: 'checkout-canary' });
  const failed = (await d.check('checkout')).filter((c) => !c.ok);
  expect(failed.map((c) => [c.name, c.detail])).toEqual([
    [`deployment ${ns}/checkout-next exists`, expect.stringContaining(`deployment ${ns}/checkout-next does not exist`)],
    [`httproute ${ns}/storefront splits checkout / checkout-canary`, expect.stringContaining(`httproute ${ns}/storefront does not exist`)],
  ]);
});

test('failures: a missing object is NotFound, a bad token and an untrusted server are ConfigurationErrors, no answer (or a hung one) is retryable', async () => {
  const { deployer } = await app();
  const missing = await failureOf(deployer({ route: 'nope' }).shift(target('v1'), 0));
  expect([missing.type, missing.nonRetryable, missing.message]).toEqual(['NotFound', true, expect.stringContaining('httproute')]);

  const badToken = writeKubeconfig(`${cluster.dir}/bad-token.kubeconfig`, cluster.server, cluster.caPem, 'not-a-valid-token-0123456789');
  const unauth = await failureOf(deployer({ kubeconfig: badToken }).shift(target('v1'), 0));
  expect([unauth.type, unauth.nonRetryable, unauth.message]).toEqual(['ConfigurationError', true, expect.stringContaining('did not accept')]);
  expect(unauth.message).not.toContain('not-a-valid-token-0123456789');

  const otherCa = writeKubeconfig(`${cluster.dir}/other-ca.kubeconfig`, cluster.server, rootCertificates[0], cluster.adminToken);
  const untrusted = await failureOf(deployer({ kubeconfig: otherCa }).shift(target('v1'), 0));
  expect([untrusted.type, untrusted.nonRetryable, untrusted.message]).toEqual(['ConfigurationError', true, expect.stringContaining('not trusted')]);

  const closed = writeKubeconfig(`${cluster.dir}/closed.kubeconfig`, `https://127.0.0.1:${await freePort()}`, cluster.caPem, cluster.adminToken);
  const down = await failureOf(deployer({ kubeconfig: closed }).shift(target('v1'), 0));
  expect([down.type, down.nonRetryable]).toEqual(['TransientError', false]);
  expect(down.message).not.toContain(cluster.adminToken);

  // a server that accepts and never answers
  const held: Socket[] = [];
  const silent = createServer((socket) => held.push(socket));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const hung = writeKubeconfig(
    `${cluster.dir}/hung.kubeconfig`,
    `https://127.0.0.1:${(silent.address() as AddressInfo).port}`,
    cluster.caPem,
    cluster.adminToken,
  );
  const slow = await failureOf(deployer({ kubeconfig: hung, requestTimeoutMs: 300 }).shift(target('v1'), 0));
  expect([slow.type, slow.nonRetryable, slow.message]).toEqual(['TransientError', false, expect.stringContaining('no answer within 0.3 s')]);
  held.forEach((socket) => socket.destroy());
  silent.close();

  const range = await failureOf(deployer().shift(target('v1'), 101));
  expect([range.type, range.nonRetryable]).toEqual(['RequestRejected', true]);
  const tag = await failureOf(deployer().prepare(target('v1;rm -rf /')));
  expect([tag.type, tag.nonRetryable]).toEqual(['RequestRejected', true]);
});

// --- blue-green and A/B ---

type StoredRule = { name?: string; matches: unknown[]; backendRefs: Array<{ name: string; weight: number }> };
const rulesOf = async (ns: string) =>
  ((await co.getNamespacedCustomObject({ ...GW, namespace: ns, name: 'checkout' })).spec.rules as StoredRule[]).map((r) => ({
    name: r.name,
    matches: r.matches,
    backendRefs: r.backendRefs.map((b) => [b.name, b.weight]),
  }));
/** the header rule the API server stores for one variant (its defaults included), behind a rule matching `matches` */
const stickyRule = (variant: 'a' | 'b', service: string, matches: Array<Record<string, unknown>> = [{ path: { type: 'PathPrefix', value: '/' } }]) => ({
  name: `quad-sticky-${variant}`,
  matches: matches.map((m) => ({ ...m, headers: [{ name: 'x-quad-variant', type: 'Exact', value: variant }] })),
  backendRefs: [[service, 1]],
});
const weighted = (stable: number, canary: number) => ({
  name: undefined,
  matches: [{ path: { type: 'PathPrefix', value: '/' } }],
  backendRefs: [
    ['checkout', stable],
    ['checkout-canary', canary],
  ],
});

test('a sticky (A/B) split adds the x-quad-variant rules the API server stores; a new split keeps them, revert and promote remove them', async () => {
  const { ns, deployer } = await app();
  const d = deployer();
  const ab = { ...target('v2'), sticky: true };
  await d.prepare(ab);

  proxy.reset();
  expect(await d.shift(ab, 50)).toEqual({ percent: 50, version: 'v2', previousVersion: 'v1' });
  expect(writesTo(ns)).toEqual(['httproutes/checkout 1']);
  // the weighted rule first (the team's, untouched but for its weights), then b → canary alone, a → stable alone
  expect(await rulesOf(ns)).toEqual([weighted(50, 50), stickyRule('b', 'checkout-canary'), stickyRule('a', 'checkout')]);
  // the stored backendRef is the team's (port, kind) with weight 1
  const stored = await co.getNamespacedCustomObject({ ...GW, namespace: ns, name: 'checkout' });
  expect(stored.spec.rules[1].backendRefs).toEqual([{ group: '', kind: 'Service', name: 'checkout-canary', port: 80, weight: 1 }]);
  expect(await d.currentTraffic(ab)).toEqual({ percent: 50, version: 'v2', previousVersion: 'v1' });

  // the same split again reads and writes nothing (what is stored compares equal to what is wanted)
  proxy.reset();
  await d.shift(ab, 50);
  expect(writesTo(ns)).toEqual([]);
  // another sticky split: the weights only
  await d.shift(ab, 30);
  expect(await rulesOf(ns)).toEqual([weighted(70, 30), stickyRule('b', 'checkout-canary'), stickyRule('a', 'checkout')]);

  // revert: one PATCH, the weights back and the header rules gone
  proxy.reset();
  expect(await d.revert(ab)).toEqual({ percent: 0, version: 'v2', previousVersion: 'v1' });
  expect(writesTo(ns)).toEqual(['httproutes/checkout 1']);
  expect(await rulesOf(ns)).toEqual([weighted(100, 0)]);
  // (the check says how stickiness is done)
  const routeCheck = (await d.check('checkout')).find((c) => c.name.startsWith('httproute'))!;
  expect(routeCheck).toEqual({ name: expect.any(String), ok: true, detail: expect.stringContaining('sticky A/B splits by header x-quad-variant') });

  // a sticky split, then promote: the route back to one rule at 100/0 on the new stable
  await d.shift(ab, 50);
  expect(await rulesOf(ns)).toHaveLength(3);
  await d.promote(ab);
  expect(await rulesOf(ns)).toEqual([weighted(100, 0)]);
  expect((await world(ns)).stable.image).toBe(`${REPO}:v2`);
});

test('sticky rules copy the weighted rule’s matches; a non-sticky split, 100 % or prepare removes them', async () => {
  const { ns, deployer } = await app();
  // the team's route: a rule for /shop (two matches) splitting the two, and an unrelated rule before it
  const teamRoute = routeManifest() as { spec: { rules: Array<Record<string, unknown>> } };
  teamRoute.spec.rules = [
    { matches: [{ path: { type: 'Exact', value: '/health' } }], backendRefs: [{ name: 'checkout', port: 80 }] },
    {
      matches: [
        { path: { type: 'PathPrefix', value: '/shop' } },
        { path: { type: 'PathPrefix', value: '/api' }, headers: [{ name: 'x-tenant', value: 'eu' }] },
      ],
      backendRefs: [
        { name: 'checkout', port: 80, weight: 100 },
        { name: 'checkout-canary', port: 80, weight: 0 },
      ],
    },
  ];
  await co.replaceNamespacedCustomObject({
    ...GW,
    namespace: ns,
    name: 'checkout',
    body: { ...teamRoute, metadata: { name: 'checkout', resourceVersion: (await world(ns)).routeVersion } },
  });
  const d = deployer();
  const ab = { ...target('v2'), sticky: true };
  await d.prepare(ab);
  await d.shift(ab, 50);
  const rules = await rulesOf(ns);
  expect(rules.map((r) => r.name)).toEqual([undefined, undefined, 'quad-sticky-b', 'quad-sticky-a']);
  expect(rules[2].matches).toEqual([
    { path: { type: 'PathPrefix', value: '/shop' }, headers: [{ name: 'x-quad-variant', type: 'Exact', value: 'b' }] },
    {
      path: { type: 'PathPrefix', value: '/api' },
      headers: [
        { name: 'x-tenant', type: 'Exact', value: 'eu' },
        { name: 'x-quad-variant', type: 'Exact', value: 'b' },
      ],
    },
  ]);
  expect(rules[1].backendRefs).toEqual([
    ['checkout', 50],
    ['checkout-canary', 50],
  ]);
  proxy.reset();
  await d.shift(ab, 50);
  expect(writesTo(ns)).toEqual([]);

  // the same split without sticky: one PATCH, the header rules gone
  proxy.reset();
  await d.shift(target('v2'), 50);
  expect(writesTo(ns)).toEqual(['httproutes/checkout 1']);
  expect((await rulesOf(ns)).map((r) => r.name)).toEqual([undefined, undefined]);
  // sticky at 100 %: one side only, nothing to pin
  await d.shift(ab, 100);
  expect((await rulesOf(ns)).map((r) => r.name)).toEqual([undefined, undefined]);
  // and prepare (0 % before the pods change) takes them away too
  await d.shift(ab, 20);
  expect(await rulesOf(ns)).toHaveLength(4);
  await d.prepare({ ...target('v3'), sticky: true });
  const after = await rulesOf(ns);
  expect(after.map((r) => r.name)).toEqual([undefined, undefined]);
  expect(after[1].backendRefs).toEqual([
    ['checkout', 100],
    ['checkout-canary', 0],
  ]);
});

test('endpoint: the canary Service’s in-cluster URL once prepared, the stable one after promote, a template when configured', async () => {
  const { ns, deployer } = await app();
  const d = deployer();
  const notYet = await failureOf(d.endpoint(target('v2')));
  expect([notYet.type, notYet.nonRetryable, notYet.message]).toEqual(['RequestRejected', true, expect.stringContaining('prepare it')]);

  await d.prepare(target('v2'));
  expect(await d.endpoint(target('v2'))).toBe(`http://checkout-canary.${ns}.svc.cluster.local:80`);
  // the route still sends every user to blue
  expect((await world(ns)).weights).toEqual([100, 0]);
  expect(await deployer({ endpoint: 'https://{version}.{service}.{namespace}.preview.example.test:{port}' }).endpoint(target('v2'))).toBe(
    `https://v2.checkout-canary.${ns}.preview.example.test:80`,
  );
  // the port the route sends to, of a Service with several
  await core.patchNamespacedService({
    name: 'checkout-canary',
    namespace: ns,
    body: [
      {
        op: 'add',
        path: '/spec/ports',
        value: [
          { name: 'metrics', port: 9090 },
          { name: 'web', port: 80 },
        ],
      },
    ],
  });
  expect(await d.endpoint(target('v2'))).toBe(`http://checkout-canary.${ns}.svc.cluster.local:80`);

  await d.promote(target('v2'));
  expect(await d.endpoint(target('v2'))).toBe(`http://checkout.${ns}.svc.cluster.local:80`);
});
