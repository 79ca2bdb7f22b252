// The Jira webhook on a real HTTP server (127.0.0.1) in front of the real Temporal CLI dev server, with a
// worker running the real release workflow over stub activities. Requests are signed the way Jira Cloud
// signs them (X-Hub-Signature: sha256=<HMAC of the raw body>).
import { createHmac } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../../test/support/temporal-env';
import { stubActivities } from '../../test/support/stub-activities';
import { workflowBundle, eventually } from '../../test/support/release-harness';
import { parseConfig } from '../../config/load';
import type { QuadConfig } from '../../config/schema';
import { statusQuery } from '../../contract/messages';
import { QuadService, QuadVersion, QuadStatus } from '../../contract/search-attributes';
import { Releases } from '../releases';
import { createJiraWebhook, releaseAskOf, personOf, jiraSecretFromEnv, JIRA_ENDPOINT, MAX_BODY, type JiraEvent, type JiraWebhook } from './webhook';

const SECRET = 'jira-test-secret-' + process.pid;
// A long first stage keeps a release running, so a second transition meets it.
const TEST_CONFIG = `
temporal: { web_ui_url: "http://127.0.0.1:8233" }
services:
  cart:
    poll_interval_seconds: 1
    starters: ['jira:*']
    rollout_plan:
      - { traffic_percent: 10, duration_minutes: 30 }
      - { traffic_percent: 100 }
  payments:
    poll_interval_seconds: 1
    starters: ['jira:*']
    rollout_plan:
      - { traffic_percent: 10, duration_minutes: 30 }
      - { traffic_percent: 100 }
  orders:
    poll_interval_seconds: 1
    starters: ['jira:712020:3f2a9c1e-77aa-4b1b']
    rollout_plan:
      - { traffic_percent: 10, duration_minutes: 30 }
      - { traffic_percent: 100 }
  # nobody may start this one from Jira: not listed, and the release managers are Slack users
  locked:
    poll_interval_seconds: 1
release_managers: [U0RELMGR1]
triggers:
  jira:
    secret: \${JIRA_TEST_SECRET}
    services: { cart-team: cart, Payments: payments, orders-team: orders, locked-team: locked }
`;

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let cfg: QuadConfig;
let hook: JiraWebhook;
let base: string;
const taskQueue = `jira-test-${process.pid}`;

beforeAll(async () => {
  const [e, bundle] = await Promise.all([localEnv(), workflowBundle()]);
  env = e;
  worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowBundle: bundle,
    activities: stubActivities().acts,
  });
  running = worker.run();
  cfg = parseConfig(TEST_CONFIG, 'test config');
  hook = createJiraWebhook({ releases: new Releases(env.client, cfg, taskQueue), config: cfg, secret: SECRET, log: () => undefined });
  const { port } = await hook.start({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  await hook?.stop();
  for (const id of ['release:cart', 'release:payments', 'release:orders'])
    await env?.client.workflow
      .getHandle(id)
      .terminate('test over')
      .catch(() => undefined);
  worker?.shutdown();
  await running;
  await env?.teardown();
});

function event(
  o: { key?: string; version?: string; labels?: string[]; components?: string[]; to?: string; from?: string; kind?: string; at?: number } = {},
): JiraEvent {
  return {
    webhookEvent: o.kind ?? 'jira:issue_updated',
    timestamp: o.at ?? Date.now(),
    issue: {
      key: o.key ?? 'REL-42',
      fields: {
        summary: 'Ship the new basket',
        labels: o.labels ?? ['cart-team'],
        components: (o.components ?? []).map((name) => ({ name })),
        fixVersions: o.version === undefined ? [{ name: 'v2.0.0' }] : [{ name: o.version }],
      },
    },
    changelog: { items: [{ field: 'status', fromString: o.from ?? 'In Review', toString: o.to ?? 'Ready for Prod' }] },
    user: { accountId: '712020:3f2a9c1e-77aa-4b1b', displayName: 'Ana Lima' },
  };
}

async function post(
  doc: unknown,
  sign: string | null = SECRET,
  at = base,
  extra: Record<string, string> = {},
): Promise<{ code: number; body: Record<string, string> }> {
  const raw = typeof doc === 'string' ? doc : JSON.stringify(doc);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...extra };
  if (sign !== null) headers['x-hub-signature'] = `sha256=${createHmac('sha256', sign).update(raw).digest('hex')}`;
  const res = await fetch(at + JIRA_ENDPOINT, { method: 'POST', headers, body: raw });
  const text = await res.text();
  return { code: res.status, body: text ? JSON.parse(text) : {} };
}

