// Regions in waves end to end on the Temporal CLI dev server: the real worker as a child process, the
// sandbox as a child process, load in every region (each region is its own sandbox service,
// `<service>.<region>`, so one load generator per region, in this process). US-East goes to 100 % first,
// then US-West to 50 % and EU to 10 % in parallel, each region a child release of the release.
// The sandbox's behaviour comes from the version string, which every region shares, and it has no
// per-service override: EU alone is made bad by crashing its new version's process in a loop (killed as
// soon as it is up, restarted by the sandbox on the next request), so EU's requests to it fail while the
// same version serves cleanly in the other regions. What is asserted is what the sandbox reports (each
// region's traffic and change log) and what the release reports; timings are printed, bounds generous.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { startLoad, type Load } from '../../sandbox/load';
import { sandboxServiceKey } from '../../activities/providers/deployers/sandbox';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';
import type { ReleaseResult, ReleaseStatus } from '../../contract/messages';

jest.setTimeout(120_000);

const BASE = 'v1.0.0';
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'] as const;
type Region = (typeof REGIONS)[number];
// per region: EU at 10 % still sees ~8 requests a second on the new version
const LOAD_RPS = 80;
const SERVICES = ['waves-good', 'waves-rollback', 'waves-stop'];
const taskQueue = `e2e-region-waves-${process.pid}`;

let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let dir: ReturnType<typeof tempDir>;
let worker: Child;
let configFile: string;

const key = (service: string, region: Region) => sandboxServiceKey(service, region);

/** What each case's service does when a region fails. */
const POLICY: Record<string, 'rollback' | 'stop'> = { 'waves-good': 'rollback', 'waves-rollback': 'rollback', 'waves-stop': 'stop' };

/**
 * One config for the worker and the client (the worker resolves its steps from it): a service per case,
 * each in three regions in two waves with caps 100 / 50 / 10, and its on_region_failure.
 */
function stackConfig(): string {
  const file = writeStackConfig(dir.path, {
    sandboxUrl: sandbox.url,
    address: env.address,
    taskQueue,
    pollIntervalS: 1,
    minRequests: 20,
    stages: [{ traffic_percent: 10, duration_minutes: 0.1 }, { traffic_percent: 50, duration_minutes: 0.1 }, { traffic_percent: 100 }],
    dataDir: dir.path,
    bakeMinutes: 0,
  });
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { services: Record<string, Record<string, unknown>> };
  const svc = doc.services.checkout;
  doc.services = Object.fromEntries(
    SERVICES.map((s) => [
      s,
      {
        ...svc,
        regions: [
          { name: 'us-east-1', wave: 1 },
          { name: 'us-west-2', wave: 2, max_percent: 50 },
          { name: 'eu-west-1', wave: 2, max_percent: 10 },
        ],
        on_region_failure: POLICY[s],
      },
    ]),
  );
  writeFileSync(file, JSON.stringify(doc, null, 2));
  return file;
}

const releases = () => new Releases(env.client, loadConfig(configFile), taskQueue);
const changesIn = async (service: string, region: Region, version: string) =>
  (await sandbox.changes(key(service, region))).filter((c) => c.version === version);
const incidents = () => {
  const file = join(dir.path, 'incidents.jsonl');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
};

/** Load on each region's service key, as users there would send it. */
function loadIn(service: string): Load[] {
  return REGIONS.map((r) => startLoad({ url: sandbox.url, rps: LOAD_RPS, service: key(service, r), maxDurationS: 300, users: 200 }));
}

/**
 * EU's copy of `version` crashes as soon as it is up: its process killed (by pid, a grandchild of this
 * test) whenever the sandbox reports it running. Only once it is running, so the deploy call that
 * started it has its answer; the next request restarts it, and the requests caught in the crash fail.
 */
function crashLoop(service: string, region: Region, version: string): { stop: () => Promise<number> } {
  let kills = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const rows = (await sandbox.versions(key(service, region))) as Array<{ version: string; state: string; pid?: number | null }>;
        const row = rows.find((v) => v.version === version);
        if (row?.state === 'running' && row.pid) {
          try {
            process.kill(row.pid, 'SIGKILL');
            kills += 1;
          } catch {
            // already gone
          }
        }
      } catch {
        // the sandbox busy: try again
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return kills;
    },
  };
}

interface Run {
  result: ReleaseResult;
  status: ReleaseStatus;
  ms: number;
  parents: Record<string, string | undefined>;
  workflowId: string;
}

