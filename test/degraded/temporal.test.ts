// The Temporal server unreachable from the worker for 30 s in the middle of a stage's window: a fault
// proxy between the worker (TEMPORAL_ADDRESS → the proxy) and the dev server; the client talks to the
// dev server directly. The sandbox under load, a real worker process. Connections reset (refused) or
// held silent (accepted, never answered) for 30 s: the worker reconnects, the release finishes, every
// split reached the router once (the sandbox change log).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { eventually } from '../support/release-harness';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { startFaultProxy, describeCounters, pass, type FaultMode, type FaultProxy } from '../support/fault-proxy';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';
import type { ReleaseStatus } from '../../contract/messages';

jest.setTimeout(170_000);

const BASE = 'v1.2.2';
const taskQueue = `degraded-temporal-${process.pid}`;
// the outage (30 s) begins 2 s into the 36 s window of the 50 % stage
const STAGES = [{ traffic_percent: 20, duration_minutes: 0.1 }, { traffic_percent: 50, duration_minutes: 0.6 }, { traffic_percent: 100 }];
const WINDOWS_MS = 42_000;
const OUTAGE_MS = 30_000;

let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let proxy: FaultProxy;
let dir: ReturnType<typeof tempDir>;
let worker: Child;
let rel: Releases;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

beforeAll(async () => {
  dir = tempDir('quad-degraded-temporal-');
  let bundle: string;
  [env, sandbox, bundle] = await Promise.all([
    localEnv(),
    startSandboxProcess({ serve: { checkout: BASE }, loadRps: 100, loadMaxS: 600 }),
    bundleFile(dir.path),
  ]);
  proxy = await startFaultProxy(env.address);
  const sub = join(dir.path, 'cfg');
  mkdirSync(sub);
  const cfg = writeStackConfig(sub, {
    sandboxUrl: sandbox.url,
    address: proxy.address,
    taskQueue,
    pollIntervalS: 1,
    minRequests: 50,
    stages: STAGES,
    dataDir: sub,
  });
  worker = await startWorkerProcess({ configFile: cfg, address: proxy.address, taskQueue, bundle });
  rel = new Releases(env.client, loadConfig(cfg), taskQueue);
});

afterAll(async () => {
  await worker?.stop();
  await proxy?.close();
  await sandbox?.stop();
  await env?.teardown();
  dir?.remove();
});

async function outageMidWindow(version: string, mode: FaultMode) {
  const t0 = Date.now();
  await rel.release({ service: 'checkout', version, requestedBy: 'ana', source: 'cli' });
  await eventually(
    () => rel.status('checkout'),
    (x: ReleaseStatus) => x.stageIndex === 1 && x.windowEndsAt !== null,
    60_000,
  );
  await sleep(2_000);
  const before = proxy.counters();
  proxy.set(mode);
  const downAt = Date.now();
  await sleep(OUTAGE_MS);
  const seen = proxy.since(before);
  proxy.set(pass);
  const upAt = Date.now();
  const result = await rel.result('checkout');
  const doneAt = Date.now();
  const changes = (await sandbox.changes('checkout')).filter((c) => c.version === version);
  const timeline = (await rel.status('checkout')).timeline;
  return { t0, downAt, upAt, doneAt, seen, result, changes, timeline };
}

for (const [what, mode] of [
  ['reset (refused)', { kind: 'reset' }],
  ['silent (accepted, never answered)', { kind: 'drop' }],
] as Array<[string, FaultMode]>) {
  test(`the worker cut off from Temporal for 30 s mid-window, ${what}: it reconnects, the release finishes, each split once`, async () => {
    const version = mode.kind === 'reset' ? 'v1.3.0' : 'v1.3.2';
    const r = await outageMidWindow(version, mode);
    expect(r.result).toMatchObject({ status: 'succeeded', version, trafficPercent: 100 });
    expect(r.changes.map((c) => c.percent)).toEqual([20, 50, 100, 100]);
    // the 100 % split came after the worker was back
    expect(r.changes[2].at).toBeGreaterThan(r.upAt);
    const verdicts = r.timeline.filter((e) => e.event.startsWith('verdict')).map((e) => e.event);
    expect(verdicts).toEqual(['verdict PASS', 'verdict PASS']);
    const took = r.doneAt - r.t0;
    console.log(
      `temporal ${what} 30 s mid-window: ${r.result.status} in ${s(took)} (windows ${s(WINDOWS_MS)}; ${s(took - WINDOWS_MS)} over them), ` +
        `done ${s(r.doneAt - r.upAt)} after the server was reachable again; worker connections during the outage: ${describeCounters(r.seen)}; ` +
        `change log ${r.changes.map((c) => c.percent).join(', ')}; verdicts ${verdicts.join(', ')}`,
    );
    // generous: a busy box, and the SDK's reconnect backoff
    expect(took).toBeLessThan(150_000);
  });
}
