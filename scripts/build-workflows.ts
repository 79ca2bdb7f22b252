// Prebuilds the workflow bundle the worker loads (.data/workflow-bundle.js): a worker then starts in
// milliseconds instead of bundling with webpack on every start.
import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..');
void bundleWorkflowCode({ workflowsPath: join(root, 'workflows', 'index.ts') }).then(({ code }) => {
  mkdirSync(join(root, '.data'), { recursive: true });
  const out = process.env.QUAD_WORKFLOW_BUNDLE ?? join(root, '.data', 'workflow-bundle.js');
  writeFileSync(out, code);
  process.stdout.write(`workflow bundle: ${out} (${Math.round(code.length / 1024)} KiB)\n`);
});
