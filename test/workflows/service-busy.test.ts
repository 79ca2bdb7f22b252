// One thing at a time per service, enforced by Temporal (contract/service-busy.ts): a flag ramp of a flag
// that belongs to checkout and a release of checkout never overlap. On the dev server with stub
// activities (child workflows and signals between runs, in real time): the client refuses at once naming
// what runs; a release that gets past the client (a race) is refused by the workflow itself before it
// changes anything; with when_service_busy: wait it waits, durably, and goes on when the holder closes,
// however it closes; of two that start together exactly one holds the service.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { stubActivities } from '../support/stub-activities';
import { withWorker, workflowBundle, eventually } from '../support/release-harness';
import { configSchema } from '../../config/schema';
import { Releases, ServiceBusyError } from '../../client/releases';
import { resolveFlagRamp, resolveRelease } from '../../config/resolve';
import type { ReleaseInput } from '../../contract/plan';
import type { ReleaseResult } from '../../contract/messages';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  [env] = await Promise.all([localEnv(), workflowBundle()]);
}, 120_000);
afterAll(() => env?.teardown());

const SECOND = 1 / 60;
let n = 0;

/** checkout and its flag dark_mode; the ramp waits for ana's approval before it changes anything (held as long as we like) */
function setup(onBusy: 'refuse' | 'wait', maxWaitMinutes = 60) {
  const service = `checkout${++n}`;
  const cfg = configSchema.parse({
    release_managers: ['ana'],
    deployments: { bake_minutes: 0, when_service_busy: onBusy, service_busy_max_wait_minutes: maxWaitMinutes },
    security: { require_signed_commands: false },
    services: {
      [service]: { approvers: ['ana'], poll_interval_seconds: 1, rollout_plan: [{ traffic_percent: 10, duration_minutes: SECOND }, { traffic_percent: 100 }] },
    },
    flags: {
      [`dark_mode${n}`]: {
        service,
        rollout_plan: [{ users_percent: 10, duration_minutes: SECOND, team_approval: 'required' }, { users_percent: 100 }],
      },
    },
  });
  return { cfg, service, flag: `dark_mode${n}` };
}

async function withBusyWorker<T>(
  fn: (rel: Releases, calls: ReturnType<typeof stubActivities>['calls'], cfg: ReturnType<typeof setup>) => Promise<T>,
  onBusy: 'refuse' | 'wait',
  maxWait?: number,
) {
  const s = setup(onBusy, maxWait);
  const { acts, calls } = stubActivities({});
  return withWorker(env, acts, (taskQueue) => fn(new Releases(env.client, s.cfg, taskQueue), calls, s));
}

/** starts a release workflow as a racing client would: no pre-check, straight to the server */
async function startRaw(rel: Releases, input: ReleaseInput, workflowId: string) {
  return rel.client.workflow.start('releaseWorkflow', { taskQueue: rel.taskQueue, workflowId, args: [input] });
}

test('refuse: the client names the flag ramp that runs; a release that races past it is refused by the workflow before it changes anything', async () => {
  await withBusyWorker(async (rel, calls, { cfg, service, flag }) => {
    const ramp = await rel.flagRamp({ flag, requestedBy: 'ana', source: 'cli' });
    await eventually(
      () => rel.status(ramp.workflowId),
      (s) => s.phase === 'awaiting_approval',
    );
    expect(await rel.serviceHolder(service)).toBe(ramp.workflowId);

    const ask = { service, version: 'v2.0.0', requestedBy: 'bob', source: 'cli' as const };
    const refusal = await rel.release(ask).catch((e: Error) => e);
    expect(refusal).toBeInstanceOf(ServiceBusyError);
    expect((refusal as Error).message).toMatch(
      new RegExp(`^${service} is busy: the flag ramp ${ramp.workflowId} \\(.+, 0 % of users\\), started by ana just now; wait for it`),
    );
    console.log(`client refusal: ${(refusal as Error).message}`);

    // past the client (two requests at once): the release itself finds the service held and stops, naming it
    const before = calls.traffic.length;
    const h = await startRaw(rel, resolveRelease(cfg, ask), `release:${service}`);
    const result: ReleaseResult = await h.result();
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(
      new RegExp(`^${service} is busy: flag ramp of ${flag} by ana \\(${ramp.workflowId}\\) since .+; refused \\(deployments.when_service_busy: refuse\\)$`),
    );
    expect(calls.traffic.length).toBe(before);
    expect(calls.incidents).toEqual([]);
    console.log(`workflow refusal: ${result.reason}`);

    // the ramp is untouched and still holds the service; once it ends the service is free
    expect(await rel.serviceHolder(service)).toBe(ramp.workflowId);
    expect((await rel.command(ramp.workflowId, 'approve', 'ana')).accepted).toBe(true);
    expect((await rel.result(ramp.workflowId)).status).toBe('succeeded');
    await eventually(
      () => rel.serviceHolder(service),
      (h) => h === null,
    );
    expect((await rel.result((await rel.release(ask)).workflowId)).status).toBe('succeeded');
  }, 'refuse');
});