/** The ReleaseInput the workflow was started with, from its first history event. */
async function startInput(workflowId: string) {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const payload = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
  return JSON.parse(Buffer.from(payload.data!).toString('utf8'));
}

test('a transition to Ready for Prod starts the release; a second one while it runs is refused by name', async () => {
  const r = await post(event({ version: 'v2.0.0' }));
  expect(r.code).toBe(202);
  expect(r.body.workflowId).toBe('release:cart');
  expect(r.body.url).toContain('/workflows/release%3Acart/');

  const handle = env.client.workflow.getHandle('release:cart');
  const status = await eventually(
    () => handle.query(statusQuery),
    (s) => s.phase !== 'planning',
  );
  expect(status).toMatchObject({ service: 'cart', version: 'v2.0.0', status: 'running', requestedBy: 'jira-712020-3f2a9c1e-77aa-4b1b' });
  const sa = (await handle.describe()).typedSearchAttributes;
  expect([sa.get(QuadService), sa.get(QuadVersion), sa.get(QuadStatus)]).toEqual(['cart', 'v2.0.0', 'running']);
  const input = await startInput('release:cart');
  expect(input.request).toMatchObject({ source: 'jira', reason: 'REL-42: Ship the new basket (moved by Ana Lima)' });

  const again = await post(event({ key: 'REL-43', version: 'v2.0.1' }));
  expect(again.code).toBe(422);
  expect(again.body.error).toMatch(/^cart v2\.0\.0 is already releasing .*started by jira-712020/);
  // still the first release, and only one run of it
  expect((await handle.query(statusQuery)).version).toBe('v2.0.0');
  const runs = [];
  for await (const wf of env.client.workflow.list({ query: `WorkflowId = "release:cart"` })) runs.push(wf.runId);
  expect(runs).toHaveLength(1);
});

test('a forged or unsigned request is 401 and starts nothing', async () => {
  const forged = await post(event({ labels: [], components: ['Payments'], version: 'v3.0.0' }), 'not-the-secret');
  expect(forged.code).toBe(401);
  const unsigned = await post(event({ labels: [], components: ['Payments'], version: 'v3.0.0' }), null);
  expect(unsigned.code).toBe(401);
  await expect(env.client.workflow.getHandle('release:payments').describe()).rejects.toThrow(/not found/i);
});

test('other events and other status changes are 204 and start nothing', async () => {
  const ev = event({ labels: [], components: ['Payments'], version: 'v3.0.0' });
  expect((await post({ ...ev, webhookEvent: 'jira:issue_created' })).code).toBe(204);
  expect((await post(event({ labels: [], components: ['Payments'], to: 'In Progress' }))).code).toBe(204);
  expect((await post({ ...ev, changelog: { items: [{ field: 'assignee', fromString: 'a', toString: 'Ready for Prod' }] } })).code).toBe(204);
  await expect(env.client.workflow.getHandle('release:payments').describe()).rejects.toThrow(/not found/i);
});

test('a bad version or an unmapped service is 422 in plain words and starts nothing', async () => {
  const bad = await post(event({ labels: [], components: ['Payments'], version: '3.0; rm -rf /' }));
  expect(bad.code).toBe(422);
  expect(bad.body.error).toBe('"3.0; rm -rf /" is not a version: letters, digits and ._+- only, like v1.2.3, 3f9c2ab or 2026-12-01');
  const unmapped = await post(event({ labels: ['backend'], version: 'v3.0.0' }));
  expect(unmapped.code).toBe(422);
  expect(unmapped.body.error).toMatch(/^which service\? .*cart-team, Payments/);
  await expect(env.client.workflow.getHandle('release:payments').describe()).rejects.toThrow(/not found/i);
});

