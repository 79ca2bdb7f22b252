// A guard no worker takes within two polls (the worker's activity slots all busy, as in a burst) is a
// window nobody watches: the release records it ("guard late") and asks for the guard again, which then
// reads back from the window's start. On the dev server in real time: a worker with one activity slot
// and a release in two regions at once, so one region's guard holds the only slot for its whole window.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { stubActivities } from '../support/stub-activities';
import { repoConfig, withWorker, workflowBundle } from '../support/release-harness';
import { resolveRelease } from '../../config/resolve';
import { Releases } from '../../client/releases';
import type { GuardOutcome } from '../../contract/activities';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  [env] = await Promise.all([localEnv(), workflowBundle()]);
}, 120_000);
afterAll(() => env?.teardown());

test('a guard that cannot start within two polls is recorded as late and asked for again; the release goes on', async () => {
  const { acts } = stubActivities({});
  const started: { region?: string; at: number; from: number }[] = [];
  // a guard that holds its slot for 11 s of its window, as a busy worker's activities do
  acts.guard = async (input): Promise<GuardOutcome> => {
    started.push({ region: input.region, at: Date.now(), from: input.from });
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(input.deadline, input.from + 11_000) - Date.now())));
    return { kind: 'quiet', polls: 1 } as GuardOutcome;
  };
  const base = resolveRelease(repoConfig(), { service: 'checkout', version: 'v1.2.3', requestedBy: 'ana', source: 'cli' });
  const stages = base.plan.stages.slice(0, 1).map((s) => ({ ...s, durationMs: 20_000 }));
  const input = {
    request: base.request,
    plan: { ...base.plan, regions: ['us-east-1', 'eu-west-1'], stages, pollIntervalS: 1, bakeMs: 0, approvalRequired: false },
  };
  const { result, timeline } = await withWorker(
    env,
    acts,
    async (taskQueue) => {
      const rel = new Releases(env.client, repoConfig(), taskQueue);
      const s = await rel.start(input);
      const result = await env.client.workflow.getHandle(s.workflowId).result();
      return { result, timeline: (await rel.status(s.workflowId)).timeline };
    },
    { maxConcurrentActivityTaskExecutions: 1 },
  );
  expect(result.status).toBe('succeeded');
  const late = timeline.filter((e) => e.event === 'guard late');
  expect(late).toHaveLength(1);
  expect(late[0].detail).toMatch(/^no worker took the guard of canary 5 % within 10 s: unwatched until one does in (us-east-1|eu-west-1)$/);
  // both regions' guards did run, the late one asked for the same window (from its start)
  expect(started.map((g) => g.region).sort()).toEqual(['eu-west-1', 'us-east-1']);
  expect(started[1].from).toBe(started[0].from);
  console.log(`late guard: ${late[0].detail}; it started ${((started[1].at - started[1].from) / 1000).toFixed(1)} s after its window began`);
}, 90_000);
