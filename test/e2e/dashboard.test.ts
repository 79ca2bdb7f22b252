// The dashboard in a real browser: Debian's chromium (scripts/tools.sh chromium) driven by playwright-core,
// headless, as the Web UI test runs it. The Temporal dev server, the sandbox under load and a real worker
// process run the release; the dashboard server runs in this process with its own front-end signing key,
// which the config lists (security.signers.dashboard, front_end: true), so the workflow verifies every
// command it sends. ana (an approver and starter of checkout) starts a release from the Release form and
// watches it move without a reload; bob (neither) is refused his Approve, and the release still waits;
// ana's Approve opens the gate and the release finishes.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { chromium, type Browser, type Page } from 'playwright-core';
import '../support/quiet-runtime';
import { executable, temporalCliPath, searchAttributeKeys, ROOT } from '../support/temporal-servers';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';
import { CommandSigner, generateSigningKey } from '../../client/signing';
import { statusQuery } from '../../contract/messages';
import { createDashboard, type Dashboard } from '../../client/dashboard/server';
import { DASHBOARD_SIGNER } from '../../client/dashboard/signer';

jest.setTimeout(90_000);

const CHROMIUM = process.env.QUAD_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOT = join(ROOT, '.data', 'screenshots', 'dashboard.png');
const VERSION = 'v1.5.0';
const taskQueue = `e2e-dashboard-${process.pid}`;
const dashboardKey = generateSigningKey(DASHBOARD_SIGNER);

let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let worker: Child;
let browser: Browser;
let dir: ReturnType<typeof tempDir>;
let dashboard: Dashboard;
let base: string;

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`SKIPPED: no chromium at ${CHROMIUM}; install it with scripts/tools.sh chromium (or set QUAD_CHROMIUM)`);
}
const maybe = haveChromium ? describe : describe.skip;

/** A browser context of its own (its own cookies), signed in through a one-time link as `person`. */
async function signedIn(person: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  const link = `${base}/login?token=${dashboard.sessions.issueToken(person)}`;
  await page.goto(link, { waitUntil: 'domcontentloaded' });
  // the link worked once: it is spent now
  const again = await fetch(link, { redirect: 'manual' });
  expect(again.status).toBe(401);
  return page;
}

const textOf = async (page: Page, id: string) => (await page.locator(`#${id}`).textContent())?.trim() ?? '';

