// A revert asked after the release ended: why it is no longer one switch, and what goes back instead.
import { tooLateToRevert } from './releases';
import type { ReleaseStatus } from '../contract/messages';

const ended = (over: Partial<ReleaseStatus>): ReleaseStatus => ({
  service: 'checkout',
  version: 'v1.2.3',
  previousVersion: 'v1.2.2',
  strategy: 'blue-green',
  requestedBy: 'ana',
  startedAt: 0,
  phase: 'succeeded',
  status: 'succeeded',
  stageIndex: 0,
  stageCount: 1,
  stage: 'switch 100 %',
  trafficPercent: 100,
  windowEndsAt: null,
  lastVerdict: null,
  approvals: [],
  paused: false,
  timeline: [{ at: Date.UTC(2026, 11, 1, 15, 0), event: 'baked' }],
  ...over,
});

test('after the bake: the previous version was retired, and the command that brings it back', () => {
  expect(tooLateToRevert(ended({}))).toBe(
    'checkout v1.2.3 has succeeded and v1.2.2 was retired when its bake ended at 2026-12-01T15:00:00.000Z, so a revert is no longer one switch; to go back, release it again: quad release v1.2.2 --service checkout',
  );
});

test('a release that did not ship has nothing to revert', () => {
  expect(tooLateToRevert(ended({ status: 'rolled_back', phase: 'rolled_back' }))).toBe('nothing to revert: checkout v1.2.3 rolled back');
});
