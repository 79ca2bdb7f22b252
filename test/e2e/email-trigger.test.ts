// The email trigger end to end: messages sent over SMTP to the trigger (smtp-server on 127.0.0.1), which
// starts a real release on the dev server, run by a real worker (a child process) against the sandbox
// under load; replies go to a real SMTP server that keeps them. DKIM is nodemailer's signature checked by
// mailauth against the test domain's key (the resolver stands in for DNS).
import { readFileSync, writeFileSync } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { eventually } from '../support/release-harness';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { buildMessage, dkimKey, resolverOf, sendRaw, startMailSink, type MailSink, type TestMessage } from '../support/mail';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';
import { createInboundEmail, replyTransport, type InboundEmail } from '../../client/email/inbound';

jest.setTimeout(90_000);

const taskQueue = `e2e-email-${process.pid}`;
const SECRET = `email-token-${process.pid}`;
// in the environment, as main.ts reads it, so the dev server's secrets scan at teardown looks for it in every history
process.env.QUAD_E2E_EMAIL_TOKEN = SECRET;
const example = dkimKey('example.com');
const forger = dkimKey('example.com');

let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let dir: ReturnType<typeof tempDir>;
let worker: Child;
let sink: MailSink;
let releases: Releases;
const logs: string[] = [];
const inbound: Record<'dkim' | 'secret', { server: InboundEmail; port: number }> = {} as never;

/** The stack config with the email trigger, verifying by DKIM or by the shared secret. */
function configFile(verify: 'dkim' | 'secret'): string {
  const file = writeStackConfig(dir.path, {
    sandboxUrl: sandbox.url,
    address: env.address,
    taskQueue,
    pollIntervalS: 1,
    minRequests: 20,
    stages: [{ traffic_percent: 100 }],
    dataDir: dir.path,
  });
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  doc.services.checkout.starters = ['email:ana@example.com', 'email:bo@example.com'];
  doc.triggers = {
    email: {
      senders: ['ana@example.com', 'bo@example.com'],
      verify,
      ...(verify === 'secret' ? { secret: '${QUAD_E2E_EMAIL_TOKEN}' } : {}),
      reply_from: 'quad@quad.test',
      smtp: { host: '127.0.0.1', port: sink.port },
    },
  };
  const out = file.replace(/quad\.yml$/, `quad-${verify}.yml`);
  writeFileSync(out, JSON.stringify(doc));
  return out;
}

beforeAll(async () => {
  dir = tempDir('quad-e2e-email-');
  let bundle: string;
  [env, sandbox, bundle, sink] = await Promise.all([
    localEnv(),
    startSandboxProcess({ serve: { checkout: 'v1.2.2' }, loadRps: 100, loadMaxS: 300 }),
    bundleFile(dir.path),
    startMailSink(),
  ]);
  const dkimFile = configFile('dkim');
  worker = await startWorkerProcess({ configFile: dkimFile, address: env.address, taskQueue, bundle });
  releases = new Releases(env.client, loadConfig(dkimFile), taskQueue);
  for (const verify of ['dkim', 'secret'] as const) {
    const config = loadConfig(configFile(verify));
    const server = createInboundEmail({
      releases: new Releases(env.client, config, taskQueue),
      config,
      secret: verify === 'secret' ? SECRET : undefined,
      resolver: resolverOf(example),
      transport: replyTransport(config)!,
      log: (line) => void logs.push(line),
    });
    inbound[verify] = { server, port: (await server.start()).port };
  }
});

afterAll(async () => {
  console.log(`the trigger's log:\n${logs.join('\n')}`);
  for (const i of Object.values(inbound)) await i.server.stop();
  await worker?.stop();
  await sandbox?.stop();
  await sink?.stop();
  await env?.teardown();
  dir?.remove();
});

async function send(verify: 'dkim' | 'secret', m: TestMessage): Promise<string> {
  const raw = await buildMessage(m);
  return sendRaw(inbound[verify].port, raw, { from: m.from.replace(/^.*<|>$/g, ''), to: ['releases@quad.test'] });
}

