// Behaviour of the guard and the window judge on synthetic streams drawn from a seeded generator: the
// window judge's verdicts and its data checks.
import { criteria, healthy, stream } from '../test/support/judge-streams';
import { judgeWindow } from './window';

describe('window verdicts', () => {
  it('a healthy canary with enough traffic passes, and says why', () => {
    const samples = stream(
      90,
      1,
      () => healthy(4_500),
      () => healthy(500),
    );
    const v = judgeWindow(samples, criteria);
    expect(v.verdict).toBe('PASS');
    expect(v.canaryRequests).toBe(45_000);
    expect(v.intervals).toBe(90);
    expect(v.explanation).toMatch(/^within limits over 90 intervals and 45000 canary requests: error rate/);
  });

  it('no data at all is INCONCLUSIVE', () => {
    expect(judgeWindow([], criteria).verdict).toBe('INCONCLUSIVE');
    const dark = stream(
      30,
      1,
      () => healthy(4_500),
      () => null,
    );
    const v = judgeWindow(dark, criteria);
    expect(v.verdict).toBe('INCONCLUSIVE');
    expect(v.findings.some((f) => f.metric === 'data' && f.status === 'insufficient')).toBe(true);
  });

  it('a canary whose metrics went dark mid-window is INCONCLUSIVE even if what was seen was fine', () => {
    const samples = stream(
      90,
      1,
      () => healthy(4_500),
      (t) => (t < 60 ? healthy(500) : null),
    );
    const v = judgeWindow(samples, criteria);
    expect(v.verdict).toBe('INCONCLUSIVE');
    expect(v.explanation).toContain('canary metrics missing in 30 of 90 intervals (the last 30 in a row)');
  });

  it('too little canary traffic never passes', () => {
    const samples = stream(
      90,
      1,
      () => healthy(200),
      () => healthy(2),
    );
    const v = judgeWindow(samples, criteria);
    expect(v.verdict).toBe('INCONCLUSIVE');
    expect(v.explanation).toContain('canary saw 180 requests, fewer than the 200 needed to promote');
  });

  it('a bad canary is FAIL even on little traffic when the evidence is there (CPU)', () => {
    const samples = stream(
      30,
      1,
      () => healthy(200),
      () => ({ ...healthy(1), cpu: 97 }),
    );
    expect(judgeWindow(samples, criteria).verdict).toBe('FAIL');
  });
});
