// Notices degraded: the email notifier's SMTP server (smtp-server, in process) behind a fault proxy
// (providers.email.port → the proxy). Dev server, a real worker process, the sandbox under load. SMTP
// down (every connection reset), hung (accepted, never greets) or slow (each command 1 s late): the
// release proceeds on its windows, and a notice that could not be sent is in the timeline
// ("notice to email failed"); a slow one arrives late.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { startFaultProxy, describeCounters, pass, type FaultMode, type FaultProxy } from '../support/fault-proxy';
import { loadConfig } from '../../config/load';
import { Releases } from '../../client/releases';

jest.setTimeout(170_000);

const BASE = 'v1.2.2';
const taskQueue = `degraded-notices-${process.pid}`;
const STAGES = [{ traffic_percent: 25, duration_minutes: 0.1 }, { traffic_percent: 100 }];

let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let smtp: SMTPServer;
const mails: Array<{ to: string[]; at: number; subject: string }> = [];
let proxy: FaultProxy;
let dir: ReturnType<typeof tempDir>;
let worker: Child;
let rel: Releases;

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

beforeAll(async () => {
  dir = tempDir('quad-degraded-notices-');
  smtp = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, session, cb) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), at: Date.now(), subject: /^Subject: (.*)$/m.exec(raw)?.[1] ?? '' });
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  let bundle: string;
  [env, sandbox, bundle, proxy] = await Promise.all([
    localEnv(),
    startSandboxProcess({ serve: { checkout: BASE }, loadRps: 100, loadMaxS: 600 }),
    bundleFile(dir.path),
    startFaultProxy({ port: (smtp.server.address() as AddressInfo).port }),
  ]);
  const sub = join(dir.path, 'cfg');
  mkdirSync(sub);
  const cfg = writeStackConfig(sub, {
    sandboxUrl: sandbox.url,
    address: env.address,
    taskQueue,
    pollIntervalS: 1,
    minRequests: 50,
    stages: STAGES,
    dataDir: sub,
  });
  const doc = JSON.parse(readFileSync(cfg, 'utf8'));
  doc.notifications.email_enabled = true;
  doc.providers.email = { host: '127.0.0.1', port: proxy.port, from: 'Release bot <quad@example.com>', to: ['ops@example.com'] };
  writeFileSync(cfg, JSON.stringify(doc, null, 2));
  worker = await startWorkerProcess({ configFile: cfg, address: env.address, taskQueue, bundle });
  rel = new Releases(env.client, loadConfig(cfg), taskQueue);
});

afterAll(async () => {
  await worker?.stop();
  await proxy?.close();
  await new Promise<void>((r) => smtp?.close(() => r()));
  await sandbox?.stop();
  await env?.teardown();
  dir?.remove();
});

interface Run {
  status: string;
  /** start → the release's result */
  tookMs: number;
  /** start → the router at 100 % (the sandbox change log) */
  fullMs: number;
  mails: typeof mails;
  failed: string[];
  seen: string;
}

async function releaseWith(version: string, mode: FaultMode): Promise<Run> {
  const before = proxy.counters();
  const mailsBefore = mails.length;
  proxy.set(mode);
  try {
    const t0 = Date.now();
    await rel.release({ service: 'checkout', version, requestedBy: 'ana', source: 'cli' });
    const result = await rel.result('checkout');
    const tookMs = Date.now() - t0;
    const full = (await sandbox.changes('checkout')).find((c) => c.version === version && c.percent === 100)!;
    const timeline = (await rel.status('checkout')).timeline;
    const failed = timeline.filter((e) => e.event === 'notice to email failed').map((e) => e.detail ?? '');
    return { status: result.status, tookMs, fullMs: full.at - t0, mails: mails.slice(mailsBefore), failed, seen: describeCounters(proxy.since(before)) };
  } finally {
    proxy.set(pass);
  }
}

let undisturbed: Run;

test('undisturbed: started and succeeded are mailed', async () => {
  undisturbed = await releaseWith('v1.3.0', pass);
  expect(undisturbed.status).toBe('succeeded');
  expect(undisturbed.failed).toEqual([]);
  expect(undisturbed.mails.map((m) => m.subject)).toEqual(['[release] checkout v1.3.0 started by ana', '[release] checkout v1.3.0 is live']);
  console.log(
    `notices undisturbed: ${undisturbed.status} in ${s(undisturbed.tookMs)}, 100 % after ${s(undisturbed.fullMs)}; 2 mails · proxy ${undisturbed.seen}`,
  );
});

const report = (what: string, r: Run) =>
  console.log(
    `notices ${what}: ${r.status} in ${s(r.tookMs)} (${s(r.tookMs - undisturbed.tookMs)} vs undisturbed), 100 % after ${s(r.fullMs)} (${s(r.fullMs - undisturbed.fullMs)} vs undisturbed); ` +
      `${r.mails.length} mails; proxy ${r.seen}\n  recorded: ${r.failed.join('\n  recorded: ') || 'no failure'}`,
  );

test('SMTP down (every connection reset): the release proceeds on time, both notices recorded as failed', async () => {
  const r = await releaseWith('v1.3.2', { kind: 'reset' });
  report('SMTP down', r);
  expect(r.status).toBe('succeeded');
  expect(r.mails).toEqual([]);
  expect(r.failed).toHaveLength(2);
  expect(r.failed[0]).toMatch(/^started: /);
  expect(r.failed[1]).toMatch(/^succeeded: /);
  // on its windows: the rollout does not wait for a notice (generous bound, for a busy box)
  expect(r.fullMs - undisturbed.fullMs).toBeLessThan(10_000);
});

test('SMTP hung (accepts, never greets): the rollout proceeds on time, the notices fail on the greeting timeout', async () => {
  const r = await releaseWith('v1.3.3', { kind: 'drop' });
  report('SMTP hung', r);
  expect(r.status).toBe('succeeded');
  expect(r.mails).toEqual([]);
  expect(r.failed).toHaveLength(2);
  expect(r.failed.join('\n')).toMatch(/greeting|timeout/i);
  expect(r.fullMs - undisturbed.fullMs).toBeLessThan(10_000);
});

test('SMTP slow (each command 1 s late): the mails arrive late, nothing fails, the rollout is on time', async () => {
  const r = await releaseWith('v1.3.4', { kind: 'delay', ms: 1_000 });
  report('SMTP slow', r);
  expect(r.status).toBe('succeeded');
  expect(r.failed).toEqual([]);
  expect(r.mails.map((m) => m.subject)).toEqual(['[release] checkout v1.3.4 started by ana', '[release] checkout v1.3.4 is live']);
  expect(r.fullMs - undisturbed.fullMs).toBeLessThan(10_000);
});
