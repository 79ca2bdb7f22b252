// LaunchDarklyFlagProvider against a local wire-format fake of the LD REST API (test/support/launchdarkly-fake.ts)
// that enforces the endpoint, headers and semantic-patch body schema and keeps flag state.
import { LaunchDarklyFake, type LdFlag } from '../../../test/support/launchdarkly-fake';
import { ApplicationFailure } from '@temporalio/activity';
import { LaunchDarklyFlagProvider, type LaunchDarklySnapshot } from './launchdarkly';

const TOKEN_ENV = 'QUAD_TEST_LD_TOKEN';
const TOKEN = 'api-0123456789abcdef-test-token';
let fake: LaunchDarklyFake;
let provider: LaunchDarklyFlagProvider;

beforeEach(async () => {
  fake = new LaunchDarklyFake(TOKEN, 'web', ['production', 'test']);
  await fake.start();
  process.env[TOKEN_ENV] = TOKEN;
  provider = new LaunchDarklyFlagProvider({ baseUrl: fake.url, projectKey: 'web', environmentKey: 'production', tokenEnv: TOKEN_ENV });
});

afterEach(async () => {
  delete process.env[TOKEN_ENV];
  await fake.stop();
});

const patches = () => fake.requests.filter((r) => r.method === 'PATCH');

/** The failure an activity would throw: its Temporal type, whether Temporal may retry it, and its details. */
function failure(err: unknown) {
  expect(err).toBeInstanceOf(ApplicationFailure);
  const f = err as ApplicationFailure;
  return { type: f.type, nonRetryable: f.nonRetryable, details: f.details?.[0], message: f.message };
}
/** the environment as LD holds it, minus the bookkeeping fields every write bumps */
const envOf = (flag: LdFlag | undefined, env = 'production') => {
  const { version: _v, lastModified: _l, ...rest } = flag!.environments[env];
  return rest;
};