maybe('the dashboard in a real browser', () => {
  beforeAll(async () => {
    dir = tempDir('quad-dashboard-');
    let bundle: string;
    [env, sandbox, bundle, browser] = await Promise.all([
      TestWorkflowEnvironment.createLocal({ server: { executable: executable(temporalCliPath()), ip: '127.0.0.1', searchAttributes: searchAttributeKeys() } }),
      startSandboxProcess({ serve: { checkout: 'v1.2.2' }, loadRps: 50, loadMaxS: 600 }),
      bundleFile(dir.path),
      chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      }),
    ]);
    const configFile = writeStackConfig(dir.path, {
      sandboxUrl: sandbox.url,
      address: env.address,
      taskQueue,
      pollIntervalS: 1,
      minRequests: 50,
      dataDir: dir.path,
      stages: [{ traffic_percent: 25, duration_minutes: 0.25 }, { traffic_percent: 100 }],
    });
    // ana approves and starts checkout; the team approves 100 %; the dashboard's key is a front end's
    const doc = JSON.parse(readFileSync(configFile, 'utf8'));
    doc.services.checkout.starters = ['ana'];
    doc.services.checkout.rollout_plan[1].team_approval = 'required';
    doc.security = { signers: { [DASHBOARD_SIGNER]: { public_key: dashboardKey.publicLine, front_end: true } } };
    writeFileSync(configFile, JSON.stringify(doc, null, 2));
    const config = loadConfig(configFile);
    worker = await startWorkerProcess({ configFile, address: env.address, taskQueue, bundle });
    const signer = new CommandSigner(createPrivateKey(dashboardKey.privatePem), DASHBOARD_SIGNER);
    dashboard = createDashboard({ releases: new Releases(env.client, config, taskQueue, signer) });
    ({ url: base } = await dashboard.start({ host: '127.0.0.1', port: 0 }));
    mkdirSync(join(ROOT, '.data', 'screenshots'), { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await dashboard?.stop();
    await worker?.stop();
    await sandbox?.stop();
    await env?.teardown();
    dir?.remove();
  });

  test('a release started from the form moves live; a non-approver is refused, an approver approves', async () => {
    const release = env.client.workflow.getHandle('release:checkout');
    const ana = await signedIn('ana');
    expect(await ana.locator('header .who').textContent()).toContain('signed in as ana');

    // the Release form starts it, and the browser lands on its page
    await ana.locator('#release-form input[name=version]').fill(VERSION);
    await Promise.all([ana.waitForURL(`${base}/releases/release%3Acheckout`), ana.locator('#release-form button[type=submit]').click()]);
    expect(await textOf(ana, 'flash')).toBe(`Started checkout ${VERSION}.`);
    expect(await textOf(ana, 'title')).toBe(`checkout ${VERSION}`);

    // live: the stage and traffic change on the page as the release moves, with no reload
    let navigations = 0;
    ana.on('framenavigated', (f) => void (f === ana.mainFrame() && navigations++));
    const seen = [`${await textOf(ana, 'stage')} · ${await textOf(ana, 'traffic')}`];
    await ana.locator('#traffic', { hasText: /^25 %$/ }).waitFor({ timeout: 30_000 });
    seen.push(`${await textOf(ana, 'stage')} · ${await textOf(ana, 'traffic')}`);
    await ana.locator('#stage', { hasText: 'awaiting approval' }).waitFor({ timeout: 45_000 });
    seen.push(`${await textOf(ana, 'stage')} · ${await textOf(ana, 'traffic')}`);
    console.log(`the page showed, without a reload: ${[...new Set(seen)].join(' → ')}`);
    expect(navigations).toBe(0);
    expect(new Set(seen).size).toBeGreaterThan(1);
    expect(await textOf(ana, 'verdict')).toBe('PASS');
    expect(await ana.locator('#verdicts li').count()).toBeGreaterThan(0);

    // bob is neither approver nor release manager: refused on the page, and nothing reached the workflow
    const bob = await signedIn('bob');
    await bob.goto(`${base}/releases/release%3Acheckout`, { waitUntil: 'domcontentloaded' });
    const [refusal] = await Promise.all([bob.waitForResponse((r) => r.request().method() === 'POST'), bob.locator('form[data-cmd=approve] button').click()]);
    expect(refusal.status()).toBe(403);
    await bob.locator('#flash').waitFor();
    expect(await textOf(bob, 'flash')).toBe('Not allowed: only the approvers of checkout may do that.');
    await bob.screenshot({ path: join(ROOT, '.data', 'screenshots', 'dashboard-refused.png') });
    const waiting = await release.query(statusQuery);
    expect(waiting.phase).toBe('awaiting_approval');
    expect(waiting.approvals).toEqual([]);

    // ana's Approve, signed by the dashboard's key for her, opens the gate: the release goes to 100 % and ends
    const [approved] = await Promise.all([ana.waitForResponse((r) => r.request().method() === 'POST'), ana.locator('form[data-cmd=approve] button').click()]);
    expect(approved.status()).toBe(303);
    await ana.locator('#flash').waitFor();
    console.log(`ana's Approve answered: ${await textOf(ana, 'flash')}`);
    await ana.locator('#status', { hasText: /^succeeded$/ }).waitFor({ timeout: 45_000 });
    const done = await release.query(statusQuery);
    expect(done.status).toBe('succeeded');
    expect(done.trafficPercent).toBe(100);
    expect(done.approvals.map((a) => a.by)).toEqual(['ana']);
    expect(await textOf(ana, 'traffic')).toBe('100 %');

    // the list shows it too, and the chart is an SVG the server drew
    await ana.goto(base, { waitUntil: 'domcontentloaded' });
    expect(await ana.locator('#rows').textContent()).toContain(VERSION);
    await ana.goto(`${base}/releases/release%3Acheckout`, { waitUntil: 'domcontentloaded' });
    // the image loaded (an <img> of a bad or missing SVG has no natural width)
    const chartWidth = () =>
      ana.locator('#chart').evaluate((img) => {
        const i = img as unknown as { complete: boolean; naturalWidth: number };
        return i.complete ? i.naturalWidth : 0;
      });
    const until = Date.now() + 20_000;
    while ((await chartWidth()) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    expect(await chartWidth()).toBeGreaterThan(0);
    await ana.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`dashboard screenshot: ${SCREENSHOT}`);
  });
});
