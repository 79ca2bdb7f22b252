// The deployer degraded: the worker's sandbox deployer talks to the sandbox admin API through a fault
// proxy (services.checkout.deployer.url), the metrics go straight to the sandbox. Dev server, a real
// worker process, the sandbox under load. The deployer reset for a few seconds at a stage's shift: the
// shift is retried and applied once (the sandbox change log), the release succeeds. The deployer reset
// for good at a stage: the release rolls back, and the undo finishes once the deployer is back.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { eventually } from '../support/release-harness';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { startFaultProxy, describeCounters, pass, type FaultProxy } from '../support/fault-proxy';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';
import type { ReleaseStatus } from '../../contract/messages';

jest.setTimeout(170_000);

const BASE = 'v1.2.2';
const taskQueue = `degraded-deployer-${process.pid}`;
const STAGES = [{ traffic_percent: 20, duration_minutes: 0.1 }, { traffic_percent: 60, duration_minutes: 0.1 }, { traffic_percent: 100 }];
const WINDOWS_MS = 12_000;

let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let proxy: FaultProxy;
let dir: ReturnType<typeof tempDir>;
let worker: Child;
let rel: Releases;
let cfg: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const changesOf = async (version: string) => (await sandbox.changes('checkout')).filter((c) => c.version === version);

beforeAll(async () => {
  dir = tempDir('quad-degraded-deployer-');
  let bundle: string;
  [env, sandbox, bundle] = await Promise.all([
    localEnv(),
    startSandboxProcess({ serve: { checkout: BASE }, loadRps: 100, loadMaxS: 600 }),
    bundleFile(dir.path),
  ]);
  proxy = await startFaultProxy(sandbox.url);
  const sub = join(dir.path, 'cfg');
  mkdirSync(sub);
  cfg = writeStackConfig(sub, { sandboxUrl: sandbox.url, address: env.address, taskQueue, pollIntervalS: 1, minRequests: 50, stages: STAGES, dataDir: sub });
  const doc = JSON.parse(readFileSync(cfg, 'utf8'));
  doc.services.checkout.deployer = { type: 'sandbox', url: proxy.url };
  writeFileSync(cfg, JSON.stringify(doc, null, 2));
  worker = await startWorkerProcess({ configFile: cfg, address: env.address, taskQueue, bundle });
  rel = new Releases(env.client, loadConfig(cfg), taskQueue);
});

afterAll(async () => {
  await worker?.stop();
  await proxy?.close();
  await sandbox?.stop();
  await env?.teardown();
  dir?.remove();
});

/** Resolves at `before` ms ahead of the end of stage `index`'s window. */
async function nearWindowEnd(index: number, before: number): Promise<void> {
  const s = await eventually(
    () => rel.status('checkout'),
    (x: ReleaseStatus) => x.stageIndex === index && x.windowEndsAt !== null,
    60_000,
  );
  await sleep(Math.max(0, s.windowEndsAt! - Date.now() - before));
}

let undisturbedMs = 0;

test('undisturbed: the same release through the proxy in pass, for the figures to compare with', async () => {
  const t0 = Date.now();
  await rel.release({ service: 'checkout', version: 'v1.3.0', requestedBy: 'ana', source: 'cli' });
  const result = await rel.result('checkout');
  undisturbedMs = Date.now() - t0;
  expect(result).toMatchObject({ status: 'succeeded', trafficPercent: 100 });
  expect((await changesOf('v1.3.0')).map((c) => c.percent)).toEqual([20, 60, 100, 100]);
  console.log(
    `deployer undisturbed: ${result.status} in ${(undisturbedMs / 1000).toFixed(1)} s (windows ${WINDOWS_MS / 1000} s) · proxy ${describeCounters(proxy.counters())}`,
  );
});

test('the deployer reset for 4 s at the 60 % shift: retried, applied once, the release succeeds', async () => {
  const t0 = Date.now();
  await rel.release({ service: 'checkout', version: 'v1.3.2', requestedBy: 'ana', source: 'cli' });
  await nearWindowEnd(0, 300);
  const before = proxy.counters();
  proxy.set({ kind: 'reset' });
  const faultAt = Date.now();
  await sleep(4_000);
  proxy.set(pass);
  const during = proxy.since(before);
  const result = await rel.result('checkout');
  const tookMs = Date.now() - t0;
  expect(result).toMatchObject({ status: 'succeeded', version: 'v1.3.2', trafficPercent: 100 });
  // each split reached the router once, in order
  const changes = await changesOf('v1.3.2');
  expect(changes.map((c) => c.percent)).toEqual([20, 60, 100, 100]);
  // the 60 % split came after the deployer was back, by a retry
  expect(changes[1].at).toBeGreaterThan(faultAt);
  expect(during.connections.reset).toBeGreaterThanOrEqual(1);
  console.log(
    `deployer reset 4 s mid-shift: ${result.status} in ${(tookMs / 1000).toFixed(1)} s, ` +
      `${((tookMs - undisturbedMs) / 1000).toFixed(1)} s more than undisturbed; 60 % applied ${((changes[1].at - faultAt) / 1000).toFixed(1)} s after the fault began; ` +
      `attempts refused (proxy, during the fault): ${describeCounters(during)}; change log ${changes.map((c) => c.percent).join(', ')}`,
  );
});

test('the deployer gone for good at the 60 % shift: rolled back, the undo finishes once the deployer returns', async () => {
  const t0 = Date.now();
  await rel.release({ service: 'checkout', version: 'v1.3.3', requestedBy: 'ana', source: 'cli' });
  await nearWindowEnd(0, 300);
  const before = proxy.counters();
  proxy.set({ kind: 'reset' });
  const faultAt = Date.now();
  // the shift's retries run out, the release turns to its rollback, whose revert meets the same wall
  const rolling = await eventually(
    () => rel.status('checkout'),
    (x: ReleaseStatus) => x.phase === 'rolling_back' || x.phase === 'rolled_back' || x.phase === 'rollback_failed',
    120_000,
  );
  expect(rolling.phase).toBe('rolling_back');
  const rollingAt = Date.now();
  await sleep(3_000);
  const during = proxy.since(before);
  proxy.set(pass);
  const backAt = Date.now();
  const result = await rel.result('checkout');
  const doneAt = Date.now();
  expect(result.status).toBe('rolled_back');
  const changes = await changesOf('v1.3.3');
  // 20 % out and 0 % back; the 60 % never reached the router
  expect(changes.map((c) => c.percent)).toEqual([20, 0]);
  expect(changes[1].at).toBeGreaterThanOrEqual(backAt - 50);
  expect(await sandbox.traffic('checkout')).toMatchObject({ version: 'v1.3.3', previousVersion: 'v1.3.2', percent: 0 });
  const timeline = (await rel.status('checkout')).timeline.map((e) => `${e.event}${e.detail ? `: ${e.detail.slice(0, 140)}` : ''}`);
  console.log(
    `deployer gone at the 60 % shift: ${result.status} (${result.reason}); rollback began ${((rollingAt - faultAt) / 1000).toFixed(1)} s after the fault, ` +
      `undo done ${((doneAt - backAt) / 1000).toFixed(1)} s after the deployer returned, release ${((doneAt - t0) / 1000).toFixed(1)} s in all; ` +
      `attempts refused: ${describeCounters(during)}; change log ${changes.map((c) => c.percent).join(', ')}\n  timeline:\n  ${timeline.join('\n  ')}`,
  );
});
