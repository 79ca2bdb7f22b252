// The worker's slot settings: sized for long-running guards, overridable, and never a combination the SDK rejects.
import { workerTuning, RELEASE_TUNING } from './tuning';

test('defaults: activity slots for a guard per release, few workflow task slots, a longer sticky timeout', () => {
  const t = workerTuning({}, 4096);
  expect(t.maxConcurrentActivityTaskExecutions).toBe(RELEASE_TUNING.activities);
  expect(t.maxConcurrentWorkflowTaskExecutions).toBe(RELEASE_TUNING.workflowTasks);
  expect(t.stickyQueueScheduleToStartTimeout).toBe(`${RELEASE_TUNING.stickyScheduleToStartS}s`);
  // the SDK's own heap estimate, since it is above the activity slots here
  expect(t.maxCachedWorkflows).toBe(Math.floor(((4096 - 200) * 600) / 1024));
});

test('a small heap still caches at least one workflow per activity slot', () => {
  expect(workerTuning({}, 512).maxCachedWorkflows).toBe(RELEASE_TUNING.activities);
});

test('each setting comes from the environment; workflow task slots never exceed the cache', () => {
  const t = workerTuning({ QUAD_MAX_ACTIVITIES: '300', QUAD_MAX_WORKFLOW_TASKS: '50', QUAD_STICKY_TIMEOUT_S: '20', QUAD_MAX_CACHED_WORKFLOWS: '40' }, 4096);
  expect(t).toEqual({
    maxConcurrentActivityTaskExecutions: 300,
    maxConcurrentWorkflowTaskExecutions: 40,
    stickyQueueScheduleToStartTimeout: '20s',
    maxCachedWorkflows: 40,
  });
});

test('a setting that is not a whole number above 0 is refused with its name', () => {
  expect(() => workerTuning({ QUAD_MAX_ACTIVITIES: '0' })).toThrow(/QUAD_MAX_ACTIVITIES must be a whole number above 0, not "0"/);
  expect(() => workerTuning({ QUAD_STICKY_TIMEOUT_S: '2.5' })).toThrow(/QUAD_STICKY_TIMEOUT_S/);
  expect(() => workerTuning({ QUAD_MAX_WORKFLOW_TASKS: 'lots' })).toThrow(/QUAD_MAX_WORKFLOW_TASKS/);
});