test('wait: a release waits while the ramp holds the service, shown as waiting; it goes on when the ramp ends', async () => {
  await withBusyWorker(async (rel, calls, { service, flag }) => {
    const ramp = await rel.flagRamp({ flag, requestedBy: 'ana', source: 'cli' });
    await eventually(
      () => rel.status(ramp.workflowId),
      (s) => s.phase === 'awaiting_approval',
    );
    const started = await rel.release({ service, version: 'v2.0.0', requestedBy: 'bob', source: 'cli' });
    const waiting = await eventually(
      () => rel.status(started.workflowId),
      (s) => s.phase === 'waiting_service',
    );
    expect(waiting.pauseReason).toMatch(new RegExp(`^${service} is busy: flag ramp of ${flag} by ana \\(${ramp.workflowId}\\)`));
    expect(waiting.trafficPercent).toBe(0);
    const shiftsWhileWaiting = calls.traffic.length;
    expect((await rel.command(ramp.workflowId, 'approve', 'ana')).accepted).toBe(true);
    expect((await rel.result(ramp.workflowId)).status).toBe('succeeded');
    const result = await rel.result(started.workflowId);
    expect(result.status).toBe('succeeded');
    expect(calls.traffic.length).toBeGreaterThan(shiftsWhileWaiting);
    const events = (await rel.status(started.workflowId)).timeline.map((e) => e.event);
    expect(events.indexOf('waiting for the service')).toBeLessThan(events.indexOf('service free'));
    // the ramp's flag changes all came before the release's first traffic change
    console.log(`timeline: ${events.join(' → ')}`);
  }, 'wait');
});

test('wait: a holder that is terminated frees the service too (the server cancels its busy child)', async () => {
  await withBusyWorker(async (rel, _calls, { service, flag }) => {
    const ramp = await rel.flagRamp({ flag, requestedBy: 'ana', source: 'cli' });
    await eventually(
      () => rel.status(ramp.workflowId),
      (s) => s.phase === 'awaiting_approval',
    );
    const started = await rel.release({ service, version: 'v2.0.0', requestedBy: 'bob', source: 'cli' });
    await eventually(
      () => rel.status(started.workflowId),
      (s) => s.phase === 'waiting_service',
    );
    await rel.client.workflow.getHandle(ramp.workflowId).terminate('operator stopped it');
    expect((await rel.result(started.workflowId)).status).toBe('succeeded');
  }, 'wait');
});

test('wait, bounded: still busy after service_busy_max_wait_minutes → refused naming the holder', async () => {
  await withBusyWorker(
    async (rel, _calls, { service, flag }) => {
      const ramp = await rel.flagRamp({ flag, requestedBy: 'ana', source: 'cli' });
      await eventually(
        () => rel.status(ramp.workflowId),
        (s) => s.phase === 'awaiting_approval',
      );
      const started = await rel.release({ service, version: 'v2.0.0', requestedBy: 'bob', source: 'cli' });
      const result = await rel.result(started.workflowId);
      expect(result.status).toBe('failed');
      expect(result.reason).toMatch(new RegExp(`^${service} is still busy after 0.1 min: flag ramp of ${flag} by ana`));
      await rel.command(ramp.workflowId, 'reject', 'ana');
    },
    'wait',
    0.05,
  );
});

test('two that start at the same moment: exactly one holds the service, the other is refused', async () => {
  await withBusyWorker(async (rel, _calls, { cfg, service, flag }) => {
    const release = resolveRelease(cfg, { service, version: 'v2.0.0', requestedBy: 'bob', source: 'cli' });
    const ramp = resolveFlagRamp(cfg, { flag, requestedBy: 'ana', source: 'cli' });
    const [hr, hf] = await Promise.all([startRaw(rel, release, `release:${service}`), startRaw(rel, ramp, `flag:${flag}`)]);
    // the ramp waits for approval if it won; approve it either way once it has decided
    const rampState = await eventually(
      () => rel.status(hf.workflowId).catch(() => null),
      (s) => s !== null && (s.phase === 'awaiting_approval' || s.status !== 'running'),
      20_000,
    );
    if (rampState?.phase === 'awaiting_approval') await rel.command(hf.workflowId, 'approve', 'ana');
    const results = await Promise.all([hr.result(), hf.result()]);
    const outcomes = results.map((r) => r.status).sort();
    expect(outcomes).toEqual(['failed', 'succeeded']);
    expect(results.find((r) => r.status === 'failed')!.reason).toMatch(/is busy: .+; refused/);
    console.log(`race: release ${results[0].status}, ramp ${results[1].status}`);
  }, 'refuse');
});
