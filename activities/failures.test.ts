// The one classification every provider uses: which HTTP answers Temporal may retry, and what the
// messages carry (what to fix, never a secret). Pure; the providers' own tests check it on the wire.
import { ApplicationFailure } from '@temporalio/activity';
import { configurationError, httpFailure, isNonRetryable, missingSecret, networkFailure, redact, retryAfterMs, transientFailure } from './failures';

const classify = (status: number, opts: Partial<Parameters<typeof httpFailure>[3]> = {}) => {
  const f = httpFailure('Example', status, '', { what: 'PUT /things/a', ...opts });
  return [f.type, f.nonRetryable];
};

test('401 and 403 are configuration, 404 of a named object NotFound and of a URL configuration, 408/425/429/5xx retryable, other 4xx rejected', () => {
  expect(classify(401)).toEqual(['ConfigurationError', true]);
  expect(classify(403)).toEqual(['ConfigurationError', true]);
  expect(classify(404, { named: 'thing a' })).toEqual(['NotFound', true]);
  expect(classify(404)).toEqual(['ConfigurationError', true]);
  for (const s of [408, 425, 429, 500, 502, 503, 504]) expect(classify(s)).toEqual(['TransientError', false]);
  for (const s of [400, 405, 409, 410, 422]) expect(classify(s)).toEqual(['RequestRejected', true]);
  expect(classify(409, { retryable: [409] })).toEqual(['TransientError', false]);
});

test('messages say what to fix, carry the status in details, and cut secrets out of the body', () => {
  const f401 = httpFailure('Example', 401, '{"error":"token tok-SECRET-1234 is not valid"}', {
    what: 'GET /things',
    credential: 'the token in env var EXAMPLE_TOKEN',
    fix: 'set EXAMPLE_TOKEN to a valid token',
    secrets: ['tok-SECRET-1234'],
    code: 'unauthorized',
  });
  expect(f401.message).toBe(
    'Example did not accept the token in env var EXAMPLE_TOKEN for GET /things (HTTP 401 unauthorized: {"error":"token [redacted] is not valid"}): set EXAMPLE_TOKEN to a valid token',
  );
  expect(f401.details).toEqual([{ system: 'Example', status: 401, code: 'unauthorized' }]);
  const f403 = httpFailure('Example', 403, 'denied', {
    what: 'PUT /things/a',
    credential: 'the token in env var EXAMPLE_TOKEN',
    permission: 'the writer role',
  });
  expect(f403.message).toBe(
    'Example refused PUT /things/a: the token in env var EXAMPLE_TOKEN lacks the permission (HTTP 403: denied); it needs the writer role',
  );
  expect(httpFailure('Example', 404, '', { what: 'GET /x', urlSetting: 'providers.example.url' }).message).toBe(
    'Example has nothing at GET /x (HTTP 404): check providers.example.url',
  );
  expect(httpFailure('Example', 503, 'x'.repeat(1000), { what: 'GET /x', retryAfterMs: 2000 })).toMatchObject({ nextRetryDelay: 2000 });
  expect(httpFailure('Example', 503, 'x'.repeat(1000), { what: 'GET /x' }).message.length).toBeLessThan(400);
});

test('redact cuts the given secrets and bearer tokens; short values are left alone', () => {
  expect(redact('Authorization: Bearer abcdefgh12345678 and key=k-0001-secret', ['k-0001-secret', 'ab'])).toBe(
    'Authorization: Bearer [redacted] and key=[redacted]',
  );
});

test('a missing secret names the env var and the setting, and is not retryable', () => {
  const f = missingSecret('Example', 'EXAMPLE_TOKEN', 'providers.example.token');
  expect(f).toBeInstanceOf(ApplicationFailure);
  expect(f).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: [{ system: 'Example', envVar: 'EXAMPLE_TOKEN' }] });
  expect(f.message).toBe(
    'Example: the env var EXAMPLE_TOKEN (named by providers.example.token) is not set on the worker: set it where the worker runs, then retry the release',
  );
});

test('network failures and timeouts are retryable, with the cause in words', () => {
  const timeout = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
  expect(networkFailure('Example', 'GET /x', timeout, { timeoutMs: 1500 })).toMatchObject({
    type: 'TransientError',
    nonRetryable: false,
    message: 'Example GET /x: no answer within 1.5 s (retrying)',
  });
  const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
  expect(networkFailure('Example', 'GET /x', refused).message).toBe('Example GET /x: fetch failed: ECONNREFUSED (retrying)');
});

test('Retry-After in seconds or as a date; isNonRetryable tells the two kinds apart', () => {
  expect(retryAfterMs('3')).toBe(3000);
  expect(retryAfterMs(new Date(10_000 + 5_000).toUTCString(), 10_000)).toBe(5000);
  expect(retryAfterMs('soon')).toBeUndefined();
  expect(retryAfterMs(null)).toBeUndefined();
  expect(isNonRetryable(configurationError('x'))).toBe(true);
  expect(isNonRetryable(transientFailure('x'))).toBe(false);
  expect(isNonRetryable(new Error('x'))).toBe(false);
});