async function rawPatch(flag: string, contentType: string, body: unknown) {
  const res = await fetch(`${fake.url}/api/v2/flags/web/${flag}`, {
    method: 'PATCH',
    headers: { Authorization: TOKEN, 'Content-Type': contentType },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

test('a missing flag is created, ramped with a semantic patch, and deleted again by undo', async () => {
  const before = await provider.getState('dark_mode');
  expect(before).toMatchObject({ flag: 'dark_mode', exists: false, enabled: false, rolloutPercent: null });

  const at25 = await provider.setRollout('dark_mode', 25);
  expect(at25).toMatchObject({ exists: true, enabled: true, rolloutPercent: 25 });
  const flag = fake.flag('dark_mode')!;
  const trueIdx = flag.variations.findIndex((v) => v.value === true);
  const falseIdx = flag.variations.findIndex((v) => v.value === false);
  expect(flag.environments.production.on).toBe(true);
  expect(flag.environments.production.fallthrough.rollout!.variations).toEqual(
    [
      { variation: trueIdx, weight: 25000 },
      { variation: falseIdx, weight: 75000 },
    ].sort((a, b) => a.variation - b.variation),
  );
  // The other environment is untouched.
  expect(flag.environments.test.on).toBe(false);

  // What went over the wire: the real endpoint, headers and body.
  const [p] = patches();
  expect(p.path).toBe('/api/v2/flags/web/dark_mode');
  expect(p.headers['content-type']).toBe('application/json; domain-model=launchdarkly.semanticpatch');
  expect(p.headers.authorization).toBe(TOKEN);
  expect(p.headers['ld-api-version']).toBe('20240415');
  expect(p.body).toEqual({
    environmentKey: 'production',
    comment: 'QUAD: dark_mode to 25 %',
    instructions: [
      { kind: 'updateFallthroughVariationOrRollout', rolloutWeights: { [flag.variations[trueIdx]._id]: 25000, [flag.variations[falseIdx]._id]: 75000 } },
      { kind: 'turnFlagOn' },
    ],
  });

  const at50 = await provider.setRollout('dark_mode', 50);
  expect(at50.rolloutPercent).toBe(50);
  // Already on: the second step only moves the weights.
  expect((patches()[1].body as { instructions: { kind: string }[] }).instructions.map((i) => i.kind)).toEqual(['updateFallthroughVariationOrRollout']);

  const restored = await provider.restore(before);
  expect(restored).toMatchObject({ exists: false, enabled: false, rolloutPercent: null });
  expect(fake.flag('dark_mode')).toBeUndefined();
  expect(fake.requests.at(-2)).toMatchObject({ method: 'DELETE', path: '/api/v2/flags/web/dark_mode' });
});

test('undo restores a prior percentage rollout (bucketBy, context kind) and the off state exactly', async () => {
  const seeded = fake.seed(
    { key: 'checkout-v2' },
    {
      production: {
        on: false,
        fallthrough: {
          rollout: {
            variations: [
              { variation: 0, weight: 10000 },
              { variation: 1, weight: 90000 },
            ],
            bucketBy: 'orgId',
            contextKind: 'organization',
          },
        },
      },
    },
  );
  const before = await provider.getState('checkout-v2');
  expect(before).toMatchObject({ exists: true, enabled: false, rolloutPercent: 10 });
  expect((before.snapshot as LaunchDarklySnapshot).fallthrough).toEqual(seeded.environments.production.fallthrough);

  await provider.setRollout('checkout-v2', 12.345);
  expect(fake.flag('checkout-v2')!.environments.production).toMatchObject({
    on: true,
    fallthrough: {
      rollout: {
        variations: [
          { variation: 0, weight: 12345 },
          { variation: 1, weight: 87655 },
        ],
      },
    },
  });

  const restored = await provider.restore(before);
  expect(envOf(fake.flag('checkout-v2'))).toEqual(envOf(seeded));
  expect(restored.snapshot).toEqual(before.snapshot);
  expect((patches().at(-1)!.body as { instructions: unknown[] }).instructions).toEqual([
    {
      kind: 'updateFallthroughVariationOrRollout',
      rolloutBucketBy: 'orgId',
      rolloutContextKind: 'organization',
      rolloutWeights: { [seeded.variations[0]._id]: 10000, [seeded.variations[1]._id]: 90000 },
    },
    { kind: 'turnFlagOff' },
  ]);
});

test('undo restores a prior single-variation default rule that was on', async () => {
  const seeded = fake.seed({ key: 'banner' }, { production: { on: true, fallthrough: { variation: 1 } } });
  const before = await provider.getState('banner');
  expect(before).toMatchObject({ enabled: true, rolloutPercent: null });
  await provider.setRollout('banner', 50);
  await provider.restore(before);
  expect(envOf(fake.flag('banner'))).toEqual(envOf(seeded));
  // Restoring what is already restored sends nothing.
  const n = patches().length;
  await provider.restore(before);
  expect(patches()).toHaveLength(n);
});

test('approval required (405) becomes a clear, non-retryable error and changes nothing', async () => {
  const seeded = fake.seed({ key: 'dark_mode' });
  fake.approvalRequired.add('production');
  const err = failure(await provider.setRollout('dark_mode', 10).catch((e: unknown) => e));
  expect(err).toMatchObject({
    type: 'ApprovalRequired',
    nonRetryable: true,
    details: { system: 'LaunchDarkly', kind: 'approval_required', status: 405, code: 'method_not_allowed' },
  });
  expect(err.message).toMatch(/requires an approval to change dark_mode in web\/production: request and get the approval in LaunchDarkly/);
  expect(envOf(fake.flag('dark_mode'))).toEqual(envOf(seeded));
});

test('a concurrent change (409) is a retryable conflict; the retry goes through', async () => {
  fake.seed({ key: 'dark_mode' });
  fake.conflictsToAnswer = 1;
  const err = failure(await provider.setRollout('dark_mode', 10).catch((e: unknown) => e));
  expect(err).toMatchObject({ type: 'TransientError', nonRetryable: false, details: { kind: 'conflict', status: 409, code: 'optimistic_locking_error' } });
  expect(err.message).toMatch(/changed concurrently; retry/);
  expect(await provider.setRollout('dark_mode', 10)).toMatchObject({ enabled: true, rolloutPercent: 10 });
});

test('a pending scheduled change or approval (400 conflict) is explained; ignoreConflicts overrides it', async () => {
  fake.seed({ key: 'dark_mode' });
  fake.pendingChangeConflict = true;
  const err = failure(await provider.setRollout('dark_mode', 10).catch((e: unknown) => e));
  expect(err).toMatchObject({ type: 'ApprovalRequired', nonRetryable: true, details: { kind: 'pending_change_conflict', status: 400 } });
  expect(err.message).toMatch(/pending scheduled change or approval request/);
  const forced = new LaunchDarklyFlagProvider({
    baseUrl: fake.url,
    projectKey: 'web',
    environmentKey: 'production',
    tokenEnv: TOKEN_ENV,
    ignoreConflicts: true,
  });
  expect(await forced.setRollout('dark_mode', 10)).toMatchObject({ rolloutPercent: 10 });
  expect(patches().at(-1)!.query).toEqual({ ignoreConflicts: 'true' });
});

test('the fake enforces the wire format the provider relies on', async () => {
  const seeded = fake.seed({ key: 'dark_mode' });
  const [onId, offId] = seeded.variations.map((v) => v._id);
  const valid = {
    environmentKey: 'production',
    instructions: [{ kind: 'updateFallthroughVariationOrRollout', rolloutWeights: { [onId]: 30000, [offId]: 70000 } }],
  };
  // Plain JSON content type: read as a JSON patch and refused.
  expect(await rawPatch('dark_mode', 'application/json', valid)).toMatchObject({ status: 400, body: { code: 'invalid_request' } });
  expect(
    await rawPatch('dark_mode', 'application/json; domain-model=launchdarkly.semanticpatch', {
      ...valid,
      instructions: [{ kind: 'setRolloutPercent', percent: 30 }],
    }),
  ).toMatchObject({ status: 400, body: { code: 'invalid_request' } });
  expect(
    await rawPatch('dark_mode', 'application/json; domain-model=launchdarkly.semanticpatch', {
      ...valid,
      instructions: [{ kind: 'updateFallthroughVariationOrRollout', rolloutWeights: { [onId]: 30000, [offId]: 69999 } }],
    }),
  ).toMatchObject({ status: 400, body: { code: 'invalid_request', message: expect.stringContaining('sum to 100000') } });
  expect(await rawPatch('dark_mode', 'application/json; domain-model=launchdarkly.semanticpatch', { instructions: [{ kind: 'turnFlagOn' }] })).toMatchObject({
    status: 400,
  });
  expect(envOf(fake.flag('dark_mode'))).toEqual(envOf(seeded));
  // And the same body with the right header is accepted.
  expect((await rawPatch('dark_mode', 'application/json; domain-model=launchdarkly.semanticpatch', valid)).status).toBe(200);
});

test('a missing token env var, a wrong token (401) and a read-only token (403) are non-retryable ConfigurationErrors that never show the token', async () => {
  const noToken = new LaunchDarklyFlagProvider({ baseUrl: fake.url, projectKey: 'web', environmentKey: 'production', tokenEnv: 'QUAD_TEST_UNSET' });
  const missing = failure(await noToken.getState('x').catch((e: unknown) => e));
  expect(missing).toMatchObject({ type: 'ConfigurationError', nonRetryable: true });
  expect(missing.message).toBe(
    'LaunchDarkly: the env var QUAD_TEST_UNSET (named by providers.launchdarkly.token) is not set on the worker: ' +
      'set it where the worker runs, then retry the release',
  );
  expect(fake.requests).toHaveLength(0);

  process.env.QUAD_TEST_LD_WRONG = 'api-wrong-secret';
  process.env.QUAD_TEST_LD_READER = 'api-reader-secret';
  fake.readOnlyTokens.add('api-reader-secret');
  try {
    const wrong = new LaunchDarklyFlagProvider({ baseUrl: fake.url, projectKey: 'web', environmentKey: 'production', tokenEnv: 'QUAD_TEST_LD_WRONG' });
    const e401 = failure(await wrong.getState('x').catch((e: unknown) => e));
    expect(e401).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: { kind: 'unauthorized', status: 401, code: 'unauthorized' } });
    expect(e401.message).toMatch(
      /^LaunchDarkly did not accept the API access token in env var QUAD_TEST_LD_WRONG .*: set QUAD_TEST_LD_WRONG on the worker to a valid LaunchDarkly access token$/,
    );

    const reader = new LaunchDarklyFlagProvider({ baseUrl: fake.url, projectKey: 'web', environmentKey: 'production', tokenEnv: 'QUAD_TEST_LD_READER' });
    fake.seed({ key: 'x' });
    expect(await reader.getState('x')).toMatchObject({ exists: true });
    const e403 = failure(await reader.setRollout('x', 10).catch((e: unknown) => e));
    expect(e403).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: { kind: 'forbidden', status: 403, code: 'forbidden' } });
    expect(e403.message).toMatch(
      /^LaunchDarkly refused PATCH \/api\/v2\/flags\/web\/x: the API access token in env var QUAD_TEST_LD_READER lacks the permission .*it needs a role that may update flags in project web, environment production/,
    );
    for (const e of [missing, e401, e403]) expect(JSON.stringify(e)).not.toMatch(/api-wrong-secret|api-reader-secret|api-0123456789abcdef/);
  } finally {
    delete process.env.QUAD_TEST_LD_WRONG;
    delete process.env.QUAD_TEST_LD_READER;
  }
});

