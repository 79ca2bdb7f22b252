#!/usr/bin/env bash
# Runs every test: installs what is missing first (Node 24, npm packages, the Temporal CLI dev server, the
# time-skipping test server, Chromium, PostgreSQL, moto), type-checks and lints, then one jest run over unit, provider,
# workflow, replay and end-to-end tests. Extra arguments go to jest (e.g. a path to run one file).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/tools.sh node npm temporal test-server chromium postgres moto kubernetes
. scripts/env.sh
mkdir -p .data
echo "[test] node $(node --version), $(temporal --version 2>/dev/null | head -1 || echo 'temporal: SDK download')"
npx tsc --noEmit -p tsconfig.json
# The folder arrows and the code rules (eslint.config.mjs), then the layout (Prettier).
npx eslint .
npx prettier --check . --log-level warn
status=0
# @kubernetes/client-node is ESM-only: jest loads it through its VM modules, which need this flag.
NODE_OPTIONS="--experimental-vm-modules ${NODE_OPTIONS:-}" npx jest --json --outputFile=.data/jest-results.json "$@" || status=$?
# jest's own summary is not a line CI reads; print the plain one: "N passed, N failed, N skipped".
node -e '
  const r = require(process.argv[1]);
  const skipped = r.numPendingTests + r.numTodoTests;
  // a file that failed outside its tests (a hook: e.g. the secrets scan at teardown) counts as one failure
  const fileErrors = r.testResults.filter((t) => t.status === "failed" && !t.assertionResults.some((a) => a.status === "failed"));
  for (const t of fileErrors) console.error(`failed outside its tests: ${t.name}`);
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + fileErrors.length} failed` + (skipped ? `, ${skipped} skipped` : ""));
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
' "$root/.data/jest-results.json" || status=1
exit $status
