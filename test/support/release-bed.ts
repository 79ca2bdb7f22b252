// The time-skipping bed the release workflow tests share: one test server and workflow bundle per file,
// the repo's config, the seed plan, and a run that starts a release on stub activities and returns its
// result, final status and the calls the stubs recorded.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv } from './temporal-env';
import { stubActivities, type StubScript } from './stub-activities';
import { withWorker, repoConfig, workflowBundle } from './release-harness';
import { resolveRelease } from '../../config/resolve';
import { Releases } from '../../client/releases';
import { statusQuery, type ReleaseStatus } from '../../contract/messages';
import type { ReleaseInput } from '../../contract/plan';
import type { QuadConfig } from '../../config/schema';
import type { Actor, Command, CommandResult } from '../../contract/messages';
import { testSigners, type Bend, type TestSigners } from './test-signers';

export type Handle = ReturnType<TestWorkflowEnvironment['client']['workflow']['getHandle']>;

export interface ReleaseBed {
  env(): TestWorkflowEnvironment;
  cfg(): QuadConfig;
  /** checkout's seed plan from the repo config, trusting the test signers' keys, with `over` replacing plan fields */
  seedPlan(over?: Partial<ReleaseInput['plan']>, version?: string): ReleaseInput;
  /** any input, its plan trusting the test signers' keys (seedPlan's already do) */
  trust(input: ReleaseInput): ReleaseInput;
  /** the test people's and front ends' keys (the seed plan trusts them) */
  signers: TestSigners;
  /** a command signed as a client signs it (bent if asked), sent as a signal */
  signal(h: Handle, cmd: Command, actor: Omit<Actor, 'signed' | 'stage'>, bend?: Bend): Promise<void>;
  /** the same through the command update */
  update(h: Handle, cmd: Command, actor: Omit<Actor, 'signed' | 'stage'>, bend?: Bend): Promise<CommandResult>;
  run(
    script: StubScript,
    input: ReleaseInput,
    drive?: (h: Handle) => Promise<void>,
  ): Promise<{ result: any; status: ReleaseStatus; calls: ReturnType<typeof stubActivities>['calls']; handle: Handle }>;
}

/** Registers the file's beforeAll/afterAll and returns the bed. */
export function useReleaseBed(): ReleaseBed {
  let env: TestWorkflowEnvironment | undefined;
  let cfg: QuadConfig | undefined;
  beforeAll(async () => {
    [env] = await Promise.all([timeSkippingEnv(), workflowBundle()]);
    cfg = repoConfig();
  }, 120_000);
  afterAll(() => env?.teardown());
  const signers = testSigners();
  const bed: ReleaseBed = {
    env: () => env!,
    cfg: () => cfg!,
    signers,
    seedPlan(over = {}, version = 'v1.2.3') {
      const input = resolveRelease(bed.cfg(), { service: 'checkout', version, requestedBy: 'ana', source: 'cli' });
      return { request: input.request, plan: { ...input.plan, commandAuth: signers.auth, ...over } };
    },
    trust: (input) => ({ request: input.request, plan: { ...input.plan, commandAuth: signers.auth } }),
    signal: (h, cmd, actor, bend) => signers.signal(bed.env(), h, cmd, actor, bend),
    update: (h, cmd, actor, bend) => signers.update(bed.env(), h, cmd, actor, bend),
    async run(script, input, drive) {
      const { acts, calls } = stubActivities(script);
      return withWorker(bed.env(), acts, async (taskQueue) => {
        const started = await new Releases(bed.env().client, bed.cfg(), taskQueue).start(input);
        const handle = bed.env().client.workflow.getHandle(started.workflowId);
        if (drive) await drive(handle);
        const result = await handle.result().catch((e) => e);
        const status: ReleaseStatus = await handle.query(statusQuery);
        return { result, status, calls, handle };
      });
    },
  };
  return bed;
}
