// End to end on the Temporal CLI dev server with the real worker (`tsx worker/main.ts`) and the sandbox
// under load: a -bad version whose processes log "JWT validation failed" is rolled back by the guard, and
// the incident the PagerDuty fake receives names that signature, read from the sandbox's logs by the
// worker, as new on the canary with its counts (the exact number of 500s the bad version served) and the
// secret-rotation hint; once the rollback has finished the same dedup key resolves it. The release's one
// Slack message (the Slack Web API fake) shows the same signature, counts and hint once rolled back.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { eventually } from '../support/release-harness';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { startPagerDutyFake, type PagerDutyFake } from '../support/pagerduty-fake';
import { startSlackFake, type SlackFake } from '../support/slack-fake';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';

jest.setTimeout(120_000);

const BASE = 'v1.2.3';
const BAD = 'v1.2.4-bad';
const taskQueue = `e2e-incident-${process.pid}`;
const JWT = 'JWT validation failed: signature mismatch for kid=<hex>';

let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let pd: PagerDutyFake;
let slack: SlackFake;
const SLACK_TOKEN = 'xoxb-e2e-incident-token';
let dir: ReturnType<typeof tempDir>;
let worker: Child | undefined;

beforeAll(async () => {
  dir = tempDir('quad-e2e-incident-');
  let bundle: string;
  [env, sandbox, bundle, pd, slack] = await Promise.all([
    localEnv(),
    startSandboxProcess({ serve: { checkout: BASE }, loadRps: 100, loadMaxS: 600 }),
    bundleFile(dir.path),
    startPagerDutyFake(),
    startSlackFake({ token: SLACK_TOKEN }),
  ]);
  const sub = join(dir.path, 'pd');
  mkdirSync(sub);
  const file = writeStackConfig(sub, {
    sandboxUrl: sandbox.url,
    address: env.address,
    taskQueue,
    pollIntervalS: 1,
    minRequests: 50,
    stages: [{ traffic_percent: 25, duration_minutes: 0.5 }, { traffic_percent: 100 }],
    dataDir: sub,
  });
  // the stack's config, with incidents to PagerDuty and the sandbox's logs read for them
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  doc.providers.incidents = { type: 'pagerduty', routing_key: '${PD_ROUTING_KEY}', url: pd.enqueueUrl };
  doc.providers.logs = { type: 'sandbox' };
  doc.providers.slack = { bot_token: '${QUAD_E2E_SLACK_BOT_TOKEN}', signing_secret: '${QUAD_E2E_SLACK_SIGNING_SECRET}', api_url: slack.apiUrl };
  doc.notifications = { ...doc.notifications, slack_enabled: true, slack_channel: '#releases' };
  writeFileSync(file, JSON.stringify(doc, null, 2));
  worker = await startWorkerProcess({
    configFile: file,
    address: env.address,
    taskQueue,
    bundle,
    env: { PD_ROUTING_KEY: pd.routingKey, QUAD_E2E_SLACK_BOT_TOKEN: SLACK_TOKEN, QUAD_E2E_SLACK_SIGNING_SECRET: 'e2e-incident-signing-secret' },
  });
  (globalThis as { configFile?: string }).configFile = file;
});

afterAll(async () => {
  await worker?.stop();
  await sandbox?.stop();
  await env?.teardown();
  await pd?.close();
  await slack?.close();
  dir?.remove();
});

test('the bad release’s PagerDuty incident names the JWT signature from the sandbox’s logs, new on the canary, and is resolved after the rollback', async () => {
  const cfg = loadConfig((globalThis as { configFile?: string }).configFile!);
  const rel = new Releases(env.client, cfg, taskQueue);
  const started = await rel.release({ service: 'checkout', version: BAD, requestedBy: 'ana', source: 'cli' });
  const result = await rel.result('checkout');
  expect(result.status).toBe('rolled_back');
  const [first, hint] = result.incident!.split('\n');
  expect(first).toMatch(new RegExp(`^quad:.+ · top log signature: \`${JWT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\` — \\d+ on canary, 0 on baseline$`));
  expect(hint).toMatch(/^hint: check secret or signing-key rotation/);

  // what the bad version served: every 500 it answered is one JWT line in its log
  const served = (await sandbox.versions('checkout')).find((v) => v.version === BAD)!;
  expect(served.errors).toBeGreaterThan(0);

  const alert = await eventually(
    async () => [...pd.alerts.values()][0],
    (a) => a?.status === 'resolved',
    20_000,
  );
  expect(pd.alerts.size).toBe(1);
  expect(alert.events.map((e) => e.event_action)).toEqual(['trigger', 'resolve']);
  const trigger = alert.events[0];
  expect(trigger.routing_key).toBe(pd.routingKey);
  expect(trigger.payload.summary).toContain(`top log signature: \`${JWT}\` — ${served.errors} on canary, 0 on baseline`);
  expect(trigger.payload.custom_details.top_log_signatures[0]).toBe(`\`${JWT}\` — ${served.errors} on canary, 0 on baseline`);
  expect(trigger.payload.custom_details.hint).toMatch(
    /^`JWT validation failed: signature mismatch for kid=<hex>` — \d+ on canary, 0 on baseline: check secret or signing-key rotation/,
  );
  expect(trigger.payload.custom_details).toMatchObject({
    version: BAD,
    'previous version': BASE,
    stage: 'canary 25 %',
    rollback: `finished: traffic back on ${BASE}`,
  });
  expect(trigger.payload.custom_details.regressed[0]).toMatch(/^error_rate breach: canary \d/);
  // the Slack message, updated in place to the rollback, shows the same signature with its counts and the hint
  const message = await eventually(
    async () => [...slack.messages.values()].find((m) => !m.thread_ts && m.text?.startsWith(`checkout ${BAD}`)),
    (m) => JSON.stringify(m?.blocks ?? []).includes('signing-key rotation'),
    20_000,
  );
  const shown = JSON.stringify(message!.blocks);
  expect(shown).toContain(`top log signature: \`${JWT.replace(/</g, '&lt;').replace(/>/g, '&gt;')}\` — ${served.errors} on canary, 0 on baseline`);
  expect(shown).toContain('hint: check secret or signing-key rotation');
  console.log(`Slack rollback message's incident: ${message!.blocks!.find((b) => /Incident/.test(b.text?.text ?? ''))?.text?.text}`);
  expect(trigger.client_url).toMatch(/^http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\//);
  // the slow-query warnings both versions write are not a regression
  expect(trigger.payload.custom_details.top_log_signatures.join('\n')).not.toMatch(/slow query/);
  // resolved only after the traffic was back on the previous version
  expect(await sandbox.traffic('checkout')).toMatchObject({ version: BAD, previousVersion: BASE, percent: 0 });
  // and no log line or routing key in the workflow's history beyond the bounded summary
  // (payloads decoded to text: the summary is there, proving the search sees them; a raw line is not)
  const decoded = JSON.stringify(await env.client.workflow.getHandle(started.workflowId, started.runId).fetchHistory(), (k, v: unknown) =>
    k === 'data' && typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : v,
  );
  expect(decoded.includes('top log signature: `JWT validation failed: signature mismatch for kid=<hex>`')).toBe(true);
  expect(/kid=[0-9a-f]{8}/.test(decoded)).toBe(false);
  expect(decoded.includes(pd.routingKey)).toBe(false);
});
