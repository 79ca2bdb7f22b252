// The flag-change trigger end to end. A real Unleash (npm unleash-server on a throwaway PostgreSQL) posts
// to the receiver through its own webhook addon, configured through its admin API; a person (a user who
// logged in) turns the flag on through Unleash's API; the receiver holds it off and starts the flag's ramp
// on the dev server, run by a real worker with the Unleash flag provider against the sandbox under load.
// QUAD's own toggles during the ramp come back through the addon too and start nothing. LaunchDarkly
// has no local server: its stand-in (test/support/launchdarkly-fake.ts) holds the flag, and the webhook
// is posted as LaunchDarkly signs it.
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { eventually } from '../support/release-harness';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { startUnleash, type LocalUnleash } from '../support/unleash';
import { LaunchDarklyFake } from '../support/launchdarkly-fake';
import { trustNewSigner } from '../support/config-signer';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';
import type { CommandSigner } from '../../client/signing';
import { MANAGED_TITLE } from '../../activities/providers/flags/unleash';
import {
  createFlagWebhook,
  holdOffThroughApi,
  flagSecretsFromEnv,
  LAUNCHDARKLY_ENDPOINT,
  UNLEASH_ENDPOINT,
  type FlagWebhook,
} from '../../client/flags/webhook';

jest.setTimeout(90_000);

const UNLEASH_HOOK = `unleash-hook-${process.pid}`;
const LD_HOOK = `ld-hook-${process.pid}`;
const LD_TOKEN = `api-ld-${process.pid}`;
// in the environment, as main.ts reads them, so the dev server's secrets scan at teardown looks for them in every history
const hookEnv = { QUAD_E2E_UNLEASH_HOOK_SECRET: UNLEASH_HOOK, QUAD_E2E_LD_HOOK_SECRET: LD_HOOK, QUAD_E2E_LD_TOKEN: LD_TOKEN } as Record<string, string>;
Object.assign(process.env, hookEnv);

let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let unleash: LocalUnleash;
let ld: LaunchDarklyFake;
let dir: ReturnType<typeof tempDir>;
let bundle: string;
const workers: Child[] = [];
const hooks: FlagWebhook[] = [];
const logs: string[] = [];
let unleashStack: { releases: Releases; base: string };

/** A stack config whose flags ramp in `provider`, with the flag webhooks on; each its own task queue. */
function flagStack(name: string, provider: 'unleash' | 'launchdarkly', flag: string, plan: object[]) {
  const taskQueue = `e2e-flag-trigger-${name}-${process.pid}`;
  const sub = join(dir.path, name);
  mkdirSync(sub);
  const file = writeStackConfig(sub, {
    sandboxUrl: sandbox.url,
    address: env.address,
    taskQueue,
    pollIntervalS: 1,
    minRequests: 20,
    stages: [{ traffic_percent: 100 }],
    dataDir: sub,
  });
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  doc.feature_flags = { provider };
  doc.providers.unleash = { url: unleash.url, token: '${QUAD_E2E_UNLEASH_TOKEN}', environment: 'development' };
  doc.providers.launchdarkly = { url: ld.url, token: '${QUAD_E2E_LD_TOKEN}', project: 'shop', environment: 'production' };
  doc.services.checkout.starters = ['unleash:ana@example.com', 'launchdarkly:ana@example.com'];
  doc.flags = { [flag]: { service: 'checkout', rollout_plan: plan } };
  doc.triggers = {
    flags: {
      unleash_secret: '${QUAD_E2E_UNLEASH_HOOK_SECRET}',
      launchdarkly_secret: '${QUAD_E2E_LD_HOOK_SECRET}',
      self: ['quad-test-admin', 'quad-bot@example.com'],
    },
  };
  writeFileSync(file, JSON.stringify(doc));
  return { file, taskQueue };
}

/** The worker and the receiver of one stack; the receiver's URL. */
async function start(stack: { file: string; taskQueue: string }, signer?: CommandSigner) {
  const tokens = { QUAD_E2E_UNLEASH_TOKEN: unleash.adminToken, QUAD_E2E_LD_TOKEN: LD_TOKEN };
  workers.push(await startWorkerProcess({ configFile: stack.file, address: env.address, taskQueue: stack.taskQueue, bundle, env: tokens }));
  const config = loadConfig(stack.file);
  const releases = new Releases(env.client, config, stack.taskQueue, signer ?? null);
  const hook = createFlagWebhook({
    releases,
    config,
    secrets: flagSecretsFromEnv(config, hookEnv),
    holdOff: holdOffThroughApi(config, tokens),
    log: (line) => void logs.push(line),
  });
  hooks.push(hook);
  const { port } = await hook.start();
  return { releases, base: `http://127.0.0.1:${port}` };
}