async function release(service: string, version: string, badIn?: Region): Promise<Run> {
  const onRegionFailure = POLICY[service];
  const rel = releases();
  const loads = loadIn(service);
  const crash = badIn ? crashLoop(service, badIn, version) : null;
  try {
    const t0 = Date.now();
    const started = await rel.release({ service, version, requestedBy: 'ana', source: 'cli' });
    const result = await rel.result(service);
    const ms = Date.now() - t0;
    const status = await rel.status(service);
    // each region's child release, described: whose child it is
    const parents = Object.fromEntries(
      await Promise.all(
        Object.entries(status.regions ?? {}).map(async ([r, p]) => [
          r,
          (await env.client.workflow.getHandle(p.workflowId).describe()).raw.workflowExecutionInfo?.parentExecution?.workflowId ?? undefined,
        ]),
      ),
    ) as Record<string, string | undefined>;
    const kills = crash ? await crash.stop() : 0;
    const counts = loads.map((l, i) => `${REGIONS[i]} ${JSON.stringify(l.counts().byVersion)} errors ${l.counts().errors + l.counts().failed}`);
    console.log(
      `${service} ${version} (on_region_failure ${onRegionFailure}${badIn ? `, ${badIn} crashing: ${kills} kills` : ''}): ${result.status} in ${ms} ms: ${result.reason}\n` +
        `  regions ${JSON.stringify(Object.fromEntries(Object.entries(status.regions ?? {}).map(([r, p]) => [r, [p.wave, p.status, p.trafficPercent]])))}\n` +
        `  load ${counts.join('; ')}`,
    );
    return { result, status, ms, parents, workflowId: started.workflowId };
  } finally {
    await crash?.stop();
    await Promise.all(loads.map((l) => l.stop()));
  }
}

beforeAll(async () => {
  dir = tempDir('quad-e2e-region-waves-');
  let bundle: string;
  const serve = Object.fromEntries(SERVICES.flatMap((s) => REGIONS.map((r) => [key(s, r), BASE])));
  [env, sandbox, bundle] = await Promise.all([localEnv(), startSandboxProcess({ serve }), bundleFile(dir.path)]);
  configFile = stackConfig();
  worker = await startWorkerProcess({ configFile, address: env.address, taskQueue, bundle });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await sandbox?.stop();
  await env?.teardown();
  dir?.remove();
});

test('three regions in two waves: US-East to 100 % before wave 2 starts, then US-West at 50 % and EU at 10 % with the previous version serving the rest', async () => {
  const service = SERVICES[0];
  const version = 'v2.0.0';
  const { result, status, parents, workflowId } = await release(service, version);
  expect(result).toMatchObject({ status: 'succeeded', version });

  // the sandbox, per region: US-East 10 → 50 → 100 (and promoted), US-West 10 → 50, EU 10
  const east = await changesIn(service, 'us-east-1', version);
  const west = await changesIn(service, 'us-west-2', version);
  const eu = await changesIn(service, 'eu-west-1', version);
  // only the region taken to 100 % is promoted (the new version alone, the previous one retired)
  expect(east.map((c) => [c.percent, c.previousVersion])).toEqual([
    [10, BASE],
    [50, BASE],
    [100, BASE],
    [100, null],
  ]);
  expect((await sandbox.versions(key(service, 'us-east-1'))).find((v) => v.version === BASE)?.state).toBe('stopped');
  expect(west.map((c) => [c.percent, c.previousVersion])).toEqual([
    [10, BASE],
    [50, BASE],
  ]);
  expect(eu.map((c) => [c.percent, c.previousVersion])).toEqual([[10, BASE]]);
  // US-East reached 100 % before any change in wave 2
  const east100 = east.find((c) => c.percent === 100)!.at;
  expect(Math.min(west[0].at, eu[0].at)).toBeGreaterThanOrEqual(east100);
  console.log(`wave 2 started ${Math.min(west[0].at, eu[0].at) - east100} ms after US-East reached 100 %`);
  expect(await sandbox.traffic(key(service, 'us-east-1'))).toMatchObject({ version, percent: 100 });
  expect(await sandbox.traffic(key(service, 'us-west-2'))).toMatchObject({ version, previousVersion: BASE, percent: 50 });
  expect(await sandbox.traffic(key(service, 'eu-west-1'))).toMatchObject({ version, previousVersion: BASE, percent: 10 });
  // the previous version still running in the wave 2 regions, serving the rest
  for (const r of ['us-west-2', 'eu-west-1'] as const) {
    expect((await sandbox.versions(key(service, r))).find((v) => v.version === BASE)?.state).toBe('running');
  }

  // the release's own view: all three regions, each a child of this release
  expect(Object.fromEntries(Object.entries(status.regions!).map(([r, p]) => [r, [p.wave, p.status, p.trafficPercent, p.previousVersion]]))).toEqual({
    'us-east-1': [1, 'succeeded', 100, BASE],
    'us-west-2': [2, 'succeeded', 50, BASE],
    'eu-west-1': [2, 'succeeded', 10, BASE],
  });
  expect(parents).toEqual({ 'us-east-1': workflowId, 'us-west-2': workflowId, 'eu-west-1': workflowId });
  expect(status.regions!['eu-west-1'].workflowId).toBe(`${workflowId}@eu-west-1`);
  expect(status.timeline.filter((e) => e.event === 'wave started' || e.event === 'wave done').map((e) => `${e.event}: ${e.detail}`)).toEqual([
    'wave started: wave 1: us-east-1 to 100 %',
    'wave done: wave 1: us-east-1 at 100 %',
    'wave started: wave 2: us-west-2 to 50 %, eu-west-1 to 10 %',
    'wave done: wave 2: us-west-2 at 50 %, eu-west-1 at 10 %',
  ]);
});

