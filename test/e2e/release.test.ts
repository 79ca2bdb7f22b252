// End to end on the Temporal CLI dev server: the real worker as a child process (`tsx worker/main.ts`,
// connected through TEMPORAL_ADDRESS / TEMPORAL_TASK_QUEUE / QUAD_CONFIG), the sandbox as a child
// process under load, second-scale windows. A good version reaches 100 %; a bad one is rolled back by
// the guard and then serves nothing; a worker killed with SIGKILL mid-stage is replaced and the release
// finishes with every traffic step applied exactly once.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { eventually } from '../support/release-harness';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';
import type { ReleaseStatus } from '../../contract/messages';
import { releaseRecords } from '../../client/release-records';
import { formatReport, summarize } from '../../client/report';
import { releaseChartSvg } from '../../client/report-chart';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { ROOT } from '../support/temporal-servers';

jest.setTimeout(90_000);

const BASE = 'v1.2.2';
const LOAD_RPS = 100;
const taskQueue = `e2e-release-${process.pid}`;

let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let dir: ReturnType<typeof tempDir>;
let bundle: string;
const workers: Child[] = [];

/** One config per scenario: its own windows, same sandbox, same task queue. */
function stackConfig(name: string, stages: Array<{ traffic_percent: number; duration_minutes?: number }>): string {
  const sub = join(dir.path, name);
  mkdirSync(sub);
  return writeStackConfig(sub, { sandboxUrl: sandbox.url, address: env.address, taskQueue, pollIntervalS: 1, minRequests: 50, stages, dataDir: sub });
}

async function worker(configFile: string): Promise<Child> {
  const w = await startWorkerProcess({ configFile, address: env.address, taskQueue, bundle });
  workers.push(w);
  return w;
}

function releases(configFile: string): Releases {
  return new Releases(env.client, loadConfig(configFile), taskQueue);
}

const changesOf = async (version: string) => (await sandbox.changes('checkout')).filter((c) => c.version === version);

beforeAll(async () => {
  dir = tempDir('quad-e2e-');
  [env, sandbox, bundle] = await Promise.all([
    localEnv(),
    startSandboxProcess({ serve: { checkout: BASE }, loadRps: LOAD_RPS, loadMaxS: 600 }),
    bundleFile(dir.path),
  ]);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await sandbox?.stop();
  await env?.teardown();
  dir?.remove();
});

test('a good version goes through canary to 100 % and the router serves it', async () => {
  const cfg = stackConfig('good', [{ traffic_percent: 25, duration_minutes: 0.08 }, { traffic_percent: 100 }]);
  const w = await worker(cfg);
  const rel = releases(cfg);
  await rel.release({ service: 'checkout', version: 'v1.3.0', requestedBy: 'ana', source: 'cli' });
  const result = await rel.result('checkout');
  expect(result).toMatchObject({ status: 'succeeded', version: 'v1.3.0', trafficPercent: 100 });
  expect(result.lastVerdict?.verdict).toBe('PASS');
  // the seed's success notice: the last watched window against the SLA and the previous version
  const succeeded = (await rel.status('checkout')).timeline.find((e) => e.event === 'succeeded')!;
  console.log(`success notice figures: ${succeeded.detail}`);
  expect(succeeded.detail).toMatch(
    /^Error rate: 0\.00 % \(within SLA 1 %\) vs 0\.00 % before · Latency p95: \d+ ms \(within SLA 250 ms\) vs \d+ ms before: (the same|\d+ % (faster|slower)) · \d+ requests on v1\.3\.0 in the last watched window · released in \d+ s$/,
  );
  expect(result.figures).toMatchObject({ errorRatePct: 0, errorRateSlaPct: 1, p95SlaMs: 250, durationMs: expect.any(Number) });
  expect(result.figures!.requestsJudged).toBeGreaterThan(50);

  // promoted: the new version alone is routed, and the previous one was retired
  expect(await sandbox.traffic('checkout')).toMatchObject({ version: 'v1.3.0', previousVersion: null, percent: 100 });
  expect((await changesOf('v1.3.0')).map((c) => [c.percent, c.previousVersion])).toEqual([
    [25, BASE],
    [100, BASE],
    [100, null],
  ]);
  expect((await sandbox.versions('checkout')).find((x) => x.version === BASE)?.state).toBe('stopped');
  // real requests reached the new version during its canary
  const v = (await sandbox.versions('checkout')).find((x) => x.version === 'v1.3.0')!;
  expect(v.requests).toBeGreaterThan(50);
  expect(v.errors).toBe(0);
  await w.stop();
});

test('a bad version is rolled back by itself and then serves 0 %', async () => {
  const cfg = stackConfig('bad', [{ traffic_percent: 25, duration_minutes: 0.5 }, { traffic_percent: 100 }]);
  const w = await worker(cfg);
  const rel = releases(cfg);
  const t0 = Date.now();
  await rel.release({ service: 'checkout', version: 'v1.3.1-bad', requestedBy: 'ana', source: 'cli' });
  const result = await rel.result('checkout');
  expect(result.status).toBe('rolled_back');
  // the guard caught it inside the 30 s window; nobody asked for the rollback
  expect(Date.now() - t0).toBeLessThan(25_000);
  const status = await rel.status('checkout');
  const events = status.timeline.map((e) => e.event);
  expect(events).toContain('breach');
  expect(events).not.toContain('rollback requested');
  expect(result.reason).toMatch(/error rate/);

  // the router went back to the previous good version: 25 % out, then 0 %
  expect(await sandbox.traffic('checkout')).toMatchObject({ version: 'v1.3.1-bad', previousVersion: 'v1.3.0', percent: 0 });
  expect((await changesOf('v1.3.1-bad')).map((c) => c.percent)).toEqual([25, 0]);
  // and it serves nothing while the load goes on: the bad version's count stays, the good one's grows
  const count = async (version: string) => (await sandbox.versions('checkout')).find((x) => x.version === version)?.requests ?? 0;
  const [bad0, good0] = [await count('v1.3.1-bad'), await count('v1.3.0')];
  expect(bad0).toBeGreaterThan(0);
  await new Promise((r) => setTimeout(r, 1500));
  expect(await count('v1.3.1-bad')).toBe(bad0);
  expect((await count('v1.3.0')) - good0).toBeGreaterThan(LOAD_RPS / 2);
  await w.stop();
});

