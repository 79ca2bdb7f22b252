// Runs the release workflow on a real Temporal server with stub or real activities.
import { Worker, bundleWorkflowCode, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { join } from 'node:path';
import { parseConfig } from '../../config/load';
import { readFileSync } from 'node:fs';
import { ROOT } from './temporal-servers';
import type { ReleaseActivities } from '../../contract/activities';
import type { QuadConfig } from '../../config/schema';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** One webpack bundle per test file: building it takes seconds, a worker from it milliseconds. */
export function workflowBundle() {
  bundle ??= bundleWorkflowCode({ workflowsPath: join(ROOT, 'workflows', 'index.ts'), logger: quietLogger });
  return bundle;
}

const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export function repoConfig(): QuadConfig {
  return parseConfig(readFileSync(join(ROOT, '.quad', 'production-agent.yml'), 'utf8'), '.quad/production-agent.yml');
}

let n = 0;
/** A worker on a task queue of its own while `fn` runs; `options` for what a test tunes (e.g. slots). */
export async function withWorker<T>(
  env: TestWorkflowEnvironment,
  activities: ReleaseActivities,
  fn: (taskQueue: string) => Promise<T>,
  options: Partial<WorkerOptions> = {},
): Promise<T> {
  const taskQueue = `test-${process.pid}-${++n}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
    ...options,
  });
  return worker.runUntil(fn(taskQueue));
}

/** Polls a condition (a query, usually) without advancing time-skipping time. */
export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch {
      /* not there yet */
    }
    if (Date.now() > end) throw new Error(`condition not met in ${timeoutMs} ms; last: ${JSON.stringify(last)?.slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Time-skipping: a query does not move time, and awaiting the result would skip straight through an
 * approval's timeout. So advance workflow time in steps of `stepMs` until the predicate holds.
 */
export async function advanceUntil<T>(
  env: TestWorkflowEnvironment,
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  stepMs = 5 * 60_000,
  maxSteps = 200,
): Promise<T> {
  for (let i = 0; i < maxSteps; i++) {
    const v = await eventually(fn, () => true, 5000);
    if (ok(v)) return v;
    await env.sleep(stepMs);
  }
  throw new Error(`condition not met after ${maxSteps} steps of ${stepMs} ms`);
}
