// The metrics source degraded: the worker reads the sandbox's stats through a fault proxy
// (services.checkout.metrics.url), the deployer goes straight to the sandbox. Dev server, a real worker
// process, the sandbox under load. Slow stats (3 s a call) only slow the release; stats that fail (500)
// or never come are no evidence: the judge's failures make the window INCONCLUSIVE, which extends it
// once and then pauses (on_inconclusive extend-then-pause), or pauses at once (pause). Never promoted
// on missing evidence: the split stays where it was until a person acts.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { eventually } from '../support/release-harness';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { startFaultProxy, describeCounters, pass, type FaultProxy } from '../support/fault-proxy';
import { trustNewSigner } from '../support/config-signer';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';
import type { ReleaseStatus } from '../../contract/messages';

jest.setTimeout(170_000);

const BASE = 'v1.2.2';
const taskQueue = `degraded-metrics-${process.pid}`;
const STAGES = [{ traffic_percent: 25, duration_minutes: 0.1 }, { traffic_percent: 100 }];
const WINDOW_MS = 6_000;

let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let proxy: FaultProxy;
let dir: ReturnType<typeof tempDir>;
let worker: Child;
/** releases planned with on_inconclusive extend-then-pause (the default) and with pause */
let rel: Releases;
let relPause: Releases;

const changesOf = async (version: string) => (await sandbox.changes('checkout')).filter((c) => c.version === version);
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function config(name: string, onInconclusive: string): string {
  const sub = join(dir.path, name);
  mkdirSync(sub);
  const file = writeStackConfig(sub, {
    sandboxUrl: sandbox.url,
    address: env.address,
    taskQueue,
    pollIntervalS: 1,
    minRequests: 50,
    stages: STAGES,
    dataDir: sub,
  });
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  doc.services.checkout.metrics = { type: 'sandbox', url: proxy.url };
  doc.services.checkout.on_inconclusive = onInconclusive;
  // the extension of an inconclusive window
  doc.feature_flags = { canary_duration_minutes: 0.1 };
  writeFileSync(file, JSON.stringify(doc, null, 2));
  return file;
}

beforeAll(async () => {
  dir = tempDir('quad-degraded-metrics-');
  let bundle: string;
  [env, sandbox, bundle] = await Promise.all([
    localEnv(),
    startSandboxProcess({ serve: { checkout: BASE }, loadRps: 100, loadMaxS: 600 }),
    bundleFile(dir.path),
  ]);
  proxy = await startFaultProxy(sandbox.url);
  const cfg = config('extend', 'extend-then-pause');
  const pauseCfg = config('pause', 'pause');
  // commands are signed: ana's key trusted in each config (the plan, and the keys it trusts, are the client's)
  const [ana, anaPause] = [trustNewSigner(cfg, 'ana'), trustNewSigner(pauseCfg, 'ana')];
  // the worker needs only the providers, the same in both
  worker = await startWorkerProcess({ configFile: cfg, address: env.address, taskQueue, bundle });
  rel = new Releases(env.client, loadConfig(cfg), taskQueue, ana);
  relPause = new Releases(env.client, loadConfig(pauseCfg), taskQueue, anaPause);
});

afterAll(async () => {
  await worker?.stop();
  await proxy?.close();
  await sandbox?.stop();
  await env?.teardown();
  dir?.remove();
});

const events = async () => (await rel.status('checkout')).timeline;
const paused = () =>
  eventually(
    () => rel.status('checkout'),
    (x: ReleaseStatus) => x.paused || ['succeeded', 'rolled_back', 'failed', 'rollback_failed', 'cancelled'].includes(x.phase),
    120_000,
  );

let undisturbedMs = 0;

test('undisturbed: the release through the proxy in pass', async () => {
  const t0 = Date.now();
  await rel.release({ service: 'checkout', version: 'v1.3.0', requestedBy: 'ana', source: 'cli' });
  const result = await rel.result('checkout');
  undisturbedMs = Date.now() - t0;
  expect(result).toMatchObject({ status: 'succeeded', trafficPercent: 100 });
  expect(result.lastVerdict?.verdict).toBe('PASS');
  console.log(`metrics undisturbed: ${result.status} in ${s(undisturbedMs)} (window ${s(WINDOW_MS)}) · proxy ${describeCounters(proxy.counters())}`);
});

