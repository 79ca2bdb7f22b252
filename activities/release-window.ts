// When the next release window opens ("Tuesday 15:00–17:00 America/Los_Angeles"): the activity releases
// started before the release calendar still ask. It is the calendar's own rule (./release-calendar),
// asked for a step of no length, so both read windows, time zones and daylight saving the same way.
import type { ReleaseWindow } from '../contract/plan';
import { insideWindow, nextSlot } from './release-calendar';

export { insideWindow };

/** `now` when inside the window, else the first minute the window is open. */
export function nextWindowStart(w: ReleaseWindow, now: number): number {
  return nextSlot({ window: w }, now, 0).at;
}
