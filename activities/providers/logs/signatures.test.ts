import { BUILT_IN_HINTS, hintFor, parseLine, rankSignatures, rootCauseFromLogs, templateOf, type LogEvent, type Signature } from './signatures';

const at = 1795700000000;
const ev = (message: string, level?: LogEvent['level']): LogEvent => ({ at, message, ...(level ? { level } : {}) });
const times = (n: number, make: (i: number) => string, level?: LogEvent['level']) => Array.from({ length: n }, (_, i) => ev(make(i), level));

describe('templateOf masks the variable parts of real lines', () => {
  test.each([
    ['JWT validation failed: signature mismatch for kid=3f9a2c41d0', 'JWT validation failed: signature mismatch for kid=<hex>'],
    ['request 7c9e6679-7425-40de-944b-e07fc1f90ae7 took 412ms', 'request <uuid> took <num>ms'],
    ['connect ECONNREFUSED 10.0.3.17:5432', 'connect ECONNREFUSED <ip>:<num>'],
    ['user "alice@example.com" not found', 'user "<str>" not found'],
    ["column 'cart_total' does not exist", "column '<str>' does not exist"],
    ['at 2026-12-01T12:43:01.123Z pool exhausted (32/32)', 'at <ts> pool exhausted (<num>/<num>)'],
    ['segfault at 0x7ffd5e8c in libssl', 'segfault at <hex> in libssl'],
    ['retry 3 of 5 after 1.5 s', 'retry <num> of <num> after <num> s'],
  ])('%s', (line, template) => {
    expect(templateOf(line)).toBe(template);
  });

  test('lines that differ only in their values are one signature', () => {
    expect(templateOf('JWT validation failed: signature mismatch for kid=00ab12cd')).toBe(
      templateOf('JWT validation failed: signature mismatch for kid=9f8e7d6c5b'),
    );
    expect(templateOf('order 1842 failed after 3 retries')).toBe(templateOf('order 77 failed after 12 retries'));
    // a random 8-character hex id is all digits about one time in 40: still the same signature (this split
    // the sandbox's JWT count, e.g. 24 of 27, now and then)
    expect(templateOf('JWT validation failed: signature mismatch for kid=40712385')).toBe(
      templateOf('JWT validation failed: signature mismatch for kid=3f9a2c41'),
    );
  });

  test('lines that name different things stay apart', () => {
    const apart: Array<[string, string]> = [
      ['connection refused to db.internal:5432', 'connection refused to redis.internal:6379'],
      ['JWT validation failed: signature mismatch for kid=3f9a2c', 'JWT validation failed: token expired for kid=3f9a2c'],
      ['user 42 not found', 'order 42 not found'],
      ['GET /cart 500', 'POST /cart 500'],
      // a plain word is not hex just because it is made of a-f letters
      ['cache miss for key facade', 'cache miss for key decade'],
    ];
    for (const [a, b] of apart) expect(templateOf(a)).not.toBe(templateOf(b));
  });
});

describe('parseLine reads the level and drops the prefix', () => {
  test.each([
    ['2026-12-01T12:43:01.123Z ERROR JWT validation failed', 'error', 'JWT validation failed'],
    ['[WARN] slow query on carts', 'warn', 'slow query on carts'],
    ['level=error msg="db timeout after 3s" request_id=42', 'error', 'db timeout after 3s'],
    ['{"level":50,"msg":"JavaScript heap out of memory"}', 'error', 'JavaScript heap out of memory'],
    ['{"level":"info","message":"served"}', 'info', 'served'],
    ['something happened', null, 'something happened'],
  ])('%s', (line, level, message) => {
    expect(parseLine(line)).toEqual({ level, message });
  });
});

