// When the next release window opens ("Tuesday 15:00–17:00 America/Los_Angeles"), computed with the
// platform's time-zone database (Intl), so daylight saving is handled the way the calendar is.
import type { ReleaseWindow } from '../contract/plan';

const WEEKDAY: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** Wall-clock parts of an instant in a zone. */
function partsIn(ms: number, timeZone: string) {
  const f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return { day: WEEKDAY[p.weekday], minutes: Number(p.hour) * 60 + Number(p.minute) };
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

export function insideWindow(w: ReleaseWindow, ms: number): boolean {
  const { day, minutes } = partsIn(ms, w.timeZone);
  return w.days.includes(day) && minutes >= toMinutes(w.start) && minutes < toMinutes(w.end);
}

/** `now` when inside the window, else the first minute the window is open (searched minute by minute over 8 days). */
export function nextWindowStart(w: ReleaseWindow, now: number): number {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: w.timeZone });
  } catch {
    throw new Error(`unknown time zone ${JSON.stringify(w.timeZone)}`);
  }
  if (insideWindow(w, now)) return now;
  const start = Math.ceil(now / 60_000) * 60_000;
  // Step by 15 minutes to find the open quarter, then refine by minute: every zone offset is a multiple of 15 min.
  for (let t = start; t < start + 8 * 86_400_000; t += 15 * 60_000) {
    if (insideWindow(w, t)) {
      let first = t;
      while (first - 60_000 >= start && insideWindow(w, first - 60_000)) first -= 60_000;
      return first;
    }
  }
  throw new Error(`the release window ${w.days.join(',')} ${w.start}-${w.end} ${w.timeZone} never opens`);
}
