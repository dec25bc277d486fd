#!/usr/bin/env bash
# A CycloneDX SBOM of the production dependencies (what the image ships), from package-lock.json.
#   bash scripts/sbom.sh [OUT]      (default: sbom.cdx.json; `npm run sbom`)
# It also refuses a tree that `npm ls` finds invalid, missing or extraneous: the SBOM must
# describe what the lockfile pins, and nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-sbom.cdx.json}"
if ! problems="$(npm ls --omit=dev --all --json 2>/dev/null | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const tree = JSON.parse(s); const found = [];
    (function walk(deps, path) {
      for (const [name, d] of Object.entries(deps ?? {})) {
        for (const flag of ["invalid", "missing", "extraneous"]) if (d[flag]) found.push(`${flag}: ${path}${name}@${d.version ?? "?"}`);
        walk(d.dependencies, `${path}${name} > `);
      }
    })(tree.dependencies, "");
    for (const p of tree.problems ?? []) if (!/^missing: .*optional/i.test(p)) found.push(p);
    console.log(found.join("\n")); process.exit(found.length > 0 ? 1 : 0);
  });')"; then
  echo "sbom: the installed production tree does not match the lockfile:" >&2
  echo "$problems" >&2
  exit 1
fi
# `npm sbom --omit dev` (npm 10 and 11) drops a production package that a devDependency also
# uses (lru-cache here, deduped under mocha). So the SBOM is made of the whole tree, and the
# packages the lockfile marks dev-only are removed from it, with their dependency entries.
npm sbom --sbom-format cyclonedx --package-lock-only | node -e '
  const lock = require(process.argv[1]);
  const devOnly = new Set(Object.entries(lock.packages).filter(([path, p]) => path !== "" && p.dev)
    .map(([path, p]) => `${path.slice(path.lastIndexOf("node_modules/") + 13)}@${p.version}`));
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const bom = JSON.parse(s);
    const id = (c) => `${c.group ? `${c.group}/` : ""}${c.name}@${c.version}`;
    const dropped = new Set(bom.components.filter((c) => devOnly.has(id(c))).map((c) => c["bom-ref"]));
    bom.components = bom.components.filter((c) => !dropped.has(c["bom-ref"]));
    bom.dependencies = (bom.dependencies ?? []).filter((d) => !dropped.has(d.ref))
      .map((d) => ({ ...d, dependsOn: (d.dependsOn ?? []).filter((r) => !dropped.has(r)) }));
    process.stdout.write(JSON.stringify(bom, null, 2) + "\n");
  });' "$(realpath package-lock.json)" > "$out"
echo "sbom: $(node -e 'const b = require(process.argv[1]); console.log(`${b.components.length} components, CycloneDX ${b.specVersion}`)' "$(realpath "$out")") -> $out"
