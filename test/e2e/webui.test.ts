// The Temporal Web UI lists a release when filtered by QuadService, checked in a real browser: Debian's
// chromium (scripts/tools.sh chromium) driven by playwright-core, headless. The dev server runs with its
// UI on a free port; a real worker and the sandbox under load run the release. The UI keeps long polls
// open on a running workflow, so the test waits for text, never for network idle; the page scrolls
// inside #content-wrapper, so that element is what the screenshot takes.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { chromium, type Browser } from 'playwright-core';
import '../support/quiet-runtime';
import { executable, temporalCliPath, searchAttributeKeys, ROOT } from '../support/temporal-servers';
import { freePort } from '../support/net';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';

jest.setTimeout(90_000);

const CHROMIUM = process.env.QUAD_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = join(ROOT, '.data', 'screenshots');
const VERSION = 'v1.4.0';
const taskQueue = `e2e-webui-${process.pid}`;

let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let worker: Child;
let browser: Browser;
let dir: ReturnType<typeof tempDir>;
let ui: string;
let runId: string;
let detailUrl: string;

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`SKIPPED: no chromium at ${CHROMIUM}; install it with scripts/tools.sh chromium (or set QUAD_CHROMIUM)`);
}
const maybe = haveChromium ? describe : describe.skip;

maybe('Temporal Web UI in a real browser', () => {
  beforeAll(async () => {
    dir = tempDir('quad-webui-');
    const uiPort = await freePort();
    ui = `http://127.0.0.1:${uiPort}`;
    let bundle: string;
    [env, sandbox, bundle, browser] = await Promise.all([
      TestWorkflowEnvironment.createLocal({
        server: { executable: executable(temporalCliPath()), ip: '127.0.0.1', ui: true, uiPort, searchAttributes: searchAttributeKeys() },
      }),
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
      webUiUrl: ui,
      pollIntervalS: 1,
      minRequests: 50,
      dataDir: dir.path,
      // a long canary window: the release is still running while the browser looks at it
      stages: [{ traffic_percent: 25, duration_minutes: 1 }, { traffic_percent: 100 }],
    });
    worker = await startWorkerProcess({ configFile, address: env.address, taskQueue, bundle });
    mkdirSync(SCREENSHOTS, { recursive: true });
    const started = await new Releases(env.client, loadConfig(configFile), taskQueue).release({
      service: 'checkout',
      version: VERSION,
      requestedBy: 'ana',
      source: 'cli',
    });
    runId = started.runId;
    detailUrl = started.url;
  });

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await sandbox?.stop();
    await env?.teardown();
    dir?.remove();
  });

  test('the workflow list filtered by QuadService shows the release', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const t0 = Date.now();
    await page.goto(`${ui}/namespaces/default/workflows?query=QuadService%3D%22checkout%22`, { waitUntil: 'domcontentloaded' });
    const content = page.locator('#content-wrapper');
    await content.getByText('release:checkout').first().waitFor({ timeout: 30_000 });
    await content.getByText('releaseWorkflow').first().waitFor({ timeout: 10_000 });
    const shownInMs = Date.now() - t0;
    // the filter really is applied: the query is in the page, not only in our URL
    expect(await page.locator('body').innerText()).toContain('QuadService');
    await content.screenshot({ path: join(SCREENSHOTS, 'webui-list.png') });
    expect(shownInMs).toBeLessThan(30_000);
    await page.close();
  });

  test('the detail page shows the static summary "checkout v… · canary · by …"', async () => {
    expect(detailUrl).toBe(`${ui}/namespaces/default/workflows/release%3Acheckout/${runId}`);
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(detailUrl, { waitUntil: 'domcontentloaded' });
    const content = page.locator('#content-wrapper');
    const summary = content.getByText(`checkout ${VERSION} · canary · by ana`).first();
    await summary.waitFor({ timeout: 30_000 });
    // UI 2.42 shows it as the "Summary" of the workflow-started event, further down the page
    expect(await summary.evaluate((e) => e.parentElement?.textContent ?? '')).toMatch(/^Summary/);
    await summary.scrollIntoViewIfNeeded();
    await content.screenshot({ path: join(SCREENSHOTS, 'webui-detail.png') });
    await page.close();
  });
});
