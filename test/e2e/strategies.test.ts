// Blue-green, the bake and its revert, and A/B tests end to end on the Temporal CLI dev server: the real
// worker as a child process, the sandbox as a child process under load (1,000 users, so a sticky split is
// real), second-scale windows. What is asserted is what the sandbox reports (its traffic, its change log,
// its versions) and what the release reports (its result and status). Timings are printed, not asserted,
// beyond bounds a busy machine cannot break (and the one-call revert, which is a single HTTP PUT).
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { eventually } from '../support/release-harness';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';
import type { CommandSigner } from '../../client/signing';
import { trustNewSigner } from '../support/config-signer';
import type { ReleaseStatus } from '../../contract/messages';

// an A/B case decides in well under a minute here; its maximum duration (below) and this leave a slow machine room
jest.setTimeout(360_000);

const BASE = 'v1.0.0';
// enough visits for an A/B test with a ±50 % effect to decide in well under a minute (3 % conversion)
const LOAD_RPS = 200;
const taskQueue = `e2e-strategies-${process.pid}`;

let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let dir: ReturnType<typeof tempDir>;
let worker: Child;

interface Change {
  seq: number;
  at: number;
  version: string;
  previousVersion: string | null;
  percent: number;
  sticky?: boolean;
}

interface Case {
  strategy?: 'canary' | 'blue-green' | 'ab';
  stages?: Array<{ traffic_percent: number; duration_minutes?: number }>;
  bakeMinutes?: number;
  smokeChecks?: Array<{ name: string; kind: 'http' | 'command'; args: Record<string, string | string[]> }>;
  abTest?: Record<string, unknown>;
}

/** One config per case, written by writeStackConfig and extended (ab_test; blue-green without a rollout plan, so its own one stage). */
function stackConfig(name: string, c: Case): string {
  const sub = join(dir.path, name);
  mkdirSync(sub);
  const file = writeStackConfig(sub, {
    sandboxUrl: sandbox.url,
    address: env.address,
    taskQueue,
    pollIntervalS: 1,
    minRequests: 50,
    stages: c.stages ?? [{ traffic_percent: 100 }],
    // the incidents and notices of every case go to one place: the worker's
    dataDir: dir.path,
    bakeMinutes: c.bakeMinutes ?? 0,
    strategy: c.strategy ?? 'canary',
    ...(c.smokeChecks ? { smokeChecks: c.smokeChecks } : {}),
  });
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { services: { checkout: Record<string, unknown> } };
  if (!c.stages) delete doc.services.checkout.rollout_plan;
  if (c.abTest) doc.services.checkout.ab_test = c.abTest;
  writeFileSync(file, JSON.stringify(doc, null, 2));
  return file;
}

const releases = (configFile: string, signer?: CommandSigner) => new Releases(env.client, loadConfig(configFile), taskQueue, signer);
/** commands are signed: ana's key trusted in the config the plan is made from (the plan carries the public keys) */
const asAna = (configFile: string) => releases(configFile, trustNewSigner(configFile, 'ana'));
const changesOf = async (version: string) => ((await sandbox.changes('checkout')) as Change[]).filter((c) => c.version === version);
const versionRow = async (version: string) => (await sandbox.versions('checkout')).find((v) => v.version === version);
const events = (s: ReleaseStatus) => s.timeline.map((e) => e.event);
const eventAt = (s: ReleaseStatus, name: string) => s.timeline.find((e) => e.event === name)?.at;
const incidents = () => {
  const file = join(dir.path, 'incidents.jsonl');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
};

async function putTraffic(body: unknown): Promise<void> {
  const res = await fetch(`${sandbox.url}/admin/services/checkout/traffic`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`PUT traffic: ${res.status} ${await res.text()}`);
}

