// The dashboard's sign-in by OpenID Connect in a real browser (Debian's chromium through playwright-core,
// as dashboard.test.ts runs it) against a real provider on 127.0.0.1: panva's oidc-provider, in a process
// of its own (test/support/oidc-provider.mjs), with its own login and consent pages. The dashboard finds
// it by issuer discovery and signs in with the authorization code flow, PKCE, state and nonce; the
// releases behind it are the Temporal dev server's. A callback replayed, or one from another browser, is
// refused.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { chromium, type Browser } from 'playwright-core';
import { localEnv } from '../support/temporal-env';
import { freePort } from '../support/net';
import { ROOT } from '../support/temporal-servers';
import { configSchema } from '../../config/schema';
import { Releases } from '../../client/releases';
import { createDashboard, type Dashboard } from '../../client/dashboard/server';
import { oidcSignIn } from '../../client/dashboard/oidc';

jest.setTimeout(90_000);

const CHROMIUM = process.env.QUAD_CHROMIUM ?? '/usr/bin/chromium';
const CLIENT_ID = 'quad-dashboard';
const SECRET = `oidc-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
process.env.QUAD_E2E_OIDC_SECRET = SECRET;

/** The provider's process; resolves with its issuer once it listens. */
function startProvider(redirectUri: string): Promise<{ child: ChildProcess; issuer: string; output: () => string }> {
  const child = spawn(process.execPath, [join(ROOT, 'test', 'support', 'oidc-provider.mjs'), CLIENT_ID, SECRET, redirectUri], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the OIDC provider exited (${code}): ${out}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /\{"oidc":"up".*\}/.exec(out);
      if (m) resolve({ child, issuer: (JSON.parse(m[0]) as { issuer: string }).issuer, output: () => out });
    });
  });
}

let env: TestWorkflowEnvironment;
let provider: Awaited<ReturnType<typeof startProvider>>;
let browser: Browser;
let dashboard: Dashboard;
let base: string;
const logs: string[] = [];

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`SKIPPED: no chromium at ${CHROMIUM}; install it with scripts/tools.sh chromium (or set QUAD_CHROMIUM)`);
const maybe = haveChromium ? describe : describe.skip;

maybe('dashboard sign-in by OpenID Connect', () => {
  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    [env, provider, browser] = await Promise.all([
      localEnv(),
      startProvider(`${base}/oidc/callback`),
      chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-sync'],
      }),
    ]);
    const config = configSchema.parse({
      services: { checkout: { approvers: ['ana'] } },
      dashboard: { oidc: { issuer: provider.issuer, client_id: CLIENT_ID, client_secret: '${QUAD_E2E_OIDC_SECRET}', redirect_url: `${base}/oidc/callback` } },
    });
    const oidc = await oidcSignIn(config.dashboard!.oidc!);
    dashboard = createDashboard({ releases: new Releases(env.client, config), oidc, log: (l) => logs.push(l) });
    await dashboard.start({ host: '127.0.0.1', port });
  });

  afterAll(async () => {
    await browser?.close();
    await dashboard?.stop();
    provider?.child.kill('SIGTERM');
    await env?.teardown();
    expect(logs.join('\n')).not.toContain(SECRET);
  });

  test("the provider's login signs the browser in as the person it names; its callback works once, in that browser only", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/`, { waitUntil: 'domcontentloaded' });
    await page.locator('#oidc-sign-in').click();
    // the provider's own pages: any login name, then consent
    await page.waitForURL(`${provider.issuer}/**`);
    await page.locator('input[name=login]').fill('ana');
    await page.locator('input[name=password]').fill('any');
    await page.locator('button[type=submit]').click();
    let callback = '';
    page.on('request', (r) => void (r.url().startsWith(`${base}/oidc/callback`) && (callback = r.url())));
    await page.locator('button[type=submit]', { hasText: 'Continue' }).click();
    await page.waitForURL(`${base}/`);
    expect(await page.locator('header .who').textContent()).toContain('signed in as ana');
    const session = (await context.cookies(base)).find((c) => c.name === 'quad_session')!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    console.log(`signed in through ${provider.issuer}; the callback was ${callback.replace(/code=[^&]+/, 'code=…')}`);

    // the same callback again, in the same browser (its attempt cookie is spent) or another: refused
    expect(callback).toMatch(/[?&]code=.+&?/);
    const replay = await page.goto(callback);
    expect(replay?.status()).toBe(401);
    const elsewhere = await fetch(callback, { redirect: 'manual' });
    expect(elsewhere.status).toBe(401);
    // and a made-up one
    expect(
      (await fetch(`${base}/oidc/callback?code=abc&state=def`, { headers: { cookie: 'quad_oidc=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } })).status,
    ).toBe(401);
    await context.close();
  });
});
