// Replay: every recorded release history (test/replay/histories, re-recorded by `npm run replay:record`,
// and test/replay/legacy, recorded by earlier workflow versions and kept)
// must replay against today's workflows/ without a nondeterminism error. And the check must bite: the
// same histories against a copy of workflows/ with one unversioned change to the commands the workflow
// issues must fail replay, while a copy changed only in non-command state must still pass (so the
// failure comes from the change, not from the copying).
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { ROOT } from '../support/temporal-servers';
import { loadHistories, loadLegacyHistories, replayAll, type StoredHistory } from './histories';
import { SCENARIOS } from './scenarios';

// Inside the repo so webpack finds node_modules by walking up; .data/ is git-ignored.
const MUTANTS = join(ROOT, '.data', 'replay-mutant');
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

interface Edit {
  /** the file under workflows/ to edit */
  file: string;
  find: string;
  replace: string;
}

/** Replaces `find` exactly once in the source: if the workflow moved on and the text is gone, say so. */
function applyEdit(source: string, { file, find, replace }: Edit): string {
  const at = source.indexOf(find);
  if (at < 0 || source.indexOf(find, at + 1) >= 0) {
    throw new Error(`mutation anchor must occur exactly once in workflows/${file}; update this test: ${JSON.stringify(find)}`);
  }
  return source.slice(0, at) + replace + source.slice(at + find.length);
}

/** Every .ts file under `dir`, test files aside, as paths relative to it. */
function sources(dir: string, sub = ''): string[] {
  return readdirSync(join(dir, sub), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(dir, join(sub, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(sub, e.name)] : [],
  );
}

/** Copies workflows/ to .data/replay-mutant/<name>/workflows/, applies the edits and bundles the copy. */
async function bundleVariant(name: string, edits: Edit[]): Promise<WorkflowBundleWithSourceMap> {
  const from = join(ROOT, 'workflows');
  const dir = join(MUTANTS, name, 'workflows');
  rmSync(dir, { recursive: true, force: true });
  for (const f of sources(from)) {
    // Imports that leave workflows/ point back at the repo, so the copy needs nothing else copied.
    const src = readFileSync(join(from, f), 'utf8').replace(/from '(\.\.?\/[^']*)'/g, (m, spec: string) => {
      const target = resolve(dirname(join(from, f)), spec);
      return target.startsWith(from + sep) ? m : `from '${target}'`;
    });
    const edited = edits.filter((e) => e.file === f).reduce(applyEdit, src);
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), edited);
  }
  const missing = edits.filter((e) => !sources(from).includes(e.file));
  if (missing.length) throw new Error(`no workflows/${missing[0].file} to edit; update this test`);
  return bundleWorkflowCode({ workflowsPath: join(dir, 'index.ts'), logger: quiet });
}

let current: StoredHistory[];
/** today's recordings and every legacy one: the mutants must fail, and today's code pass, on all */
let histories: StoredHistory[];
let original: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  current = loadHistories();
  histories = [...current, ...loadLegacyHistories()];
  original = await bundleWorkflowCode({ workflowsPath: join(ROOT, 'workflows', 'index.ts'), logger: quiet });
}, 120_000);
afterAll(() => rmSync(MUTANTS, { recursive: true, force: true }));

test('every scenario the recorder knows has a recorded history, and nothing else is there', () => {
  expect(current.map((h) => h.name).sort()).toEqual(SCENARIOS.map((s) => s.name).sort());
});

test('there are legacy histories, recorded before the release workflow took its phases (patched() paths)', () => {
  expect(histories.length - current.length).toBeGreaterThanOrEqual(10);
  expect(histories.filter((h) => h.name.startsWith('before-signed-commands/'))).toHaveLength(SCENARIOS.length);
});

test("every recorded history, today's and legacy, replays against workflows/ without nondeterminism", async () => {
  const results = await replayAll({ workflowBundle: original }, histories);
  expect(results.map((r) => r.name)).toEqual(histories.map((h) => h.name));
  // name → error message, so a failure says which history and why
  expect(Object.fromEntries(results.map((r) => [r.name, r.error ? `${r.error.name}: ${r.error.message}` : 'ok']))).toEqual(
    Object.fromEntries(histories.map((h) => [h.name, 'ok'])),
  );
}, 60_000);