/** The reply to a message, once the trigger has sent it. */
const replyTo = (messageId: string) =>
  eventually(
    async () => sink.received.find((r) => r.inReplyTo === messageId),
    (r) => r !== undefined,
    15_000,
  ).then((r) => r!);

const checkoutRuns = async () => {
  const runs: string[] = [];
  for await (const wf of env.client.workflow.list({ query: `WorkflowId = "release:checkout"` })) runs.push(wf.runId);
  return runs;
};

test('a DKIM-signed "deploy v1.2.3 to production" from a starter releases v1.2.3 and is answered with its Web UI link', async () => {
  const t0 = Date.now();
  const answer = await send('dkim', {
    from: 'Ana <ana@example.com>',
    subject: 'deploy v1.2.3 to production',
    dkim: example,
    messageId: '<good-1@example.com>',
  });
  expect(answer).toMatch(/^250 2\.0\.0 started release:checkout/);
  const reply = await replyTo('<good-1@example.com>');
  expect(reply.to).toMatchObject({ value: [{ address: 'ana@example.com' }] });
  expect(reply.subject).toBe('Re: deploy v1.2.3 to production');
  const link = /http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/release%3Acheckout\/([0-9a-f-]{36})/.exec(reply.text ?? '');
  expect(link).not.toBeNull();
  const result = await releases.result('checkout');
  expect(result).toMatchObject({ status: 'succeeded', trafficPercent: 100 });
  const status = await releases.status('checkout');
  expect(status).toMatchObject({ version: 'v1.2.3', requestedBy: 'ana@example.com' });
  expect(await checkoutRuns()).toEqual([link![1]]);
  console.log(`email → release started and answered, released in ${Date.now() - t0} ms`);

  // the same message delivered again starts nothing new
  const again = await send('dkim', { from: 'Ana <ana@example.com>', subject: 'deploy v1.2.3 to production', dkim: example, messageId: '<good-1@example.com>' });
  expect(again).toMatch(/^250 2\.0\.0 started release:checkout/);
  expect(await checkoutRuns()).toEqual([link![1]]);
});

test.each<[string, 'dkim' | 'secret', TestMessage, RegExp]>([
  [
    'a forged DKIM signature',
    'dkim',
    { from: 'ana@example.com', subject: 'deploy v1.2.4 to production', dkim: forger },
    /not proven to come from ana@example.com/,
  ],
  ['an unknown sender', 'dkim', { from: 'mallory@example.com', subject: 'deploy v1.2.4 to production', dkim: example }, /mallory@example.com is not a sender/],
  [
    'the wrong token',
    'secret',
    { from: 'bo@example.com', subject: 'deploy v1.2.4 to production', headers: { 'X-Quad-Token': 'guess' } },
    /does not carry the right token/,
  ],
])('%s starts nothing and is answered with the refusal', async (_what, verify, m, why) => {
  const before = await checkoutRuns();
  const messageId = `<refused-${Math.random().toString(36).slice(2)}@example.com>`;
  expect(await send(verify, { ...m, messageId })).toMatch(/^250 2\.0\.0 read; the answer goes back by email/);
  const reply = await replyTo(messageId);
  expect(reply.text).toMatch(/^QUAD did not start a release from your message "deploy v1\.2\.4 to production":/);
  expect(reply.text).toMatch(why);
  expect(reply.text).not.toMatch(/http/);
  expect(await checkoutRuns()).toEqual(before);
});

test('the right token starts a release (verify: secret)', async () => {
  await eventually(
    () => releases.status('checkout'),
    (s) => s.status !== 'running',
    30_000,
  );
  const answer = await send('secret', {
    from: 'bo@example.com',
    subject: 'deploy checkout v1.2.5',
    headers: { 'X-Quad-Token': SECRET },
    messageId: '<secret-1@example.com>',
  });
  expect(answer).toMatch(/^250 2\.0\.0 started release:checkout/);
  expect((await replyTo('<secret-1@example.com>')).text).toContain('release%3Acheckout');
  expect(await releases.result('checkout')).toMatchObject({ status: 'succeeded' });
  expect((await releases.status('checkout')).version).toBe('v1.2.5');
});