/** Unleash's admin API with a token, or a logged-in user's session cookie. */
async function unleashApi(method: string, path: string, body?: unknown, auth: { token?: string; cookie?: string } = { token: unleash.adminToken }) {
  const res = await fetch(`${unleash.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(auth.token ? { Authorization: auth.token } : {}), ...(auth.cookie ? { Cookie: auth.cookie } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return { res, doc: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  dir = tempDir('quad-e2e-flag-trigger-');
  ld = new LaunchDarklyFake(LD_TOKEN, 'shop', ['production', 'test']);
  [env, sandbox, bundle, unleash] = await Promise.all([
    localEnv(),
    startSandboxProcess({ serve: { checkout: 'v1.2.2' }, loadRps: 100, loadMaxS: 300 }),
    bundleFile(dir.path),
    startUnleash({ integrationsToLocalhost: true }),
    ld.start(),
  ]);
  console.log(`Unleash + PostgreSQL start: ${JSON.stringify(unleash.timings)}`);
  // Unleash's webhook addon, pointed at the receiver with the shared secret as its Authorization header
  const stack = flagStack('unleash', 'unleash', 'dark_mode', [
    { users_percent: 10, duration_minutes: 0.1 },
    { users_percent: 50, duration_minutes: 0.05 },
    { users_percent: 100, team_approval: 'required' },
  ]);
  unleashStack = await start(stack, trustNewSigner(stack.file, 'ana'));
  await unleashApi('POST', '/api/admin/addons', {
    provider: 'webhook',
    enabled: true,
    description: 'QUAD flag ramps',
    parameters: { url: `${unleashStack.base}${UNLEASH_ENDPOINT}`, authorization: UNLEASH_HOOK },
    events: ['feature-environment-enabled', 'feature-environment-disabled'],
    projects: [],
    environments: [],
  });
});

afterAll(async () => {
  console.log(`the receivers' log:\n${logs.join('\n')}`);
  await Promise.all(hooks.map((h) => h.stop()));
  await Promise.all(workers.map((w) => w.stop()));
  await sandbox?.stop();
  await ld?.stop();
  await unleash?.stop();
  await env?.teardown();
  dir?.remove();
});

const devEnvironment = async (flag: string) =>
  (await unleashApi('GET', `/api/admin/projects/default/features/${flag}`)).doc.environments.find((e: { name: string }) => e.name === 'development');

const flagRuns = async (flag: string) => {
  const runs: string[] = [];
  for await (const wf of env.client.workflow.list({ query: `WorkflowId = "flag:${flag}"` })) runs.push(wf.runId);
  return runs;
};

