#!/usr/bin/env bash
# The local demo in one command: installs what is missing, starts the Temporal dev server with its Web UI,
# the sandbox (checkout v1.2.2 under load) and the worker, then releases a good version (canary 10 % →
# 50 % → 100 %) and a bad one (8 % errors: rolled back by itself), and prints the Web UI links of both.
# The dev server and its Web UI stay up for you to look; the sandbox and the worker are stopped.
#
#   scripts/demo.sh          run the demo (again: stale demo processes are stopped first)
#   scripts/demo.sh stop     stop everything it started, the dev server included
#   scripts/demo.sh kubernetes   the same two releases on a local Kubernetes control plane (kube-apiserver +
#                            kwok, built into .tools/ on first use, ~12 min cold): see scripts/demo-kubernetes.ts
#
# Settings (env): DEMO_LOAD_RPS (100), DEMO_GOOD (v1.2.4), DEMO_BAD (v1.2.5-bad), DEMO_USER (the first
# approver of checkout in .quad/demo.yml; its signing key is .data/demo-signing-key.pem, trusted under
# security.signers in .quad/demo.yml, so another DEMO_USER needs an entry there). Ports: Temporal
# 127.0.0.1:7233, Web UI :8233 (temporal-dev.yml), sandbox :4100 (.quad/demo.yml), dashboard :3002
# (QUAD_DASHBOARD_PORT). Logs and pid files in .data/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
data="$root/.data"
mkdir -p "$data"
export QUAD_CONFIG="$root/.quad/demo.yml"
SANDBOX_PORT=4100
LOAD_RPS="${DEMO_LOAD_RPS:-100}"
GOOD="${DEMO_GOOD:-v1.2.4}"
BAD="${DEMO_BAD:-v1.2.5-bad}"
BASE=v1.2.2
t0=$(date +%s)

say() { printf '\n\033[1m[demo] %s\033[0m\n' "$*"; }
note() { printf '[demo] %s\n' "$*"; }
elapsed() { echo "$(( $(date +%s) - t0 )) s"; }

# A pid file's process, only if it still is the one we started (pids get reused).
live_pid() { # file pattern
  local pid
  [ -f "$1" ] || return 1
  pid="$(cat "$1")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2" && echo "$pid"
}

# SIGTERM (a clean drain), then SIGKILL after 15 s.
stop_pid() { # name file pattern
  local pid i
  if pid="$(live_pid "$2" "$3")"; then
    note "stopping the $1 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 150); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    [ -d "/proc/$pid" ] && { note "the $1 did not stop in 15 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$2"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_stack() {
  stop_pid dashboard "$data/demo-dashboard.pid" 'client/dashboard/main.ts'
  stop_pid worker "$data/demo-worker.pid" 'worker/main.ts'
  stop_pid sandbox "$data/demo-sandbox.pid" 'sandbox/main.ts'
}

stop_all() {
  stop_stack
  if [ -f "$data/temporal.pid" ]; then
    local pid; pid="$(cat "$data/temporal.pid")"
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'start-dev'; then
      note "stopping the Temporal dev server (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 150); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
      [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$data/temporal.pid"
  fi
  note "stopped (data kept in .data/temporal.sqlite)"
}

# Waits until a log file holds a line matching the pattern, failing early when the process is gone.
wait_for_log() { # name log pattern pidfile procpattern seconds
  local i
  for i in $(seq $(( $6 * 10 ))); do
    grep -q -- "$3" "$2" 2>/dev/null && return 0
    live_pid "$4" "$5" >/dev/null || { note "the $1 exited; the end of $2:"; tail -20 "$2" >&2; return 1; }
    sleep 0.1
  done
  note "the $1 was not up in $6 s; the end of $2:"; tail -20 "$2" >&2; return 1
}

# Reads one field of a JSON document on stdin: json_field status
json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let v=JSON.parse(s);for(const k of process.argv[1].split("."))v=v?.[k];process.stdout.write(String(v??""))})' "$1"; }

if [ "${1:-}" = "kubernetes" ]; then
  say "tools: Node >= 22, the Temporal CLI, npm packages, the Kubernetes control plane (only what is missing)"
  bash scripts/tools.sh node temporal npm kubernetes
  source scripts/env.sh
  tsx scripts/dev-server.ts
  exec tsx scripts/demo-kubernetes.ts
