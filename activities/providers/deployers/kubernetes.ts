// Kubernetes as a deployer, Flagger-like with fixed roles: per service a stable Deployment + Service and a
// canary Deployment + Service, and a Gateway API HTTPRoute whose rules send traffic to both Services; the
// two backendRefs' weights carry the split. The version is the container image tag (<image>:<version>).
// The deployer creates nothing: the Deployments, Services and the route (its Gateway, hostnames and
// matches are the platform team's choice) are the team's manifests; `check` says what is missing.
// Every write is a JSON Patch of the fields it sets, sent only when the object differs (so a repeated
// call reads and changes nothing), with `test` ops guarding the array positions it writes to.
// Auth comes from the default chain (in-cluster service account or KUBECONFIG) or a kubeconfig path in
// the options: never through a workflow input. Failures go through ../../failures: 401/403 non-retryable
// ConfigurationErrors naming the permission, 404 of a named object NotFound, 409/429/5xx/network retryable,
// and a version that cannot become ready a non-retryable `DeployNotReady` saying why.
// Green's own endpoint (blue-green smoke checks) is the canary Service's in-cluster URL, or the
// `endpoint` template. Sticky A/B splits (target.sticky) add, per weighted rule, two rules matching the
// header x-quad-variant (`b` → the canary Service alone, `a` → the stable one alone): the Gateway API
// standard channel has no session persistence (HTTPRoute sessionPersistence, GEP-1619, is experimental),
// so a front end that pins each user by cookie sends the header and the user stays on one side. They
// outrank the weighted rule by their one more header match (the spec's precedence, not list order), so
// they go after the team's rules and leave their indices alone; every other write removes them.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type * as K8s from '@kubernetes/client-node';
import type { AppsV1Api, AuthorizationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, V1Deployment, VersionApi } from '@kubernetes/client-node';
import type { DeployCheck, DeployerLifecycle, TrafficState, TrafficTarget } from '../types';
import { FailureType, configurationError, httpFailure, networkFailure, nonRetryableFailure } from '../../failures';

export interface KubernetesDeployerOptions {
  /** the service these objects belong to: the default for every name below */
  service: string;
  namespace: string;
  /** image repository without a tag, e.g. registry.example.com/shop/checkout; the version is the tag */
  image: string;
  /** stable Deployment (default <service>) and canary Deployment (default <deployment>-canary) */
  deployment?: string;
  canaryDeployment?: string;
  /** the container whose image carries the version (default: the Deployment's only container) */
  container?: string;
  /** the HTTPRoute (default <service>) and the Services its backendRefs name (default the Deployments' names) */
  route?: string;
  stableService?: string;
  canaryService?: string;
  /**
   * green's own endpoint, a URL template with {service} (the Service running the version), {namespace},
   * {port} and {version}; default http://{service}.{namespace}.svc.cluster.local:{port}
   */
  endpoint?: string;
  /** a kubeconfig file (and context) instead of the default chain, e.g. for tests */
  kubeconfig?: string;
  context?: string;
  /** how often readiness is polled while waiting (default 1 s) */
  pollMs?: number;
  /** how long one API request may take before it counts as no answer (default 30 s) */
  requestTimeoutMs?: number;
  /** where these options live in the config, for messages (default services.<service>.deployer) */
  configPath?: string;
}

/** The non-retryable failure of a version that cannot become ready (the interface's contract). */
export const DEPLOY_NOT_READY = 'DeployNotReady';
const SYSTEM = 'Kubernetes';
const GATEWAY = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' } as const;
// Docker's tag grammar: what a version must be to become an image tag
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
// TLS failures a retry cannot fix: the kubeconfig's CA or server name is wrong
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
]);
const CONFLICT_ATTEMPTS = 4;
/** The header a front end sends to keep a user on one side of a sticky split, and the names of the rules that read it. */
export const STICKY_HEADER = 'x-quad-variant';
const STICKY_PREFIX = 'quad-sticky-';
// the HTTPRoute CRD's limits: 16 rules, and fewer than 128 matches in all
const MAX_RULES = 16;
const MAX_MATCHES = 127;
const DEFAULT_ENDPOINT = 'http://{service}.{namespace}.svc.cluster.local:{port}';

