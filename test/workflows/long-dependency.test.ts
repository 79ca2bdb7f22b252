// A dependency step that runs for minutes (a migration) runs once: its activity's timeout comes from the
// step's own timeout_seconds, and it heartbeats, so it is neither timed out nor started a second time
// while the first run goes on (with the old fixed 60 s timeout it was started again every minute).
// The real runStep activity runs a real command; the rest of the release is stubbed. Three minutes of
// wall time, on purpose: that is the case the fix is for.
import { mkdtempSync, readFileSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv } from '../support/temporal-env';
import { stubActivities } from '../support/stub-activities';
import { withWorker, repoConfig, workflowBundle } from '../support/release-harness';
import { resolveRelease } from '../../config/resolve';
import { Releases } from '../../client/releases';
import { runStep } from '../../activities/steps';
import type { ReleasePlan } from '../../contract/plan';

const MIGRATION_S = 180;
let env: TestWorkflowEnvironment;
let dir: string;

beforeAll(async () => {
  [env] = await Promise.all([timeSkippingEnv(), workflowBundle()]);
  dir = mkdtempSync(join(tmpdir(), 'quad-long-step-'));
}, 120_000);
afterAll(async () => {
  await env?.teardown();
  rmSync(dir, { recursive: true, force: true });
});

test(
  `a ${MIGRATION_S / 60}-minute dependency step runs once, heartbeating, and the release goes on after it`,
  async () => {
    const runs = join(dir, 'runs');
    const script = join(dir, 'migrate.sh');
    writeFileSync(script, `#!/bin/sh\necho "started $$" >> '${runs}'\nsleep ${MIGRATION_S}\necho "migrated $1"\n`);
    chmodSync(script, 0o755);
    const cfg = repoConfig();
    const input = resolveRelease(cfg, { service: 'checkout', version: 'v1.2.3', requestedBy: 'ana', source: 'cli' });
    const plan: ReleasePlan = {
      ...input.plan,
      stages: input.plan.stages.slice(0, 1),
      dependencies: [{ name: 'db migration', kind: 'command', args: { command: [script, '${version}'], timeout_seconds: MIGRATION_S + 60 } }],
    };
    const { acts, calls } = stubActivities();
    const t0 = Date.now();
    const { result, history } = await withWorker(env, { ...acts, runStep }, async (taskQueue) => {
      const started = await new Releases(env.client, cfg, taskQueue).start({ request: input.request, plan });
      const h = env.client.workflow.getHandle(started.workflowId);
      return { result: await h.result(), history: await h.fetchHistory() };
    });
    const wallS = (Date.now() - t0) / 1000;
    expect(result.status).toBe('succeeded');
    expect(wallS).toBeGreaterThanOrEqual(MIGRATION_S);
    expect(readFileSync(runs, 'utf8').trim().split('\n')).toHaveLength(1);
    // one schedule, one start (attempt 1), one completion: never timed out, never retried
    const events = history.events ?? [];
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runStep');
    expect(scheduled).toHaveLength(1);
    const attrs = scheduled[0].activityTaskScheduledEventAttributes!;
    expect(Number(attrs.startToCloseTimeout?.seconds)).toBeGreaterThan(MIGRATION_S + 60);
    expect(Number(attrs.heartbeatTimeout?.seconds)).toBeGreaterThan(0);
    const startedEvents = events.filter(
      (e) => e.activityTaskStartedEventAttributes && Number(e.activityTaskStartedEventAttributes.scheduledEventId) === Number(scheduled[0].eventId),
    );
    expect(startedEvents.map((e) => e.activityTaskStartedEventAttributes!.attempt)).toEqual([1]);
    expect(events.some((e) => e.activityTaskTimedOutEventAttributes)).toBe(false);
    expect(calls.traffic).toEqual([5]);
    console.log(`dependency of ${MIGRATION_S} s ran once; release done in ${wallS.toFixed(1)} s wall`);
  },
  (MIGRATION_S + 120) * 1000,
);
