#!/usr/bin/env bash
# Builds the test control plane from the Go module proxy and caches it per version:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl  (k8s.io/kubernetes)
#   etcd (go.etcd.io/etcd/server/v3), kwok (sigs.k8s.io/kwok), helm (helm.sh/helm/v4)
#   chart-check (testbed/chart-check, on github.com/prometheus/prometheus): YAML and PromQL parsing for the chart tests
# Nothing here can be downloaded as a release binary, so each is compiled; a cold build takes
# tens of minutes on 2 cores, a warm one returns at once.
#
# Output: prints the cache folder holding every binary on the last line of stdout.
# Env: CRO_TESTBED_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/config-reload-operator/testbed)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache="${CRO_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/config-reload-operator/testbed}"
bin="$cache/bin"
mkdir -p "$bin"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

log() { echo "[testbed $(date +%H:%M:%S)] $*" >&2; }
command -v go >/dev/null || { log "error: Go is required to build the control plane (or set KUBEBUILDER_ASSETS)"; exit 1; }

# Progress: a heartbeat while the Go toolchain is silent for minutes.
heartbeat() {
  local what="$1" start=$SECONDS
  while sleep 30; do log "still building $what ($((SECONDS - start))s)"; done
}
with_heartbeat() {
  local what="$1"; shift
  heartbeat "$what" & local hb=$!
  local rc=0
  "$@" || rc=$?
  kill "$hb" 2>/dev/null; wait "$hb" 2>/dev/null || true
  return $rc
}

stamp_ok() { [[ -f "$bin/.$1.version" && "$(cat "$bin/.$1.version")" == "$2" ]]; }

build_kube() {
  stamp_ok kube "$KUBE_VERSION" && return 0
  local v="$KUBE_VERSION" minor staging mod work
  minor="${v#v1.}"; minor="${minor%%.*}"; staging="v0.${v#v1.}"
  work="$cache/src/kube-$v"; rm -rf "$work"; mkdir -p "$work"
  log "building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl $v (cold: ~20-40 min on 2 cores)"
  mod="$(go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  {
    echo "module cro.local/kube-builder"
    echo; echo "go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')"
    echo; echo "require k8s.io/kubernetes $v"
    echo; echo "replace ("
    # Every "=> ./staging/..." line of that version's go.mod, pointed at the published tag.
    # Modules not published at that tag (sample-cli-plugin) are not needed by these commands.
    grep -E '=> \./staging/' "$mod" | awk '{print $1}' | while read -r m; do
      if go mod download "$m@$staging" >/dev/null 2>&1; then echo "	$m => $m $staging"; fi
    done
    echo ")"
  } > "$work/go.mod"
  local pkgs=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
              k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
  (cd "$work" && go get "${pkgs[@]/%/@$v}" >&2 2>&1 | tail -3 >&2 || true)
  local ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    ld+=" -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$work" && with_heartbeat "kubernetes $v" go build -trimpath -ldflags "$ld" -o "$bin/" "${pkgs[@]}")
  echo "$v" > "$bin/.kube.version"
  log "kubernetes $v built"
}

build_etcd() {
  stamp_ok etcd "$ETCD_VERSION" && return 0
  local v="$ETCD_VERSION" work="$cache/src/etcd-$ETCD_VERSION"
  rm -rf "$work"; mkdir -p "$work"
  log "building etcd $v"
  # etcd's own go.mod has replace lines, so `go install` refuses it; a builder module works.
  printf 'module cro.local/etcd-builder\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$v" > "$work/go.mod"
  (cd "$work" && go get "go.etcd.io/etcd/server/v3@$v" >&2 2>&1 | tail -3 >&2 || true)
  (cd "$work" && with_heartbeat "etcd $v" go build -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3)
  echo "$v" > "$bin/.etcd.version"
  log "etcd $v built"
}

build_kwok() {
  stamp_ok kwok "$KWOK_VERSION" && return 0
  log "building kwok $KWOK_VERSION"
  with_heartbeat "kwok" env GOBIN="$bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  # The stage YAML (node-initialize, heartbeat, pod-ready/complete/delete) ships in the module.
  local stages
  stages="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage"
  for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    cat "$stages/$f"; echo "---"
  done > "$bin/kwok-stages.yaml"
  echo "$KWOK_VERSION" > "$bin/.kwok.version"
  log "kwok $KWOK_VERSION built"
}

build_helm() {
  stamp_ok helm "$HELM_VERSION" && return 0
  local v="$HELM_VERSION" major="${HELM_VERSION%%.*}"
  log "building helm $v (cold: ~5-10 min on 2 cores)"
  # helm's go.mod has no replace lines: `go install` builds it as is. Its Makefile stamps the
  # version (else `helm version` says only "v4.3"); the Kubernetes version it reports comes
  # from the build info of the client-go it was built with.
  local ld="-s -w -X helm.sh/helm/$major/internal/version.version=$v -X helm.sh/helm/$major/internal/version.gitTreeState=clean"
  with_heartbeat "helm $v" env GOBIN="$bin" go install -trimpath -ldflags "$ld" "helm.sh/helm/$major/cmd/helm@$v"
  "$bin/helm" version --short >/dev/null
  echo "$v" > "$bin/.helm.version"
  log "helm $v built"
}

build_chart_check() {
  # Rebuilt when the Prometheus version or the tool's source changes.
  local v="$PROMETHEUS_VERSION" key
  key="$v-$(sha256sum "$here/chart-check/main.go" | cut -c1-12)"
  stamp_ok chart-check "$key" && return 0
  local work="$cache/src/chart-check-$v"
  rm -rf "$work"; mkdir -p "$work"
  log "building chart-check on prometheus $v (cold: a few minutes on 2 cores)"
  # Prometheus publishes its Go module as v0.<major><minor>.<patch> (v0.316.0 is 3.16.0).
  printf 'module cro.local/chart-check\n\ngo 1.26\n\nrequire github.com/prometheus/prometheus %s\n' "$v" > "$work/go.mod"
  cp "$here/chart-check/main.go" "$work/"
  (cd "$work" && go get "github.com/prometheus/prometheus@$v" >&2 2>&1 | tail -3 >&2 || true)
  (cd "$work" && with_heartbeat "chart-check" go build -trimpath -ldflags "-s -w" -o "$bin/chart-check" .)
  echo "$key" > "$bin/.chart-check.version"
  log "chart-check built"
}

# Components a user already has through KUBEBUILDER_ASSETS (setup-envtest layout) are skipped.
have_asset() { [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "$KUBEBUILDER_ASSETS/$1" ]]; }

start=$SECONDS
build_kwok
build_helm
build_chart_check
have_asset etcd || build_etcd
build_kube
[[ $((SECONDS - start)) -gt 5 ]] && log "control plane ready in $bin after $((SECONDS - start))s"
echo "$bin"
