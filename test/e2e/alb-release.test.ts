// End to end on an Application Load Balancer with ECS behind it, in moto (MOTO_ECS_SERVICE_RUNNING=2, so
// services report running tasks): the Temporal CLI dev server and the real worker as a child process
// (`tsx worker/main.ts`) whose config says `deployer: { type: alb, endpoint: <proxy> }`, with fake AWS
// credentials, talking to moto through the counting proxy (test/support/aws-proxy), which counts every
// ModifyListener and keeps its body. moto's targets serve nothing, so the sandbox plays them: the
// listener's weights and the ECS services' task definitions, read back from moto, are applied to the
// sandbox's router under load, and the guard and judge read the sandbox's metrics.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { startMoto, useFakeAwsCredentials, type LocalMoto } from '../support/moto';
import { startAwsProxy, type AwsCall, type AwsProxy, weightsSent } from '../support/aws-proxy';
import { releaseThroughWorkerCrash, withDeployer } from '../support/e2e-deploy';
import { createAlbApp, type AlbApp } from '../support/alb-app';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';

jest.setTimeout(120_000);
useFakeAwsCredentials();

const BASE = 'v1.2.2';
const VERSIONS = [BASE, 'v1.3.0', 'v1.3.1-bad', 'v1.3.2'];
const taskQueue = `e2e-alb-${process.pid}`;
// the SDK's default chain in the worker child: fake keys only (useFakeAwsCredentials above also removed
// AWS_SESSION_TOKEN and AWS_PROFILE from the environment the child inherits), no instance metadata
const AWS_ENV = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_EC2_METADATA_DISABLED: 'true' };

let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let moto: LocalMoto;
let proxy: AwsProxy;
let dir: ReturnType<typeof tempDir>;
let bundle: string;
const workers: Child[] = [];
const apps: AlbApp[] = [];

beforeAll(async () => {
  dir = tempDir('quad-e2e-alb-');
  [env, sandbox, bundle, moto] = await Promise.all([
    localEnv(),
    startSandboxProcess({ serve: { checkout: BASE }, loadRps: 100, loadMaxS: 900 }),
    bundleFile(dir.path),
    startMoto(30_000, { env: { MOTO_ECS_SERVICE_RUNNING: '2' } }),
  ]);
  proxy = await startAwsProxy(moto.endpoint);
}, 120_000);

// one app's mirror at a time: a finished test's target no longer plays the sandbox
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.stop()));
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await proxy?.close();
  await moto?.stop();
  await sandbox?.stop();
  await env?.teardown();
  dir?.remove();
}, 60_000);

/**
 * A load balancer with a stable and a canary target group (2 healthy IP targets each) and a listener
 * forwarding to the stable one; ECS services behind them (stable on `stable`, canary at 0) with a task
 * definition revision per version; a config releasing through it; the sandbox mirroring it.
 */
async function app(name: string, stable: string, stages: Array<{ traffic_percent: number; duration_minutes?: number }>) {
  const a = await createAlbApp(moto.endpoint, { versions: VERSIONS, stable, sandboxUrl: sandbox.url });
  apps.push(a);
  const { alb, ecs: e, world } = a;

  const sub = join(dir.path, name);
  mkdirSync(sub);
  const cfg = withDeployer(
    writeStackConfig(sub, { sandboxUrl: sandbox.url, address: env.address, taskQueue, pollIntervalS: 1, minRequests: 20, stages, dataDir: sub }),
    a.deployer(proxy.endpoint),
    { version_pattern: 'image-tag' },
  );
  const isOurs = (c: AwsCall) => JSON.stringify(c.body ?? '').includes(alb.listenerArn) || JSON.stringify(c.body ?? '').includes(e.cluster);
  /** the ModifyListener calls the worker sent for this listener, as "stable/canary" weights */
  const modifies = () =>
    proxy
      .callsOf('ModifyListener')
      .filter(isOurs)
      .map((c) => {
        const w = weightsSent(c);
        return `${w[alb.stableTargetGroupArn]}/${w[alb.canaryTargetGroupArn]}`;
      });
  /** this app's ModifyListener and UpdateService calls in order, e.g. "ModifyListener 100/0", "UpdateService checkout-canary" */
  const writes = () =>
    proxy.calls.filter(isOurs).flatMap((c) => {
      if (c.op === 'ModifyListener') {
        const w = weightsSent(c);
        return [`ModifyListener ${w[alb.stableTargetGroupArn]}/${w[alb.canaryTargetGroupArn]}`];
      }
      if (c.op === 'UpdateService') return [`UpdateService ${(c.body as { service: string }).service}`];
      return [];
    });
  /** this app's calls in order, by operation (reads too) */
  const ops = () =>
    proxy.calls
      .filter((c) => isOurs(c) || JSON.stringify(c.body ?? '').includes(alb.canaryTargetGroupArn))
      .map((c) =>
        c.op === 'ModifyListener' ? `ModifyListener ${weightsSent(c)[alb.stableTargetGroupArn]}/${weightsSent(c)[alb.canaryTargetGroupArn]}` : c.op,
      );
  return { alb, e, cfg, world, modifies, writes, ops };
}