/** Waits for the bake (status baking), then reverts by hand; returns when the command was sent and the release's end. */
async function revertDuringBake(rel: Releases, version: string) {
  const baking = await eventually(
    () => rel.status('checkout'),
    (s: ReleaseStatus) => s.phase === 'baking' && (s.bakeEndsAt ?? null) !== null,
    60_000,
  );
  // the bake: the new version alone takes traffic, the previous one still running beside it
  expect(await sandbox.traffic('checkout')).toMatchObject({ version, previousVersion: baking.previousVersion, percent: 100 });
  expect((await versionRow(baking.previousVersion!))?.state).toBe('running');
  expect(baking.bakeEndsAt!).toBeGreaterThan(Date.now() - 5_000);
  await new Promise((r) => setTimeout(r, 1000));
  const sentAt = Date.now();
  const accepted = await rel.command('checkout', 'revert', 'ana');
  expect(accepted).toEqual({ accepted: true, message: expect.stringMatching(/revert/) });
  const result = await rel.result('checkout');
  const status = await rel.status('checkout');
  return { baking, sentAt, result, status };
}

beforeAll(async () => {
  dir = tempDir('quad-e2e-strategies-');
  let bundle: string;
  [env, sandbox, bundle] = await Promise.all([
    localEnv(),
    startSandboxProcess({ serve: { checkout: BASE }, loadRps: LOAD_RPS, loadMaxS: 900 }),
    bundleFile(dir.path),
  ]);
  // one worker for every case: the plan (strategy, stages, bake, A/B rules) comes from each case's client config
  worker = await startWorkerProcess({ configFile: stackConfig('worker', {}), address: env.address, taskQueue, bundle });
});

afterAll(async () => {
  await worker?.stop();
  await sandbox?.stop();
  await env?.teardown();
  dir?.remove();
});

test('blue-green: green prepared and smoke-checked at 0 %, one switch to 100 %, blue warm through the bake, a revert is one change back', async () => {
  const cfg = stackConfig('bg-good', {
    strategy: 'blue-green',
    bakeMinutes: 0.3,
    smokeChecks: [{ name: 'health', kind: 'http', args: { url: '{endpoint}/health' } }],
  });
  const rel = asAna(cfg);
  const green = 'v2.0.0';
  await rel.release({ service: 'checkout', version: green, requestedBy: 'ana', source: 'cli' });
  const { baking, sentAt, result, status } = await revertDuringBake(rel, green);
  expect(baking.stageCount).toBe(1);

  // green was up, and reached alone by the smoke check through its own endpoint, before any user reached it
  const changes = await changesOf(green);
  expect(changes.map((c) => [c.percent, c.previousVersion])).toEqual([
    [100, BASE],
    [0, BASE],
  ]);
  const [switched, reverted] = changes;
  const prepared = eventAt(status, 'prepared')!;
  const smoked = eventAt(status, 'smoke check passed')!;
  expect(prepared).toBeDefined();
  expect(smoked).toBeGreaterThanOrEqual(prepared);
  expect(switched.at).toBeGreaterThanOrEqual(smoked);
  const row = (await versionRow(green))!;
  expect(row.firstRequestAt).not.toBeNull();
  expect(row.firstRequestAt!).toBeLessThan(switched.at);
  expect(status.timeline.find((e) => e.event === 'smoke check passed')?.detail).toMatch(/health/);

  // the revert: one change, back to 100 % blue, blue never stopped; rolled back by hand, no breach
  expect(reverted.at).toBeGreaterThanOrEqual(sentAt);
  expect(await sandbox.traffic('checkout')).toMatchObject({ version: green, previousVersion: BASE, percent: 0 });
  expect((await versionRow(BASE))?.state).toBe('running');
  expect(result.status).toBe('rolled_back');
  expect(events(status)).toEqual(expect.arrayContaining(['prepared', 'smoke check passed', 'baking', 'revert requested']));
  expect(events(status)).not.toContain('breach');
  expect(typeof result.undoMs).toBe('number');
  // printed, not asserted: the figure is bench:release's (BENCH_STRATEGY=blue-green)
  console.log(`blue-green revert: command → sandbox back on blue ${reverted.at - sentAt} ms, undoMs ${result.undoMs} ms`);
});