test('EU bad, on_region_failure rollback: EU breaches and undoes itself, US-West is cancelled, US-East (done) is reverted: every region at 0 %', async () => {
  const service = SERVICES[1];
  const version = 'v2.1.0';
  const before = incidents();
  const { result, status } = await release(service, version, 'eu-west-1');
  expect(result.status).toBe('rolled_back');
  expect(result.reason).toMatch(/^eu-west-1: .*every region rolled back \(on_region_failure: rollback\)/);
  // every region on the previous version, the new one at 0 %
  for (const r of REGIONS) {
    expect(await sandbox.traffic(key(service, r))).toMatchObject({ version, previousVersion: BASE, percent: 0 });
    expect((await changesIn(service, r, version)).at(-1)?.percent).toBe(0);
  }
  // US-East had got to 100 % before wave 2, then went back
  expect((await changesIn(service, 'us-east-1', version)).map((c) => c.percent)).toEqual([10, 50, 100, 0]);
  expect(status.regions!['us-east-1'].status).toBe('rolled_back');
  expect(status.regions!['eu-west-1'].status).not.toBe('succeeded');
  // an incident, from the failing region
  const opened = incidents().slice(before.length).trim().split('\n').filter(Boolean);
  expect(opened).toHaveLength(1);
  expect(opened[0]).toContain('eu-west-1');
  expect(opened[0]).toContain(version);
});

test('EU bad, on_region_failure stop: EU is back at 0 %, US-East keeps the new version at 100 % and US-West at 50 %; failed, naming what was kept', async () => {
  const service = SERVICES[2];
  const version = 'v2.2.0';
  const { result, status } = await release(service, version, 'eu-west-1');
  expect(result.status).toBe('failed');
  expect(result.reason).toMatch(/^eu-west-1: /);
  expect(result.reason).toContain(`stopped there (on_region_failure: stop), ${version} kept in us-east-1 at 100 %, us-west-2 at 50 %`);
  // the region kept at 100 % is promoted (its previous version retired); the one kept at 50 % keeps both
  expect(await sandbox.traffic(key(service, 'us-east-1'))).toMatchObject({ version, previousVersion: null, percent: 100 });
  expect(await sandbox.traffic(key(service, 'us-west-2'))).toMatchObject({ version, previousVersion: BASE, percent: 50 });
  expect(await sandbox.traffic(key(service, 'eu-west-1'))).toMatchObject({ version, previousVersion: BASE, percent: 0 });
  const east = await changesIn(service, 'us-east-1', version);
  console.log(`stop: US-East changes ${JSON.stringify(east.map((c) => [c.percent, c.previousVersion]))}`);
  expect(east.map((c) => c.percent)).not.toContain(0);
  expect((await changesIn(service, 'us-west-2', version)).map((c) => c.percent)).toEqual([10, 50]);
  expect(Object.fromEntries(Object.entries(status.regions!).map(([r, p]) => [r, [p.status, p.trafficPercent]]))).toEqual({
    'us-east-1': ['succeeded', 100],
    'us-west-2': ['succeeded', 50],
    'eu-west-1': [expect.stringMatching(/rolled_back|failed/), 0],
  });
});