test('kill -9 of the worker mid-stage: a new worker finishes the release, each step applied once', async () => {
  const cfg = stackConfig('crash', [{ traffic_percent: 20, duration_minutes: 0.08 }, { traffic_percent: 60, duration_minutes: 0.1 }, { traffic_percent: 100 }]);
  const first = await worker(cfg);
  const rel = releases(cfg);
  await rel.release({ service: 'checkout', version: 'v1.3.2', requestedBy: 'ana', source: 'cli' });
  // mid-stage: the 60 % window is being watched (its guard activity is running on this worker)
  const watching = await eventually(
    () => rel.status('checkout'),
    (s: ReleaseStatus) => s.stageIndex === 1 && s.windowEndsAt !== null,
    30_000,
  );
  await new Promise((r) => setTimeout(r, 1500));
  first.kill('SIGKILL');
  expect(await first.exited).toBe('SIGKILL');
  const killedAt = Date.now();
  expect(watching.trafficPercent).toBe(60);

  await worker(cfg);
  const result = await rel.result('checkout');
  expect(result).toMatchObject({ status: 'succeeded', version: 'v1.3.2', trafficPercent: 100 });
  expect(Date.now() - killedAt).toBeLessThan(45_000);
  // the 60 % stage was judged after the kill, so by the new worker
  const verdicts = (await rel.status('checkout')).timeline.filter((e) => e.event.startsWith('verdict'));
  expect(verdicts.map((e) => e.event)).toEqual(['verdict PASS', 'verdict PASS']);
  expect(verdicts[1].at).toBeGreaterThan(killedAt);

  // every step reached the router exactly once, in order: no second deploy after the crash
  const changes = await changesOf('v1.3.2');
  expect(changes.map((c) => c.percent)).toEqual([20, 60, 100, 100]);
  expect(await sandbox.traffic('checkout')).toMatchObject({ version: 'v1.3.2', previousVersion: null, percent: 100 });
});

test('the report over these real runs: 3 deployments, 2 succeeded, the bad one caught at its canary, detected and rolled back in seconds; its chart', async () => {
  const cfg = stackConfig('report', [{ traffic_percent: 100 }]);
  await worker(cfg); // a closed release's status query is answered by a worker replaying it
  const rel = releases(cfg);
  const since = Date.now() - 3_600_000;
  const records = await eventually(
    () => releaseRecords(rel, { service: 'checkout', sinceMs: since }),
    (r: Awaited<ReturnType<typeof releaseRecords>>) => r.length === 3,
    15_000,
  );
  const report = summarize(records, { service: 'checkout', sinceMs: since, untilMs: Date.now() });
  console.log(formatReport(report).join('\n'));
  expect(report).toMatchObject({ deployments: 3, succeeded: 2, caught_failures: 1, change_failures: 0, change_failure_rate: 0, zero_downtime_rate: 1 });
  expect(report.success_rate).toBeCloseTo(2 / 3);
  expect(report.rollbacks).toHaveLength(1);
  const [bad] = report.rollbacks;
  expect(bad).toMatchObject({ version: 'v1.3.1-bad', max_traffic_percent: 25, by: null });
  // caught by the guard within a few 1 s polls of the bad version taking traffic, undone well within a second
  expect(bad.detect_s).toBeGreaterThan(0);
  expect(bad.detect_s).toBeLessThan(15);
  expect(bad.rollback_s).toBeLessThan(1);
  expect(report.mttd_s).toBe(bad.detect_s);
  expect(report.incidents).toBe(1);

  const badRecord = records.find((r) => r.status.version === 'v1.3.1-bad')!;
  const svg = await releaseChartSvg(badRecord.status);
  const file = join(dir.path, 'v1.3.1-bad.svg');
  writeFileSync(file, svg);
  expect(svg.startsWith('<svg')).toBe(true);
  for (const label of ['breach', 'rolling back', 'error_rate', 'checkout v1.3.1-bad']) expect(svg).toContain(label);
  console.log(`chart of v1.3.1-bad: ${file} (${svg.length} bytes)`);

  // the same through the real binary, as a person runs it
  const chart = join(dir.path, 'report', 'latest.svg');
  const cli = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(
      join(ROOT, 'bin', 'quad'),
      ['report', '--service', 'checkout', '--since', '1h', '--json', '--chart', chart],
      { cwd: ROOT, env: { ...process.env, QUAD_CONFIG: cfg, TEMPORAL_ADDRESS: env.address, TEMPORAL_TASK_QUEUE: taskQueue }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as NodeJS.ErrnoException).code ?? -1) : 0, stdout, stderr }),
    ),
  );
  expect(cli.stderr).toBe('');
  expect(cli.code).toBe(0);
  const doc = JSON.parse(cli.stdout);
  expect(doc).toMatchObject({ deployments: 3, change_failure_rate: 0, zero_downtime_rate: 1, incidents_per_deployment: 1 / 3, chart });
  expect([doc.success_rate, doc.mttd_s, doc.mttr_s]).toEqual([report.success_rate, report.mttd_s, report.mttr_s]);
  expect(readFileSync(chart, 'utf8')).toContain('<svg');
});
