// The A/B strategy's test stage with stub activities, on the real dev server: the test activity and the
// guard run side by side and complete together, which can stall the time-skipping server's clock (see
// regions.test.ts), so this runs on real time; the stubs decide at once.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { stubActivities, type StubScript } from '../support/stub-activities';
import { withWorker, repoConfig, workflowBundle } from '../support/release-harness';
import { testSigners } from '../support/test-signers';
import { resolveRelease } from '../../config/resolve';
import { configSchema } from '../../config/schema';
import { Releases } from '../../client/releases';
import { statusQuery, type ReleaseStatus } from '../../contract/messages';
import type { ReleaseInput } from '../../contract/plan';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  [env] = await Promise.all([localEnv(), workflowBundle()]);
}, 120_000);
afterAll(() => env?.teardown());

const MIN = 60_000;
const signers = testSigners();
const events = (s: ReleaseStatus) => s.timeline.map((t) => t.event);

let n = 0;
async function run(script: StubScript, input: ReleaseInput) {
  const { acts, calls } = stubActivities(script);
  return withWorker(env, acts, async (taskQueue) => {
    const started = await new Releases(env.client, repoConfig(), taskQueue).start(input);
    const h = env.client.workflow.getHandle(started.workflowId);
    const result = await h.result();
    return { result, status: await h.query(statusQuery), calls };
  });
}

const abPlan = (): ReleaseInput => {
  const cfg = configSchema.parse({
    release_managers: ['ana'],
    services: { [`shop${++n}`]: { strategy: 'ab', approvers: ['ana'], ab_test: { min_detectable_effect_percent: 3, max_duration_minutes: 60 } } },
  });
  const input = resolveRelease(cfg, { service: `shop${n}`, version: 'v2.0.0-convert3', requestedBy: 'ana', source: 'cli' });
  // bake 0: the bake has tests of its own; a plan trusting the test signers' keys, polled every second
  return { request: input.request, plan: { ...input.plan, commandAuth: signers.auth, bakeMs: 0, pollIntervalS: 1 } };
};

test('A/B: the plan tests B on half the users, split by user, and ships it when it converts better', async () => {
  const input = abPlan();
  expect(input.plan.ab).toEqual({
    weightB: 0.5,
    alpha: 0.05,
    minDetectableEffect: 0.03,
    margin: 0,
    nonInferiority: false,
    maxDurationMs: 60 * MIN,
    srmAlpha: 0.001,
  });
  const { result, status, calls } = await run({ ab: 'ship_b' }, input);
  expect(result.status).toBe('succeeded');
  expect(calls.traffic).toEqual([50, 100]);
  // the test and the guard start together: which is recorded first is a race
  expect(calls.guards).toContain('ab v2.0.0-convert3 vs v1.2.2');
  expect(status.abTest).toMatchObject({ kind: 'ship_b', text: expect.stringContaining('B converts 3.41 % vs A 3.31 %') });
  expect(events(status)).toContain('A/B: ship b');
});

test('A/B: when the test keeps A, every user goes back to A and no incident is opened', async () => {
  const { result, calls } = await run({ ab: 'keep_a' }, abPlan());
  expect(result.status).toBe('rolled_back');
  expect(result.reason).toMatch(/^A\/B test kept A: B converts .*keeping A$/);
  expect(calls.traffic).toEqual([50, 0]);
  expect(calls.incidents).toHaveLength(0);
});

test('A/B: a sample ratio mismatch stops the test as a failure, with an incident', async () => {
  const { result, calls } = await run({ ab: 'stop_srm' }, abPlan());
  expect(result.status).toBe('rolled_back');
  expect(result.reason).toContain('sample ratio mismatch');
  expect(calls.traffic).toEqual([50, 0]);
  expect(calls.incidents).toHaveLength(1);
});