test('labels, components or a service field naming what every object inherits are 422 in plain words and start nothing', async () => {
  const which = 'which service? Give the issue a label or component listed under triggers.jira.services (cart-team, Payments, orders-team, locked-team)';
  for (const name of ['__proto__', 'constructor', 'toString']) {
    expect(await post(event({ labels: [name], version: 'v3.0.0' }))).toEqual({ code: 422, body: { error: which } });
    expect(await post(event({ labels: [], components: [name], version: 'v3.0.0' }))).toEqual({ code: 422, body: { error: which } });
  }
  // the service named by a field: its text is looked up among the services
  const byField = parseConfig(
    TEST_CONFIG.replace('services: { cart-team: cart, Payments: payments, orders-team: orders, locked-team: locked }', 'service_field: customfield_10043'),
    'test config',
  );
  const fieldHook = createJiraWebhook({ releases: new Releases(env.client, byField, taskQueue), config: byField, secret: SECRET, log: () => undefined });
  const { port } = await fieldHook.start({ port: 0, host: '127.0.0.1' });
  try {
    for (const name of ['__proto__', 'constructor', 'hasOwnProperty']) {
      const ev = event({ version: 'v3.0.0' });
      ev.issue!.fields = { ...ev.issue!.fields, customfield_10043: { value: name } };
      expect(await post(ev, SECRET, `http://127.0.0.1:${port}`)).toEqual({
        code: 422,
        body: { error: `unknown service ${JSON.stringify(name)}; configured: cart, payments, orders, locked` },
      });
      await expect(env.client.workflow.getHandle(`release:${name}`).describe()).rejects.toThrow(/not found/i);
    }
  } finally {
    await fieldHook.stop();
  }
  await expect(env.client.workflow.getHandle('release:payments').describe()).rejects.toThrow(/not found/i);
});