test('blue-green with a bad green: the guard breaches during the bake and switches back to blue; an incident', async () => {
  const cfg = stackConfig('bg-bad', { strategy: 'blue-green', bakeMinutes: 0.5 });
  const rel = releases(cfg);
  const green = 'v2.0.1-bad';
  const t0 = Date.now();
  await rel.release({ service: 'checkout', version: green, requestedBy: 'ana', source: 'cli' });
  const result = await rel.result('checkout');
  const status = await rel.status('checkout');
  console.log(`bad green: ${result.status} in ${Date.now() - t0} ms: ${result.reason} (undoMs ${result.undoMs})`);
  expect(result.status).toBe('rolled_back');
  expect(result.reason).toMatch(/error rate/);
  const ev = events(status);
  expect(ev).toContain('baking');
  expect(ev).toContain('breach');
  expect(ev.indexOf('breach')).toBeGreaterThan(ev.indexOf('baking'));
  expect(ev).not.toContain('revert requested');
  // one switch there, one back
  expect((await changesOf(green)).map((c) => c.percent)).toEqual([100, 0]);
  expect(await sandbox.traffic('checkout')).toMatchObject({ version: green, previousVersion: BASE, percent: 0 });
  expect((await versionRow(BASE))?.state).toBe('running');
  expect(result.incident).toBeTruthy();
  expect(incidents()).toContain(green);
});

test('canary to 100 %, then reverted by hand during the bake: one change back to the previous version', async () => {
  const cfg = stackConfig('canary-revert', { stages: [{ traffic_percent: 50, duration_minutes: 0.05 }, { traffic_percent: 100 }], bakeMinutes: 0.3 });
  const rel = asAna(cfg);
  const version = 'v2.1.0';
  await rel.release({ service: 'checkout', version, requestedBy: 'ana', source: 'cli' });
  const { sentAt, result, status } = await revertDuringBake(rel, version);
  const changes = await changesOf(version);
  expect(changes.map((c) => [c.percent, c.previousVersion])).toEqual([
    [50, BASE],
    [100, BASE],
    [0, BASE],
  ]);
  expect(changes[2].at).toBeGreaterThanOrEqual(sentAt);
  console.log(`canary revert during bake: command → sandbox back on ${BASE} ${changes[2].at - sentAt} ms, undoMs ${result.undoMs} ms`);
  expect(result.status).toBe('rolled_back');
  expect(events(status)).toEqual(expect.arrayContaining(['baking', 'revert requested']));
  expect(await sandbox.traffic('checkout')).toMatchObject({ version, previousVersion: BASE, percent: 0 });
  expect((await versionRow(BASE))?.state).toBe('running');
});

/** An A/B case: a 50 % sticky split, decided on conversion; no bake after it. */
const abCase = (name: string): string =>
  stackConfig(name, {
    strategy: 'ab',
    stages: [{ traffic_percent: 50, duration_minutes: 5 }, { traffic_percent: 100 }],
    abTest: { min_detectable_effect_percent: 30, max_duration_minutes: 5 },
  });

