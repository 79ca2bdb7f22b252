// The clients name workflows through type-only imports of workflows/: starts, results and schedule actions
// are type-checked against the workflow functions, and no workflow code is loaded in a client process.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../test/support/temporal-servers';

test('loading the CLI, the Slack app and the Jira webhook loads nothing from workflows/', async () => {
  const probe = [
    "for (const m of ['./client/cli', './client/slack/app', './client/jira/webhook', './client/schedules']) require(m);",
    'const loaded = Object.keys(require.cache);',
    `console.log(JSON.stringify({ total: loaded.length, workflows: loaded.filter((f) => f.startsWith(${JSON.stringify(join(ROOT, 'workflows') + '/')})) }));`,
  ].join('\n');
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', '-e', probe], { cwd: ROOT, timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
  const { total, workflows } = JSON.parse(out) as { total: number; workflows: string[] };
  expect(total).toBeGreaterThan(50); // the probe did load the clients
  expect(workflows).toEqual([]);
});