/** Every run of a workflow ID, from visibility; `atLeast`: waits out visibility's lag for runs just started. */
async function runsOf(workflowId: string, atLeast = 0): Promise<string[]> {
  return eventually(
    async () => {
      const runs: string[] = [];
      for await (const wf of env.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runs.push(wf.runId);
      return runs;
    },
    (runs) => runs.length >= atLeast,
  );
}

const ordersEvent = (o: Parameters<typeof event>[0] = {}) => event({ labels: ['orders-team'], key: 'REL-77', version: 'v7.0.0', ...o });

test('a delivery Jira retries, or one replayed after its release ended, answers with the release it started and starts no second', async () => {
  const ev = ordersEvent();
  const first = await post(ev, SECRET, base, { 'x-atlassian-webhook-identifier': 'dlv-1' });
  expect(first.code).toBe(202);
  // Jira's retry: the same body and the same delivery ID, while the release runs
  const retry = await post(ev, SECRET, base, { 'x-atlassian-webhook-identifier': 'dlv-1' });
  expect(retry).toEqual({ code: 200, body: { ...first.body, duplicate: true } });
  // the same signed body under another delivery ID (the header is not signed): still the same request
  const relabelled = await post(ev, SECRET, base, { 'x-atlassian-webhook-identifier': 'dlv-forged' });
  expect(relabelled).toEqual({ code: 200, body: { ...first.body, duplicate: true } });
  expect(await runsOf('release:orders', 1)).toEqual([first.body.runId]);

  // the release ends; the captured delivery is replayed, with and without its ID
  await env.client.workflow.getHandle('release:orders').terminate('ended for the test');
  for (const extra of [{}, { 'x-atlassian-webhook-identifier': 'dlv-1' }, { 'x-atlassian-webhook-identifier': 'dlv-2' }] as Record<string, string>[]) {
    expect(await post(ev, SECRET, base, extra)).toEqual({ code: 200, body: { ...first.body, duplicate: true } });
  }
  expect(await runsOf('release:orders')).toEqual([first.body.runId]);
  // a new transition (a new delivery, a new timestamp) is a new request
  const next = await post(ordersEvent({ version: 'v7.0.1', at: Date.now() + 1 }));
  expect(next.code).toBe(202);
  expect((await runsOf('release:orders', 2)).sort()).toEqual([first.body.runId, next.body.runId].sort());
  await env.client.workflow.getHandle('release:orders').terminate('ended for the test');
});

test('two copies of one delivery racing: one starts the release, the other gets it; one run', async () => {
  const ev = ordersEvent({ version: 'v7.1.0' });
  const answers = await Promise.all([post(ev), post(ev), post(ev)]);
  expect(answers.map((a) => a.code).sort()).toEqual([200, 200, 202]);
  const ids = new Set(answers.map((a) => a.body.runId));
  expect(ids.size).toBe(1);
  const runs = await runsOf('release:orders', 3);
  expect(runs.filter((r) => ids.has(r))).toHaveLength(1);
  expect(runs).toHaveLength(3);
  await env.client.workflow.getHandle('release:orders').terminate('ended for the test');
});

test('a delivery older than the dedupe window, from the future, or without a timestamp is refused and starts nothing', async () => {
  const before = await runsOf('release:orders');
  const old = await post(ordersEvent({ version: 'v7.2.0', at: Date.now() - 25 * 3600_000 }));
  expect(old).toEqual({ code: 422, body: { error: 'the delivery is 25 h old; only deliveries of the last 24 h are acted on' } });
  const future = await post(ordersEvent({ version: 'v7.2.0', at: Date.now() + 10 * 60_000 }));
  expect(future).toEqual({ code: 422, body: { error: 'the delivery is dated in the future' } });
  const { timestamp: _, ...undated } = ordersEvent({ version: 'v7.2.0' });
  expect(await post(undated)).toEqual({ code: 400, body: { error: 'the delivery has no timestamp' } });
  expect(await runsOf('release:orders')).toEqual(before);
});

test('a Jira user the service does not list as a starter is 403 and starts nothing', async () => {
  const stranger = ordersEvent({ version: 'v7.3.0' });
  stranger.user = { accountId: '712020:someone-else', displayName: 'Eve' };
  const before = await runsOf('release:orders');
  const r = await post(stranger);
  expect(r.code).toBe(403);
  expect(r.body.error).toBe('jira-712020-someone-else may not start orders: only the starters of orders and the release managers may start a release of it');
  const locked = await post(event({ labels: ['locked-team'], version: 'v1.0.0' }));
  expect(locked.code).toBe(403);
  expect(locked.body.error).toMatch(/may not start locked: only the starters of locked and the release managers/);
  expect(await runsOf('release:orders')).toEqual(before);
  await expect(env.client.workflow.getHandle('release:locked').describe()).rejects.toThrow(/not found/i);
});

test('bodies over 1 MiB are 413, malformed or wrongly shaped JSON is 400 without internal text, and the server stays up', async () => {
  const big = JSON.stringify({ ...ordersEvent(), padding: 'x'.repeat(MAX_BODY) });
  expect(await post(big)).toEqual({ code: 413, body: { error: `body too large (over ${MAX_BODY} bytes)` } });
  const bad: [string, string][] = [
    ['{"webhookEvent": "jira:issue_updated",', 'the body is not JSON'],
    ['null', 'the body is not a Jira event (a JSON object)'],
    ['[1,2]', 'the body is not a Jira event (a JSON object)'],
    ['"text"', 'the body is not a Jira event (a JSON object)'],
    ['{"webhookEvent":"jira:issue_updated","timestamp":1,"changelog":{"items":"x"}}', 'the body is not a Jira event: changelog.items has the wrong type'],
    ['{"webhookEvent":"jira:issue_updated","timestamp":1,"issue":null}', 'the body is not a Jira event: issue has the wrong type'],
    ['{"webhookEvent":{"x":1}}', 'the body is not a Jira event: webhookEvent has the wrong type'],
  ];
  for (const [raw, error] of bad) expect(await post(raw)).toEqual({ code: 400, body: { error } });
  // still answering: a good delivery starts its release
  const good = await post(ordersEvent({ version: 'v7.4.0' }));
  expect(good.code).toBe(202);
  await env.client.workflow.getHandle('release:orders').terminate('ended for the test');
});

test('the pure parts: person ids, version fields, the secret from its env var', () => {
  const jira = cfg.triggers!.jira!;
  expect(personOf({ accountId: '5b10ac8d82e05b22cc7d4ef5' })).toBe('jira-5b10ac8d82e05b22cc7d4ef5');
  expect(personOf({ displayName: 'Ana Lima' })).toBe('jira-Ana-Lima');
  expect(personOf(undefined)).toBe('jira');
  const custom = { ...jira, version_field: 'customfield_10042', service_field: 'customfield_10043' };
  const ev = event();
  ev.issue!.fields = { summary: 's', customfield_10042: 'v1.4.0', customfield_10043: { value: 'payments' } };
  expect(releaseAskOf(cfg, custom, ev)).toMatchObject({ service: 'payments', version: 'v1.4.0', source: 'jira' });
  ev.issue!.fields = { summary: 's', fixVersions: [] };
  expect(() => releaseAskOf(cfg, jira, ev)).toThrow('REL-42 has no version in its fixVersions field');
  expect(jiraSecretFromEnv(cfg, { JIRA_TEST_SECRET: 'x' })).toBe('x');
  expect(() => jiraSecretFromEnv(cfg, {})).toThrow('the Jira webhook secret env var JIRA_TEST_SECRET is not set');
  expect(() => parseConfig('services: {a: {}}\ntriggers: {jira: {secret: "inline-secret"}}')).toThrow(
    /triggers\.jira\.secret: a secret must be written as \$\{ENV_VAR\}/,
  );
});
