// A real Kubernetes control plane for a test file: etcd, kube-apiserver (a static admin token, RBAC on),
// kube-controller-manager, kube-scheduler and kwok (a fake node whose pods it makes ready), all built by
// `scripts/tools.sh kubernetes` into .tools/kubernetes, on free 127.0.0.1 ports, with the Gateway API
// CRDs applied. Its data, PKI and logs live in .data/k8s-*/ and go away with stop(). With QUAD_KUBECONFIG
// set, that cluster is used instead and nothing is started.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { freePort } from './net';
import { ROOT } from './temporal-servers';

const run = promisify(execFile);

export const K8S_DIR = join(ROOT, '.tools', 'kubernetes');
/** Images whose tag ends so are never pulled: kwok leaves their pods Pending in ImagePullBackOff. */
export const NEVER_READY_SUFFIX = '-never-ready';

export interface LocalKubernetes {
  /** an admin kubeconfig (cluster-admin through system:masters); mode 0600, in .data */
  kubeconfigPath: string;
  /** e.g. https://127.0.0.1:41234 */
  server: string;
  adminToken: string;
  /** the CA the server's certificate chains to (PEM) */
  caPem: string;
  /** the CA's and a 127.0.0.1 serving certificate (for a proxy in front of the server) */
  pki: Pki;
  /** where this cluster's files live */
  dir: string;
  /** true when QUAD_KUBECONFIG named an existing cluster */
  external: boolean;
  /** ms from the first spawn until the API server answered /readyz, and until everything was ready */
  timings: { apiReadyMs: number; totalMs: number };
  /** the last lines of each component's log, for a failing test to show */
  logTail(name?: string): string;
  /** a namespace, once its default ServiceAccount exists (pods are refused before) */
  namespace(name: string): Promise<void>;
  stop(): Promise<void>;
}

export interface Pki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
}

const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A CA and a serving certificate for 127.0.0.1 (openssl with argument arrays, never a shell). */
export async function makePki(dir: string): Promise<Pki> {
  mkdirSync(dir, { recursive: true });
  const f = (n: string) => join(dir, n);
  const o = (args: string[]) => run('openssl', args);
  await o(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '30', '-subj', '/CN=quad-test-ca']);
  await o(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=kube-apiserver']);
  const san =
    'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n';
  writeFileSync(f('ext.cnf'), san);
  await o([
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.crt'),
    '-days',
    '30',
    '-extfile',
    f('ext.cnf'),
  ]);
  return { caCert: f('ca.crt'), caKey: f('ca.key'), serverCert: f('server.crt'), serverKey: f('server.key') };
}

/** A kubeconfig for one bearer token (written 0600: it holds the token). */
export function writeKubeconfig(path: string, server: string, caPem: string, token: string, user = 'quad-test'): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'local', context: { cluster: 'local', user } }],
    'current-context': 'local',
  };
  writeFileSync(path, yaml.dump(config), { mode: 0o600 });
  return path;
}

