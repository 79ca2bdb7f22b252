// The arrows between folders are a check, not a comment: the repo's own ESLint config, run on probe
// sources placed (in memory) in each folder, refuses every import that crosses the wrong way and accepts
// the ones that are allowed.
import { execFileSync } from 'node:child_process';
import { ROOT } from '../support/temporal-servers';

// ESLint loads its config with a dynamic import, which jest's module sandbox refuses, so the probes are
// linted by the ESLint API in one plain node process. Type-aware rules need files on disk; the import
// rules do not, so the probes are linted without them.
const LINT_PROBES = `
const { ESLint } = require('eslint');
const probes = JSON.parse(process.argv[1]);
const eslint = new ESLint({
  cwd: process.cwd(),
  overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parserOptions: { projectService: false } }, rules: { '@typescript-eslint/no-floating-promises': 'off' } }],
});
(async () => {
  const out = [];
  for (const [file, code] of probes) {
    const [r] = await eslint.lintText(code, { filePath: require('node:path').join(process.cwd(), file) });
    out.push(r.messages.map((m) => m.ruleId || m.message));
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`;

const BOUNDARY_RULES = new Set(['import-x/no-restricted-paths', 'no-restricted-imports', '@typescript-eslint/no-restricted-imports']);

function lintProbes(probes: [string, string][]): string[][] {
  const out = execFileSync(process.execPath, ['-e', LINT_PROBES, JSON.stringify(probes)], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return (JSON.parse(out) as string[][]).map((ids) => ids.filter((id) => BOUNDARY_RULES.has(id)));
}

const refused: [string, string][] = [
  ['workflows/release/probe.ts', "import { createActivities } from '../../activities';\nvoid createActivities;"],
  ['workflows/release/probe.ts', "import { loadConfig } from '../../config/load';\nvoid loadConfig;"],
  ['workflows/release/probe.ts', "import { readFileSync } from 'node:fs';\nvoid readFileSync;"],
  ['workflows/release/probe.ts', "import { Client } from '@temporalio/client';\nvoid Client;"],
  ['judge/probe.ts', "import { randomInt } from 'node:crypto';\nvoid randomInt;"],
  ['judge/probe.ts', "import { releaseWorkflow } from '../workflows';\nvoid releaseWorkflow;"],
  ['contract/probe.ts', "import { fanOutNotice } from '../activities';\nvoid fanOutNotice;"],
  ['activities/probe.ts', "import { Releases } from '../client/releases';\nvoid Releases;"],
  ['client/probe.ts', "import { createActivities } from '../activities';\nvoid createActivities;"],
  ['client/probe.ts', "import { releaseWorkflow } from '../workflows';\nvoid releaseWorkflow;"],
  ['render/probe.ts', "import { Releases } from '../client/releases';\nvoid Releases;"],
];

const allowed: [string, string][] = [
  [
    'workflows/release/probe.ts',
    "import * as wf from '@temporalio/workflow';\nimport { judgeWindow } from '../../judge';\nimport type { ReleasePlan } from '../../contract/plan';\nexport const x = (p: ReleasePlan) => [wf, judgeWindow, p];",
  ],
  [
    'activities/probe.ts',
    "import { judgeWindow } from '../judge';\nimport { releaseBlocks } from '../render/slack-blocks';\nexport const x = [judgeWindow, releaseBlocks];",
  ],
  [
    'client/probe.ts',
    "import type { releaseWorkflow } from '../workflows';\nimport { releaseBlocks } from '../render/slack-blocks';\nexport type X = typeof releaseWorkflow;\nexport const y = releaseBlocks;",
  ],
  [
    'worker/probe.ts',
    "import { createActivities } from '../activities';\nimport { connectionOptions } from '../temporal/connection';\nexport const x = [createActivities, connectionOptions];",
  ],
];

test('the lint refuses every import that crosses the wrong way, and accepts the allowed ones', () => {
  const results = lintProbes([...refused, ...allowed]);
  const verdicts = [...refused, ...allowed].map(([file, code], i) => `${file}: ${code.split('\n')[0]} → ${results[i].length ? 'refused' : 'allowed'}`);
  expect(verdicts).toEqual([
    ...refused.map(([file, code]) => `${file}: ${code.split('\n')[0]} → refused`),
    ...allowed.map(([file, code]) => `${file}: ${code.split('\n')[0]} → allowed`),
  ]);
}, 90_000);
