// `quad config check --live`: a worker (holding the credentials) runs every service's deployer check
// and the CLI prints them, exit 1 when one fails. Real parts: the dev server, a worker with the real
// activities and providers, a real sandbox, a command deployer whose program is missing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../test/support/temporal-env';
import { workflowBundle } from '../test/support/release-harness';
import { parseConfig } from '../config/load';
import { buildProviders } from '../activities/providers/factory';
import { createActivities } from '../activities';
import { startSandbox, type Sandbox } from '../sandbox/sandbox';
import { Releases } from './releases';
import { runCli } from './cli';

let env: TestWorkflowEnvironment;
let sandbox: Sandbox;
let dir: string;
const taskQueue = `live-check-${process.pid}`;

beforeAll(async () => {
  [env] = await Promise.all([localEnv(), workflowBundle()]);
  sandbox = await startSandbox({ port: 0, adminPort: 0 });
  dir = mkdtempSync(join(tmpdir(), 'quad-live-'));
}, 60_000);
afterAll(async () => {
  await sandbox?.stop();
  await env?.teardown();
  rmSync(dir, { recursive: true, force: true });
});

async function check(yaml: string) {
  const file = join(dir, `quad-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(file, yaml);
  const cfg = parseConfig(yaml, file);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities(buildProviders(cfg, { root: dir })),
  });
  const out: string[] = [];
  const code = await worker.runUntil(
    runCli(['config', 'check', '--live', '-f', file], {
      stdout: { write: (s: string) => out.push(s), isTTY: false },
      stderr: { write: (s: string) => out.push(s) },
      releases: new Releases(env.client, cfg, taskQueue),
    }),
  );
  return { code, out: out.join('') };
}

test('every deployer reachable: exit 0, each check printed', async () => {
  const { code, out } = await check(`services:\n  shop:\n    deployer: { type: sandbox, url: "${sandbox.adminUrl}" }\n`);
  expect(out).toContain(`ok   shop (sandbox): reach the sandbox for shop: ${sandbox.adminUrl}`);
  expect(code).toBe(0);
});

test('a deployer that cannot act is named with what to fix: exit 1', async () => {
  const missing = join(dir, 'deploy.sh');
  const { code, out } = await check(
    [
      'services:',
      '  shop:',
      `    deployer: { type: sandbox, url: "${sandbox.adminUrl}" }`,
      '  api:',
      `    deployer: { type: command, command: ["${missing}", "\${percent}"] }`,
    ].join('\n'),
  );
  expect(out).toContain(`FAIL api (command): run ${missing} for api: ${missing} is missing or not executable on this worker`);
  expect(out).toContain('ok   shop (sandbox)');
  expect(code).toBe(1);
});