test("rate limiting (429) stays retryable and carries LaunchDarkly's Retry-After; the retry goes through", async () => {
  fake.rateLimitedToAnswer = 1;
  const err = await provider.getState('x').catch((e: unknown) => e);
  expect(failure(err)).toMatchObject({ type: 'TransientError', nonRetryable: false, details: { kind: 'rate_limited', status: 429, code: 'rate_limited' } });
  expect((err as ApplicationFailure).nextRetryDelay).toBe(1000);
  expect(await provider.getState('x')).toMatchObject({ flag: 'x', exists: false });
});

test('an unreachable LaunchDarkly is a retryable failure', async () => {
  await fake.stop(); // nothing listens on its port any more
  const err = failure(await provider.getState('x').catch((e: unknown) => e));
  expect(err).toMatchObject({ type: 'TransientError', nonRetryable: false });
  expect(err.message).toMatch(/^LaunchDarkly GET \/api\/v2\/flags\/web\/x\?env=production: fetch failed: ECONNREFUSED \(retrying\)$/);
});

test('bad percent and a foreign snapshot are non-retryable; the token never leaks', async () => {
  const bad = failure(await provider.setRollout('x', 101).catch((e: unknown) => e));
  expect(bad).toMatchObject({ type: 'RequestRejected', nonRetryable: true });
  expect(bad.message).toMatch('percent 0..100');
  const staging = new LaunchDarklyFlagProvider({ baseUrl: fake.url, projectKey: 'web', environmentKey: 'test', tokenEnv: TOKEN_ENV });
  const foreign = failure(await staging.restore(await provider.getState('x')).catch((e: unknown) => e));
  expect(foreign).toMatchObject({ type: 'ConfigurationError', nonRetryable: true });
  expect(foreign.message).toMatch('snapshot is for web/production');
  const state = await provider.setRollout('x', 5);
  expect(JSON.stringify(state)).not.toContain(TOKEN);
});
