// Blue-green and the bake after every full rollout with its instant revert, on the time-skipping test
// server with stub activities: what the workflow does to the world, in order. A/B is in ab.test.ts.
import { advanceUntil } from '../support/release-harness';
import { useReleaseBed, type Handle } from '../support/release-bed';
import { statusQuery, type ReleaseStatus } from '../../contract/messages';
import type { StagePlan } from '../../contract/plan';
import { resolveRelease } from '../../config/resolve';
import { configSchema } from '../../config/schema';

const bed = useReleaseBed();
const { run, signal, update } = bed;
const MIN = 60_000;

/** The seed plan cut to a canary 5 % for 10 min and the full rollout, no approvals, a 15 min bake. */
function canary(over: Parameters<typeof bed.seedPlan>[0] = {}) {
  const seed = bed.seedPlan();
  const stages: StagePlan[] = [
    { ...seed.plan.stages[0], durationMs: 10 * MIN },
    { ...seed.plan.stages.at(-1)!, approval: false },
  ];
  return bed.seedPlan({ stages, approvalRequired: false, bakeMs: 15 * MIN, ...over });
}

const waitFor = (h: Handle, ok: (s: ReleaseStatus) => boolean) => advanceUntil(bed.env(), () => h.query(statusQuery), ok, 60_000);
const events = (s: ReleaseStatus) => s.timeline.map((t) => t.event);

test('a canary that reached 100 % bakes with the previous version warm, then is promoted; the success notice comes after the bake', async () => {
  let seenBaking: ReleaseStatus | null = null;
  const { result, status, calls } = await run({}, canary(), async (h) => {
    seenBaking = await waitFor(h, (s) => s.phase === 'baking');
  });
  expect(result.status).toBe('succeeded');
  // while baking: all traffic on the new version, the bake's end shown, nothing promoted or retired yet
  expect(seenBaking!.trafficPercent).toBe(100);
  expect(seenBaking!.bakeEndsAt).toBeGreaterThan(Date.now() - 24 * 60 * MIN);
  expect(events(status)).toEqual(expect.arrayContaining(['baking', 'baked', 'promoted', 'succeeded']));
  const ev = events(status);
  expect(ev.indexOf('baked')).toBeLessThan(ev.indexOf('promoted'));
  expect(calls.guards).toContain('bake');
  expect(calls.lifecycle).toEqual(['prepare v1.2.3', 'promote v1.2.3', 'retire']);
  const kinds = calls.notices.map((n) => n.kind);
  expect(kinds.indexOf('baking')).toBeGreaterThan(-1);
  expect(kinds.indexOf('baking')).toBeLessThan(kinds.indexOf('succeeded'));
});

test('a breach during the bake reverts in one call: previous version back at 100 %, an incident, nothing promoted', async () => {
  const { result, status, calls } = await run({ breachAt: ['bake'] }, canary());
  expect(result.status).toBe('rolled_back');
  expect(result.reason).toContain('bake: error rate 8 %');
  expect(calls.traffic).toEqual([5, 100, 0]);
  expect(calls.lifecycle).toEqual(['prepare v1.2.3', 'retire']);
  expect(calls.incidents).toHaveLength(1);
  expect(typeof result.undoMs).toBe('number');
  expect(events(status)).toEqual(expect.arrayContaining(['baking', 'breach', 'rolled_back']));
});

test('quad revert during the bake: an approver reverts, it is one switch; before the bake a revert is refused', async () => {
  const { result, status, calls } = await run({}, canary(), async (h) => {
    await waitFor(h, (s) => s.stage === 'canary 5 %' && s.windowEndsAt !== null);
    const early = await update(h, 'revert', { by: 'ana' });
    expect(early).toEqual({ accepted: false, message: expect.stringContaining('nothing to revert yet') });
    await waitFor(h, (s) => s.phase === 'baking');
    const notAllowed = await update(h, 'revert', { by: 'mallory' });
    expect(notAllowed.accepted).toBe(false);
    const ok = await update(h, 'revert', { by: 'ana', reason: 'checkout conversions dropped' });
    expect(ok).toEqual({ accepted: true, message: expect.stringContaining('reverting') });
  });
  expect(result.status).toBe('rolled_back');
  expect(result.reason).toBe('reverted by ana: checkout conversions dropped');
  expect(calls.traffic).toEqual([5, 100, 0]);
  expect(calls.lifecycle).not.toContain('promote v1.2.3');
  expect(typeof result.undoMs).toBe('number');
  expect(events(status)).toEqual(expect.arrayContaining(['revert requested', 'rolled_back']));
});

test('promote during the bake ends it early, recorded; pause is refused while baking', async () => {
  const { result, status } = await run({}, canary(), async (h) => {
    await waitFor(h, (s) => s.phase === 'baking');
    expect((await update(h, 'pause', { by: 'ana' })).accepted).toBe(false);
    await signal(h, 'promote', { by: 'ana' });
  });
  expect(result.status).toBe('succeeded');
  expect(events(status)).toContain('bake ended by hand');
  expect(events(status)).not.toContain('baked');
});

const blueGreen = (over: Record<string, unknown> = {}) => {
  const cfg = configSchema.parse({
    release_managers: ['ana'],
    services: {
      shop: {
        strategy: 'blue-green',
        approvers: ['ana'],
        smoke_checks: [{ name: 'health', kind: 'http', args: { url: '{endpoint}/health' } }],
        ...over,
      },
    },
  });
  return bed.trust(resolveRelease(cfg, { service: 'shop', version: 'v2.0.0', requestedBy: 'ana', source: 'cli' }));
};

test('blue-green: green ready and smoke-checked at 0 % before the switch, the switch is one call to 100 %, blue warm through the bake, then retired', async () => {
  const input = blueGreen();
  expect(input.plan.stages.map((s) => [s.action, s.durationMs])).toEqual([[{ kind: 'traffic', percent: 100 }, 0]]);
  expect(input.plan.bakeMs).toBe(15 * MIN);
  const { result, calls } = await run({}, input);
  expect(result.status).toBe('succeeded');
  expect(calls.traffic).toEqual([100]);
  expect(calls.lifecycle).toEqual(['prepare v2.0.0', 'smoke health v2.0.0', 'promote v2.0.0', 'retire']);
  expect(calls.guards).toEqual(['bake']);
});

test('blue-green: a green that fails its smoke check never gets a user; the release fails with the check named', async () => {
  const { result, calls } = await run({ smokeFails: ['health'] }, blueGreen());
  expect(result.status).toBe('rolled_back');
  expect(result.reason).toContain('smoke check health failed on v2.0.0 before any user reached it');
  // the only traffic call is the revert's (harmless: nothing had moved)
  expect(calls.traffic).toEqual([0]);
  expect(calls.lifecycle).toEqual(['prepare v2.0.0', 'smoke health v2.0.0', 'retire']);
});

test('strategy ab without a split to test is refused when the plan is made', () => {
  const cfg = configSchema.parse({ services: { shop: { strategy: 'ab', rollout_plan: [{ traffic_percent: 100 }] } } });
  expect(() => resolveRelease(cfg, { service: 'shop', version: 'v2.0.0', requestedBy: 'ana', source: 'cli' })).toThrow(
    /strategy ab needs a first stage that splits traffic/,
  );
});