fi

if [ "${1:-}" = "stop" ]; then
  [ -f scripts/env.sh ] && source scripts/env.sh
  stop_all
  exit 0
fi

say "1/6 tools: Node >= 22, the Temporal CLI, npm packages (only what is missing)"
bash scripts/tools.sh node temporal npm
source scripts/env.sh
note "node $(node --version), $(command -v temporal || echo 'temporal: SDK download')  ($(elapsed))"

say "2/6 stale demo processes from an earlier run"
stop_stack
if port_open "$SANDBOX_PORT"; then
  note "port $SANDBOX_PORT is taken by something that is not this demo's sandbox; stop it or free the port"
  exit 2
fi
# from here on, a failure or Ctrl-C stops what we started (the dev server stays: it holds your history)
trap 'status=$?; [ $status -ne 0 ] && note "failed (exit $status); stopping the sandbox and the worker"; stop_stack' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "3/6 the Temporal dev server with its Web UI"
tsx scripts/dev-server.ts
UI="$(node -e 'const y=require("js-yaml");const s=y.load(require("fs").readFileSync("temporal-dev.yml","utf8"));process.stdout.write(`http://${s.ip}:${s.ui_port}`)')"

say "4/6 the sandbox: checkout $BASE on 127.0.0.1:$SANDBOX_PORT with $LOAD_RPS requests/s of load"
# the flag file the config's file flag provider writes (paths in config are relative to the repo root):
# the sandbox applies those flags per user and reports each flag's on / off side
FLAGS_FILE="$(node -e 'const y=require("js-yaml");const c=y.load(require("fs").readFileSync(process.env.QUAD_CONFIG,"utf8"));const p=c.providers?.file_flags?.path;if(p)process.stdout.write(require("path").resolve(p))')"
flag_args=()
[ -n "$FLAGS_FILE" ] && flag_args=(--flags-file "$FLAGS_FILE")
: >"$data/sandbox.log"
nohup node --import tsx sandbox/main.ts --port "$SANDBOX_PORT" --serve "checkout=$BASE" --load-rps "$LOAD_RPS" --load-max-s 3600 \
  ${flag_args[@]+"${flag_args[@]}"} >>"$data/sandbox.log" 2>&1 </dev/null &
echo $! >"$data/demo-sandbox.pid"
wait_for_log sandbox "$data/sandbox.log" '"sandbox":"up"' "$data/demo-sandbox.pid" 'sandbox/main.ts' 30
note "sandbox up (pid $(cat "$data/demo-sandbox.pid")), log .data/sandbox.log"

# releases and rollbacks are asked for by the service's first approver (the workflow checks the list)
USER_NAME="${DEMO_USER:-$(node -e 'const y=require("js-yaml");const c=y.load(require("fs").readFileSync(process.env.QUAD_CONFIG,"utf8"));process.stdout.write(c.services.checkout.approvers?.[0]??"demo")')}"

# Commands are signed, and the workflow checks the signature itself: the demo user's key is made on the
# first run in .data/ (git-ignored); .quad/demo.yml trusts its public half (security.signers.ana).
DEMO_KEY="$data/demo-signing-key.pem"
if [ ! -f "$DEMO_KEY" ]; then
  bin/quad keygen --out "$DEMO_KEY" --name "$USER_NAME" >/dev/null
  note "made the demo's signing key $DEMO_KEY"
fi
bin/quad pubkey --key "$DEMO_KEY" >"$data/demo-signing-key.pub"
export QUAD_SIGNING_KEY="$DEMO_KEY"
# the dashboard signs as its own front end (security.signers.dashboard, front_end: true), for the person it signed in
DASHBOARD_KEY="$data/demo-dashboard-key.pem"
[ -f "$DASHBOARD_KEY" ] || bin/quad keygen --out "$DASHBOARD_KEY" --name dashboard >/dev/null
bin/quad pubkey --key "$DASHBOARD_KEY" >"$data/demo-dashboard-key.pub"

