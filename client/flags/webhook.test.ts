// The flag-change webhook's reading of events and its 4xx answers, on a real HTTP server (127.0.0.1).
// Nothing here reaches the point of holding a flag off or starting a ramp (both would fail the test);
// test/e2e/flag-trigger.test.ts does that against a real Unleash and the LaunchDarkly stand-in.
import { createHmac } from 'node:crypto';
import { parseConfig } from '../../config/load';
import type { Releases } from '../releases';
import {
  createFlagWebhook,
  launchDarklyToggleOf,
  unleashToggleOf,
  validLaunchDarklySignature,
  type FlagWebhook,
  LAUNCHDARKLY_ENDPOINT,
  UNLEASH_ENDPOINT,
  MAX_BODY,
} from './webhook';

const CONFIG = `
services:
  checkout: { starters: ['unleash:ana@example.com', 'launchdarkly:ana@example.com'] }
flags:
  dark_mode: { service: checkout }
providers:
  unleash: { url: "http://127.0.0.1:1", token: "\${QUAD_TEST_UNLEASH_TOKEN}", environment: development }
  launchdarkly: { url: "http://127.0.0.1:1", token: "\${QUAD_TEST_LD_TOKEN}", project: shop, environment: production }
triggers:
  flags:
    unleash_secret: \${QUAD_TEST_UNLEASH_HOOK}
    launchdarkly_secret: \${QUAD_TEST_LD_HOOK}
    self: [quad-admin-token, quad-bot@example.com]
`;
const cfg = parseConfig(CONFIG, 'test config');
const UNLEASH_SECRET = 'unleash-hook-secret';
const LD_SECRET = 'ld-hook-secret';

const unleashEvent = (over: Record<string, unknown> = {}) => ({
  id: 41,
  type: 'feature-environment-enabled',
  createdBy: 'ana@example.com',
  createdByUserId: 7,
  createdAt: new Date().toISOString(),
  featureName: 'dark_mode',
  project: 'default',
  environment: 'development',
  data: null,
  preData: null,
  tags: [],
  ...over,
});
const ldEvent = (over: Record<string, unknown> = {}, on = true) => ({
  _id: '57c0a8e29969090743529965',
  date: Date.now(),
  kind: 'flag',
  name: 'dark_mode',
  accesses: [{ action: 'updateOn', resource: 'proj/shop:env/production:flag/dark_mode' }],
  member: { _id: '548f6741c1efad40031b18ae', email: 'ana@example.com', firstName: 'Ana', lastName: 'Lima' },
  titleVerb: 'turned on the flag',
  currentVersion: { key: 'dark_mode', environments: { production: { on } } },
  ...over,
});
const buf = (doc: unknown) => Buffer.from(JSON.stringify(doc));

describe('reading events', () => {
  test('an Unleash flag turned on in the ramped environment is a toggle by its createdBy', () => {
    expect(unleashToggleOf(cfg, buf(unleashEvent()))).toMatchObject({
      tool: 'unleash',
      eventId: '41',
      flag: 'dark_mode',
      actors: ['ana@example.com'],
      starter: { unleash: 'ana@example.com' },
      by: 'ana@example.com',
    });
    expect(unleashToggleOf(cfg, buf(unleashEvent({ type: 'feature-environment-disabled' })))).toBeNull();
    expect(unleashToggleOf(cfg, buf(unleashEvent({ environment: 'production' })))).toBeNull();
    expect(unleashToggleOf(cfg, buf(unleashEvent({ project: 'other' })))).toBeNull();
    expect(unleashToggleOf(cfg, buf(unleashEvent({ type: 7 })))).toMatchObject({ error: expect.stringContaining('type') });
    expect(unleashToggleOf(cfg, Buffer.from('{'))).toEqual({ error: 'the body is not JSON' });
  });

  test('a LaunchDarkly updateOn leaving the flag on is a toggle by its member; off, or elsewhere, is not', () => {
    expect(launchDarklyToggleOf(cfg, buf(ldEvent()))).toMatchObject({
      tool: 'launchdarkly',
      flag: 'dark_mode',
      starter: { launchdarkly: 'ana@example.com' },
      actors: ['ana@example.com', '548f6741c1efad40031b18ae'],
    });
    expect(launchDarklyToggleOf(cfg, buf(ldEvent({}, false)))).toBeNull();
    expect(launchDarklyToggleOf(cfg, buf(ldEvent({ accesses: [{ action: 'updateOn', resource: 'proj/shop:env/test:flag/dark_mode' }] })))).toBeNull();
    expect(launchDarklyToggleOf(cfg, buf(ldEvent({ accesses: [{ action: 'updateName', resource: 'proj/shop:env/production:flag/dark_mode' }] })))).toBeNull();
    expect(launchDarklyToggleOf(cfg, buf(ldEvent({ kind: 'project' })))).toBeNull();
    expect(launchDarklyToggleOf(cfg, buf({ kind: 'flag' }))).toMatchObject({ error: expect.stringContaining('_id') });
  });

  test('X-LD-Signature is the hex HMAC-SHA256 of the body', () => {
    const body = buf(ldEvent());
    const sig = createHmac('sha256', LD_SECRET).update(body).digest('hex');
    expect(validLaunchDarklySignature(LD_SECRET, body, sig)).toBe(true);
    expect(validLaunchDarklySignature(LD_SECRET, Buffer.concat([body, Buffer.from(' ')]), sig)).toBe(false);
    expect(validLaunchDarklySignature('other', body, sig)).toBe(false);
    expect(validLaunchDarklySignature(LD_SECRET, body, `sha256=${sig}`)).toBe(false);
    expect(validLaunchDarklySignature(LD_SECRET, body, undefined)).toBe(false);
  });
});

