#!/usr/bin/env bash
# A CycloneDX SBOM of what the image carries: the production dependencies (bundled into dist/),
# from package-lock.json; the Node runtime (the build stage's node binary, copied in) and the base
# image, both from the Dockerfile's FROM lines (`… AS build`, `… AS runtime`). The base image's
# own Debian packages are not listed here: BuildKit's SBOM of the pushed image lists them
# (docs/supply-chain.md).
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
# npm names the root component after the directory it runs in: it is set to package.json's name.
npm sbom --sbom-format cyclonedx --package-lock-only | node -e '
  const fs = require("node:fs");
  const [lockFile, dockerfile] = process.argv.slice(1);
  const lock = JSON.parse(fs.readFileSync(lockFile, "utf8"));
  const devOnly = new Set(Object.entries(lock.packages).filter(([path, p]) => path !== "" && p.dev)
    .map(([path, p]) => `${path.slice(path.lastIndexOf("node_modules/") + 13)}@${p.version}`));
  // The image: Node from the build stage (node:X.Y.Z-…), the runtime stage FROM its base image.
  const stage = (name) => {
    const m = new RegExp(`^FROM\\s+(\\S+)\\s+AS\\s+${name}\\s*$`, "im").exec(fs.readFileSync(dockerfile, "utf8"));
    if (!m) { console.error(`sbom: ${dockerfile} has no "FROM … AS ${name}" line`); process.exit(1); }
    return m[1];
  };
  const nodeImage = stage("build");
  const nodeVersion = /^node:(\d+\.\d+\.\d+)-/.exec(nodeImage)?.[1];
  if (!nodeVersion) { console.error(`sbom: the build stage ${nodeImage} is not node:X.Y.Z-…`); process.exit(1); }
  const base = stage("runtime");
  const [baseName, baseDigest] = base.split("@");
  const tagAt = baseName.lastIndexOf(":") > baseName.lastIndexOf("/") ? baseName.lastIndexOf(":") : -1;
  const repository = tagAt < 0 ? baseName : baseName.slice(0, tagAt);
  const tag = tagAt < 0 ? undefined : baseName.slice(tagAt + 1);
  const node = {
    "bom-ref": `node@${nodeVersion}`, type: "application", name: "node", version: nodeVersion,
    description: `Node.js runtime: /usr/local/bin/node, copied from ${nodeImage}`,
    purl: `pkg:generic/node@${nodeVersion}`, cpe: `cpe:2.3:a:nodejs:node.js:${nodeVersion}:*:*:*:*:*:*:*`,
    licenses: [{ license: { id: "MIT" } }],
    externalReferences: [{ type: "distribution", url: `https://nodejs.org/dist/v${nodeVersion}/` }],
  };
  const baseImage = {
    "bom-ref": `base-image:${base}`, type: "container", name: repository, version: baseDigest ?? tag,
    description: "the base image of the runtime stage",
    purl: `pkg:oci/${repository.slice(repository.lastIndexOf("/") + 1)}${baseDigest ? `@${encodeURIComponent(baseDigest)}` : ""}` +
      `?repository_url=${repository}${tag ? `&tag=${tag}` : ""}`,
  };
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const bom = JSON.parse(s);
    const id = (c) => `${c.group ? `${c.group}/` : ""}${c.name}@${c.version}`;
    const dropped = new Set(bom.components.filter((c) => devOnly.has(id(c))).map((c) => c["bom-ref"]));
    bom.components = [node, baseImage, ...bom.components.filter((c) => !dropped.has(c["bom-ref"]))];
    const root = bom.metadata.component;
    root.name = lock.name;
    root.type = "application";
    bom.dependencies = (bom.dependencies ?? []).filter((d) => !dropped.has(d.ref))
      .map((d) => ({ ...d, dependsOn: [...(d.dependsOn ?? []).filter((r) => !dropped.has(r)),
        ...(d.ref === root["bom-ref"] ? [node["bom-ref"], baseImage["bom-ref"]] : [])] }))
      .concat([{ ref: node["bom-ref"], dependsOn: [] }, { ref: baseImage["bom-ref"], dependsOn: [] }]);
    process.stdout.write(JSON.stringify(bom, null, 2) + "\n");
  });' "$(realpath package-lock.json)" "$(realpath Dockerfile)" > "$out"
echo "sbom: $(node -e 'const b = require(process.argv[1]); console.log(`${b.components.length} components, CycloneDX ${b.specVersion}`)' "$(realpath "$out")") -> $out"
