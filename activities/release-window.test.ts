import { nextWindowStart, insideWindow } from './release-window';
import type { ReleaseWindow } from '../contract/plan';

const tuesday: ReleaseWindow = { days: [2], start: '15:00', end: '17:00', timeZone: 'America/Los_Angeles' };

test('inside the window: now', () => {
  const t = Date.parse('2026-11-24T23:30:00Z'); // Tue 15:30 PST
  expect(insideWindow(tuesday, t)).toBe(true);
  expect(nextWindowStart(tuesday, t)).toBe(t);
});

test('before it: Tuesday 15:00 Pacific, in winter (PST, UTC-8) and summer (PDT, UTC-7)', () => {
  expect(new Date(nextWindowStart(tuesday, Date.parse('2026-11-26T06:00:00Z'))).toISOString()).toBe('2026-12-01T23:00:00.000Z');
  expect(new Date(nextWindowStart(tuesday, Date.parse('2026-07-01T12:00:00Z'))).toISOString()).toBe('2026-07-07T22:00:00.000Z');
});

test('after it closed on Tuesday: next week', () => {
  expect(new Date(nextWindowStart(tuesday, Date.parse('2026-11-25T01:30:00Z'))).toISOString()).toBe('2026-12-01T23:00:00.000Z');
});

test('an unknown time zone is a clear error', () => {
  expect(() => nextWindowStart({ ...tuesday, timeZone: 'Mars/Olympus' }, 0)).toThrow('unknown time zone "Mars/Olympus"');
});
