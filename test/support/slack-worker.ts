// A worker for the Slack door tests: stub activities for the world, and the production notice fan-out with
// the real Slack notifier (reading the workflow's status, as the worker does) and a silent console.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from './release-harness';
import { stubActivities } from './stub-activities';
import type { QuadConfig } from '../../config/schema';
import { slackNotifierFromConfig } from '../../activities/providers/notifiers/slack';
import { fanOutNotice } from '../../activities';
import { statusQuery } from '../../contract/messages';
import type { ReleaseActivities } from '../../contract/activities';

export async function startSlackNotifyingWorker(
  env: TestWorkflowEnvironment,
  cfg: QuadConfig,
  serving: string,
): Promise<{ worker: Worker; running: Promise<void> }> {
  const { acts } = stubActivities({ serving });
  const notifier = slackNotifierFromConfig(cfg, { statusOf: (id) => env.client.workflow.getHandle(id).query(statusQuery) });
  const notifiers = { slack: notifier, console: { name: 'console', notify: async () => undefined } };
  const activities: ReleaseActivities = { ...acts, notify: (names, notice, refs) => fanOutNotice(notifiers, names, notice, refs) };
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue: cfg.temporal.task_queue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  return { worker, running: worker.run() };
}
