// Keeps the local cluster's kwok node Ready for a test file that runs longer than a minute. kwok (as
// test/support/kubernetes.ts starts it) renews no node Lease and patches the node's status only every
// minute or so, so on a busy machine kube-controller-manager's node-monitor grace period (50 s) passes:
// the node goes NotReady and every pod on it is marked not ready, which a canary then is. Renewing the
// node's Lease in kube-node-lease is the heartbeat the node lifecycle controller reads.
import { CoordinationV1Api, KubeConfig, V1MicroTime } from '@kubernetes/client-node';

export async function keepNodeLeased(kubeconfigPath: string, node = 'kwok-node-0', everyMs = 5_000): Promise<{ stop(): void }> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const leases = kc.makeApiClient(CoordinationV1Api);
  const namespace = 'kube-node-lease';
  const spec = () => ({ holderIdentity: node, leaseDurationSeconds: 40, renewTime: new V1MicroTime() });
  await leases.createNamespacedLease({ namespace, body: { metadata: { name: node }, spec: spec() } }).catch((e: { code?: number }) => {
    if (e.code !== 409) throw e;
  });
  const renew = () =>
    leases
      .patchNamespacedLease({ name: node, namespace, body: [{ op: 'replace', path: '/spec/renewTime', value: new V1MicroTime().toISOString() }] })
      .catch((e: unknown) => console.error(`node lease ${node}: ${String(e)}`));
  const timer = setInterval(() => void renew(), everyMs);
  return { stop: () => clearInterval(timer) };
}
