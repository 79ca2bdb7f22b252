// npm run test:chaos [-- --full] [--seed N]: the chaos run (test/chaos/run.ts), CI
// size by default, the full size (>= 100 releases, >= 100 kills) with --full or CHAOS_FULL=1.
// Kills land at any moment (no step is spared). Prints a line per release and per kill, and the summary line last. Exit 1 when a release ended wrong, a split was applied twice,
// a release is stuck or an undo did not finish.
import { parseArgs } from 'node:util';
import { runChaos } from './run';
import { CI_SIZE, FULL_SIZE } from './sizes';

async function main() {
  const { values } = parseArgs({
    options: { full: { type: 'boolean', default: false }, seed: { type: 'string' } },
  });
  const full = values.full || process.env.CHAOS_FULL === '1';
  const seed = values.seed !== undefined ? Number(values.seed) : Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
  if (!Number.isInteger(seed) || seed < 0) throw new Error('--seed wants a whole number >= 0');
  const size = full ? FULL_SIZE : CI_SIZE;
  const r = await runChaos({ ...size, seed });
  process.stdout.write(
    `took ${(r.tookMs / 1000).toFixed(0)} s, seed ${r.seed}, kills ${r.kills.length} (${r.kills.filter((k) => k.hit).length} at their moment)\n`,
  );
  process.stdout.write(r.summary + '\n');
  const bad = r.correct !== r.releases || r.doubleApplied || r.stuck || r.undoUnfinished;
  process.exit(bad ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`chaos: ${(err as Error).stack ?? err}\n`);
  process.exit(2);
});
