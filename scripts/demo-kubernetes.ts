// The demo on Kubernetes (`scripts/demo.sh kubernetes` installs what is missing and runs this): a local
// control plane (kube-apiserver + kwok, from .tools/kubernetes), a small app applied to it (namespace
// `shop`: Deployments checkout and checkout-canary, their Services, an HTTPRoute splitting between them;
// image tags need not exist, kwok makes the pods ready), a worker releasing through the kubernetes
// deployer, and the same good and bad release as the sandbox demo. kwok's pods serve nothing, so the
// sandbox plays them: the route's weights and the Deployments' tags, read back from the API server, set
// the sandbox's router, whose versions report the metrics the guard and judge read.
// The dev server and its Web UI stay up; the cluster, the sandbox and the worker stop at the end.
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { startKubernetes, K8S_DIR, type LocalKubernetes } from '../test/support/kubernetes';
import { keepNodeLeased } from '../test/support/e2e-node-lease';
import { createKubernetesApp, type KubernetesApp } from '../test/support/k8s-app';
import { withDeployer } from '../test/support/e2e-deploy';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, bundleFile, type Child, type SandboxProcess } from '../test/support/stack';
import { devServerSettings, ROOT } from '../test/support/temporal-servers';
import { loadConfig } from '../config/load';
import { Releases } from '../client/releases';

const BASE = 'v1.2.2';
const GOOD = process.env.DEMO_GOOD ?? 'v1.2.4';
const BAD = process.env.DEMO_BAD ?? 'v1.2.5-bad';
const NAMESPACE = 'shop';
const run = promisify(execFile);
const say = (s: string) => process.stdout.write(`\n\x1b[1m[demo:k8s] ${s}\x1b[0m\n`);
const note = (s: string) => process.stdout.write(`[demo:k8s] ${s}\n`);

/** What kubectl itself says about the app (the binary the tools script built; arguments, never a shell). */
async function kubectl(cluster: LocalKubernetes, args: string[]): Promise<string> {
  const { stdout } = await run(join(K8S_DIR, 'bin', 'kubectl'), [`--kubeconfig=${cluster.kubeconfigPath}`, '-n', NAMESPACE, ...args]);
  return stdout.trimEnd();
}

async function showApp(cluster: LocalKubernetes, app: KubernetesApp): Promise<void> {
  const w = await app.world();
  note(`HTTPRoute checkout: stable ${w.weights[0]} / canary ${w.weights[1]}`);
  note(
    `deployment checkout ${w.stable.tag} (${w.stable.ready}/${w.stable.replicas} ready), checkout-canary ${w.canary.tag} (${w.canary.ready}/${w.canary.replicas} ready)`,
  );
  process.stdout.write(
    `${await kubectl(cluster, ['get', 'deployments', '-o', 'custom-columns=NAME:.metadata.name,IMAGE:.spec.template.spec.containers[0].image,READY:.status.readyReplicas,WANTED:.spec.replicas'])}\n`,
  );
}

async function release(rel: Releases, app: KubernetesApp, version: string, expected: string): Promise<string> {
  const before = app.changes.length;
  const started = await rel.release({ service: 'checkout', version, requestedBy: 'demo', reason: `the Kubernetes demo: ${version}`, source: 'cli' });
  note(`started ${version}: ${started.url}`);
  const result = await rel.result('checkout');
  const changes = app.changes.slice(before).map((c) => `${c.weights[0]}/${c.weights[1]}`);
  note(`${version}: ${result.status} — ${result.reason}`);
  note(`the route, as the API server stored it: ${changes.join(' → ')}`);
  if (result.status !== expected) throw new Error(`expected ${version} to end ${expected}, it ended ${result.status}`);
  return started.url;
}

async function main() {
  const t0 = Date.now();
  const s = devServerSettings();
  const address = `${s.ip}:${s.port}`;
  const dataDir = join(ROOT, '.data', 'demo-k8s');
  mkdirSync(dataDir, { recursive: true });
  let cluster: LocalKubernetes | undefined;
  let lease: { stop(): void } | undefined;
  let sandbox: SandboxProcess | undefined;
  let app: KubernetesApp | undefined;
  let worker: Child | undefined;
  const connection = await Connection.connect({ address, connectTimeout: '5s' });
  try {
    say('1/4 the local Kubernetes control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok) and the sandbox');
    let bundle: string;
    [cluster, sandbox, bundle] = await Promise.all([
      startKubernetes(),
      startSandboxProcess({ serve: { checkout: BASE }, loadRps: Number(process.env.DEMO_LOAD_RPS ?? 100), loadMaxS: 1800 }),
      bundleFile(dataDir),
    ]);
    lease = await keepNodeLeased(cluster.kubeconfigPath);
    note(`API server ${cluster.server} (ready in ${(cluster.timings.totalMs / 1000).toFixed(1)} s); sandbox ${sandbox.url}`);

    say(`2/4 the app in namespace ${NAMESPACE}: checkout ${BASE} (3 replicas), an empty canary, an HTTPRoute at 100/0`);
    app = await createKubernetesApp(cluster, { ns: NAMESPACE, stable: BASE, sandboxUrl: sandbox.url });
    await showApp(cluster, app);

    say('3/4 a worker releasing through the kubernetes deployer (KUBECONFIG → the local cluster)');
    const taskQueue = 'quad-demo-k8s';
    const configFile = withDeployer(
      writeStackConfig(dataDir, {
        sandboxUrl: sandbox.url,
        address,
        taskQueue,
        webUiUrl: `http://${s.ip}:${s.ui_port}`,
        pollIntervalS: 2,
        minRequests: 50,
        dataDir,
        stages: [{ traffic_percent: 10, duration_minutes: 0.5 }, { traffic_percent: 50, duration_minutes: 0.5 }, { traffic_percent: 100 }],
      }),
      app.deployer,
      { version_pattern: 'image-tag' },
    );
    worker = await startWorkerProcess({ configFile, address, taskQueue, bundle, env: { KUBECONFIG: cluster.kubeconfigPath } });
    const rel = new Releases(new Client({ connection, namespace: s.namespace }), loadConfig(configFile), taskQueue);

    say(`4/4 releases: ${GOOD} (10 % → 50 % → 100 %, 30 s windows), then ${BAD} (the sandbox makes it fail 8 % of its requests)`);
    const goodUrl = await release(rel, app, GOOD, 'succeeded');
    await showApp(cluster, app);
    const badUrl = await release(rel, app, BAD, 'rolled_back');
    await showApp(cluster, app);

    say(`done in ${Math.round((Date.now() - t0) / 1000)} s`);
    process.stdout.write(`  ${GOOD} released:     ${goodUrl}\n  ${BAD} rolled back: ${badUrl}\n`);
    process.stdout.write(`  The Temporal dev server and its Web UI keep running (http://${s.ip}:${s.ui_port}); the cluster, sandbox and worker are stopped.\n`);
  } finally {
    await worker?.stop();
    await app?.stop();
    lease?.stop();
    await sandbox?.stop();
    await cluster?.stop();
    await connection.close();
  }
}

main().catch((err) => {
  process.stderr.write(`[demo:k8s] failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