test('slow stats (3 s a call): the release is judged on them and succeeds, later', async () => {
  const before = proxy.counters();
  proxy.set({ kind: 'delay', ms: 3_000 });
  const t0 = Date.now();
  try {
    await rel.release({ service: 'checkout', version: 'v1.3.2', requestedBy: 'ana', source: 'cli' });
    const result = await rel.result('checkout');
    const took = Date.now() - t0;
    const seen = proxy.since(before);
    expect(result).toMatchObject({ status: 'succeeded', trafficPercent: 100 });
    expect(result.lastVerdict?.verdict).toBe('PASS');
    expect(seen.requests.delay).toBeGreaterThan(0);
    const verdicts = (await events()).filter((e) => e.event.startsWith('verdict') || e.event === 'window extended').map((e) => e.event);
    console.log(
      `metrics slow (3 s a call): ${result.status} in ${s(took)}, ${s(took - undisturbedMs)} more than undisturbed; ` +
        `verdicts ${verdicts.join(', ')}; stats calls delayed: ${describeCounters(seen)}`,
    );
    expect(took).toBeLessThan(90_000);
  } finally {
    proxy.set(pass);
  }
});

test('stats erroring (500): INCONCLUSIVE, extended once, then paused at 25 %; never promoted until a person resumes', async () => {
  const before = proxy.counters();
  proxy.set({ kind: 'http500', body: '{"error":"stats backend down"}' });
  const t0 = Date.now();
  await rel.release({ service: 'checkout', version: 'v1.3.3', requestedBy: 'ana', source: 'cli' });
  const st = await paused();
  const pausedAt = Date.now();
  const seen = proxy.since(before);
  expect(st).toMatchObject({ phase: 'paused', paused: true, trafficPercent: 25 });
  expect(st.pauseReason).toMatch(/inconclusive: metrics unavailable: .*HTTP 500: stats backend down/);
  const evs = st.timeline.map((e) => e.event);
  expect(evs.filter((e) => e === 'verdict INCONCLUSIVE')).toHaveLength(2);
  expect(evs).toContain('window extended');
  expect(evs).not.toContain('verdict PASS');
  expect(seen.requests.http500).toBeGreaterThan(0);
  // still paused a while later, the split untouched
  await new Promise((r) => setTimeout(r, 3_000));
  expect(await rel.status('checkout')).toMatchObject({ phase: 'paused', trafficPercent: 25 });
  expect((await changesOf('v1.3.3')).map((c) => c.percent)).toEqual([25]);

  // the stats come back; a person resumes and the release goes on
  proxy.set(pass);
  expect(await rel.command('checkout', 'resume', 'ana', 'stats are back')).toMatchObject({ accepted: true });
  const result = await rel.result('checkout');
  expect(result).toMatchObject({ status: 'succeeded', trafficPercent: 100 });
  expect((await changesOf('v1.3.3')).map((c) => c.percent)).toEqual([25, 100, 100]);
  console.log(
    `metrics 500: paused at 25 % after ${s(pausedAt - t0)} (window ${s(WINDOW_MS)} + extension ${s(WINDOW_MS)}; ${s(pausedAt - t0 - 2 * WINDOW_MS)} over them): "${st.pauseReason}"; ` +
      `stats calls answered 500: ${describeCounters(seen)}; resumed by hand → ${result.status}; change log ${(await changesOf('v1.3.3')).map((c) => c.percent).join(', ')}`,
  );
});

test('stats never answered (accepted, silent): INCONCLUSIVE after the judge times out, paused (on_inconclusive pause); a person rolls back', async () => {
  const before = proxy.counters();
  proxy.set({ kind: 'drop' });
  const t0 = Date.now();
  await relPause.release({ service: 'checkout', version: 'v1.3.4', requestedBy: 'ana', source: 'cli' });
  const st = await paused();
  const pausedAt = Date.now();
  const seen = proxy.since(before);
  expect(st).toMatchObject({ phase: 'paused', paused: true, trafficPercent: 25 });
  expect(st.pauseReason).toMatch(/inconclusive: metrics unavailable/);
  const evs = st.timeline.map((e) => e.event);
  expect(evs.filter((e) => e === 'verdict INCONCLUSIVE')).toHaveLength(1);
  expect(evs).not.toContain('window extended');
  expect((await changesOf('v1.3.4')).map((c) => c.percent)).toEqual([25]);

  proxy.set(pass);
  expect(await relPause.command('checkout', 'rollback', 'ana', 'no stats, no release')).toMatchObject({ accepted: true });
  const result = await rel.result('checkout');
  expect(result.status).toBe('rolled_back');
  expect((await changesOf('v1.3.4')).map((c) => c.percent)).toEqual([25, 0]);
  console.log(
    `metrics silent: paused at 25 % after ${s(pausedAt - t0)} (window ${s(WINDOW_MS)}; ${s(pausedAt - t0 - WINDOW_MS)} over it, the judge's timed-out attempts): "${st.pauseReason}"; ` +
      `stats calls never answered: ${describeCounters(seen)}; rolled back by hand → ${result.status}`,
  );
});