async function worker(configFile: string): Promise<Child> {
  const w = await startWorkerProcess({ configFile, address: env.address, taskQueue, bundle, env: AWS_ENV });
  workers.push(w);
  return w;
}

const releases = (configFile: string) => new Releases(env.client, loadConfig(configFile), taskQueue);

test('alb: a release prepares the canary service (ready before any traffic moves), shifts 5 → 25 → 100 and promotes', async () => {
  const a = await app('good', BASE, [{ traffic_percent: 5, duration_minutes: 0.2 }, { traffic_percent: 25, duration_minutes: 0.15 }, { traffic_percent: 100 }]);
  const w = await worker(a.cfg);
  const rel = releases(a.cfg);
  await rel.release({ service: 'checkout', version: 'v1.3.0', requestedBy: 'ana', source: 'cli' });
  const result = await rel.result('checkout');
  expect(result).toMatchObject({ status: 'succeeded', version: 'v1.3.0', trafficPercent: 100 });

  // prepare: the canary group joins at 0, the canary service goes to v1.3.0 (and is waited for) before
  // the first weight moves; then 5 → 25 → 100; promote puts the stable service on v1.3.0, the weights
  // back to 100/0 and the canary service to 0
  expect(a.writes()).toEqual([
    'ModifyListener 100/0',
    'UpdateService checkout-canary',
    'ModifyListener 95/5',
    'ModifyListener 75/25',
    'ModifyListener 0/100',
    'UpdateService checkout',
    'ModifyListener 100/0',
    'UpdateService checkout-canary',
  ]);
  // between the canary's update and the first weight: its tasks and its targets' health were read
  const ops = a.ops();
  const waited = ops.slice(ops.indexOf('UpdateService'), ops.indexOf('ModifyListener 95/5'));
  expect(waited).toEqual(expect.arrayContaining(['DescribeServices', 'DescribeTargetHealth']));
  const after = await a.world();
  expect(after).toEqual({ weights: [100, 0], stable: { version: 'v1.3.0', desired: 2 }, canary: { version: 'v1.3.0', desired: 0 } });
  const v = (await sandbox.versions('checkout')).find((x) => x.version === 'v1.3.0')!;
  expect(v.requests).toBeGreaterThan(20);
  console.log(
    `alb good release: ModifyListener ${a.modifies().join(' → ')}; timeline ${(await rel.status('checkout')).timeline.map((x) => x.event).join(' | ')}`,
  );
  await w.stop();
});

test('alb: a bad release is reverted by the guard, the listener back at 100 % stable', async () => {
  const a = await app('bad', BASE, [{ traffic_percent: 25, duration_minutes: 0.5 }, { traffic_percent: 100 }]);
  const w = await worker(a.cfg);
  const rel = releases(a.cfg);
  await rel.release({ service: 'checkout', version: 'v1.3.1-bad', requestedBy: 'ana', source: 'cli' });
  const result = await rel.result('checkout');
  expect(result.status).toBe('rolled_back');
  expect(result.reason).toMatch(/error rate/);
  expect((await rel.status('checkout')).timeline.map((x) => x.event)).toContain('breach');

  expect(a.modifies()).toEqual(['100/0', '75/25', '100/0']);
  const after = await a.world();
  expect(after.weights).toEqual([100, 0]);
  expect(after.stable).toEqual({ version: BASE, desired: 2 });
  console.log(`alb bad release: writes ${a.writes().join(', ')}; canary after: ${JSON.stringify(after.canary)}`);
  await w.stop();
});

test('alb: kill -9 of the worker mid-stage, a new worker finishes the release with each split sent once', async () => {
  const a = await app('crash', BASE, [{ traffic_percent: 5, duration_minutes: 0.1 }, { traffic_percent: 25, duration_minutes: 0.2 }, { traffic_percent: 100 }]);
  await releaseThroughWorkerCrash(releases(a.cfg), () => worker(a.cfg), 'v1.3.2');

  // one ModifyListener per split: prepare's 100/0, 5, 25, 100, and promote's 100/0
  const sent = a.modifies();
  expect(sent).toEqual(['100/0', '95/5', '75/25', '0/100', '100/0']);
  const after = await a.world();
  expect(after).toEqual({ weights: [100, 0], stable: { version: 'v1.3.2', desired: 2 }, canary: { version: 'v1.3.2', desired: 0 } });
  console.log(`alb kill -9: ModifyListener ${sent.join(' → ')}; writes ${a.writes().join(', ')}`);
});