interface BackendRef {
  name: string;
  kind?: string;
  port?: number;
  weight?: number;
}
interface HeaderMatch {
  name: string;
  value: string;
  type?: string;
}
interface RouteMatch {
  headers?: HeaderMatch[];
  [field: string]: unknown;
}
interface RouteRule {
  name?: string;
  matches?: RouteMatch[];
  backendRefs?: BackendRef[];
  filters?: unknown[];
  timeouts?: unknown;
}
interface HttpRoute {
  metadata: { name: string; resourceVersion?: string };
  spec?: { rules?: RouteRule[] };
}
/** Where the two backendRefs sit in one rule of the route. */
interface RefPair {
  rule: number;
  stable: number;
  canary: number;
}
type JsonPatchOp = { op: 'test' | 'add'; path: string; value: unknown } | { op: 'remove'; path: string };
interface Clients {
  lib: typeof K8s;
  kc: KubeConfig;
  apps: AppsV1Api;
  core: CoreV1Api;
  co: CustomObjectsApi;
  authz: AuthorizationV1Api;
  version: VersionApi;
}

const tagOf = (image: string | undefined) =>
  image ? (image.includes('@') ? image.slice(image.indexOf('@') + 1) : (/:([^:/]+)$/.exec(image)?.[1] ?? 'latest')) : undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isSticky = (rule: RouteRule) => typeof rule.name === 'string' && rule.name.startsWith(STICKY_PREFIX);
