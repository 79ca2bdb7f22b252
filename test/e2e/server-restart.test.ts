// End to end: the Temporal server itself is killed with SIGKILL in the middle of a canary window and
// started again on the same port with the same SQLite file. The real worker process (and the test's
// client) reconnect by themselves, the release finishes at 100 %, each traffic step reaches the router
// exactly once, and the release is still found through its QuadService search attribute.
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { devServerSettings } from '../support/temporal-servers';
import { startDevServer, killDevServer, type DevServer } from '../support/dev-server-process';
import { freePort } from '../support/net';
import { eventually } from '../support/release-harness';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';
import type { ReleaseStatus } from '../../contract/messages';

jest.setTimeout(90_000);

const BASE = 'v1.2.2';
const VERSION = 'v1.4.0';
const taskQueue = `e2e-server-restart-${process.pid}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: ReturnType<typeof tempDir>;
let port: number;
let db: string;
let server: DevServer | undefined;
let sandbox: SandboxProcess | undefined;
let connection: Connection | undefined;
let bundle: string;
const workers: Child[] = [];

beforeAll(async () => {
  dir = tempDir('quad-e2e-restart-');
  db = join(dir.path, 'temporal.sqlite');
  port = await freePort();
  [server, sandbox, bundle] = await Promise.all([
    startDevServer(port, db),
    startSandboxProcess({ serve: { checkout: BASE }, loadRps: 100, loadMaxS: 600 }),
    bundleFile(dir.path),
  ]);
});

afterAll(async () => {
  // every child goes, whatever failed: worker(s), the sandbox, the dev server
  await connection?.close().catch(() => undefined);
  await Promise.all(workers.map((w) => w.stop(3_000)));
  await sandbox?.stop(3_000);
  await killDevServer(server);
  dir?.remove();
});

test('SIGKILL of the Temporal server mid-window: it restarts on the same SQLite file and the release finishes, each step once', async () => {
  const address = `127.0.0.1:${port}`;
  const cfg = writeStackConfig(dir.path, {
    sandboxUrl: sandbox!.url,
    address,
    taskQueue,
    pollIntervalS: 1,
    minRequests: 50,
    dataDir: dir.path,
    stages: [{ traffic_percent: 25, duration_minutes: 0.25 }, { traffic_percent: 100 }],
  });
  const worker = await startWorkerProcess({ configFile: cfg, address, taskQueue, bundle });
  workers.push(worker);
  // One Connection for the whole test: its channel reconnects by itself once the port answers again, and
  // the SDK's default gRPC retry interceptor retries UNAVAILABLE calls made in between — so nothing is
  // re-created after the restart (asserted below by using this same client for every later call).
  connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: devServerSettings().namespace });
  const rel = new Releases(client, loadConfig(cfg), taskQueue);

  await rel.release({ service: 'checkout', version: VERSION, requestedBy: 'ana', source: 'cli' });
  const watching = await eventually(
    () => rel.status('checkout'),
    (s: ReleaseStatus) => s.stageIndex === 0 && s.windowEndsAt !== null && s.trafficPercent === 25,
    30_000,
  );
  await sleep(2_000); // a few guard polls into the 25 % window

  const killedAt = Date.now();
  await killDevServer(server);
  expect(await server!.exited).toBeNull(); // exit code null: it died by the signal
  await sleep(2_000);
  const restartAt = Date.now();
  server = await startDevServer(port, db);
  const upAt = Date.now();
  // The first status answered after the restart: a query needs the worker to poll and run a workflow
  // task, so this is the moment the release is served again.
  const resumed = await eventually(
    () => rel.status('checkout'),
    (s: ReleaseStatus) => s.version === VERSION,
    30_000,
  );
  const resumedAt = Date.now();
  expect(resumed.stageIndex).toBe(0);
  expect(worker.output()).not.toMatch(/Unhandled|FATAL|panic/i);

  const result = await rel.result('checkout');
  const doneAt = Date.now();
  expect(result).toMatchObject({ status: 'succeeded', version: VERSION, trafficPercent: 100 });
  expect(result.lastVerdict?.verdict).toBe('PASS');
  // the worker process lived through the outage: no second worker was needed
  expect(workers).toHaveLength(1);
  expect(await Promise.race([worker.exited, sleep(0).then(() => 'running')])).toBe('running');

  // each step reached the router exactly once: nothing re-deployed when the server came back
  const changes = (await sandbox!.changes('checkout')).filter((c) => c.version === VERSION);
  // 25 %, 100 %, then the promote (the new version alone routed)
  expect(changes.map((c) => c.percent)).toEqual([25, 100, 100]);
  expect(changes[0].at).toBeLessThan(killedAt);
  expect(changes[1].at).toBeGreaterThan(upAt);
  expect(await sandbox!.traffic('checkout')).toMatchObject({ version: VERSION, percent: 100 });

  // the visibility store in the SQLite file came back too: the release is found by its search attribute
  const found: string[] = [];
  for await (const wf of client.workflow.list({ query: 'QuadService = "checkout"' })) found.push(wf.workflowId);
  expect(found).toEqual(['release:checkout']);

  const windowEnd = watching.windowEndsAt!;
  process.stdout.write(
    `[server-restart] down ${restartAt - killedAt} ms; restart→listening ${upAt - restartAt} ms; restart→first query answered ${resumedAt - restartAt} ms; ` +
      `100 % applied ${changes[1].at - windowEnd} ms after the window's planned end; restart→succeeded ${doneAt - restartAt} ms\n`,
  );
});
