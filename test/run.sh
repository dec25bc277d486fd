#!/usr/bin/env bash
# `npm test`: type-check, then the three tiers (README, "Tests"): unit (pure, in memory: no
# process, socket, file or build), system (processes, files, a loopback socket, the chart's
# tools, built first if the cache is cold) and e2e (the local control plane, built first if
# the cache is cold). The e2e tier is two mocha runs, each on a control plane of its own:
#   e2e         the files isolated by namespace, in parallel (test/mocharc.e2e.json);
#   e2e-serial  the rest, one after another (test/mocharc.e2e-serial.json).
# Both run the operator's bundle (scripts/build.sh), built once here (CRO_E2E_BUNDLE). The
# serial run starts first, in the background (it waits on the apiserver, kwok and debounces far
# more than it computes), and its output is printed after the others'. Every tier always runs;
# the last line sums mocha's own counts over all of them: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
serial_pid=""
trap '[[ -n $serial_pid ]] && kill "$serial_pid" 2>/dev/null; rm -rf "$work"' EXIT
log="$work/log"
touch "$log"
# Colour codes stripped first: mocha colours its output when CI is set, even into a pipe.
plain() { sed 's/\x1b\[[0-9;]*m//g' "$1"; }
rc=0
unsummed=0

# One tier's output ($2) and exit status ($3): counted; a tier that died before mocha's
# summary (a file that does not load) is one failure.
count() {
  cat "$2" >>"$log"
  if [[ $3 -ne 0 ]]; then
    rc=1
    if ! plain "$2" | grep -qE "^ +[0-9]+ (passing|failing)"; then
      echo "test/run.sh: the $1 tier ended (exit $3) without mocha's counts: counted as 1 failed"
      unsummed=$((unsummed + 1))
    fi
  fi
}

export CRO_E2E_BUNDLE="${CRO_E2E_BUNDLE:-$work/bundle/main.js}"
if [[ ! -f $CRO_E2E_BUNDLE ]] && ! bash scripts/build.sh "$(dirname "$CRO_E2E_BUNDLE")"; then
  # The e2e global setup builds it again and fails with the same error, counted there.
  echo "test/run.sh: building the operator's bundle failed"
fi

npx mocha --config test/mocharc.e2e-serial.json "$@" >"$work/e2e-serial.out" 2>&1 &
serial_pid=$!

npx tsc -p tsconfig.json --noEmit || { echo "typecheck failed"; rc=1; }
for suite in unit system e2e; do
  npx mocha --config "test/mocharc.$suite.json" "$@" 2>&1 | tee "$work/$suite.out"
  count "$suite" "$work/$suite.out" "${PIPESTATUS[0]}"
done

echo "test/run.sh: the e2e-serial tier (test/mocharc.e2e-serial.json), run beside the others:"
wait "$serial_pid"
status=$?
serial_pid=""
cat "$work/e2e-serial.out"
count e2e-serial "$work/e2e-serial.out" "$status"

sum() { plain "$log" | grep -E "^ +[0-9]+ $1" | awk '{s += $1} END {print s + 0}'; }
echo "$(sum passing) passed, $(($(sum failing) + unsummed)) failed, $(sum pending) skipped"
exit $rc
