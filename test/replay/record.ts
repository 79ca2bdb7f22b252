// Re-records the replay histories: `npm run replay:record` (all) or `npm run replay:record -- <name>...`.
// Runs each scenario on the time-skipping test server, writes its history as the standard history JSON
// (the same form `temporal workflow show --output json` and the Web UI download give), then replays
// every written file against workflows/ to prove it loads back.
import '../support/quiet-runtime';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from './history-json';
import { timeSkippingEnv } from '../support/temporal-env';
import { workflowBundle } from '../support/release-harness';
import { SCENARIOS, runScenario } from './scenarios';
import { HISTORY_DIR, loadHistories, replayAll } from './histories';

async function main() {
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const chosen = only.length ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;
  mkdirSync(HISTORY_DIR, { recursive: true });
  const [env, bundle] = await Promise.all([timeSkippingEnv(), workflowBundle()]);
  try {
    for (const sc of chosen) {
      const t0 = Date.now();
      const history = await runScenario(env, sc);
      writeFileSync(join(HISTORY_DIR, `${sc.name}.json`), historyToJSON(history) + '\n');
      console.log(`recorded ${sc.name}: ${history.events?.length ?? 0} events, ${Date.now() - t0} ms`);
    }
  } finally {
    await env.teardown();
  }
  const results = await replayAll({ workflowBundle: bundle }, loadHistories(chosen.map((s) => s.name)));
  const bad = results.filter((r) => r.error);
  for (const r of results) console.log(`replayed ${r.name}: ${r.error ? `FAILED ${r.error.name}: ${r.error.message}` : 'ok'}`);
  if (bad.length) throw new Error(`${bad.length} recorded histories do not replay`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
