#!/usr/bin/env bash
# One release from a CI pipeline: `quad release <version> --wait --json`, its outcome written as outputs.
# Shared by the GitHub Action (action.yml) and the GitLab CI template (ci/quad-release.gitlab-ci.yml).
#
# In (env): QUAD_VERSION (required), QUAD_SERVICE, QUAD_STRATEGY, QUAD_REASON, QUAD_BY, QUAD_REQUEST_ID (a
# retried job passes the same one and gets the release it started, never a second), QUAD_BIN (default: this
# repo's bin/quad), and the CLI's own settings (QUAD_CONFIG, TEMPORAL_ADDRESS, QUAD_SIGNING_KEY, ...).
# Out: status, workflow_id, run_id, url as key=value lines appended to QUAD_OUTPUT_FILE (GitHub's
# $GITHUB_OUTPUT, or a dotenv report for GitLab); the JSON document on stdout. Exit 0 released, 1 not
# released (rolled back, failed, rejected), 2 refused (bad input, not allowed).
# Every input reaches quad as one argument: nothing here is ever evaluated by a shell.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
quad="${QUAD_BIN:-$here/bin/quad}"
: "${QUAD_VERSION:?QUAD_VERSION (the version to release) is required}"
: "${QUAD_OUTPUT_FILE:?QUAD_OUTPUT_FILE (where the outputs go) is required}"

args=(release "$QUAD_VERSION" --wait --json)
[ -n "${QUAD_SERVICE:-}" ] && args+=(--service "$QUAD_SERVICE")
[ -n "${QUAD_STRATEGY:-}" ] && args+=(--strategy "$QUAD_STRATEGY")
[ -n "${QUAD_REASON:-}" ] && args+=(--reason "$QUAD_REASON")
[ -n "${QUAD_BY:-}" ] && args+=(--by "$QUAD_BY")
[ -n "${QUAD_REQUEST_ID:-}" ] && args+=(--request-id "$QUAD_REQUEST_ID")

set +e
out="$("$quad" "${args[@]}")"
code=$?
set -e
printf '%s\n' "$out"

# the outputs, each checked to be one safe line before it is written (an output file is parsed by the CI system)
field() { # path in the JSON document
  printf '%s' "$out" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      let v; try { v = JSON.parse(s); } catch { process.exit(0); }
      for (const k of process.argv[1].split(".")) v = v?.[k];
      if (typeof v === "string" && /^[A-Za-z0-9:/._%?=&#-]{1,500}$/.test(v)) process.stdout.write(v);
    });' "$1"
}
status="$(field result.status)"
[ -n "$status" ] || status="$(field status.status)"
[ -n "$status" ] || status="refused"
{
  printf 'status=%s\n' "$status"
  printf 'workflow_id=%s\n' "$(field workflowId)"
  printf 'run_id=%s\n' "$(field runId)"
  printf 'url=%s\n' "$(field url)"
} >>"$QUAD_OUTPUT_FILE"
exit "$code"
