// Where bench:release deploys (BENCH_DEPLOYER): the sandbox's own router (default), a Kubernetes
// HTTPRoute on the local control plane (kube-apiserver + kwok, scripts/tools.sh kubernetes), or an ALB
// listener with ECS in moto. Rollback ends when the platform itself, read back, sends 0 % to the canary:
//   sandbox     the router's change log entry that sets the bad version to 0 %
//   kubernetes  the HTTPRoute MODIFIED event (a watch) with the canary backendRef at weight 0
//   alb         describe_listeners polled every 50 ms: the first read with the canary group at weight 0
//               (so this figure includes up to 50 ms of polling)
// The kubernetes and alb targets have the sandbox play their pods (test/support/e2e-deploy), so the guard
// reads the same metrics in all three.
import { keepNodeLeased } from '../test/support/e2e-node-lease';
import { createKubernetesApp } from '../test/support/k8s-app';
import { startKubernetes } from '../test/support/kubernetes';
import { createAlbApp } from '../test/support/alb-app';
import { startMoto, useFakeAwsCredentials } from '../test/support/moto';
import type { SandboxProcess } from '../test/support/stack';

export type DeployerKind = 'sandbox' | 'kubernetes' | 'alb';

export interface BenchTarget {
  kind: DeployerKind;
  /** the service's `deployer:` block, or null for the sandbox's own */
  deployer: Record<string, unknown> | null;
  /** for the worker process: where its credentials come from */
  workerEnv: Record<string, string>;
  /** when the platform, read back, first sent 0 % to `version` after `since` (epoch ms), or null */
  restoredAt(version: string, since: number): Promise<number | null>;
  stop(): Promise<void>;
}

interface Seen {
  at: number;
  canaryWeight: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits up to 10 s for a change after `since` with the canary at 0 (it is normally there already). */
async function firstZero(changes: () => Seen[], since: number): Promise<number | null> {
  for (let i = 0; i < 200; i++) {
    const hit = changes().find((c) => c.at >= since && c.canaryWeight === 0);
    if (hit) return hit.at;
    await sleep(50);
  }
  return null;
}

export function deployerKind(value: string | undefined): DeployerKind {
  const kind = value ?? 'sandbox';
  if (kind === 'sandbox' || kind === 'kubernetes' || kind === 'alb') return kind;
  throw new Error(`BENCH_DEPLOYER must be sandbox, kubernetes or alb, not ${JSON.stringify(value)}`);
}

export async function startTarget(
  kind: DeployerKind,
  sandbox: SandboxProcess,
  opts: { service: string; base: string; versions: string[] },
): Promise<BenchTarget> {
  if (kind === 'sandbox') {
    return {
      kind,
      deployer: null,
      workerEnv: {},
      restoredAt: async (version) => (await sandbox.changes(opts.service)).find((c) => c.version === version && c.percent === 0)?.at ?? null,
      stop: async () => undefined,
    };
  }
  if (kind === 'kubernetes') {
    const cluster = await startKubernetes();
    // kwok renews no node Lease: without one the node goes NotReady after 50 s, and so do the canary's pods
    const lease = await keepNodeLeased(cluster.kubeconfigPath);
    const app = await createKubernetesApp(cluster, { ns: `bench-${process.pid}`, stable: opts.base, sandboxUrl: sandbox.url });
    return {
      kind,
      deployer: app.deployer,
      workerEnv: { KUBECONFIG: cluster.kubeconfigPath },
      restoredAt: (_version, since) => firstZero(() => app.changes.map((c) => ({ at: c.at, canaryWeight: c.weights[1] })), since),
      async stop() {
        await app.stop();
        lease.stop();
        await cluster.stop();
      },
    };
  }
  useFakeAwsCredentials();
  const moto = await startMoto(30_000, { env: { MOTO_ECS_SERVICE_RUNNING: '2' } });
  const app = await createAlbApp(moto.endpoint, { versions: opts.versions, stable: opts.base, sandboxUrl: sandbox.url });
  const seen: Seen[] = [];
  let last = '';
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const w = await app.world().catch(() => null);
      const key = JSON.stringify(w?.weights);
      if (w && key !== last) {
        last = key;
        seen.push({ at: Date.now(), canaryWeight: w.weights[1] });
      }
      await sleep(50);
    }
  })();
  return {
    kind,
    deployer: app.deployer(moto.endpoint),
    workerEnv: { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_EC2_METADATA_DISABLED: 'true' },
    restoredAt: (_version, since) => firstZero(() => seen, since),
    async stop() {
      polling = false;
      await poll;
      await app.stop();
      await moto.stop();
    },
  };
}
