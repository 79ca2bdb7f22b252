// The release calendar on the time-skipping test server, with the real calendar (activities/release-
// calendar) answering the workflow: a window that closes mid-rollout holds the next stage, guarded, and
// resumes it when the window opens again; a freeze holds a release until an approver overrides it (with
// the reason recorded) or refuses it; a wait across a daylight-saving change starts at the local time.
import { advanceUntil } from '../support/release-harness';
import { useReleaseBed, type Handle } from '../support/release-bed';
import { statusQuery, type ReleaseStatus } from '../../contract/messages';
import type { ReleaseInput, StagePlan } from '../../contract/plan';
import { describeStatus } from '../../client/cli/render';

const bed = useReleaseBed();
const MIN = 60_000;
const until = (h: Handle, ok: (s: ReleaseStatus) => boolean, stepMs = 60_000) => advanceUntil(bed.env(), () => h.query(statusQuery), ok, stepMs, 200);

jest.setTimeout(120_000);

/** Two watched canary stages of `first` and `second` minutes, then 100 % without approval. */
function plan(over: Partial<ReleaseInput['plan']>, first = 40, second = 30): ReleaseInput {
  const seed = bed.seedPlan();
  const [a, b, c] = seed.plan.stages;
  const stages: StagePlan[] = [
    { ...a, durationMs: first * MIN },
    { ...b, durationMs: second * MIN, requirePreviousPass: false },
    { ...c, approval: false },
  ];
  return bed.seedPlan({ stages, ...over });
}

const shifts = (s: ReleaseStatus) => s.timeline.filter((e) => e.event === 'shifted');

// first in the file: the test server's clock only moves on (each finished test leaves it years ahead)
test('a freeze that ends before a daylight-saving change: the release starts Monday 09:00 Berlin summer time (07:00Z), months later', async () => {
  const r = await bed.run(
    {},
    plan(
      {
        freezes: [{ reason: 'winter freeze', timeZone: 'Europe/Berlin', to: '2027-03-26' }],
        window: { days: [1], start: '09:00', end: '12:00', timeZone: 'Europe/Berlin' },
      },
      10,
      10,
    ),
  );
  expect(r.result.status).toBe('succeeded');
  const first = shifts(r.status)[0].at;
  expect(first).toBeGreaterThanOrEqual(Date.parse('2027-03-29T07:00:00Z'));
  expect(first).toBeLessThan(Date.parse('2027-03-29T07:01:00Z'));
  expect(r.status.timeline.find((e) => e.event === 'frozen')?.detail).toContain('winter freeze (until 2027-03-26T23:00Z); next slot 2027-03-29T07:00Z');
});

test('a window that closes mid-rollout: the stage that would not fit holds, guarded, and starts when the window opens again', async () => {
  // an hour of every day, about 12 h from now, so the release first waits for it
  const h0 = (new Date(await bed.env().currentTimeMs()).getUTCHours() + 12) % 24;
  const hh = String(h0).padStart(2, '0');
  const window = { days: [0, 1, 2, 3, 4, 5, 6], start: `${hh}:00`, end: `${hh}:59`, timeZone: 'UTC' };
  let seenHold: string[] = [];
  const r = await bed.run({}, plan({ window }), async (h) => {
    const held = await until(h, (s) => s.phase === 'waiting_window' && s.timeline.some((e) => e.event === 'stage passed'), 15 * MIN);
    seenHold = describeStatus(held, Date.now());
  });
  expect(r.result.status).toBe('succeeded');
  const waits = r.status.timeline.filter((e) => e.event === 'waiting for the release window').map((e) => e.detail);
  expect(waits).toHaveLength(2);
  expect(waits[0]).toMatch(
    new RegExp(`^before the release: outside the release window \\(Sun, Mon, Tue, Wed, Thu, Fri, Sat ${hh}:00–${hh}:59 UTC\\); it opens`),
  );
  expect(waits[1]).toMatch(new RegExp(`^before canary 25 %: the release window .* closes at .*T${hh}:59Z, before 30 min would end; next slot .*T${hh}:00Z$`));
  // canary 5 % at the opening, canary 25 % at the next day's, never outside the window
  const [first, second, full] = shifts(r.status).map((e) => new Date(e.at));
  expect(first.getUTCHours()).toBe(h0);
  expect(first.getUTCMinutes()).toBe(0);
  expect(second.getTime() - first.getTime()).toBeGreaterThanOrEqual(23 * 60 * MIN);
  expect([second.getUTCHours(), second.getUTCMinutes()]).toEqual([h0, 0]);
  expect(full.getUTCHours()).toBe(h0);
  // the held canary stayed guarded; the release outlived its 240 min deadline only by the calendar's holds
  expect(r.calls.guards.filter((g) => g === 'canary 5 %').length).toBeGreaterThanOrEqual(2);
  expect(r.calls.traffic).toEqual([5, 25, 100]);
  expect(seenHold.join('\n')).toContain('waiting: the release window');
});

