// Regions in waves on the real dev server, as the seed writes them: US-East to 100 % first, then US-West
// to 50 % and EU to 10 % in parallel, each region a child release. Real time (second-long windows): the
// children's activities complete concurrently, which can stall the time-skipping server's clock.
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

const signers = testSigners();
const SECOND = 1 / 60;
let n = 0;

function plan(onRegionFailure: 'rollback' | 'stop' = 'rollback'): ReleaseInput {
  const service = `shop${++n}`;
  const cfg = configSchema.parse({
    release_managers: ['ana'],
    deployments: { bake_minutes: 0 },
    services: {
      [service]: {
        approvers: ['ana'],
        poll_interval_seconds: 1,
        rollout_plan: [5, 25, 50, 100].map((p) => ({ traffic_percent: p, duration_minutes: p === 100 ? 0 : SECOND })),
        regions: [
          { name: 'us-east-1', wave: 1 },
          { name: 'us-west-2', wave: 2, max_percent: 50 },
          { name: 'eu-west-1', wave: 2, max_percent: 10 },
        ],
        on_region_failure: onRegionFailure,
      },
    },
  });
  const input = resolveRelease(cfg, { service, version: 'v2.0.0', requestedBy: 'ana', source: 'cli' });
  return { request: input.request, plan: { ...input.plan, commandAuth: signers.auth } };
}

async function run(script: StubScript, input: ReleaseInput) {
  const { acts, calls } = stubActivities(script);
  return withWorker(env, acts, async (taskQueue) => {
    const started = await new Releases(env.client, repoConfig(), taskQueue).start(input);
    const h = env.client.workflow.getHandle(started.workflowId);
    const result = await h.result();
    const status: ReleaseStatus = await h.query(statusQuery);
    const children = await Promise.all(
      Object.values(status.regions ?? {}).map(
        async (p) => (await env.client.workflow.getHandle(p.workflowId).describe()).raw.workflowExecutionInfo?.parentExecution?.workflowId,
      ),
    );
    return { result, status, calls, children, id: started.workflowId };
  });
}

const regionsOf = (s: ReleaseStatus) => Object.fromEntries(Object.entries(s.regions ?? {}).map(([r, p]) => [r, [p.wave, p.status, p.trafficPercent]]));

test('the plan: two waves, each region its own stages (capped at its max_percent)', () => {
  const { plan: p } = plan();
  expect(p.waves!.map((w) => w.map((r) => [r.region, r.stages.map((s) => (s.action.kind === 'traffic' ? s.action.percent : -1))]))).toEqual([
    [['us-east-1', [5, 25, 50, 100]]],
    [
      ['us-west-2', [5, 25, 50]],
      ['eu-west-1', [5, 10]],
    ],
  ]);
});

test('three regions in two waves: US-East to 100 % first, then US-West 50 % and EU 10 % in parallel; children of the release; only US-East promoted', async () => {
  const { result, status, calls, children, id } = await run({}, plan());
  expect(result.status).toBe('succeeded');
  expect(children).toEqual([id, id, id]);
  expect(regionsOf(status)).toEqual({ 'us-east-1': [1, 'succeeded', 100], 'us-west-2': [2, 'succeeded', 50], 'eu-west-1': [2, 'succeeded', 10] });
  // wave 2 starts only after US-East reached 100 %
  const east100 = calls.regional.indexOf('us-east-1:100');
  expect(east100).toBeGreaterThanOrEqual(0);
  expect(calls.regional.findIndex((c) => !c.startsWith('us-east-1'))).toBeGreaterThan(east100);
  // each region read its own serving version; only the region taken to 100 % is promoted and retired
  expect(calls.lifecycle.filter((l) => l.startsWith('promote') || l.startsWith('retire'))).toEqual(['promote v2.0.0@us-east-1', 'retire@us-east-1']);
  expect(status.timeline.map((t) => t.event)).toEqual(expect.arrayContaining(['wave started', 'wave done', 'succeeded']));
  console.log(`regions: ${JSON.stringify(regionsOf(status))}`);
});

test('on_region_failure rollback: EU breaches, its child undoes EU, US-West is cancelled and undoes itself, US-East (done) is reverted', async () => {
  const { result, status, calls } = await run({ breachAt: ['canary 10 %@eu-west-1'] }, plan('rollback'));
  expect(result.status).toBe('rolled_back');
  expect(result.reason).toMatch(/^eu-west-1: rolled back: .*error rate 8 %.*every region rolled back/);
  for (const r of ['us-east-1', 'us-west-2', 'eu-west-1']) expect(calls.regional.at(calls.regional.map((c) => c.split(':')[0]).lastIndexOf(r))).toBe(`${r}:0`);
  expect(status.regions!['us-east-1'].status).toBe('rolled_back');
  expect(calls.lifecycle.some((l) => l.startsWith('promote'))).toBe(false);
  // the region that breached opened the incident, with its evidence; the parent opened none of its own
  expect(calls.incidents).toHaveLength(1);
});

test('on_region_failure stop: EU breaches and is undone; US-East keeps the new version, US-West finishes at 50 %, the release ends failed', async () => {
  const { result, status, calls } = await run({ breachAt: ['canary 10 %@eu-west-1'] }, plan('stop'));
  expect(result.status).toBe('failed');
  expect(result.reason).toContain('stopped there (on_region_failure: stop), v2.0.0 kept in us-east-1 at 100 %');
  expect(regionsOf(status)).toEqual({ 'us-east-1': [1, 'succeeded', 100], 'us-west-2': [2, 'succeeded', 50], 'eu-west-1': [2, 'rolled_back', 0] });
  expect(calls.regional).not.toContain('us-east-1:0');
  // the region kept at 100 % is promoted and its previous version retired; the one kept at 50 % keeps both
  expect(calls.lifecycle.filter((l) => l.startsWith('promote') || l.startsWith('retire@us'))).toEqual(['promote v2.0.0@us-east-1', 'retire@us-east-1']);
});