say "5/6 the worker (QUAD_CONFIG=.quad/demo.yml)"
: >"$data/worker.log"
nohup node --import tsx worker/main.ts >>"$data/worker.log" 2>&1 </dev/null &
echo $! >"$data/demo-worker.pid"
wait_for_log worker "$data/worker.log" '\[quad\] worker .*RUNNING' "$data/demo-worker.pid" 'worker/main.ts' 120
note "worker up (pid $(cat "$data/demo-worker.pid")), log .data/worker.log  ($(elapsed))"

# The dashboard (client/dashboard/), signed in as the demo user through a one-time link; it runs until the demo ends.
DASHBOARD_PORT="${QUAD_DASHBOARD_PORT:-3002}"
dashboard_link=""
if port_open "$DASHBOARD_PORT"; then
  note "port $DASHBOARD_PORT is taken: no dashboard this time (set QUAD_DASHBOARD_PORT to another port)"
else
  : >"$data/dashboard.log"
  QUAD_DASHBOARD_SIGNING_KEY="$DASHBOARD_KEY" QUAD_DASHBOARD_USER="$USER_NAME" QUAD_DASHBOARD_PORT="$DASHBOARD_PORT" \
    nohup node --import tsx client/dashboard/main.ts >>"$data/dashboard.log" 2>&1 </dev/null &
  echo $! >"$data/demo-dashboard.pid"
  wait_for_log dashboard "$data/dashboard.log" '/login?token=' "$data/demo-dashboard.pid" 'client/dashboard/main.ts' 30
  dashboard_link="$(grep -o 'http://[^ ]*/login?token=[A-Za-z0-9_-]*' "$data/dashboard.log" | tail -1)"
  note "the dashboard, live while the releases run (a one-time link that signs you in as $USER_NAME):"
  note "  $dashboard_link"
fi

# A release a previous, interrupted demo left running would refuse ours: roll it back first.
release_status() { bin/quad status checkout --json 2>/dev/null | json_field status 2>/dev/null || true; }
if [ "$(release_status)" = "running" ]; then
  note "a release of checkout from an earlier run is still running: rolling it back"
  bin/quad rollback checkout --by "$USER_NAME" --reason 'an earlier demo was interrupted' || true
  timeout 60 bin/quad status checkout >/dev/null 2>&1 || true # follows it until it is done
fi

link_of_last_release() { bin/quad list --service checkout --limit 1 --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s)[0]?.url??""))'; }

say "6/6 releases"
note "a good version: $GOOD (canary 10 % → 50 % → 100 %, 30 s windows)"
set +e
bin/quad release "$GOOD" --by "$USER_NAME" --reason 'the demo: a good version' --wait
good_exit=$?
set -e
[ "$good_exit" -lt 128 ] || exit "$good_exit" # interrupted
good_link="$(link_of_last_release)"
[ "$good_exit" -eq 0 ] || { note "expected $GOOD to be released (exit 0), got exit $good_exit"; exit 1; }

note "a bad version: $BAD (the sandbox makes it fail 8 % of its requests)"
set +e
bin/quad release "$BAD" --by "$USER_NAME" --reason 'the demo: a bad version' --wait
bad_exit=$?
set -e
[ "$bad_exit" -lt 128 ] || exit "$bad_exit"
bad_link="$(link_of_last_release)"
[ "$bad_exit" -eq 1 ] || { note "expected $BAD to be rolled back (exit 1), got exit $bad_exit"; exit 1; }
serving="$(curl -fsS "http://127.0.0.1:$SANDBOX_PORT/admin/services/checkout/traffic" | json_field percent)"
note "the router now sends $serving % of checkout traffic to $BAD: $GOOD serves everything"

stop_stack
trap - EXIT
say "done in $(elapsed)"
cat <<EOF
  $GOOD released:     $good_link
  $BAD rolled back: $bad_link
${dashboard_link:+  the dashboard ran at ${dashboard_link%%/login*}/ while they ran; it stopped with the worker
}  all releases of checkout: $UI/namespaces/default/workflows?query=QuadService%3D%22checkout%22
  only rolled-back ones:    $UI/namespaces/default/workflows?query=QuadService%3D%22checkout%22%20AND%20QuadStatus%3D%22rolled_back%22

  The Temporal dev server and its Web UI keep running ($UI); the sandbox and the worker are stopped.
  Stop it:  scripts/demo.sh stop
EOF