test('A/B keep: B converts 50 % less, so A stays: every user back on A, no incident', async () => {
  const rel = releases(abCase('ab-keep'));
  const b = 'v3.0.0-lose50';
  const before = incidents();
  const t0 = Date.now();
  await rel.release({ service: 'checkout', version: b, requestedBy: 'ana', source: 'cli' });
  const result = await rel.result('checkout');
  const status = await rel.status('checkout');
  console.log(
    `A/B keep in ${Date.now() - t0} ms, ${status.abTest?.polls} polls, visits A ${status.abTest?.visitsA} B ${status.abTest?.visitsB}: ${status.abTest?.text}`,
  );
  expect(status.abTest?.kind).toBe('keep_a');
  expect(status.abTest!.rateB).toBeLessThan(status.abTest!.rateA);
  expect(result.status).toBe('rolled_back');
  expect(result.incident).toBeUndefined();
  expect(incidents()).toBe(before);
  // the split was sticky at 50 %, then everyone back on A
  const changes = await changesOf(b);
  expect(changes.map((c) => [c.percent, c.sticky])).toEqual([
    [50, true],
    [0, false],
  ]);
  expect(await sandbox.traffic('checkout')).toMatchObject({ version: b, previousVersion: BASE, percent: 0 });
  // the test saw about half the visits on each side (the split holds its share exactly per user)
  const share = status.abTest!.visitsB / (status.abTest!.visitsA + status.abTest!.visitsB);
  expect(share).toBeGreaterThan(0.4);
  expect(share).toBeLessThan(0.6);
});

test('A/B stop on a sample ratio mismatch: the router serves 20 % to B when 50 % was configured, so the test stops, rolled back with an incident', async () => {
  const rel = releases(abCase('ab-srm'));
  const b = 'v3.0.1';
  const t0 = Date.now();
  await rel.release({ service: 'checkout', version: b, requestedBy: 'ana', source: 'cli' });
  await eventually(
    () => rel.status('checkout'),
    (s: ReleaseStatus) => events(s).includes('A/B test started'),
    60_000,
  );
  await eventually(
    () => sandbox.traffic('checkout'),
    (t) => t.version === b && t.percent === 50,
    30_000,
  );
  // a broken router: 20 % to B, still sticky
  const split = await sandbox.traffic('checkout');
  await putTraffic({ version: b, previousVersion: split.previousVersion, percent: 20, sticky: true });
  const result = await rel.result('checkout');
  const status = await rel.status('checkout');
  console.log(
    `A/B SRM in ${Date.now() - t0} ms, ${status.abTest?.polls} polls, visits A ${status.abTest?.visitsA} B ${status.abTest?.visitsB}: ${status.abTest?.text}`,
  );
  expect(status.abTest?.kind).toBe('stop_srm');
  expect(result.status).toBe('rolled_back');
  expect(result.reason).toMatch(/sample ratio mismatch/);
  expect(result.incident).toBeTruthy();
  expect((await changesOf(b)).map((c) => c.percent)).toEqual([50, 20, 0]);
  expect(await sandbox.traffic('checkout')).toMatchObject({ version: b, previousVersion: BASE, percent: 0 });
});

test('A/B ship: B converts 50 % more, so it ships: 100 % on B, A retired', async () => {
  const rel = releases(abCase('ab-ship'));
  const b = 'v3.1.0-convert50';
  const t0 = Date.now();
  await rel.release({ service: 'checkout', version: b, requestedBy: 'ana', source: 'cli' });
  const result = await rel.result('checkout');
  const status = await rel.status('checkout');
  console.log(
    `A/B ship in ${Date.now() - t0} ms, ${status.abTest?.polls} polls, visits A ${status.abTest?.visitsA} B ${status.abTest?.visitsB}: ${status.abTest?.text}`,
  );
  expect(status.abTest?.kind).toBe('ship_b');
  expect(status.abTest!.rateB).toBeGreaterThan(status.abTest!.rateA);
  expect(status.abTest!.text).toBeTruthy();
  expect(result).toMatchObject({ status: 'succeeded', version: b, trafficPercent: 100 });
  expect(events(status)).toContain('A/B: ship b');
  expect((await changesOf(b)).map((c) => [c.percent, c.previousVersion])).toEqual([
    [50, BASE],
    [100, BASE],
    [100, null],
  ]);
  expect(await sandbox.traffic('checkout')).toMatchObject({ version: b, previousVersion: null, percent: 100 });
  expect((await versionRow(BASE))?.state).toBe('stopped');
});