test('a person turning an Unleash flag on starts its ramp (10 % → 50 % → approval → 100 %) instead of giving it to everyone', async () => {
  const flag = 'dark_mode';
  const { releases } = unleashStack;

  // the flag as a team set it up: everyone in (the default strategy), off in development
  await unleashApi('POST', '/api/admin/projects/default/features', { name: flag, type: 'release' });
  await unleashApi('POST', `/api/admin/projects/default/features/${flag}/environments/development/strategies`, {
    name: 'default',
    title: 'everyone',
    parameters: {},
  });
  // a person: a user with a password, logged in (their changes are theirs, createdBy their email)
  await unleashApi('POST', '/api/admin/user-admin', {
    email: 'ana@example.com',
    name: 'Ana',
    password: 'correct-Horse-battery-9',
    rootRole: 'Admin',
    sendEmail: false,
  });
  const login = await unleashApi('POST', '/auth/simple/login', { username: 'ana@example.com', password: 'correct-Horse-battery-9' }, {});
  const cookie = login.res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');

  const t0 = Date.now();
  await unleashApi('POST', `/api/admin/projects/default/features/${flag}/environments/development/on`, undefined, { cookie });

  // the ramp starts, started by ana from Unleash, and the flag is held at its first step, not at everyone
  const at10 = await eventually(
    () => releases.status(`flag:${flag}`),
    (s) => s.trafficPercent === 10,
    30_000,
  );
  console.log(`Unleash toggle → ramp at 10 % in ${Date.now() - t0} ms`);
  expect(at10).toMatchObject({ requestedBy: 'ana@example.com', strategy: 'flag-ramp', status: 'running' });
  const during = await devEnvironment(flag);
  expect(during.enabled).toBe(true);
  expect(during.strategies.filter((s: { disabled?: boolean }) => !s.disabled)).toEqual([
    expect.objectContaining({ name: 'flexibleRollout', title: MANAGED_TITLE, parameters: expect.objectContaining({ rollout: '10' }) }),
  ]);

  await eventually(
    () => releases.status(`flag:${flag}`),
    (s) => s.phase === 'awaiting_approval',
    60_000,
  );
  expect((await devEnvironment(flag)).strategies.find((s: { title?: string }) => s.title === MANAGED_TITLE).parameters.rollout).toBe('50');
  expect(await releases.command(`flag:${flag}`, 'approve', 'ana')).toMatchObject({ accepted: true });
  expect(await releases.result(`flag:${flag}`)).toMatchObject({ status: 'succeeded', trafficPercent: 100 });

  // ana's toggle was held off (by QUAD's token) and turned on by the ramp (QUAD's token): those came back
  // through the addon, and only ana's started anything
  const events = (await unleashApi('GET', `/api/admin/events/${flag}`)).doc.events as { type: string; createdBy: string }[];
  const toggles = events.filter((e) => e.type.startsWith('feature-environment-')).map((e) => `${e.type.replace('feature-environment-', '')} by ${e.createdBy}`);
  expect(toggles.reverse()).toEqual(['enabled by ana@example.com', 'disabled by quad-test-admin', 'enabled by quad-test-admin']);
  await eventually(
    async () => logs.filter((l) => l.includes(`(${flag}) ignored: QUAD's own change`)),
    (l) => l.length === 1,
    15_000,
  );
  expect(await flagRuns(flag)).toHaveLength(1);
});

test('a signed LaunchDarkly "turned on" starts the ramp and holds the flag off; a wrongly signed one gets 401', async () => {
  const flag = 'new_checkout';
  const stack = flagStack('launchdarkly', 'launchdarkly', flag, [{ users_percent: 10, duration_minutes: 0.1 }, { users_percent: 100 }]);
  const { releases, base } = await start(stack);
  ld.seed({ key: flag }, { production: { on: true } });
  const entry = {
    _id: `audit-${process.pid}`,
    date: Date.now(),
    kind: 'flag',
    name: flag,
    accesses: [{ action: 'updateOn', resource: `proj/shop:env/production:flag/${flag}` }],
    member: { _id: '548f6741c1efad40031b18ae', email: 'ana@example.com', firstName: 'Ana', lastName: 'Lima' },
    titleVerb: 'turned on the flag',
    currentVersion: { key: flag, environments: { production: { on: true } } },
  };
  const body = Buffer.from(JSON.stringify(entry));
  const post = (signature: string) =>
    fetch(`${base}${LAUNCHDARKLY_ENDPOINT}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-LD-Signature': signature }, body });

  const forged = await post(createHmac('sha256', 'not-the-secret').update(body).digest('hex'));
  expect(forged.status).toBe(401);
  expect(await flagRuns(flag)).toEqual([]);
  expect(ld.flag(flag)!.environments.production.on).toBe(true);

  const res = await post(createHmac('sha256', LD_HOOK).update(body).digest('hex'));
  expect(res.status).toBe(202);
  expect(await res.json()).toMatchObject({ workflowId: `flag:${flag}`, heldOff: true });
  const holds = ld.requests.filter((r) => r.method === 'PATCH' && JSON.stringify(r.body).includes('turnFlagOff'));
  expect(holds).toHaveLength(1);
  await eventually(
    () => releases.status(`flag:${flag}`),
    (s) => s.trafficPercent === 10,
    30_000,
  );
  expect(ld.flag(flag)!.environments.production.fallthrough.rollout?.variations.find((v) => v.variation === 0)?.weight).toBe(10_000);
  expect(await releases.result(`flag:${flag}`)).toMatchObject({ status: 'succeeded', trafficPercent: 100 });
  expect(await releases.status(`flag:${flag}`)).toMatchObject({ requestedBy: 'ana@example.com' });
  // the same delivery again (LaunchDarkly retries) starts nothing and holds nothing off
  const again = await post(createHmac('sha256', LD_HOOK).update(body).digest('hex'));
  expect(again.status).toBe(200);
  expect(await flagRuns(flag)).toHaveLength(1);
  expect(ld.requests.filter((r) => r.method === 'PATCH' && JSON.stringify(r.body).includes('turnFlagOff'))).toHaveLength(1);
});
