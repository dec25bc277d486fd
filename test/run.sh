#!/usr/bin/env bash
# `npm test`: type-check, then the three tiers (docs/testing.md): unit (pure, in memory: no
# process, socket, file or build), system (processes, files, a loopback socket, the chart's
# tools, built first if the cache is cold) and e2e (the local control plane, built first if
# the cache is cold), the last in two mocha runs: the files isolated by namespace in parallel
# (test/mocharc.e2e.json), then the rest one after another (test/mocharc.e2e-serial.json),
# both running the operator's bundle, built once here (CRO_E2E_BUNDLE). Every tier always runs;
# the last line sums mocha's own counts over all of them: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
tier="$(mktemp)"
bundle="$(mktemp -d)"
trap 'rm -rf "$log" "$tier" "$bundle"' EXIT
# The e2e global setup (test/e2e/global-setup.ts) builds it on first use, the second run reuses it.
export CRO_E2E_BUNDLE="${CRO_E2E_BUNDLE:-$bundle/dist/main.js}"
# Colour codes stripped first: mocha colours its output when CI is set, even into a pipe.
plain() { sed 's/\x1b\[[0-9;]*m//g' "$1"; }
rc=0
unsummed=0
npx tsc -p tsconfig.json --noEmit || { echo "typecheck failed"; rc=1; }
for suite in unit system e2e e2e-serial; do
  npx mocha --config "test/mocharc.$suite.json" "$@" 2>&1 | tee "$tier"
  status=${PIPESTATUS[0]}
  cat "$tier" >>"$log"
  if [[ $status -ne 0 ]]; then
    rc=1
    # A tier that died before mocha's summary (a file that does not load) is one failure.
    if ! plain "$tier" | grep -qE "^ +[0-9]+ (passing|failing)"; then
      echo "test/run.sh: the $suite tier ended (exit $status) without mocha's counts: counted as 1 failed"
      unsummed=$((unsummed + 1))
    fi
  fi
done
sum() { plain "$log" | grep -E "^ +[0-9]+ $1" | awk '{s += $1} END {print s + 0}'; }
echo "$(sum passing) passed, $(($(sum failing) + unsummed)) failed, $(sum pending) skipped"
exit $rc
