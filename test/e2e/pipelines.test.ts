// The GitHub Action (action.yml) and the GitLab CI template (ci/quad-release.gitlab-ci.yml), run as their
// CI systems run them: the action's release step with its `${{ }}` expressions evaluated and
// GITHUB_OUTPUT / GITHUB_ACTION_PATH set, the template's script lines in one bash with GitLab's CI_*
// variables. Against the dev server, a real worker and the sandbox under load: a good version exits 0
// with status=succeeded, a bad one exits 1 with status=rolled_back, a re-run of the same job starts
// nothing new, and a hostile version reaches quad as one argument (exit 2, nothing started).
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv } from '../support/temporal-env';
import { ROOT } from '../support/temporal-servers';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';

jest.setTimeout(120_000);

const taskQueue = `e2e-pipelines-${process.pid}`;
let env: TestWorkflowEnvironment;
let sandbox: SandboxProcess;
let worker: Child;
let dir: ReturnType<typeof tempDir>;
let configFile: string;

beforeAll(async () => {
  dir = tempDir('quad-e2e-ci-');
  let bundle: string;
  [env, sandbox, bundle] = await Promise.all([
    localEnv(),
    startSandboxProcess({ serve: { checkout: 'v1.2.2' }, loadRps: 100, loadMaxS: 600 }),
    bundleFile(dir.path),
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
  worker = await startWorkerProcess({ configFile, address: env.address, taskQueue, bundle });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await sandbox?.stop();
  await env?.teardown();
  dir?.remove();
});

function bash(script: string, vars: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-eo', 'pipefail', '-c', script],
      { cwd: dir.path, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...vars }, timeout: 100_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as NodeJS.ErrnoException).code ?? -1) : 0, stdout, stderr });
      },
    );
  });
}

const quadEnv = () => ({ TEMPORAL_ADDRESS: env.address, TEMPORAL_TASK_QUEUE: taskQueue });

/** GitHub's `${{ inputs.x }}`, `${{ github.x }}` substitution for the values the step uses. */
function evaluate(value: string, ctx: { inputs: Record<string, string>; github: Record<string, string> }): string {
  return value.replace(/\$\{\{\s*(inputs|github)\.([a-z_-]+)\s*\}\}/g, (_, scope: 'inputs' | 'github', key: string) => ctx[scope][key] ?? '');
}

interface ActionStep {
  id?: string;
  run?: string;
  env?: Record<string, string>;
}

/** Runs action.yml's release step for `inputs`, as the runner does; returns the exit code and GITHUB_OUTPUT's pairs. */
async function runAction(inputs: Record<string, string>, run = { id: '7001', job: 'release' }) {
  const action = yaml.load(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as { inputs: Record<string, { default?: string }>; runs: { steps: ActionStep[] } };
  const withDefaults = Object.fromEntries(Object.entries(action.inputs).map(([k, v]) => [k, inputs[k] ?? v.default ?? '']));
  const output = join(dir.path, `github-output-${Math.random().toString(36).slice(2)}`);
  writeFileSync(output, '');
  const github = { action_path: ROOT, output, actor: 'ana', repository_id: '123456', run_id: run.id, job: run.job };
  const step = action.runs.steps.find((s) => s.id === 'release')!;
  const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, evaluate(String(v), { inputs: withDefaults, github })]));
  const r = await bash(step.run!, { ...quadEnv(), ...stepEnv, GITHUB_ACTION_PATH: ROOT, GITHUB_OUTPUT: output });
  const outputs = Object.fromEntries(
    readFileSync(output, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { ...r, outputs };
}

test('GitHub Action: a good version exits 0 with status=succeeded and the release’s link; the same job re-run starts nothing new', async () => {
  const first = await runAction({ service: 'checkout', version: 'v1.3.0', config: configFile, reason: 'ci: tag v1.3.0' });
  if (first.code !== 0) console.log(first.stdout, first.stderr);
  expect(first.code).toBe(0);
  expect(first.outputs).toMatchObject({ status: 'succeeded', workflow_id: 'release:checkout' });
  expect(first.outputs.url).toMatch(/\/namespaces\/default\/workflows\/release%3Acheckout\//);
  const rerun = await runAction({ service: 'checkout', version: 'v1.3.0', config: configFile });
  expect(rerun.code).toBe(0);
  expect(rerun.outputs).toEqual(first.outputs);
  const runs = [];
  for await (const w of env.client.workflow.list({ query: `WorkflowId = "release:checkout" AND QuadVersion = "v1.3.0"` })) runs.push(w.runId);
  expect(runs).toHaveLength(1);
});

test('GitHub Action: a bad version exits 1 with status=rolled_back; a hostile version is one argument, refused (exit 2)', async () => {
  const bad = await runAction({ service: 'checkout', version: 'v1.3.1-bad', config: configFile }, { id: '7002', job: 'release' });
  expect(bad.code).toBe(1);
  expect(bad.outputs.status).toBe('rolled_back');
  const hostile = await runAction({ service: 'checkout', version: 'v1.3.2"; touch pwned; echo "', config: configFile }, { id: '7003', job: 'release' });
  expect(hostile.code).toBe(2);
  expect(hostile.outputs.status).toBe('refused');
  expect(() => readFileSync(join(dir.path, 'pwned'))).toThrow();
});

test('GitLab CI template: the script lines release a good version (exit 0) and write the dotenv report', async () => {
  const tpl = yaml.load(readFileSync(join(ROOT, 'ci', 'quad-release.gitlab-ci.yml'), 'utf8')) as Record<
    string,
    { variables: Record<string, string>; script: string[] }
  >;
  const job = tpl['.quad-release'];
  const r = await bash(job.script.join('\n'), {
    ...quadEnv(),
    ...job.variables,
    QUAD_HOME: ROOT,
    QUAD_CONFIG: configFile,
    QUAD_SERVICE: 'checkout',
    QUAD_VERSION: 'v1.3.3',
    CI_PROJECT_DIR: dir.path,
    CI_PROJECT_ID: '42',
    CI_PIPELINE_ID: '9001',
    CI_JOB_NAME_SLUG: 'release-checkout',
    GITLAB_USER_LOGIN: 'ana',
  });
  if (r.code !== 0) console.log(r.stdout, r.stderr);
  expect(r.code).toBe(0);
  const dotenv = readFileSync(join(dir.path, 'quad-release.env'), 'utf8');
  expect(dotenv).toMatch(/^QUAD_STATUS=succeeded\nQUAD_WORKFLOW_ID=release:checkout\nQUAD_RUN_ID=[0-9a-f-]{36}\nQUAD_URL=http/);
});