test('a copy changed only in non-command state (a timeline label) still replays: the copying itself is sound', async () => {
  const bundle = await bundleVariant('benign', [{ file: 'release/index.ts', find: "'requested',", replace: "'release requested'," }]);
  const results = await replayAll({ workflowBundle: bundle }, histories);
  expect(results.filter((r) => r.error).map((r) => `${r.name}: ${r.error?.message}`)).toEqual([]);
}, 120_000);

test.each([
  {
    change: 'an extra activity call before anything else (a new, unversioned step)',
    edits: [
      { file: 'release/index.ts', find: "import { checks } from './activities';", replace: "import { checks, world } from './activities';" },
      {
        file: 'release/index.ts',
        find: 'const rollout = async () => {',
        replace: "const rollout = async () => {\n    await world.servingVersion.executeWithOptions({ summary: 'mutant: a new step' }, [release.target()]);",
      },
    ],
  },
  {
    change: 'a settle timer inserted before each traffic shift',
    edits: [
      {
        file: 'release/rollout.ts',
        find: 'import type { StageAction, StagePlan }',
        replace: "import { sleep } from '@temporalio/workflow';\nimport type { StageAction, StagePlan }",
      },
      {
        file: 'release/rollout.ts',
        find: '  await shift(release, stage.action, stage.name);',
        replace: "  await sleep('1s');\n  await shift(release, stage.action, stage.name);",
      },
    ],
  },
])(
  'replay bites: $change fails every history with a DeterminismViolationError',
  async ({ change, edits }) => {
    const bundle = await bundleVariant(change.replace(/\W+/g, '-').slice(0, 40), edits);
    const results = await replayAll({ workflowBundle: bundle }, histories);
    expect(results).toHaveLength(histories.length);
    for (const r of results) {
      expect({ name: r.name, error: r.error?.name }).toEqual({ name: r.name, error: 'DeterminismViolationError' });
      expect(r.error).toBeInstanceOf(DeterminismViolationError);
    }
  },
  120_000,
);

test('patched() is what keeps the legacy histories green: without it, exactly the ones through the changed path fail', async () => {
  // recorded before that patch existed (a history that has its marker needs the patched() call too)
  const legacy = histories.filter((h) => h.name.startsWith('before-phases/'));
  const bundle = await bundleVariant('unpatched', [{ file: 'release/rollout.ts', find: "wf.patched('previous-checks-pass')", replace: 'true' }]);
  const results = await replayAll({ workflowBundle: bundle }, legacy);
  // only that release resumed a stage after INCONCLUSIVE before one with all_previous_checks_pass
  expect(results.filter((r) => r.error).map((r) => `${r.name}: ${r.error?.name}`)).toEqual([
    'before-phases/inconclusive-extend-pause-resume: DeterminismViolationError',
  ]);
}, 120_000);

test("patched('signed-commands') keeps the runs that took unsigned commands replaying as they ran", async () => {
  const legacy = histories.filter((h) => h.name.startsWith('before-signed-commands/'));
  const bundle = await bundleVariant('unsigned-unpatched', [{ file: 'release/handlers.ts', find: "wf.patched('signed-commands')", replace: 'true' }]);
  const results = await replayAll({ workflowBundle: bundle }, legacy);
  // exactly the runs where an unsigned command was accepted: today's rules would refuse it, and the run diverge
  expect(results.filter((r) => r.error).map((r) => `${r.name}: ${r.error?.name}`)).toEqual([
    'before-signed-commands/approval-rejected: DeterminismViolationError',
    'before-signed-commands/flag-ramp-success: DeterminismViolationError',
    'before-signed-commands/inconclusive-resume-held-promote: DeterminismViolationError',
    'before-signed-commands/manual-rollback-signal: DeterminismViolationError',
    'before-signed-commands/success-through-approval: DeterminismViolationError',
  ]);
}, 120_000);