describe('the HTTP answers', () => {
  let hook: FlagWebhook;
  let base: string;
  const held: string[] = [];
  const never = () => {
    throw new Error('nothing may start here');
  };

  beforeAll(async () => {
    hook = createFlagWebhook({
      releases: { flagRamp: never, client: { workflow: { getHandle: never } } } as unknown as Pick<Releases, 'flagRamp' | 'client'>,
      config: cfg,
      secrets: { unleash: UNLEASH_SECRET, launchdarkly: LD_SECRET },
      holdOff: async (tool, flag) => void held.push(`${tool}:${flag}`),
      log: () => undefined,
    });
    base = `http://127.0.0.1:${(await hook.start()).port}`;
  });
  afterAll(() => hook?.stop());

  const postUnleash = (body: string | Buffer, auth: string | null = UNLEASH_SECRET) =>
    fetch(`${base}${UNLEASH_ENDPOINT}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) }, body });
  const postLd = (body: Buffer, secret = LD_SECRET) =>
    fetch(`${base}${LAUNCHDARKLY_ENDPOINT}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ld-signature': createHmac('sha256', secret).update(body).digest('hex') },
      body,
    });

  test.each<[string, number, () => Promise<Response>, RegExp | null]>([
    ['another path', 404, () => fetch(`${base}/flags/other`, { method: 'POST', body: '{}' }), /not found/],
    ['a GET', 405, () => fetch(`${base}${UNLEASH_ENDPOINT}`), /POST only/],
    ['no Authorization', 401, () => postUnleash(JSON.stringify(unleashEvent()), null), /Authorization/],
    ['a wrong Authorization', 401, () => postUnleash(JSON.stringify(unleashEvent()), 'Bearer guess'), /Authorization/],
    ['a wrong LaunchDarkly signature', 401, () => postLd(buf(ldEvent()), 'not-the-secret'), /X-LD-Signature/],
    ['not JSON', 400, () => postUnleash('{"type":'), /not JSON/],
    ['JSON of the wrong shape', 400, () => postUnleash('[1,2]'), /not an Unleash event/],
    ['a LaunchDarkly entry of the wrong shape', 400, () => postLd(buf({ _id: 5 })), /not a LaunchDarkly audit log entry/],
    ['an event that is not a toggle on', 204, () => postUnleash(JSON.stringify(unleashEvent({ type: 'feature-created' }))), null],
    ['a flag without a plan', 204, () => postUnleash(JSON.stringify(unleashEvent({ featureName: 'no_plan' }))), null],
    ['QUAD\u2019s own toggle (its token)', 200, () => postUnleash(JSON.stringify(unleashEvent({ createdBy: 'quad-admin-token' }))), /QUAD's own change/],
    ['QUAD\u2019s own LaunchDarkly change', 200, () => postLd(buf(ldEvent({ member: { email: 'quad-bot@example.com' } }))), /QUAD's own change/],
    [
      'a person who is not a starter',
      403,
      () => postUnleash(JSON.stringify(unleashEvent({ createdBy: 'mallory@example.com' }))),
      /mallory@example.com may not start the ramp of dark_mode/,
    ],
    ['a stale event', 422, () => postUnleash(JSON.stringify(unleashEvent({ createdAt: new Date(Date.now() - 3_600_000).toISOString() }))), /60 min old/],
    ['an oversize body', 413, () => postUnleash(Buffer.alloc(MAX_BODY + 10, 0x20)), /too large/],
  ])('%s → %d, nothing held off or started', async (_what, code, req, body) => {
    const res = await req();
    expect(res.status).toBe(code);
    const text = await res.text();
    if (body) expect(text).toMatch(body);
    expect(held).toEqual([]);
  });

  test('the server is still up after all that', async () => {
    expect((await postUnleash(JSON.stringify(unleashEvent({ type: 'feature-created' })))).status).toBe(204);
  });
});