describe('rankSignatures', () => {
  const noise = (n: number) => times(n, (i) => `INFO GET /cart 200 in ${i % 9}ms request_id=${1000 + i}`);
  const slowQuery = (n: number) => times(n, (i) => `WARN slow query took ${1200 + i}ms on table carts`);

  test('the canary-only error comes first with its counts; info noise and a warning both sides share are left out', () => {
    const canary = [
      ...noise(400),
      ...slowQuery(2),
      ...times(41, (i) => `ERROR JWT validation failed: signature mismatch for kid=${(0x3f9a2c00 + i * 7919).toString(16)}`),
    ];
    const baseline = [...noise(7600), ...slowQuery(38)];
    const ranked = rankSignatures(canary, baseline, { canaryVolume: 443, baselineVolume: 7638 });
    expect(ranked).toEqual([
      { template: 'JWT validation failed: signature mismatch for kid=<hex>', level: 'error', canary: 41, baseline: 0, example: expect.stringMatching(/^JWT/) },
    ]);
  });

  test('a signature in both sides counts only when far more frequent per unit of volume on the canary', () => {
    const timeout = (n: number) => times(n, (i) => `ERROR upstream timeout after ${i}ms calling pricing`);
    // canary 10 per 100 requests vs baseline 10 per 1000: 10× → ranked
    expect(rankSignatures(timeout(10), timeout(10), { canaryVolume: 100, baselineVolume: 1000 })).toMatchObject([{ canary: 10, baseline: 10 }]);
    // the same rate on both sides → not a regression
    expect(rankSignatures(timeout(10), timeout(100), { canaryVolume: 100, baselineVolume: 1000 })).toEqual([]);
  });

  test('new signatures come before merely more frequent ones; one stray line is not enough', () => {
    const canary = [...times(30, () => 'ERROR pool exhausted'), ...times(5, () => 'ERROR connection refused to db:5432'), ev('ERROR a stray one')];
    const baseline = times(2, () => 'ERROR pool exhausted');
    expect(rankSignatures(canary, baseline).map((s) => [s.template, s.canary, s.baseline])).toEqual([
      ['connection refused to db:<num>', 5, 0],
      ['pool exhausted', 30, 2],
    ]);
  });

  test('the source’s own level wins over the text', () => {
    expect(
      rankSignatures(
        times(5, () => 'served fine', 'info'),
        [],
      ),
    ).toEqual([]);
    expect(
      rankSignatures(
        times(5, () => 'served fine', 'error'),
        [],
      ),
    ).toHaveLength(1);
  });
});

describe('hints', () => {
  const sig = (template: string, example = template): Signature => ({ template, example, level: 'error', canary: 412, baseline: 0 });

  test('the seed’s example: the JWT line with its counts and the secret-rotation advice', () => {
    expect(rootCauseFromLogs(sig('JWT validation failed: signature mismatch for kid=<hex>'))).toBe(
      '`JWT validation failed: signature mismatch for kid=<hex>` — 412 on canary, 0 on baseline: check secret or signing-key rotation: the new version may read a different secret or key than the one serving',
    );
  });

  test.each([
    ['connect ECONNREFUSED <ip>:<num>', 'connect ECONNREFUSED 10.0.3.17:5432', /dependency it calls \(10\.0\.3\.17:5432\)/],
    ['upstream timeout calling pricing', 'upstream timeout calling pricing', /dependency it calls \(pricing\)/],
    ['FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory', 'same', /memory limits/],
    ['column "<str>" does not exist', 'column "cart_total" does not exist', /migration/],
  ])('%s', (template, example, advice) => {
    expect(hintFor(sig(template, example === 'same' ? template : example))).toMatch(advice);
  });

  test('a line no rule knows gets no advice, and config rules come first', () => {
    expect(hintFor(sig('cart total mismatch'))).toBeNull();
    const rules = [{ match: /cart total/i, hint: 'check the pricing flag' }, ...BUILT_IN_HINTS];
    expect(hintFor(sig('cart total mismatch'), rules)).toBe('check the pricing flag');
  });
});
