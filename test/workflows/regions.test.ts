// By-region rollouts on the real dev server with second-long windows. Not under time skipping: parallel
// guards and judges complete concurrently, and the test server's time-skipping lock can then stop
// advancing time (a hang seen once under load), so this runs on real time instead.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { stubActivities, type StubScript } from '../support/stub-activities';
import { withWorker, repoConfig, workflowBundle } from '../support/release-harness';
import { resolveRelease } from '../../config/resolve';
import { Releases } from '../../client/releases';
import type { ReleaseInput } from '../../contract/plan';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  [env] = await Promise.all([localEnv(), workflowBundle()]);
}, 120_000);
afterAll(() => env?.teardown());

const regions = ['us-east-1', 'eu-west-1'];
const plan = (): ReleaseInput => {
  const base = resolveRelease(repoConfig(), { service: 'checkout', version: 'v1.2.3', requestedBy: 'ana', source: 'cli' });
  const stages = base.plan.stages.slice(0, 2).map((s) => ({ ...s, durationMs: 1000 }));
  return { request: base.request, plan: { ...base.plan, regions, stages, pollIntervalS: 1, bakeMs: 0 } };
};

async function run(script: StubScript) {
  const { acts, calls } = stubActivities(script);
  const result = await withWorker(env, acts, async (taskQueue) => {
    const started = await new Releases(env.client, repoConfig(), taskQueue).start(plan());
    return env.client.workflow.getHandle(started.workflowId).result();
  });
  return { result, calls };
}

test('each stage shifts and judges every region in parallel', async () => {
  const { result, calls } = await run({});
  expect(result.status).toBe('succeeded');
  expect([...calls.regional].sort()).toEqual(['eu-west-1:25', 'eu-west-1:5', 'us-east-1:25', 'us-east-1:5']);
  expect(calls.judged).toHaveLength(4);
});

test('a breach in one region undoes every region', async () => {
  const { result, calls } = await run({ breachAt: ['canary 25 %@eu-west-1'] });
  expect(result.status).toBe('rolled_back');
  expect(result.reason).toContain('eu-west-1: error rate 8 %');
  expect(calls.regional.slice(-2).sort()).toEqual(['eu-west-1:0', 'us-east-1:0']);
});
