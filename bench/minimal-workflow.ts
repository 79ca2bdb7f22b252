// The floor bench/throughput.ts holds the release workflow against: a workflow making the same number of
// activity calls and timers as one release, with no-op activities and no state, search attributes,
// notices or guards. Bundled on its own (never part of workflows/).
import { proxyActivities, sleep } from '@temporalio/workflow';

export interface MinimalShape {
  stages: number;
  windowMs: number;
  /** activities scheduled by one release, in all */
  activities: number;
  /** timers started by one release, in all (the stage windows among them) */
  timers: number;
  /** a stage's activities all at once beside its window timer (the fewest workflow tasks), or one after another before it */
  parallel: boolean;
}

export interface NoopActivities {
  noop(): Promise<void>;
}

const { noop } = proxyActivities<NoopActivities>({ startToCloseTimeout: '60s' });

/** Per stage a share of the activities and the stage's window; the timers left over are 1 ms sleeps. */
export async function minimalWorkflow(shape: MinimalShape): Promise<{ activities: number; timers: number }> {
  let activities = 0;
  let timers = 0;
  const perStage = Math.floor(shape.activities / shape.stages);
  for (let s = 0; s < shape.stages; s++) {
    if (shape.parallel) {
      await Promise.all([...Array.from({ length: perStage }, () => noop()), sleep(shape.windowMs)]);
      activities += perStage;
    } else {
      for (let i = 0; i < perStage; i++, activities++) await noop();
      await sleep(shape.windowMs);
    }
    timers++;
  }
  for (; activities < shape.activities; activities++) await noop();
  for (; timers < shape.timers; timers++) await sleep(1);
  return { activities, timers };
}
