// Secrets never enter a workflow. A real worker (tsx worker/main.ts) holds a GitHub token for its gates
// and a PagerDuty routing key for its incidents, in its environment only. It releases a good version
// (the gates ask the GitHub fake) and a bad one (rolled back, incident to the PagerDuty fake). Then every
// history on the server, payloads decoded, holds neither value and nothing token-shaped. The scan
// bites: a token someone typed into a reason is found, and so is a planted value. (Every other test file's
// servers are scanned the same way on teardown: test/support/temporal-env.)
import { readFileSync, writeFileSync } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv, timeSkippingEnv } from '../support/temporal-env';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { startGitHubFake, type GitHubFake } from '../support/github-fake';
import { startPagerDutyFake, type PagerDutyFake } from '../support/pagerduty-fake';
import { scanServer, decodedHistories, findSecrets } from '../support/history-secrets';
import { stubActivities } from '../support/stub-activities';
import { withWorker, repoConfig } from '../support/release-harness';
import { resolveRelease } from '../../config/resolve';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';

jest.setTimeout(120_000);

const taskQueue = `secrets-${process.pid}`;
const sha = (n: number) => n.toString(16).padStart(40, 'c');
let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let gh: GitHubFake;
let pd: PagerDutyFake;
let worker: Child;
let dir: ReturnType<typeof tempDir>;
let configFile: string;

beforeAll(async () => {
  dir = tempDir('quad-secrets-');
  let bundle: string;
  [env, sandbox, bundle, pd, gh] = await Promise.all([
    localEnv(),
    startSandboxProcess({ serve: { checkout: 'v1.2.2' }, loadRps: 100, loadMaxS: 600 }),
    bundleFile(dir.path),
    startPagerDutyFake(),
    startGitHubFake(
      {
        'shop/checkout': {
          commits: [sha(1), sha(2), sha(3)],
          tags: { 'v1.2.2': sha(1), 'v1.3.0': sha(2), 'v1.3.1-bad': sha(3) },
          checkRuns: {
            [sha(2)]: [{ id: 1, name: 'test', status: 'completed', conclusion: 'success' }],
            [sha(3)]: [{ id: 2, name: 'test', status: 'completed', conclusion: 'success' }],
          },
        },
      },
      'ghp_secretsScanToken0123456789abcdefXYZ',
    ),
  ]);
  configFile = writeStackConfig(dir.path, {
    sandboxUrl: sandbox.url,
    address: env.address,
    taskQueue,
    pollIntervalS: 1,
    minRequests: 30,
    stages: [{ traffic_percent: 25, duration_minutes: 0.1 }, { traffic_percent: 100 }],
    dataDir: dir.path,
  });
  const doc = JSON.parse(readFileSync(configFile, 'utf8'));
  doc.providers.github = { api_url: gh.url, token: '${QUAD_SCAN_GITHUB_TOKEN}' };
  doc.providers.incidents = { type: 'pagerduty', routing_key: '${QUAD_SCAN_PD_KEY}', url: pd.enqueueUrl };
  doc.services.checkout.gates = [{ name: 'tests', kind: 'tests_passed', args: { source: 'github', repo: 'shop/checkout', checks: ['test'] } }];
  writeFileSync(configFile, JSON.stringify(doc));
  // the secrets live in the worker's environment only, as in production
  worker = await startWorkerProcess({
    configFile,
    address: env.address,
    taskQueue,
    bundle,
    env: { QUAD_SCAN_GITHUB_TOKEN: gh.token, QUAD_SCAN_PD_KEY: pd.routingKey },
  });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await sandbox?.stop();
  await gh?.close();
  await pd?.close();
  await env?.teardown();
  dir?.remove();
});

test('a release that used a GitHub token and a PagerDuty routing key leaves neither, nor anything token-shaped, in any history', async () => {
  const rel = new Releases(env.client, loadConfig(configFile), taskQueue);
  await rel.release({ service: 'checkout', version: 'v1.3.0', requestedBy: 'ana', source: 'cli' });
  expect((await rel.result('checkout')).status).toBe('succeeded');
  await rel.release({ service: 'checkout', version: 'v1.3.1-bad', requestedBy: 'ana', source: 'cli' });
  expect((await rel.result('checkout')).status).toBe('rolled_back');
  // both secrets were used: the gate asked GitHub with the token, the incident reached PagerDuty with the key
  expect(gh.requests.filter((r) => r.includes('/check-runs')).length).toBeGreaterThanOrEqual(2);
  expect(pd.alerts.size).toBe(1);

  const scan = await scanServer(env.client, [gh.token, pd.routingKey]);
  console.log(`secrets scan: ${scan.histories} histories read, ${scan.hits.length} hits`);
  expect(scan.histories).toBeGreaterThanOrEqual(2);
  expect(scan.hits).toEqual([]);
});

test('the scan bites: a token typed into a reason and a planted value are found, each named without printing it', async () => {
  // its own time-skipping server, left out of the teardown scan: this file plants what that scan refuses
  const planted = await timeSkippingEnv();
  try {
    const input = resolveRelease(repoConfig(), {
      service: 'checkout',
      version: 'v1.2.3',
      requestedBy: 'ana',
      source: 'cli',
      reason: 'rotating xoxb-1111-2222-plantedSlackToken and ops-planted-7f3a9c',
    });
    const run = await withWorker(planted, stubActivities({}).acts, async (tq) => {
      const started = await new Releases(planted.client, repoConfig(), tq).start(input);
      await planted.client.workflow.getHandle(started.workflowId).terminate('planted for the scan');
      return started;
    });
    const [h] = await decodedHistories(planted.client, [run]);
    expect(findSecrets(h, ['ops-planted-7f3a9c']).map((x) => [x.what, x.sample])).toEqual([
      ['a configured secret value', 'ops-pl'],
      ['Slack token', 'xoxb-1'],
    ]);
  } finally {
    await planted.teardown();
  }
});
