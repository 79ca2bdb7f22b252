// For the end-to-end releases on a real deploy target (Kubernetes, an ALB): the stack config with that
// target's deployer, and a stand-in for the pods behind it. kwok's pods and moto's targets serve nothing,
// so the sandbox plays them: whatever split the target holds (read back from the platform, never from
// QUAD) is applied to the sandbox's router, whose versions then get real requests and report the
// metrics the guard and the judge read (a `-bad` version answers with errors).
import { readFileSync, writeFileSync } from 'node:fs';
import type { Releases } from '../../client/releases';
import type { ReleaseStatus } from '../../contract/messages';
import { eventually } from './release-harness';
import type { Child } from './stack';

export interface Split {
  version: string;
  previousVersion: string | null;
  percent: number;
}

/** Rewrites a writeStackConfig file so the service `checkout` releases through `deployer` (metrics stay the sandbox's). */
export function withDeployer(configFile: string, deployer: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const doc = JSON.parse(readFileSync(configFile, 'utf8')) as { services: { checkout: Record<string, unknown> } };
  doc.services.checkout = { ...doc.services.checkout, deployer, metrics: { type: 'sandbox' }, ...extra };
  writeFileSync(configFile, JSON.stringify(doc, null, 2));
  return configFile;
}

/** The split as the sandbox wants it: a canary share of the canary's version, or the stable alone. */
export function splitOf(stableVersion: string, canaryVersion: string, canaryPercent: number): Split {
  if (canaryPercent <= 0 || canaryVersion === stableVersion) return { version: stableVersion, previousVersion: null, percent: 100 };
  return { version: canaryVersion, previousVersion: stableVersion, percent: canaryPercent };
}

export interface Mirror {
  /** every distinct split read from the platform, in order */
  seen: Split[];
  /** applies the current platform state now (e.g. from a watch event) */
  sync(): Promise<void>;
  stop(): Promise<void>;
}

/** Polls `read` (the platform's state) every `everyMs` and sets the sandbox's split to it when it changed. */
export function mirrorToSandbox(sandboxUrl: string, service: string, read: () => Promise<Split>, everyMs = 200): Mirror {
  const seen: Split[] = [];
  let last = '';
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const once = async () => {
    const split = await read();
    const key = JSON.stringify(split);
    if (key === last) return;
    const res = await fetch(`${sandboxUrl}/admin/services/${encodeURIComponent(service)}/traffic`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: key,
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`sandbox traffic ${key}: HTTP ${res.status} ${await res.text()}`);
    last = key;
    seen.push(split);
  };
  const sync = () => (running = running.then(once).catch((e: unknown) => console.error(`mirror: ${(e as Error).message}`)));
  const timer = setInterval(() => {
    if (!stopped) void sync();
  }, everyMs);
  return {
    seen,
    sync,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * The crash both platform e2e tests share: starts the release on one worker, kills it with SIGKILL
 * while the second stage (25 %) is watched, starts another worker and waits for the release, which must
 * succeed with a verdict taken after the kill.
 */
export async function releaseThroughWorkerCrash(rel: Releases, startWorker: () => Promise<Child>, version: string): Promise<void> {
  const first = await startWorker();
  await rel.release({ service: 'checkout', version, requestedBy: 'ana', source: 'cli' });
  // mid-stage: the 25 % window is being watched by this worker's guard
  const watching = await eventually(
    () => rel.status('checkout'),
    (s: ReleaseStatus) => s.stageIndex === 1 && s.windowEndsAt !== null,
    60_000,
  );
  await new Promise((r) => setTimeout(r, 1500));
  first.kill('SIGKILL');
  expect(await first.exited).toBe('SIGKILL');
  const killedAt = Date.now();
  expect(watching.trafficPercent).toBe(25);

  await startWorker();
  const result = await rel.result('checkout');
  if (result.status !== 'succeeded') console.log(`not released: ${result.reason}; ${JSON.stringify((await rel.status('checkout')).timeline)}`);
  expect(result).toMatchObject({ status: 'succeeded', version, trafficPercent: 100 });
  const verdicts = (await rel.status('checkout')).timeline.filter((e) => e.event.startsWith('verdict'));
  expect(verdicts[verdicts.length - 1].at).toBeGreaterThan(killedAt);
}
