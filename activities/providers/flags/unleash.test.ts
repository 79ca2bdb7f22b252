// UnleashFlagProvider against a real Unleash 8.2 server on a throwaway PostgreSQL 15, evaluated through
// the real `unleash-client` SDK.
import { once } from 'node:events';
import { createServer } from 'node:net';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { startUnleash, type LocalUnleash } from '../../../test/support/unleash';
import { MANAGED_TITLE, UnleashFlagProvider, type UnleashSnapshot } from './unleash';
import { failureOf } from '../../../test/support/failure-of';

const TOKEN_ENV = 'QUAD_TEST_UNLEASH_ADMIN_TOKEN';
let server: LocalUnleash;
let provider: UnleashFlagProvider;

beforeAll(async () => {
  server = await startUnleash();
  process.env[TOKEN_ENV] = server.adminToken;
  provider = new UnleashFlagProvider({ url: server.url, project: 'default', environment: 'development', tokenEnv: TOKEN_ENV });
  // Reported in the test output: how long PostgreSQL + Unleash take to start here.
  console.log(`Unleash + PostgreSQL start: ${JSON.stringify(server.timings)}`);
}, 90_000);

afterAll(async () => {
  delete process.env[TOKEN_ENV];
  if (process.env.QUAD_SHOW_UNLEASH) console.log(server?.output());
  await server?.stop();
});

