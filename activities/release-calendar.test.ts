// The release calendar on real dates: window openings that a stage must fit in, freezes by date range,
// by year, by weekday and time, and daylight-saving changes (the local time holds, the instant moves).
import type { Freeze, ReleaseWindow } from '../contract/plan';
import { frozen, insideWindow, nextSlot } from './release-calendar';

const LA = 'America/Los_Angeles';
const tuesday: ReleaseWindow = { days: [2], start: '15:00', end: '17:00', timeZone: LA };
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const MIN = 60_000;

test('inside the window with room for the stage: now', () => {
  const now = at('2026-12-01T23:30:00Z'); // Tue 15:30 PST
  expect(nextSlot({ window: tuesday }, now, 30 * MIN)).toEqual({ at: now, why: null });
});

test('inside the window but the stage would end after it closes: the next opening, saying why', () => {
  const now = at('2026-12-02T00:45:00Z'); // Tue 16:45 PST, 15 min left
  const s = nextSlot({ window: tuesday }, now, 30 * MIN);
  expect(iso(s.at)).toBe('2026-12-08T23:00:00.000Z');
  expect(s.why).toBe(
    'the release window (Tue 15:00–17:00 America/Los_Angeles) closes at 2026-12-02T01:00Z, before 30 min would end; next slot 2026-12-08T23:00Z',
  );
  // with atEnd: finish, starting inside is enough
  expect(nextSlot({ window: { ...tuesday, atEnd: 'finish' } }, now, 30 * MIN)).toEqual({ at: now, why: null });
  // a stage longer than the whole window never fits: a clear error, not an endless wait
  expect(() => nextSlot({ window: tuesday }, now, 3 * 60 * MIN)).toThrow('no time in the next 400 days fits 180 min');
});

test('outside the window: when it opens', () => {
  const s = nextSlot({ window: tuesday }, at('2026-12-03T18:00:00Z'), 10 * MIN);
  expect(iso(s.at)).toBe('2026-12-08T23:00:00.000Z');
  expect(s.why).toBe('outside the release window (Tue 15:00–17:00 America/Los_Angeles); it opens 2026-12-08T23:00Z');
});

test('across a daylight-saving change the local time holds: Monday 09:00 Berlin is 08:00Z in winter, 07:00Z in summer', () => {
  const monday: ReleaseWindow = { days: [1], start: '09:00', end: '12:00', timeZone: 'Europe/Berlin' };
  // Friday before the change of 2027-03-28 (CET → CEST): the next Monday is 2027-03-29, in summer time
  expect(iso(nextSlot({ window: monday }, at('2027-03-26T12:00:00Z'), 30 * MIN).at)).toBe('2027-03-29T07:00:00.000Z');
  // a week earlier, still winter time
  expect(iso(nextSlot({ window: monday }, at('2027-03-19T12:00:00Z'), 30 * MIN).at)).toBe('2027-03-22T08:00:00.000Z');
  // and the window on the night clocks go back: 01:00–04:00 New York on 2026-11-01 lasts 4 hours of real time
  const night: ReleaseWindow = { days: [0], start: '01:00', end: '04:00', timeZone: 'America/New_York' };
  const opens = at('2026-11-01T05:00:00Z'); // 01:00 EDT
  expect(insideWindow(night, opens)).toBe(true);
  expect(insideWindow(night, at('2026-11-01T08:59:00Z'))).toBe(true); // 03:59 EST
  expect(nextSlot({ window: night }, opens, 230 * MIN)).toEqual({ at: opens, why: null });
});

describe('freezes', () => {
  const yearEnd: Freeze = { reason: 'end-of-year freeze', timeZone: LA, yearly: { from: '12-18', to: '12-31' } };
  const fridays: Freeze = { reason: 'no Friday afternoon releases', timeZone: LA, days: [5], after: '15:00' };
  const launch: Freeze = { reason: 'product launch', timeZone: 'UTC', from: '2027-02-01', to: '2027-02-03' };

  test('each kind holds exactly when it says', () => {
    expect(frozen(yearEnd, at('2026-12-18T08:00:00Z'))).toBe(true); // 00:00 PST on the 18th
    expect(frozen(yearEnd, at('2026-12-18T07:59:00Z'))).toBe(false); // 23:59 on the 17th
    expect(frozen(yearEnd, at('2027-01-01T08:00:00Z'))).toBe(false);
    expect(frozen(fridays, at('2026-12-04T23:00:00Z'))).toBe(true); // Fri 15:00 PST
    expect(frozen(fridays, at('2026-12-04T22:59:00Z'))).toBe(false);
    expect(frozen(fridays, at('2026-12-05T23:00:00Z'))).toBe(false); // Saturday
    expect(frozen(launch, at('2027-02-03T23:59:00Z'))).toBe(true);
    expect(frozen(launch, at('2027-02-04T00:00:00Z'))).toBe(false);
    // a yearly range across new year
    expect(frozen({ ...yearEnd, yearly: { from: '12-24', to: '01-02' } }, at('2027-01-02T20:00:00Z'))).toBe(true);
  });

  test('a release in the year-end freeze waits until it ends and the window opens, saying why', () => {
    const s = nextSlot({ window: tuesday, freezes: [yearEnd] }, at('2026-12-22T23:30:00Z'), 30 * MIN); // Tue 15:30, frozen
    expect(iso(s.at)).toBe('2027-01-05T23:00:00.000Z'); // the first Tuesday window of 2027
    expect(s.freeze).toEqual({ reason: 'end-of-year freeze', until: at('2027-01-01T08:00:00Z') });
    expect(s.why).toBe('frozen: end-of-year freeze (until 2027-01-01T08:00Z); next slot 2027-01-05T23:00Z');
  });

  test('a stage that would run into a freeze does not start: Friday 14:45 with a 30 min stage waits until the freeze ends', () => {
    const s = nextSlot({ window: null, freezes: [fridays] }, at('2026-12-04T22:45:00Z'), 30 * MIN);
    expect(s.freeze?.reason).toBe('no Friday afternoon releases');
    expect(iso(s.at)).toBe('2026-12-05T08:00:00.000Z'); // Saturday 00:00 PST: no window, the freeze alone
  });

  test('an unknown time zone is a clear error', () => {
    expect(() => nextSlot({ window: { ...tuesday, timeZone: 'Mars/Olympus' } }, 0, 0)).toThrow('unknown time zone "Mars/Olympus"');
    expect(() => nextSlot({ window: null, freezes: [{ ...launch, timeZone: 'Nowhere/Else' }] }, 0, 0)).toThrow('unknown time zone "Nowhere/Else"');
  });
});
