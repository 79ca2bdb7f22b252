// Release trains on the dev server with stub activities (children complete concurrently with the
// parent's bookkeeping; real time, second-long windows): api before web, each its own release under its
// real ID, a failure stopping the rest, and on_failure rollback releasing the services done back.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { stubActivities, type StubScript } from '../support/stub-activities';
import { withWorker, workflowBundle } from '../support/release-harness';
import { configSchema } from '../../config/schema';
import { Releases } from '../../client/releases';
import { resolveRelease } from '../../config/resolve';
import type { TrainStatus } from '../../contract/train';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  [env] = await Promise.all([localEnv(), workflowBundle()]);
}, 120_000);
afterAll(() => env?.teardown());

const SECOND = 1 / 60;
const stages = (name: string) => [{ name, traffic_percent: 10, duration_minutes: SECOND }, { traffic_percent: 100 }];
let n = 0;

function config(onFailure: 'rollback' | 'stop') {
  const cfg = configSchema.parse({
    release_managers: ['ana'],
    deployments: { bake_minutes: 0 },
    // nobody steers these releases; the train's own rules are under test
    security: { require_signed_commands: false },
    services: {
      api: { approvers: ['ana'], poll_interval_seconds: 1, rollout_plan: stages('api canary') },
      web: { approvers: ['ana'], poll_interval_seconds: 1, rollout_plan: stages('web canary') },
    },
    trains: { [`shop${++n}`]: { services: ['api', 'web'], on_failure: onFailure } },
  });
  return { cfg, train: `shop${n}` };
}

async function runTrain(script: StubScript, onFailure: 'rollback' | 'stop', before?: (rel: Releases) => Promise<void>) {
  const { cfg, train } = config(onFailure);
  const { acts, calls } = stubActivities(script);
  return withWorker(env, acts, async (taskQueue) => {
    const rel = new Releases(env.client, cfg, taskQueue);
    if (before) await before(rel);
    const { workflowId } = await rel.train({ train, versions: { api: 'v2.1.0', web: 'v3.0.0' }, requestedBy: 'ana', source: 'cli' });
    const status: TrainStatus = await rel.trainResult(train);
    const parents = await Promise.all(
      status.steps
        .filter((s) => s.status !== 'refused')
        .map(async (s) => (await env.client.workflow.getHandle(s.workflowId).describe()).raw.workflowExecutionInfo?.parentExecution?.workflowId),
    );
    return { status, calls, workflowId, parents, rel };
  });
}

const steps = (s: TrainStatus) => s.steps.map((p) => [p.service, p.version, p.status, p.back ?? null]);

test('api before web, each its own release under release:<service>, children of the train', async () => {
  const { status, calls, workflowId, parents } = await runTrain({}, 'stop');
  expect(status.status).toBe('succeeded');
  expect(steps(status)).toEqual([
    ['api', 'v2.1.0', 'succeeded', null],
    ['web', 'v3.0.0', 'succeeded', null],
  ]);
  expect(parents).toEqual([workflowId, workflowId]);
  // api's whole rollout came before web's first stage
  expect(calls.guards.indexOf('web canary')).toBeGreaterThan(calls.guards.lastIndexOf('api canary'));
  expect(status.steps.map((s) => s.previousVersion)).toEqual(['v1.2.2', 'v1.2.2']);
});

test('on_failure stop: web breaches and undoes itself; api keeps v2.1.0; the train fails naming what was kept', async () => {
  const { status } = await runTrain({ breachAt: ['web canary'] }, 'stop');
  expect(status.status).toBe('failed');
  expect(steps(status)).toEqual([
    ['api', 'v2.1.0', 'succeeded', null],
    ['web', 'v3.0.0', 'rolled_back', null],
  ]);
  expect(status.reason).toMatch(/^web v3\.0\.0 rolled back: web canary: error rate 8 %.*; stopped there \(on_failure: stop\), kept api v2\.1\.0$/);
});

test('on_failure rollback: web breaches; api is released back to v1.2.2 as a release of its own; the train is rolled back', async () => {
  const { status, calls } = await runTrain({ breachAt: ['web canary'] }, 'rollback');
  expect(status.status).toBe('rolled_back');
  expect(steps(status)).toEqual([
    ['api', 'v2.1.0', 'succeeded', 'succeeded'],
    ['web', 'v3.0.0', 'rolled_back', null],
  ]);
  expect(status.reason).toContain('on_failure rollback: api back to v1.2.2 (succeeded)');
  // api's rollout, web's canary and its undo, then api's release back: 10 % and 100 % again
  expect(calls.traffic).toEqual([10, 100, 10, 0, 10, 100]);
});

test('a release of api already running: the train is refused at api by the server, nothing else starts', async () => {
  const { status } = await runTrain({}, 'stop', async (rel) => {
    // api held in a long canary window
    const input = resolveRelease(rel.config, { service: 'api', version: 'v2.0.9', requestedBy: 'ana', source: 'cli' });
    await rel.start({ request: input.request, plan: { ...input.plan, stages: input.plan.stages.map((st) => ({ ...st, durationMs: 10 * 60_000 })) } });
  });
  expect(status.status).toBe('failed');
  expect(steps(status)).toEqual([
    ['api', 'v2.1.0', 'refused', null],
    ['web', 'v3.0.0', 'skipped', null],
  ]);
  expect(status.reason).toContain('api is already releasing (release:api)');
  await env.client.workflow.getHandle('release:api').terminate('test over');
});