/** JSON with sorted keys: the same value whatever order the API server stored its fields in */
const canonical = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(canonical).join(',')}]`
    : v !== null && typeof v === 'object'
      ? `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
          .join(',')}}`
      : JSON.stringify(v);

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (a script, a test)
  }
}

export class KubernetesDeployer implements DeployerLifecycle {
  readonly name = 'kubernetes';
  private readonly ns: string;
  private readonly stable: string;
  private readonly canary: string;
  private readonly route: string;
  private readonly stableSvc: string;
  private readonly canarySvc: string;
  private readonly at: string;
  private clientsP?: Promise<Clients>;

  constructor(private readonly opts: KubernetesDeployerOptions) {
    this.at = opts.configPath ?? `services.${opts.service}.deployer`;
    if (!opts.namespace) throw configurationError(`${SYSTEM}: ${this.at}.namespace is missing`);
    if (!opts.image || opts.image.includes('@') || /:[^/]*$/.test(opts.image)) {
      throw configurationError(
        `${SYSTEM}: ${this.at}.image must be an image repository without a tag or digest (the version is the tag), got ${JSON.stringify(opts.image)}`,
      );
    }
    this.ns = opts.namespace;
    this.stable = opts.deployment ?? opts.service;
    this.canary = opts.canaryDeployment ?? `${this.stable}-canary`;
    this.route = opts.route ?? opts.service;
    this.stableSvc = opts.stableService ?? this.stable;
    this.canarySvc = opts.canaryService ?? this.canary;
  }

  async prepare(target: TrafficTarget): Promise<{ detail: string }> {
    const image = this.imageFor(target.version);
    // no traffic on the canary side before its pods change
    await this.setWeights(0);
    const stable = await this.readDeployment(this.stable);
    const replicas = stable.spec?.replicas ?? 1;
    await this.setDeployment(this.canary, { image, replicas });
    const ready = await this.waitReady(this.canary, image);
    return { detail: `${this.where(this.canary)} runs ${image} with ${ready} ready replica(s); route ${this.where(this.route)} at 100/0` };
  }

  async shift(target: TrafficTarget, percent: number): Promise<TrafficState> {
    if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw nonRetryableFailure(FailureType.Rejected, `${SYSTEM}: percent must be 0..100, got ${percent}`, { system: SYSTEM });
    }
    if (percent > 0) {
      // never route to a canary that runs something else or nothing
      const image = this.imageFor(target.version);
      const canary = await this.readDeployment(this.canary);
      const running = this.containerOf(canary).image;
      if (running !== image || !(canary.status?.readyReplicas ?? 0)) {
        throw nonRetryableFailure(
          FailureType.Rejected,
          `${SYSTEM}: ${this.where(this.canary)} runs ${running} with ${canary.status?.readyReplicas ?? 0} ready replica(s), not ${image}: prepare it before shifting traffic`,
          { system: SYSTEM },
        );
      }
    }
    // a sticky split pins users only while there are two sides to pin them to
    const w = await this.setWeights(percent, target.sticky === true && percent > 0 && percent < 100);
    return { percent: w.percent, version: target.version, previousVersion: target.previousVersion };
  }

  async promote(target: TrafficTarget): Promise<TrafficState> {
    const image = this.imageFor(target.version);
    await this.setDeployment(this.stable, { image });
    await this.waitReady(this.stable, image);
    await this.setWeights(0);
    await this.setDeployment(this.canary, { replicas: 0 });
    return { percent: 100, version: target.version, previousVersion: target.previousVersion };
  }

  async retire(target: TrafficTarget): Promise<{ detail: string }> {
    const w = await this.readWeights();
    if (w.percent > 0) {
      // scaling it away now would drop the requests it still gets
      throw nonRetryableFailure(
        FailureType.Rejected,
        `${SYSTEM}: the canary still gets ${w.percent} % of ${this.where(this.route)}: revert or promote before retiring it`,
        {
          system: SYSTEM,
        },
      );
    }
    const d = await this.setDeployment(this.canary, { replicas: 0 });
    return { detail: `${this.where(this.canary)} scaled to 0 (was ${d.before ?? 0}) after the release of ${target.version}` };
  }

  async revert(target: TrafficTarget): Promise<TrafficState> {
    // After a promote the stable side runs the new version: it goes back to the previous image first.
    if (target.previousVersion !== null) {
      const previous = this.imageFor(target.previousVersion);
      const stable = await this.readDeployment(this.stable);
      if (this.containerOf(stable).image === this.imageFor(target.version)) {
        await this.setDeployment(this.stable, { image: previous });
        await this.waitReady(this.stable, previous);
      }
    }
    await this.setWeights(0);
    return { percent: 0, version: target.version, previousVersion: target.previousVersion };
  }

  async currentTraffic(target: TrafficTarget): Promise<TrafficState | null> {
    const w = await this.readWeights();
    const [stable, canary] = await Promise.all([this.readDeployment(this.stable), this.readDeployment(this.canary)]);
    const stableTag = tagOf(this.containerOf(stable).image) ?? null;
    const canaryTag = tagOf(this.containerOf(canary).image);
    const canaryServes = (canary.spec?.replicas ?? 1) > 0 ? w.percent : 0;
    // percent on target.version: whichever side runs it
    const percent = (stableTag === target.version ? 100 - canaryServes : 0) + (canaryTag === target.version ? canaryServes : 0);
    return { percent, version: target.version, previousVersion: stableTag === target.version ? target.previousVersion : stableTag };
  }

  /**
   * A URL that reaches target.version alone (green's own endpoint, for smoke checks at 0 %): the canary
   * Service's in-cluster URL while the canary runs it, the stable Service's once it was promoted there;
   * the port is the one the route's backendRef names, else the Service's. Rejected when neither side runs it.
   */
  async endpoint(target: TrafficTarget): Promise<string | null> {
    const image = this.imageFor(target.version);
    const [canary, stable, { route, pairs }] = await Promise.all([this.readDeployment(this.canary), this.readDeployment(this.stable), this.readRoute()]);
    const side =
      this.containerOf(canary).image === image && (canary.spec?.replicas ?? 1) > 0
        ? { svc: this.canarySvc, ref: pairs[0].canary }
        : this.containerOf(stable).image === image
          ? { svc: this.stableSvc, ref: pairs[0].stable }
          : null;
    if (!side) {
      throw nonRetryableFailure(
        FailureType.Rejected,
        `${SYSTEM}: neither ${this.where(this.canary)} (${this.containerOf(canary).image}) nor ${this.where(this.stable)} (${this.containerOf(stable).image}) runs ${image}: prepare it before asking for its endpoint`,
        { system: SYSTEM },
      );
    }
    const { core } = await this.clients();
    const svc = await this.call(`GET service ${this.where(side.svc)}`, () => core.readNamespacedService({ name: side.svc, namespace: this.ns }), {
      named: `service ${this.where(side.svc)}`,
      permission: `get on services in namespace ${this.ns}`,
    });
    const ports = svc.spec?.ports ?? [];
    const routePort = route.spec?.rules?.[pairs[0].rule]?.backendRefs?.[side.ref]?.port;
    const port = routePort !== undefined ? ports.find((p) => p.port === routePort) : (ports.find((p) => p.name === 'http') ?? ports[0]);
    if (!port) {
      throw configurationError(
        `${SYSTEM}: service ${this.where(side.svc)} has no port${routePort !== undefined ? ` ${routePort} (the one httproute ${this.where(this.route)} sends to)` : 's'}`,
        { system: SYSTEM },
      );
    }
    const https = port.appProtocol === 'https' || port.name === 'https' || port.port === 443;
    const template = this.opts.endpoint ?? (https ? DEFAULT_ENDPOINT.replace(/^http:/, 'https:') : DEFAULT_ENDPOINT);
    const values: Record<string, string> = { service: side.svc, namespace: this.ns, port: String(port.port), version: target.version };
    return template.replace(/\{(service|namespace|port|version)\}/g, (_, k: string) => values[k]);
  }

  async check(service: string): Promise<DeployCheck[]> {
    const out: DeployCheck[] = [];
    let server = '(no kubeconfig)';
    try {
      const { kc, version } = await this.clients();
      server = kc.getCurrentCluster()?.server ?? server;
      const v = await this.call('GET /version', () => version.getCode());
      out.push({ name: `reach the API server ${server}`, ok: true, detail: `Kubernetes ${v.gitVersion}` });
    } catch (err) {
      return [{ name: `reach the API server ${server}`, ok: false, detail: (err as Error).message }];
    }
    const found = async (name: string, read: () => Promise<string>) => {
      try {
        out.push({ name, ok: true, detail: await read() });
      } catch (err) {
        out.push({ name, ok: false, detail: (err as Error).message });
      }
    };
    for (const d of [this.stable, this.canary]) {
      await found(`deployment ${this.where(d)} exists`, async () => {
        const dep = await this.readDeployment(d);
        return `container ${this.containerOf(dep).name} runs ${this.containerOf(dep).image}, ${dep.spec?.replicas ?? 1} replica(s)`;
      });
    }
    const { core, authz } = await this.clients();
    for (const s of [this.stableSvc, this.canarySvc]) {
      await found(`service ${this.where(s)} exists`, async () => {
        await this.call(`GET service ${this.where(s)}`, () => core.readNamespacedService({ name: s, namespace: this.ns }), {
          named: `service ${this.where(s)}`,
        });
        return 'found';
      });
    }
    await found(`httproute ${this.where(this.route)} splits ${this.stableSvc} / ${this.canarySvc}`, async () => {
      const { route, pairs } = await this.readRoute();
      const rules = route.spec?.rules ?? [];
      const pinned = rules.filter(isSticky).length;
      // a sticky (A/B) split needs room for its two header rules per weighted rule
      const room = rules.length - pinned + 2 * pairs.length <= MAX_RULES;
      return (
        `${pairs.length} rule(s) with both backendRefs; sticky A/B splits by header ${STICKY_HEADER} (b → ${this.canarySvc}, a → ${this.stableSvc}; ` +
        `HTTPRoute sessionPersistence is experimental-channel only, not used)` +
        (pinned ? `, ${pinned} sticky rule(s) in place now` : '') +
        (room ? '' : `; no room for them: the route has ${rules.length} of ${MAX_RULES} rules`)
      );
    });
    const needs: Array<[string, string, string]> = [
      ['get', 'apps', 'deployments'],
      ['patch', 'apps', 'deployments'],
      ['get', GATEWAY.group, 'httproutes'],
      ['patch', GATEWAY.group, 'httproutes'],
      ['get', '', 'services'],
    ];
    for (const [verb, group, resource] of needs) {
      const what = `may ${verb} ${group ? `${resource}.${group}` : resource} in namespace ${this.ns}`;
      await found(what, async () => {
        const review = await this.call(`SelfSubjectAccessReview ${verb} ${resource}`, () =>
          authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { namespace: this.ns, verb, group, resource } } } }),
        );
        if (!review.status?.allowed) {
          throw new Error(
            `not allowed: grant verb "${verb}" on ${group ? `${resource}.${group}` : resource} in ${this.ns} to the worker's identity (${service})`,
          );
        }
        return 'allowed';
      });
    }
    return out;
  }

  // --- objects ---

  private imageFor(version: string): string {
    if (typeof version !== 'string' || !TAG.test(version)) {
      throw nonRetryableFailure(FailureType.Rejected, `${SYSTEM}: version ${JSON.stringify(version)} cannot be an image tag (it must match ${TAG})`, {
        system: SYSTEM,
      });
    }
    return `${this.opts.image}:${version}`;
  }

  private where(name: string): string {
    return `${this.ns}/${name}`;
  }

  private containerOf(d: V1Deployment): { index: number; name: string; image: string } {
    const containers = d.spec?.template?.spec?.containers ?? [];
    const index = this.opts.container ? containers.findIndex((c) => c.name === this.opts.container) : containers.length === 1 ? 0 : -1;
    if (index < 0) {
      const names = containers.map((c) => c.name).join(', ');
      throw configurationError(
        this.opts.container
          ? `${SYSTEM}: deployment ${this.where(d.metadata?.name ?? '?')} has no container ${this.opts.container} (it has ${names}): fix ${this.at}.container`
          : `${SYSTEM}: deployment ${this.where(d.metadata?.name ?? '?')} has containers ${names}: set ${this.at}.container to the one whose image carries the version`,
        { system: SYSTEM },
      );
    }
    return { index, name: containers[index].name, image: containers[index].image ?? '' };
  }

  private async readDeployment(name: string): Promise<V1Deployment> {
    const { apps } = await this.clients();
    return this.call(`GET deployment ${this.where(name)}`, () => apps.readNamespacedDeployment({ name, namespace: this.ns }), {
      named: `deployment ${this.where(name)}`,
      permission: `get on deployments.apps in namespace ${this.ns}`,
    });
  }

  /** Sets the container's image and/or the replicas, only where they differ; returns the replicas before. */
  private async setDeployment(name: string, want: { image?: string; replicas?: number }): Promise<{ before?: number }> {
    const { apps } = await this.clients();
    for (let attempt = 1; ; attempt++) {
      const d = await this.readDeployment(name);
      const c = this.containerOf(d);
      const ops: JsonPatchOp[] = [];
      if (want.image !== undefined && c.image !== want.image) {
        const at = `/spec/template/spec/containers/${c.index}`;
        ops.push({ op: 'test', path: `${at}/name`, value: c.name }, { op: 'add', path: `${at}/image`, value: want.image });
      }
      const before = d.spec?.replicas ?? 1;
      if (want.replicas !== undefined && before !== want.replicas) ops.push({ op: 'add', path: '/spec/replicas', value: want.replicas });
      if (ops.length === 0) return { before };
      try {
        await this.call(`PATCH deployment ${this.where(name)}`, () => apps.patchNamespacedDeployment({ name, namespace: this.ns, body: ops }), {
          named: `deployment ${this.where(name)}`,
          permission: `patch on deployments.apps in namespace ${this.ns}`,
        });
        return { before };
      } catch (err) {
        if (!this.changedUnderUs(err, attempt)) throw err;
      }
    }
  }

  /** Waits until the Deployment runs `image` on all its replicas, ready and available; resolves with their count. */
  private async waitReady(name: string, image: string): Promise<number> {
    const ctx = activityContext();
    for (;;) {
      const d = await this.readDeployment(name);
      const s = d.status ?? {};
      const replicas = d.spec?.replicas ?? 1;
      const current = (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) && this.containerOf(d).image === image;
      if (current) {
        const progressing = s.conditions?.find((c) => c.type === 'Progressing');
        if (progressing?.reason === 'ProgressDeadlineExceeded') {
          const why = await this.whyNotReady(d, image);
          throw ApplicationFailure.create({
            type: DEPLOY_NOT_READY,
            nonRetryable: true,
            message: `${SYSTEM}: ${this.where(name)} did not become ready with ${image}: ${progressing.message ?? 'progress deadline exceeded'}${why ? `; ${why}` : ''}`,
            details: [{ system: SYSTEM, deployment: this.where(name), image, reason: 'ProgressDeadlineExceeded', ready: s.readyReplicas ?? 0, replicas }],
          });
        }
        if (d.spec?.paused)
          throw configurationError(`${SYSTEM}: deployment ${this.where(name)} is paused: resume it (kubectl rollout resume), then retry`, { system: SYSTEM });
        const all = (n: number | undefined) => (n ?? 0) === replicas;
        if (all(s.updatedReplicas) && all(s.readyReplicas) && all(s.availableReplicas) && all(s.replicas)) return replicas;
      }
      const progress = { deployment: this.where(name), image, ready: s.readyReplicas ?? 0, updated: s.updatedReplicas ?? 0, replicas };
      if (ctx) {
        ctx.heartbeat(progress);
        await ctx.sleep(this.opts.pollMs ?? 1000); // rejects when the activity is cancelled
      } else {
        await sleep(this.opts.pollMs ?? 1000);
      }
    }
  }

  /** What the Deployment's newest pods say (e.g. ImagePullBackOff); empty when they cannot be read. */
  private async whyNotReady(d: V1Deployment, image: string): Promise<string> {
    const labels = d.spec?.selector?.matchLabels ?? {};
    const selector = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    try {
      const pods = await (await this.clients()).core.listNamespacedPod({ namespace: this.ns, labelSelector: selector });
      const reasons = new Map<string, number>();
      for (const p of pods.items) {
        for (const cs of p.status?.containerStatuses ?? []) {
          const w = cs.state?.waiting;
          if (cs.image === image && w?.reason) {
            const key = `${w.reason}${w.message ? `: ${w.message}` : ''}`;
            reasons.set(key, (reasons.get(key) ?? 0) + 1);
          }
        }
      }
      return [...reasons]
        .map(([why, n]) => `${n} pod(s) ${why}`)
        .join('; ')
        .slice(0, 500);
    } catch {
      return ''; // listing pods is optional (the Role may not allow it)
    }
  }

  private async readRoute(): Promise<{ route: HttpRoute; pairs: RefPair[] }> {
    const { co } = await this.clients();
    const route = (await this.call(
      `GET httproute ${this.where(this.route)}`,
      () => co.getNamespacedCustomObject({ ...GATEWAY, namespace: this.ns, name: this.route }),
      { named: `httproute ${this.where(this.route)}`, permission: `get on httproutes.${GATEWAY.group} in namespace ${this.ns}` },
    )) as HttpRoute;
    const isSvc = (r: BackendRef, name: string) => r.name === name && (r.kind ?? 'Service') === 'Service';
    const pairs: RefPair[] = [];
    (route.spec?.rules ?? []).forEach((rule, i) => {
      const refs = rule.backendRefs ?? [];
      const stable = refs.findIndex((r) => isSvc(r, this.stableSvc));
      const canary = refs.findIndex((r) => isSvc(r, this.canarySvc));
      if (stable >= 0 && canary >= 0) pairs.push({ rule: i, stable, canary });
    });
    if (pairs.length === 0) {
      throw configurationError(
        `${SYSTEM}: httproute ${this.where(this.route)} has no rule whose backendRefs name both services ${this.stableSvc} and ${this.canarySvc}: add the canary backendRef (weight 0) beside the stable one`,
        { system: SYSTEM },
      );
    }
    return { route, pairs };
  }

  private async readWeights(): Promise<{ percent: number; stable: number; canary: number }> {
    return weightsOf(await this.readRoute());
  }

  /**
   * Every rule that names both Services gets weights stable (100 - percent) / canary percent, and the sticky
   * rules are there (sticky) or gone; one PATCH of only what differs.
   */
  private async setWeights(percent: number, sticky = false): Promise<{ percent: number }> {
    // whole percents as 100-p / p; a fraction in basis points (weights are integers)
    const [ws, wc] = Number.isInteger(percent) ? [100 - percent, percent] : [Math.round((100 - percent) * 100), Math.round(percent * 100)];
    const { co } = await this.clients();
    for (let attempt = 1; ; attempt++) {
      const { route, pairs } = await this.readRoute();
      const rules = route.spec!.rules!;
      const ops: JsonPatchOp[] = [];
      for (const p of pairs) {
        const refs = rules[p.rule].backendRefs!;
        for (const [i, w, svc] of [
          [p.stable, ws, this.stableSvc],
          [p.canary, wc, this.canarySvc],
        ] as const) {
          if ((refs[i].weight ?? 1) === w) continue;
          const at = `/spec/rules/${p.rule}/backendRefs/${i}`;
          ops.push({ op: 'test', path: `${at}/name`, value: svc }, { op: 'add', path: `${at}/weight`, value: w });
        }
      }
      ops.push(...this.stickyOps(rules, pairs, sticky));
      if (ops.length === 0) return weightsOf({ route, pairs });
      try {
        const patched = (await this.call(
          `PATCH httproute ${this.where(this.route)}`,
          () => co.patchNamespacedCustomObject({ ...GATEWAY, namespace: this.ns, name: this.route, body: ops }),
          { named: `httproute ${this.where(this.route)}`, permission: `patch on httproutes.${GATEWAY.group} in namespace ${this.ns}` },
        )) as HttpRoute;
        return weightsOf({ route: patched, pairs });
      } catch (err) {
        if (!this.changedUnderUs(err, attempt)) throw err;
      }
    }
  }

  /**
   * The ops that make the route's sticky rules the wanted ones (none when they already are): ours removed
   * from the last one down, each guarded by its name, then the wanted ones appended. Runs after the weight
   * ops, whose indices are the read route's.
   */
  private stickyOps(rules: RouteRule[], pairs: RefPair[], sticky: boolean): JsonPatchOp[] {
    const ours = rules.flatMap((r, i) => (isSticky(r) ? [i] : []));
    const wanted = sticky ? this.stickyRules(rules, pairs) : [];
    if (canonical(ours.map((i) => rules[i])) === canonical(wanted)) return [];
    const kept = rules.filter((r) => !isSticky(r));
    const matches = (rs: RouteRule[]) => rs.reduce((n, r) => n + (r.matches?.length ?? 1), 0);
    if (kept.length + wanted.length > MAX_RULES || matches(kept) + matches(wanted) > MAX_MATCHES) {
      throw configurationError(
        `${SYSTEM}: httproute ${this.where(this.route)} has ${kept.length} rule(s) with ${matches(kept)} match(es); a sticky split adds 2 rules (${STICKY_HEADER}: a / b) per weighted rule, and a route holds at most ${MAX_RULES} rules and ${MAX_MATCHES} matches: move the other rules to another HTTPRoute`,
        { system: SYSTEM },
      );
    }
    const ops: JsonPatchOp[] = [];
    for (const i of ours.reverse()) {
      ops.push({ op: 'test', path: `/spec/rules/${i}/name`, value: rules[i].name }, { op: 'remove', path: `/spec/rules/${i}` });
    }
    for (const rule of wanted) ops.push({ op: 'add', path: '/spec/rules/-', value: rule });
    return ops;
  }

  /**
   * Per weighted rule, two rules as it (its matches, filters and timeouts) with one more header match:
   * `x-quad-variant: b` to the canary backendRef alone, `a` to the stable one alone. Written with the
   * fields the API server defaults (header type, the path of a rule without matches), so what it stores
   * compares equal to what is wanted next time.
   */
  private stickyRules(rules: RouteRule[], pairs: RefPair[]): RouteRule[] {
    return pairs.flatMap((p, k) => {
      const base = rules[p.rule];
      const refs = base.backendRefs!;
      const suffix = pairs.length > 1 ? `-${k + 1}` : '';
      return (
        [
          ['b', refs[p.canary]],
          ['a', refs[p.stable]],
        ] as const
      ).map(([variant, ref]) => {
        const header: HeaderMatch = { name: STICKY_HEADER, type: 'Exact', value: variant };
        const matches = (base.matches?.length ? base.matches : [{ path: { type: 'PathPrefix', value: '/' } }]).map((m) => ({
          ...m,
          headers: [...(m.headers ?? []).filter((h) => h.name.toLowerCase() !== STICKY_HEADER), header],
        }));
        const rule: RouteRule = { name: `${STICKY_PREFIX}${variant}${suffix}`, matches, backendRefs: [{ ...ref, weight: 1 }] };
        if (base.filters !== undefined) rule.filters = base.filters;
        if (base.timeouts !== undefined) rule.timeouts = base.timeouts;
        return rule;
      });
    });
  }

  /** A 409, or a 422 from a failed `test` op: the object changed between our read and our patch; read again. */
  private changedUnderUs(err: unknown, attempt: number): boolean {
    const status = (err as ApplicationFailure).details?.[0] as { status?: number } | undefined;
    return attempt < CONFLICT_ATTEMPTS && (status?.status === 409 || status?.status === 422);
  }

  // --- the client ---

  /**
   * The client, made on first use. The package is ESM-only: loading it here rather than at the top keeps
   * this module cheap and loadable wherever it is imported (the factory) but no Kubernetes deployer runs.
   */
  private clients(): Promise<Clients> {
    this.clientsP ??= this.makeClients().catch((err: unknown) => {
      this.clientsP = undefined; // a fixed kubeconfig is picked up on the next call
      throw err;
    });
    return this.clientsP;
  }

  private async makeClients(): Promise<Clients> {
    const lib = await import('@kubernetes/client-node');
    const kc = new lib.KubeConfig();
    try {
      if (this.opts.kubeconfig) kc.loadFromFile(this.opts.kubeconfig);
      else kc.loadFromDefault();
      if (this.opts.context) kc.setCurrentContext(this.opts.context);
    } catch (err) {
      const which = this.opts.kubeconfig ? `the kubeconfig ${this.opts.kubeconfig}` : 'the default kubeconfig';
      throw configurationError(`${SYSTEM}: cannot load ${which}: ${(err as Error).message}`, { system: SYSTEM });
    }
    // loadFromDefault falls back to an anonymous localhost:8080 when it finds nothing at all
    if (!this.opts.kubeconfig && kc.getCurrentUser()?.name === 'user' && kc.getCurrentCluster()?.server === 'http://localhost:8080') {
      throw configurationError(
        `${SYSTEM}: no credentials found: run the worker in the cluster (service account), set KUBECONFIG, or set ${this.at}.kubeconfig`,
        { system: SYSTEM },
      );
    }
    return {
      lib,
      kc,
      apps: kc.makeApiClient(lib.AppsV1Api),
      core: kc.makeApiClient(lib.CoreV1Api),
      co: kc.makeApiClient(lib.CustomObjectsApi),
      authz: kc.makeApiClient(lib.AuthorizationV1Api),
      version: kc.makeApiClient(lib.VersionApi),
    };
  }

  private async call<T>(what: string, fn: () => Promise<T>, opts: { named?: string; permission?: string } = {}): Promise<T> {
    const { kc, lib } = await this.clients();
    const secrets = [kc.getCurrentUser()?.token];
    const timeoutMs = this.opts.requestTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      // the client sets no timeout of its own: a hung connection must not hang the activity
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { name: 'TimeoutError' })), timeoutMs);
      });
      return await Promise.race([fn(), timeout]);
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      if (err instanceof lib.ApiException) {
        const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body ?? '');
        let message = body;
        try {
          message = (JSON.parse(body) as { message?: string }).message ?? body;
        } catch {
          /* not a Status object */
        }
        throw httpFailure(SYSTEM, err.code, message, {
          what,
          credential: this.opts.kubeconfig ? `the credentials in ${this.opts.kubeconfig}` : "the worker's Kubernetes identity (service account or KUBECONFIG)",
          ...(opts.permission ? { permission: opts.permission } : {}),
          ...(opts.named ? { named: opts.named } : {}),
          urlSetting: 'the kubeconfig server',
          retryable: [409],
          secrets,
        });
      }
      const code = (err as { cause?: { code?: string }; code?: string }).cause?.code ?? (err as { code?: string }).code;
      if (code && TLS_CODES.has(code)) {
        throw configurationError(
          `${SYSTEM} ${what}: the API server's certificate is not trusted (${code}): fix the kubeconfig's certificate-authority or server`,
          {
            system: SYSTEM,
          },
        );
      }
      // no HTTP answer (refused, reset, DNS, timeout): worth retrying
      throw networkFailure(SYSTEM, what, err, { secrets, timeoutMs });
    } finally {
      clearTimeout(timer);
    }
  }
}

function weightsOf({ route, pairs }: { route: HttpRoute; pairs: RefPair[] }): { percent: number; stable: number; canary: number } {
  // the first rule speaks for all: setWeights writes the same weights to each
  const refs = route.spec?.rules?.[pairs[0].rule]?.backendRefs ?? [];
  const stable = refs[pairs[0].stable]?.weight ?? 1;
  const canary = refs[pairs[0].canary]?.weight ?? 1;
  const total = stable + canary;
  return { stable, canary, percent: total === 0 ? 0 : Math.round((canary / total) * 10000) / 100 };
}
