// Gates that ask GitHub, end to end: the real release workflow on the dev server, a worker with the real
// activities and providers (GitHub client, sandbox deployer), the GitHub REST fake, and `quad status`
// printing the gate report. A green version is released with each gate's evidence in the timeline; a red
// check, a missing review and a migration without its down-migration each stop a release before any
// traffic moves, saying what they saw.
import { readFileSync, writeFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { workflowBundle } from '../support/release-harness';
import { writeStackConfig, tempDir } from '../support/stack';
import { startGitHubFake, type FakeRepo, type GitHubFake } from '../support/github-fake';
import { startSandbox, type Sandbox } from '../../sandbox/sandbox';
import { loadConfig } from '../../config/load';
import { buildProviders } from '../../activities/providers/factory';
import { createActivities } from '../../activities';
import { Releases } from '../../client/releases';
import { runCli } from '../../client/cli';

jest.setTimeout(60_000);

const TOKEN_ENV = 'QUAD_E2E_GITHUB_TOKEN';
const sha = (n: number) => n.toString(16).padStart(40, 'b');
const taskQueue = `e2e-github-gates-${process.pid}`;

let env: TestWorkflowEnvironment;
let sandbox: Sandbox;
let gh: GitHubFake;
let dir: ReturnType<typeof tempDir>;

const repo = (): FakeRepo => ({
  commits: [sha(1), sha(2), sha(3), sha(4)],
  tags: { 'v1.2.2': sha(1), 'v1.2.3': sha(2), 'v1.2.4': sha(3), 'v1.2.5': sha(4) },
  checkRuns: {
    [sha(2)]: [
      { id: 1, name: 'test', status: 'completed', conclusion: 'success' },
      { id: 2, name: 'bench', status: 'completed', conclusion: 'success' },
    ],
    [sha(3)]: [
      { id: 3, name: 'test', status: 'completed', conclusion: 'failure' },
      { id: 4, name: 'bench', status: 'completed', conclusion: 'success' },
    ],
    [sha(4)]: [
      { id: 5, name: 'test', status: 'completed', conclusion: 'success' },
      { id: 6, name: 'bench', status: 'completed', conclusion: 'success' },
    ],
  },
  pulls: [
    { number: 21, title: 'Cart totals', author: 'ana', commits: [sha(2)], merged: true, reviews: [{ by: 'bob', state: 'APPROVED' }] },
    { number: 22, title: 'Flaky', author: 'ana', commits: [sha(3)], merged: true, reviews: [{ by: 'bob', state: 'APPROVED' }] },
    { number: 23, title: 'Unreviewed', author: 'eve', commits: [sha(4)], merged: true, reviews: [{ by: 'eve', state: 'APPROVED' }] },
  ],
});

beforeAll(async () => {
  dir = tempDir('quad-e2e-gh-');
  [env, gh] = await Promise.all([localEnv(), startGitHubFake({ 'shop/checkout': repo() }), workflowBundle()]);
  sandbox = await startSandbox({ port: 0, adminPort: 0, initial: { checkout: 'v1.2.2' } });
  process.env[TOKEN_ENV] = gh.token;
}, 60_000);
afterAll(async () => {
  delete process.env[TOKEN_ENV];
  await sandbox?.stop();
  await gh?.close();
  await env?.teardown();
  dir?.remove();
});

/** The stack config with these gates and dependencies, GitHub at the fake. */
function config(gates: unknown[], dependencies: unknown[] = []): string {
  const file = writeStackConfig(dir.path, {
    sandboxUrl: sandbox.adminUrl,
    taskQueue,
    address: env.address,
    pollIntervalS: 1,
    minRequests: 1,
    stages: [{ traffic_percent: 100 }],
    dataDir: dir.path,
  });
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  doc.providers.github = { api_url: gh.url, token: `\${${TOKEN_ENV}}` };
  doc.services.checkout = { ...doc.services.checkout, deployer: { type: 'sandbox' }, metrics: { type: 'sandbox' }, gates, dependencies };
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

const GATES = [
  { name: 'tests', kind: 'tests_passed', args: { source: 'github', repo: 'shop/checkout', checks: ['test'] } },
  { name: 'benchmarks', kind: 'benchmarks_ok', args: { source: 'github', repo: 'shop/checkout', checks: ['bench'] } },
  { name: 'code review', kind: 'review_done', args: { source: 'github', repo: 'shop/checkout' } },
  { name: 'rollback plan', kind: 'rollback_plan' },
];
const MIGRATION = { name: 'db migration', kind: 'noop', args: { migration: true } };

async function release(file: string, version: string) {
  const cfg = loadConfig(file);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities(buildProviders(cfg, { root: dir.path })),
  });
  const rel = new Releases(env.client, cfg, taskQueue);
  return worker.runUntil(async () => {
    await rel.release({ service: 'checkout', version, requestedBy: 'ana', source: 'cli' });
    const result = await rel.result('checkout');
    const out: string[] = [];
    await runCli(['status', 'checkout', '--once'], {
      stdout: { write: (s: string) => out.push(s), isTTY: false },
      stderr: { write: (s: string) => out.push(s) },
      releases: rel,
    });
    return { result, status: await rel.status('checkout'), printed: out.join('') };
  });
}

