// Access to the test cluster other than the admin's: a ServiceAccount token bound to a limited Role (for
// the RBAC checks), and a counting HTTPS proxy in front of the API server (for "each split applied once").
import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import { writeKubeconfig, type LocalKubernetes } from './kubernetes';

/** The minimal Role the kubernetes deployer needs in its namespace, as README.md documents it. */
export const DEPLOYER_ROLE_RULES: V1PolicyRule[] = [
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] },
  { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: ['get', 'patch'] },
  { apiGroups: [''], resources: ['services'], verbs: ['get'] },
];

function adminConfig(cluster: LocalKubernetes): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  return kc;
}

/**
 * A ServiceAccount `name` in `namespace`, bound to a Role of exactly `rules`, and a kubeconfig holding a
 * token for it (TokenRequest API, 1 h). The token stays in the 0600 file: nothing prints it.
 */
export async function limitedKubeconfig(
  cluster: LocalKubernetes,
  opts: { namespace: string; name: string; rules: V1PolicyRule[]; via?: CountingProxy },
): Promise<{ kubeconfigPath: string; user: string }> {
  const kc = adminConfig(cluster);
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const { namespace, name } = opts;
  const exists = (e: { code?: number }) => {
    if (e.code !== 409) throw e;
  };
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } }).catch(exists);
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules: opts.rules } }).catch(exists);
  await rbac
    .createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      },
    })
    .catch(exists);
  const tr = await core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const token = tr.status?.token;
  if (!token) throw new Error(`no token came back for ServiceAccount ${namespace}/${name}`);
  const user = `system:serviceaccount:${namespace}:${name}`;
  const path = writeKubeconfig(
    join(cluster.dir, `${namespace}-${name}.kubeconfig`),
    opts.via?.server ?? cluster.server,
    opts.via?.caPem ?? cluster.caPem,
    token,
    name,
  );
  return { kubeconfigPath: path, user };
}

export interface CountingProxy {
  /** e.g. https://127.0.0.1:41234 (a certificate for 127.0.0.1 from the cluster's test CA) */
  server: string;
  /** the CA a client must trust for this proxy (PEM) */
  caPem: string;
  /** every request seen, as "METHOD /path" (query string cut off), in order */
  requests(): string[];
  /** how many PATCH and PUT requests each resource path got */
  writes(): Record<string, number>;
  reset(): void;
  /** the next request whose method is `method` and whose path ends with `pathEnd` gets `status` instead of reaching the server */
  failNext(method: string, pathEnd: string, status: number, reason: string): void;
  stop(): Promise<void>;
}

/** An HTTPS proxy to the cluster's API server that records each request's method and path. */
export async function startCountingProxy(cluster: LocalKubernetes): Promise<CountingProxy> {
  const seen: string[] = [];
  const failures: Array<{ method: string; pathEnd: string; status: number; reason: string }> = [];
  const upstream = new URL(cluster.server);
  const srv: Server = createServer({ cert: readFileSync(cluster.pki.serverCert), key: readFileSync(cluster.pki.serverKey) }, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    seen.push(`${req.method} ${path}`);
    const f = failures.findIndex((x) => x.method === req.method && path.endsWith(x.pathEnd));
    if (f >= 0) {
      const [{ status, reason }] = failures.splice(f, 1);
      // a Status object, as the API server answers
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          message: reason,
          reason: status === 409 ? 'Conflict' : 'InternalError',
          code: status,
        }),
      );
      req.resume();
      return;
    }
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
        ca: cluster.caPem || undefined,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', (err) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    server: `https://127.0.0.1:${port}`,
    caPem: readFileSync(cluster.pki.caCert, 'utf8'),
    requests: () => [...seen],
    writes: () => {
      const counts: Record<string, number> = {};
      for (const r of seen) {
        const [method, path] = r.split(' ');
        if (method === 'PATCH' || method === 'PUT') counts[path] = (counts[path] ?? 0) + 1;
      }
      return counts;
    },
    reset: () => {
      seen.length = 0;
    },
    failNext: (method, pathEnd, status, reason) => {
      failures.push({ method, pathEnd, status, reason });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        srv.closeAllConnections();
        srv.close(() => resolve());
      }),
  };
}

/** A kubeconfig that reaches the cluster through `proxy`, with the given token. */
export function kubeconfigThrough(cluster: LocalKubernetes, proxy: CountingProxy, token: string, name = 'via-proxy'): string {
  return writeKubeconfig(join(cluster.dir, `${name}.kubeconfig`), proxy.server, proxy.caPem, token, name);
}