describe('freezes', () => {
  // dates from the test server's clock, which the tests before have moved on
  const freezeFromNow = async () => {
    const now = await bed.env().currentTimeMs();
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    return { reason: 'incident review week', timeZone: 'UTC', from: day(now), to: day(now + 3 * 86_400_000) };
  };

  test('a release in a freeze waits; an approver overrides it with a reason, which is recorded', async () => {
    const r = await bed.run({}, plan({ freezes: [await freezeFromNow()] }, 10, 10), async (h) => {
      await until(h, (s) => s.phase === 'waiting_window' && Boolean(s.awaitingApproval));
      const res = await bed.update(h, 'approve', { by: 'ana', reason: 'hotfix for the checkout outage' });
      expect(res).toMatchObject({ accepted: true });
    });
    expect(r.result.status).toBe('succeeded');
    const events = r.status.timeline.map((e) => e.event);
    expect(events.slice(events.indexOf('frozen'), events.indexOf('freeze overridden') + 1)).toEqual(['frozen', 'approved', 'freeze overridden']);
    expect(r.status.timeline.find((e) => e.event === 'frozen')?.detail).toMatch(/^before the release: frozen: incident review week \(until .*\); next slot/);
    expect(r.status.timeline.find((e) => e.event === 'freeze overridden')).toMatchObject({
      by: 'ana',
      detail: 'freeze override (incident review week): hotfix for the checkout outage',
    });
    expect(r.calls.traffic).toEqual([5, 25, 100]);
  });

  test('on_freeze refuse: refused at once, nothing moved', async () => {
    const r = await bed.run({}, plan({ freezes: [await freezeFromNow()], onFreeze: 'refuse' }, 10, 10));
    expect(r.result.status).toBe('failed');
    expect(r.result.reason).toMatch(/^the release refused: frozen: incident review week \(until /);
    expect(r.calls.traffic).toEqual([]);
  });
});

test('a stale green is not a green: gates passed hours before the window opened are checked again before anything changes', async () => {
  const h0 = (new Date(await bed.env().currentTimeMs()).getUTCHours() + 6) % 24;
  const hh = String(h0).padStart(2, '0');
  const window = { days: [0, 1, 2, 3, 4, 5, 6], start: `${hh}:00`, end: `${hh}:59`, timeZone: 'UTC' };
  const gates = [{ name: 'tests', kind: 'tests_passed' as const, args: { command: ['true'] } }];
  const fresh = await bed.run({}, plan({ window: null, gates, gatesMaxAgeMs: 60 * MIN }, 1, 1));
  expect(fresh.calls.gates).toEqual(['tests']);
  const r = await bed.run({}, plan({ window, gates, gatesMaxAgeMs: 60 * MIN }, 1, 1));
  expect(r.result.status).toBe('succeeded');
  expect(r.calls.gates).toEqual(['tests', 'tests']);
  const ev = r.status.timeline.map((e) => e.event);
  expect(ev.indexOf('gates stale')).toBeGreaterThan(ev.indexOf('waiting for the release window'));
  expect(ev.indexOf('gates stale')).toBeLessThan(ev.indexOf('shifted'));
  expect(r.status.timeline.find((e) => e.event === 'gates stale')?.detail).toMatch(/^checked \d+ min ago, over 60 min: checking again$/);
});
