#!/usr/bin/env bash
# `npm test`: type-check, then the unit suite, then the e2e suite (which starts the local
# control plane, building it first if the cache is cold). Both suites always run; the last
# line sums mocha's own counts: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
rc=0
npx tsc -p tsconfig.json --noEmit || { echo "typecheck failed"; rc=1; }
for suite in unit e2e; do
  npx mocha --config "test/mocharc.$suite.json" "$@" 2>&1 | tee -a "$log"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || rc=1
done
# Colour codes stripped first: mocha colours its output when CI is set, even into a pipe.
sum() { sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E "^ +[0-9]+ $1" | awk '{s += $1} END {print s + 0}'; }
echo "$(sum passing) passed, $(sum failing) failed, $(sum pending) skipped"
exit $rc