test('green checks, approved pull requests and a declared down-migration: released, each gate with its evidence in quad status', async () => {
  const file = config(GATES, [{ ...MIGRATION, undo: { kind: 'noop' } }]);
  const { result, status, printed } = await release(file, 'v1.2.3');
  expect(result.status).toBe('succeeded');
  const gates = status.timeline.filter((t) => t.event.startsWith('gate')).map((t) => `${t.event}: ${t.detail}`);
  expect(gates).toEqual([
    'gate passed: tests: 1 of 1 required checks green on shop/checkout@bbbbbbb: test ✓',
    'gate passed: benchmarks: 1 of 1 required checks green on shop/checkout@bbbbbbb: bench ✓',
    'gate passed: code review: 1 pull request in shop/checkout v1.2.2...v1.2.3: #21 ✓ bob',
    'gate passed: rollback plan: down-migrations declared for db migration; traffic and flags return to the previous version by themselves',
  ]);
  console.log(`quad status after a release with GitHub gates:\n${printed}`);
  expect(printed).toContain('  gates:\n    ok   tests: 1 of 1 required checks green');
});

test('a red check stops the release before any traffic moves, with the failing run linked', async () => {
  const changesBefore = sandbox.service('checkout')!.changes.length;
  const { result } = await release(config(GATES), 'v1.2.4');
  expect(result.status).toBe('failed');
  expect(result.reason).toBe(
    'gate tests failed: 0 of 1 required checks green on shop/checkout@bbbbbbb: test ✗ failure (https://github.com/shop/checkout/runs/3)',
  );
  expect(sandbox.service('checkout')!.changes.length).toBe(changesBefore);
});

test('a pull request approved only by its author fails the review gate; a migration without its undo fails the rollback plan', async () => {
  const review = await release(config(GATES.slice(2)), 'v1.2.5');
  expect(review.result.status).toBe('failed');
  expect(review.result.reason).toBe(
    'gate code review failed: 2 pull requests in shop/checkout v1.2.3...v1.2.5: #22 ✓ bob, #23 ✗ 0 of 1 approvals (https://github.com/shop/checkout/pull/23)',
  );
  const plan = await release(config(GATES.slice(3), [MIGRATION]), 'v1.2.5');
  expect(plan.result.status).toBe('failed');
  expect(plan.result.reason).toBe(
    'gate rollback plan failed: no way back for db migration: declare an undo (the down-migration) on it, or args.runbook_url for a documented rollback',
  );
  expect(plan.printed).toContain('  gates:\n    FAIL rollback plan: no way back for db migration');
});
