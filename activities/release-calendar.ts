// The release calendar: when may a step that needs `needMs` start? Inside an opening of the release window
// where it also ends before the window closes (with `atEnd: 'finish'`, starting inside is enough), and
// outside every freeze for the whole of it. Wall-clock rules are read in their time zone through the
// platform's time-zone database (Intl), so a daylight-saving change moves the instant, not the local time.
// Searched in 15-minute steps (every zone offset is a multiple of 15 min), then refined to the minute,
// up to 400 days ahead.
import type { Freeze, ReleaseCalendar, ReleaseWindow } from '../contract/plan';
import type { CalendarSlot } from '../contract/activities';

const WEEKDAY: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const MINUTE = 60_000;
const STEP = 15 * MINUTE;
const HORIZON = 400 * 86_400_000;

export type Slot = CalendarSlot;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        weekday: 'short',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      });
    } catch {
      throw new Error(`unknown time zone ${JSON.stringify(timeZone)}`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** Wall-clock parts of an instant in a zone: weekday, "YYYY-MM-DD", "MM-DD", minutes since midnight. */
function local(ms: number, timeZone: string) {
  const p = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(new Date(ms))
      .map((x) => [x.type, x.value]),
  );
  return { day: WEEKDAY[p.weekday], date: `${p.year}-${p.month}-${p.day}`, monthDay: `${p.month}-${p.day}`, minutes: Number(p.hour) * 60 + Number(p.minute) };
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

export function insideWindow(w: ReleaseWindow, ms: number): boolean {
  const { day, minutes } = local(ms, w.timeZone);
  return w.days.includes(day) && minutes >= toMinutes(w.start) && minutes < toMinutes(w.end);
}

/** Is `ms` inside the freeze? Dates inclusive, times [after, before), all in the freeze's zone. */
export function frozen(f: Freeze, ms: number): boolean {
  const l = local(ms, f.timeZone);
  if (f.from && l.date < f.from) return false;
  if (f.to && l.date > f.to) return false;
  if (f.yearly) {
    const { from, to } = f.yearly;
    const inside = from <= to ? l.monthDay >= from && l.monthDay <= to : l.monthDay >= from || l.monthDay <= to;
    if (!inside) return false;
  }
  if (f.days && !f.days.includes(l.day)) return false;
  if (f.after && l.minutes < toMinutes(f.after)) return false;
  if (f.before && l.minutes >= toMinutes(f.before)) return false;
  return true;
}

/** The first minute at or after `ms` for which `pred` holds (searched in 15-minute steps, then minutes), or null. */
function firstWhen(ms: number, pred: (t: number) => boolean, horizon = HORIZON): number | null {
  if (pred(ms)) return ms;
  const start = Math.ceil(ms / MINUTE) * MINUTE;
  for (let t = start; t < start + horizon; t += STEP) {
    if (pred(t)) {
      let first = t;
      while (first - MINUTE >= start && pred(first - MINUTE)) first -= MINUTE;
      return first;
    }
  }
  return null;
}

/** When the window opening that contains `ms` closes. */
function windowCloses(w: ReleaseWindow, ms: number): number {
  return firstWhen(ms, (t) => !insideWindow(w, t), 8 * 86_400_000) ?? ms;
}

/** The first freeze covering a minute of [t, t + needMs): checked every 15 min and at its last minute. */
function freezeDuring(freezes: Freeze[], t: number, needMs: number): Freeze | undefined {
  if (freezes.length === 0) return undefined;
  const last = Math.max(t, t + needMs - MINUTE);
  for (let x = t; x < last; x += STEP) {
    const f = freezes.find((fr) => frozen(fr, x));
    if (f) return f;
  }
  return freezes.find((fr) => frozen(fr, last));
}

function describeWindow(w: ReleaseWindow): string {
  const names = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  return `${w.days.map((d) => names[d]).join(', ')} ${w.start}–${w.end} ${w.timeZone}`;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(':00.000Z', 'Z');

/** When a step of `needMs` may start, at or after `now`, and why not now. */
export function nextSlot(cal: ReleaseCalendar, now: number, needMs: number): Slot {
  const { window } = cal;
  const freezes = cal.freezes ?? [];
  if (window) formatter(window.timeZone);
  for (const f of freezes) formatter(f.timeZone);
  const fits = (t: number) => {
    if (window) {
      if (!insideWindow(window, t)) return false;
      // (a step of no length fits wherever the window is open: no need to find where it closes)
      if (needMs > 0 && window.atEnd !== 'finish' && t + needMs > windowCloses(window, t)) return false;
    }
    return !freezeDuring(freezes, t, needMs);
  };
  if (fits(now)) return { at: now, why: null };
  const at = firstWhen(now, fits);
  if (at === null)
    throw new Error(
      `no time in the next 400 days fits ${Math.round(needMs / 60_000)} min in ${window ? describeWindow(window) : 'the calendar'} outside its freezes`,
    );
  const freeze = freezeDuring(freezes, now, needMs);
  if (freeze) {
    const until = firstWhen(now, (t) => !frozen(freeze, t)) ?? at;
    return { at, why: `frozen: ${freeze.reason} (until ${iso(until)}); next slot ${iso(at)}`, freeze: { reason: freeze.reason, until } };
  }
  const w = window!;
  const why = insideWindow(w, now)
    ? `the release window (${describeWindow(w)}) closes at ${iso(windowCloses(w, now))}, before ${Math.round(needMs / 60_000)} min would end; next slot ${iso(at)}`
    : `outside the release window (${describeWindow(w)}); it opens ${iso(at)}`;
  return { at, why };
}