/** Raw Admin API call, independent of the provider, to set up and to check what Unleash really holds. */
async function admin(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: server.adminToken, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const featurePath = (flag: string) => `/api/admin/projects/default/features/${flag}`;

async function devEnvironment(flag: string) {
  const feature = await admin('GET', featurePath(flag));
  return feature.environments.find((e: { name: string }) => e.name === 'development');
}

/**
 * Counts how many of `n` user IDs the real SDK enables, once the SDK's copy of the flag satisfies `ready`
 * (the client API reflects Admin changes within the server's revision tick, so poll until it does).
 */
async function enabledUsers(flag: string, ready: (def: any) => boolean, n = 1000): Promise<Set<string>> {
  const client = new Unleash({
    url: `${server.url}/api/`,
    appName: 'quad-test',
    environment: 'development',
    customHeaders: { Authorization: server.clientToken },
    refreshInterval: 250,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    skipInstanceCountWarning: true,
  });
  try {
    if (!client.isSynchronized()) await once(client, 'synchronized');
    const deadline = Date.now() + 15_000;
    while (!ready(client.getFeatureToggleDefinition(flag))) {
      if (Date.now() > deadline) throw new Error(`SDK never saw the expected definition of ${flag}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const on = new Set<string>();
    for (let i = 0; i < n; i++) {
      const userId = `user-${i}`;
      if (client.isEnabled(flag, { userId })) on.add(userId);
    }
    return on;
  } finally {
    client.destroy();
  }
}

const rolloutIs = (percent: string) => (def: any) =>
  !!def?.enabled && def.strategies?.some((s: any) => s.name === 'flexibleRollout' && s.parameters?.rollout === percent);

describe('UnleashFlagProvider on a real Unleash server', () => {
  test('a missing flag is created, ramps 25 % → 50 % of 1,000 users, then undo deletes it', async () => {
    const flag = 'quad-new-flag';
    const before = await provider.getState(flag);
    expect(before).toMatchObject({ flag, exists: false, enabled: false, rolloutPercent: null });

    const at25 = await provider.setRollout(flag, 25);
    expect(at25).toMatchObject({ exists: true, enabled: true, rolloutPercent: 25 });
    const env = await devEnvironment(flag);
    expect(env.enabled).toBe(true);
    expect(env.strategies).toHaveLength(1);
    expect(env.strategies[0]).toMatchObject({
      name: 'flexibleRollout',
      title: MANAGED_TITLE,
      parameters: { rollout: '25', stickiness: 'default', groupId: flag },
    });

    const on25 = await enabledUsers(flag, rolloutIs('25'));
    expect(on25.size).toBeGreaterThanOrEqual(200);
    expect(on25.size).toBeLessThanOrEqual(300);

    // Idempotent: the same absolute step again changes nothing (no second strategy).
    await provider.setRollout(flag, 25);
    expect((await devEnvironment(flag)).strategies).toEqual(env.strategies);

    await provider.setRollout(flag, 50);
    const on50 = await enabledUsers(flag, rolloutIs('50'));
    expect(on50.size).toBeGreaterThanOrEqual(450);
    expect(on50.size).toBeLessThanOrEqual(550);
    console.log(`unleash-client over 1,000 user IDs: ${on25.size} enabled at 25 %, ${on50.size} at 50 %`);
    // Sticky buckets: everyone in at 25 % stays in at 50 %.
    expect([...on25].filter((u) => !on50.has(u))).toEqual([]);

    const restored = await provider.restore(before);
    expect(restored).toMatchObject({ flag, exists: false, enabled: false, rolloutPercent: null });
    const res = await fetch(`${server.url}${featurePath(flag)}`, { headers: { Authorization: server.adminToken } });
    expect(res.status).toBe(404);
    // Deleted for good (not just archived): the same ramp can create it again.
    await provider.setRollout(flag, 10);
    expect(await provider.getState(flag)).toMatchObject({ exists: true, enabled: true, rolloutPercent: 10 });
    await provider.restore(before);
  });

  test("undo restores an existing flag's strategies and on/off exactly", async () => {
    const flag = 'quad-existing-flag';
    await admin('POST', '/api/admin/projects/default/features', { name: flag, type: 'release' });
    const strategies = `${featurePath(flag)}/environments/development/strategies`;
    await admin('POST', strategies, { name: 'default', title: 'everyone', constraints: [], parameters: {} });
    await admin('POST', strategies, {
      name: 'flexibleRollout',
      title: 'beta in NL',
      sortOrder: 5,
      constraints: [{ contextName: 'country', operator: 'IN', values: ['NL'], inverted: false, caseInsensitive: false }],
      parameters: { rollout: '40', stickiness: 'userId', groupId: 'beta' },
    });
    await admin('POST', strategies, {
      name: 'default',
      title: 'staff (paused)',
      disabled: true,
      constraints: [{ contextName: 'userId', operator: 'IN', values: ['ana', 'bo'], inverted: false, caseInsensitive: false }],
    });
    await admin('POST', `${featurePath(flag)}/environments/development/on`);
    const adminBefore = await devEnvironment(flag);
    expect(adminBefore.strategies).toHaveLength(3);

    const before = await provider.getState(flag);
    expect(before).toMatchObject({ exists: true, enabled: true });
    expect((before.snapshot as UnleashSnapshot).strategies).toEqual(adminBefore.strategies);
    // Everyone is in through the `default` strategy before the ramp.
    expect((await enabledUsers(flag, (d) => !!d?.enabled, 200)).size).toBe(200);

    const at25 = await provider.setRollout(flag, 25);
    expect(at25.rolloutPercent).toBe(25);
    const during = await devEnvironment(flag);
    expect(during.strategies).toHaveLength(4);
    // Only our strategy is active during the ramp, so 25 % means 25 % of users.
    expect(during.strategies.filter((s: any) => !s.disabled).map((s: any) => s.title)).toEqual([MANAGED_TITLE]);
    const on25 = await enabledUsers(flag, rolloutIs('25'));
    expect(on25.size).toBeGreaterThanOrEqual(200);
    expect(on25.size).toBeLessThanOrEqual(300);

    const restored = await provider.restore(before);
    expect(await devEnvironment(flag)).toEqual(adminBefore);
    expect(restored.snapshot).toEqual(before.snapshot);
    expect((await enabledUsers(flag, (d) => d?.strategies?.length === 2, 200)).size).toBe(200);
  });

  test('undo turns a flag that was off back off, with no strategies left', async () => {
    const flag = 'quad-off-flag';
    await admin('POST', '/api/admin/projects/default/features', { name: flag, type: 'release' });
    const adminBefore = await devEnvironment(flag);
    expect(adminBefore).toMatchObject({ enabled: false, strategies: [] });
    const before = await provider.getState(flag);
    await provider.setRollout(flag, 100);
    expect((await enabledUsers(flag, rolloutIs('100'), 100)).size).toBe(100);
    await provider.restore(before);
    expect(await devEnvironment(flag)).toEqual(adminBefore);
  });

  test('a missing token env var, a wrong token (401) and a client token (403) are non-retryable ConfigurationErrors that never show the token', async () => {
    const noToken = new UnleashFlagProvider({ url: server.url, tokenEnv: 'QUAD_TEST_UNSET_TOKEN' });
    const missing = await failureOf(noToken.getState('x'));
    expect(missing).toMatchObject({ type: 'ConfigurationError', nonRetryable: true });
    expect(missing.message).toBe(
      'Unleash: the env var QUAD_TEST_UNSET_TOKEN (named by providers.unleash.token) is not set on the worker: ' +
        'set it where the worker runs, then retry the release',
    );

    process.env.QUAD_TEST_WRONG_TOKEN = '*:*.not-a-real-token';
    process.env.QUAD_TEST_CLIENT_TOKEN = server.clientToken;
    try {
      const wrong = await failureOf(new UnleashFlagProvider({ url: server.url, tokenEnv: 'QUAD_TEST_WRONG_TOKEN' }).getState('x'));
      expect(wrong).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: { system: 'Unleash', status: 401 } });
      expect(wrong.message).toMatch(
        /^Unleash did not accept the token in env var QUAD_TEST_WRONG_TOKEN for GET \/api\/admin\/projects\/default\/features\/x \(HTTP 401.*\): set QUAD_TEST_WRONG_TOKEN on the worker to an admin API token/,
      );

      const client = await failureOf(new UnleashFlagProvider({ url: server.url, tokenEnv: 'QUAD_TEST_CLIENT_TOKEN' }).getState('x'));
      expect(client).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: { system: 'Unleash', status: 403 } });
      expect(client.message).toMatch(/the token in env var QUAD_TEST_CLIENT_TOKEN lacks the permission .*a client or frontend token cannot use the Admin API/);
      for (const f of [missing, wrong, client]) expect(JSON.stringify(f)).not.toMatch(/not-a-real-token|\.[0-9a-f]{32}/);
    } finally {
      delete process.env.QUAD_TEST_WRONG_TOKEN;
      delete process.env.QUAD_TEST_CLIENT_TOKEN;
    }
  });

  test('an Unleash that does not answer stays retryable', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const down = await failureOf(new UnleashFlagProvider({ url: `http://127.0.0.1:${port}`, tokenEnv: TOKEN_ENV }).getState('x'));
    expect(down).toMatchObject({ type: 'TransientError', nonRetryable: false });
    expect(down.message).toMatch(/^Unleash GET \/api\/admin\/projects\/default\/features\/x: fetch failed: ECONNREFUSED \(retrying\)$/);
  });

  test('a bad percent and a snapshot from another environment are non-retryable', async () => {
    expect(await failureOf(provider.setRollout('x', 12.5))).toMatchObject({
      type: 'RequestRejected',
      nonRetryable: true,
      message: expect.stringMatching('whole percent'),
    });
    expect(await failureOf(provider.setRollout('x', 101))).toMatchObject({ type: 'RequestRejected', nonRetryable: true });
    const prod = new UnleashFlagProvider({ url: server.url, environment: 'production', tokenEnv: TOKEN_ENV });
    const devState = await provider.getState('x');
    const foreign = await failureOf(prod.restore(devState));
    expect(foreign).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, message: expect.stringMatching('snapshot is for default/development') });
  });
});
