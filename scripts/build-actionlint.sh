#!/usr/bin/env bash
# actionlint (github.com/rhysd/actionlint), the linter of .github/workflows/, built from the Go
# module proxy like the testbed's tools (testbed/build.sh) and cached per version outside the
# repository; built on first use (a minute or two on 2 cores), instant after that.
#   bash scripts/build-actionlint.sh      prints the binary's path on the last line of stdout
# test/system/workflows.test.ts runs it on every workflow. actionlint checks the shell of each
# `run:` step with shellcheck when one is on the PATH (`apt-get install shellcheck`).
# Env: CRO_TOOLS_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/config-reload-operator/tools)
set -euo pipefail
ACTIONLINT_VERSION=v1.7.12
cache="${CRO_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/config-reload-operator/tools}"
bin="$cache/bin"
stamp="$bin/.actionlint.version"
if [[ -x "$bin/actionlint" && -f "$stamp" && "$(cat "$stamp")" == "$ACTIONLINT_VERSION" ]]; then
  echo "$bin/actionlint"
  exit 0
fi
command -v go >/dev/null || { echo "build-actionlint: error: Go is required to build actionlint" >&2; exit 1; }
mkdir -p "$bin"
echo "[tools $(date +%H:%M:%S)] building actionlint $ACTIONLINT_VERSION" >&2
# The version stamp `actionlint -version` prints (its Makefile sets the same variable).
GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$bin" go install -trimpath \
  -ldflags "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" \
  "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
"$bin/actionlint" -version >/dev/null
echo "$ACTIONLINT_VERSION" > "$stamp"
echo "[tools $(date +%H:%M:%S)] actionlint $ACTIONLINT_VERSION built" >&2
echo "$bin/actionlint"
