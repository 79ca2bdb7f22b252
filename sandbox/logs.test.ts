// The per-version line store the sandbox's logs endpoint reads: order, window, level, limit, retention.
import { LineLog, parseVersionLogLine } from './logs';

test('lines come back by window and level, oldest first, cut at the limit with every line still counted', () => {
  const log = new LineLog();
  const t = 1_000_000;
  log.add({ at: t + 2, level: 'error', message: 'b' });
  log.add({ at: t, level: 'info', message: 'a' });
  log.add({ at: t + 1, level: 'warn', message: 'late' }); // arrives after a newer one: placed by time
  log.add({ at: t + 5, level: 'error', message: 'outside' });
  expect(log.between(t, t + 5, 'debug', 10)).toEqual({
    lines: [
      { at: t, level: 'info', message: 'a' },
      { at: t + 1, level: 'warn', message: 'late' },
      { at: t + 2, level: 'error', message: 'b' },
    ],
    total: 3,
    truncated: false,
  });
  expect(log.between(t, t + 5, 'warn', 1)).toEqual({ lines: [{ at: t + 1, level: 'warn', message: 'late' }], total: 3, truncated: true });
});

test('lines older than the retention, or beyond the cap, are dropped', () => {
  const log = new LineLog(1000, 3);
  for (let i = 0; i < 5; i++) log.add({ at: i, level: 'error', message: String(i) });
  expect(log.between(0, 10, 'debug', 10).lines.map((l) => l.message)).toEqual(['2', '3', '4']);
  log.add({ at: 2000, level: 'error', message: 'now' });
  expect(log.between(0, 3000, 'debug', 10).lines.map((l) => l.message)).toEqual(['now']);
});

test('only a version’s own JSON log lines are read from its stdout', () => {
  expect(parseVersionLogLine('{"at":1,"level":"error","msg":"JWT validation failed"}')).toEqual({ at: 1, level: 'error', message: 'JWT validation failed' });
  for (const junk of ['plain text', '{"at":"1","level":"error","msg":"x"}', '{"at":1,"level":"loud","msg":"x"}', '{"at":1,"level":"info"}', 'null'])
    expect(parseVersionLogLine(junk)).toBeNull();
  expect(parseVersionLogLine(JSON.stringify({ at: 1, level: 'info', msg: 'x'.repeat(5000) }))!.message).toHaveLength(2000);
});