/** GET over TLS with the cluster's CA; resolves with the status and body, never throws on an HTTP status. */
export function httpsGet(url: string, opts: { ca?: string; token?: string; insecure?: boolean }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ca: opts.ca,
        // only for the controller-manager's and scheduler's self-signed health ports on loopback
        rejectUnauthorized: !opts.insecure,
        headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
        timeout: 2000,
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** kwok's stages from .tools, with pod-ready skipping never-ready images and a stage that leaves them in ImagePullBackOff. */
export function kwokStages(): string {
  const dir = join(K8S_DIR, 'kwok-stages');
  const docs = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => yaml.load(readFileSync(join(dir, f), 'utf8')) as { metadata: { name: string }; spec: { selector: { matchExpressions: unknown[] } } });
  const neverReady = `.spec.containers.[] | select( .image | endswith(${JSON.stringify(NEVER_READY_SUFFIX)}) ) | .name`;
  const ready = docs.find((d) => d.metadata.name === 'pod-ready');
  if (!ready) throw new Error(`no pod-ready stage in ${dir}: run scripts/tools.sh kubernetes`);
  ready.spec.selector.matchExpressions.push({ key: neverReady, operator: 'DoesNotExist' });
  const pullBackOff = {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
    metadata: { name: 'pod-image-pull-backoff' },
    spec: {
      resourceRef: { apiGroup: 'v1', kind: 'Pod' },
      selector: {
        matchExpressions: [
          { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' },
          { key: '.status.phase', operator: 'In', values: ['Pending'] },
          { key: neverReady, operator: 'Exists' },
          { key: '.status.containerStatuses', operator: 'DoesNotExist' },
        ],
      },
      next: {
        statusTemplate: [
          'containerStatuses:',
          '{{ range .spec.containers }}',
          '- image: {{ .image | Quote }}',
          '  name: {{ .name | Quote }}',
          '  ready: false',
          '  restartCount: 0',
          '  state:',
          '    waiting:',
          '      reason: ImagePullBackOff',
          '      message: {{ printf "Back-off pulling image %q" .image | Quote }}',
          '{{ end }}',
          'phase: Pending',
        ].join('\n'),
      },
    },
  };
  return [...docs, pullBackOff].map((d) => yaml.dump(d)).join('---\n');
}

function binary(name: string): string {
  const p = join(K8S_DIR, 'bin', name);
  if (!existsSync(p))
    throw new Error(
      `${p} is missing: run \`bash scripts/tools.sh kubernetes\` (about 12 min cold), or set QUAD_KUBECONFIG to an existing cluster's kubeconfig`,
    );
  return p;
}

// Children get SIGKILL from the kernel when this process dies, however it dies (setpriv --pdeathsig).
const PDEATHSIG = existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--'] : [];

export async function startKubernetes(opts: { timeoutMs?: number } = {}): Promise<LocalKubernetes> {
  if (process.env.QUAD_KUBECONFIG) return externalCluster(process.env.QUAD_KUBECONFIG);
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const t0 = Date.now();
  removeStaleClusters();
  const dir = join(ROOT, '.data', `k8s-${process.pid}-${randomBytes(3).toString('hex')}`);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const pki = await makePki(join(dir, 'pki'));
  const caPem = readFileSync(pki.caCert, 'utf8');
  const adminToken = randomBytes(24).toString('hex');
  writeFileSync(join(dir, 'pki', 'tokens.csv'), `${adminToken},admin,admin,system:masters\n`, { mode: 0o600 });
  await run('openssl', ['genrsa', '-out', join(dir, 'pki', 'sa.key'), '2048']);
  await run('openssl', ['rsa', '-in', join(dir, 'pki', 'sa.key'), '-pubout', '-out', join(dir, 'pki', 'sa.pub')]);
  const [api, etcd, peer, kcm, sched, kwok] = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  const server = `https://127.0.0.1:${api}`;
  const kubeconfigPath = writeKubeconfig(join(dir, 'admin.kubeconfig'), server, caPem, adminToken, 'admin');
  writeFileSync(join(dir, 'kwok.yaml'), kwokStages());

  const children = new Map<string, ChildProcess>();
  let stopping = false;
  const killAll = () => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL'));
  process.once('exit', killAll);
  const logTail = (name?: string) =>
    (name ? [name] : [...children.keys()])
      .map((n) => {
        try {
          return `--- ${n}:\n${readFileSync(join(dir, 'logs', `${n}.log`), 'utf8').slice(-3000)}`;
        } catch {
          return `--- ${n}: (no log)`;
        }
      })
      .join('\n');
  const launch = (name: (typeof COMPONENTS)[number], args: string[]) => {
    const fd = openSync(join(dir, 'logs', `${name}.log`), 'a');
    const argv = [...PDEATHSIG, binary(name), ...args];
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    children.set(name, child);
    child.once('exit', (code, signal) => {
      if (!stopping) console.error(`${name} exited unexpectedly (code ${code}, signal ${signal}):\n${logTail(name)}`);
    });
  };
  const stop = async () => {
    stopping = true;
    for (const name of [...COMPONENTS].reverse()) {
      const c = children.get(name);
      if (!c || c.exitCode !== null || c.signalCode !== null) continue;
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    process.removeListener('exit', killAll);
    if (!process.env.QUAD_KEEP_K8S_DATA) rmSync(dir, { recursive: true, force: true });
  };
  const waitFor = async (what: string, ok: () => Promise<boolean>) => {
    for (;;) {
      const dead = [...children].find(([, c]) => c.exitCode !== null || c.signalCode !== null);
      if (dead) throw new Error(`${dead[0]} died while waiting for ${what}:\n${logTail(dead[0])}`);
      if (await ok().catch(() => false)) return;
      if (Date.now() - t0 > timeoutMs) throw new Error(`${what} not ready after ${timeoutMs} ms:\n${logTail()}`);
      await sleep(100);
    }
  };

  try {
    // fsync off: a throwaway cluster needs no durability, and it keeps a shared 2-core box responsive
    launch('etcd', [
      '--name=quad',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcd}`,
      `--advertise-client-urls=http://127.0.0.1:${etcd}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=quad=http://127.0.0.1:${peer}`,
      '--unsafe-no-fsync',
    ]);
    await waitFor('etcd', async () => (await fetch(`http://127.0.0.1:${etcd}/health`)).ok);
    launch('kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${etcd}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${api}`,
      '--advertise-address=127.0.0.1',
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--token-auth-file=${join(dir, 'pki', 'tokens.csv')}`,
      `--service-account-key-file=${join(dir, 'pki', 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'pki', 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      '--api-audiences=https://kubernetes.default.svc',
      '--authorization-mode=RBAC',
      '--service-cluster-ip-range=10.96.0.0/16',
      // the advertise address is loopback, which the endpoint reconciler refuses
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
    ]);
    await waitFor('kube-apiserver', async () => (await httpsGet(`${server}/readyz`, { ca: caPem, token: adminToken })).body === 'ok');
    const apiReadyMs = Date.now() - t0;
    const kc = `--kubeconfig=${kubeconfigPath}`;
    launch('kube-controller-manager', [
      kc,
      '--bind-address=127.0.0.1',
      `--secure-port=${kcm}`,
      '--leader-elect=false',
      `--service-account-private-key-file=${join(dir, 'pki', 'sa.key')}`,
      `--root-ca-file=${pki.caCert}`,
      '--service-cluster-ip-range=10.96.0.0/16',
    ]);
    // kwok fakes nodes and pods but does not schedule
    launch('kube-scheduler', [kc, '--bind-address=127.0.0.1', `--secure-port=${sched}`, '--leader-elect=false']);
    launch('kwok', [
      kc,
      `--config=${join(dir, 'kwok.yaml')}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      `--server-address=127.0.0.1:${kwok}`,
    ]);
    await waitFor('kube-controller-manager', async () => (await httpsGet(`https://127.0.0.1:${kcm}/healthz`, { insecure: true })).body === 'ok');
    await waitFor('kube-scheduler', async () => (await httpsGet(`https://127.0.0.1:${sched}/healthz`, { insecure: true })).body === 'ok');

    const kubeconfig = new KubeConfig();
    kubeconfig.loadFromFile(kubeconfigPath);
    const core = kubeconfig.makeApiClient(CoreV1Api);
    await core.createNode({
      body: {
        metadata: {
          name: 'kwok-node-0',
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: { type: 'kwok', 'kubernetes.io/hostname': 'kwok-node-0', 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
        },
        status: { allocatable: { cpu: '32', memory: '256Gi', pods: '110' }, capacity: { cpu: '32', memory: '256Gi', pods: '110' } },
      },
    });
    await waitFor('the kwok node', async () => {
      const node = await core.readNode({ name: 'kwok-node-0' });
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    });
    const kubectl = binary('kubectl');
    await run(kubectl, [kc, 'apply', '--server-side', '-f', join(K8S_DIR, 'crds')]);
    await run(kubectl, [kc, 'wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
    return {
      kubeconfigPath,
      server,
      adminToken,
      caPem,
      pki,
      dir,
      external: false,
      timings: { apiReadyMs, totalMs: Date.now() - t0 },
      logTail,
      namespace: (name) => ensureNamespace(core, name),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The folders of clusters whose test process is gone (killed before its stop() ran): their processes died with it. */
function removeStaleClusters(): void {
  const data = join(ROOT, '.data');
  for (const f of existsSync(data) ? readdirSync(data) : []) {
    const pid = Number(/^k8s-(?:external-)?(\d+)-[0-9a-f]+$/.exec(f)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch {
      rmSync(join(data, f), { recursive: true, force: true });
    }
  }
}

async function ensureNamespace(core: CoreV1Api, name: string): Promise<void> {
  await core.createNamespace({ body: { metadata: { name } } }).catch((e: { code?: number }) => {
    if (e.code !== 409) throw e;
  });
  // the ServiceAccount admission plugin refuses pods until the controller made "default"
  const deadline = Date.now() + 30_000;
  for (;;) {
    const sa = await core.readNamespacedServiceAccount({ name: 'default', namespace: name }).catch(() => null);
    if (sa) return;
    if (Date.now() > deadline) throw new Error(`namespace ${name}: no default ServiceAccount after 30 s`);
    await sleep(100);
  }
}

/** QUAD_KUBECONFIG: an existing cluster (token auth, the Gateway API CRDs installed, nodes that make pods ready). */
async function externalCluster(path: string): Promise<LocalKubernetes> {
  const t0 = Date.now();
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  const cluster = kc.getCurrentCluster();
  const token = kc.getCurrentUser()?.token;
  if (!cluster || !token) throw new Error(`QUAD_KUBECONFIG ${path}: the tests need a current cluster and a bearer-token user`);
  const caPem = cluster.caData ? Buffer.from(cluster.caData, 'base64').toString() : cluster.caFile ? readFileSync(cluster.caFile, 'utf8') : '';
  const dir = join(ROOT, '.data', `k8s-external-${process.pid}-${randomBytes(3).toString('hex')}`);
  const pki = await makePki(join(dir, 'pki'));
  const core = kc.makeApiClient(CoreV1Api);
  return {
    kubeconfigPath: path,
    server: cluster.server,
    adminToken: token,
    caPem,
    pki,
    dir,
    external: true,
    timings: { apiReadyMs: 0, totalMs: Date.now() - t0 },
    logTail: () => '(an existing cluster: its logs are its own)',
    namespace: (name) => ensureNamespace(core, name),
    stop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}
