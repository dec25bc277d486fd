#!/usr/bin/env bash
# The operator as the image runs it: src/ and its production dependencies bundled by esbuild
# into ES modules: the entry OUT/main.js (default dist/) and the chunks it imports, OUT/chunks/
# (the image copies all of OUT), with the licence comments of what they bundle in
# OUT/*.LEGAL.txt.
#   bash scripts/build.sh [OUT]      (`npm run build`)
#
# Why a bundle (bench/results/memory/steps.md, step 5): Node keeps every loaded module's source
# text and module record, and @kubernetes/client-node's kubeconfig loader imports all of its
# generated APIs and models. One file, whitespace and syntax minified, starts at 88 MiB RSS
# against 113 MiB for the same code compiled file by file (tsc): the floor under every figure.
# Identifiers are not mangled, so stack traces still name the functions (at main.js:LINE:COL;
# no source map, whose retention costs as much memory as it would save).
# Types are checked by `npm run typecheck` (and `npm test`), not here.
# Code splitting: what src/ imports with import() (the kubeconfig path and its
# @kubernetes/client-node, `explain`) goes to chunks loaded only when used, so that the operator
# in a cluster never parses client-node (docs/figures.md, "Memory floor"); test/system/bundle.test.ts
# holds the entry's static imports to that.
# The git revision built: scripts/revision.sh.
# It runs esbuild on the `node` found on PATH: the image's own in the Docker build (which installs
# with --ignore-scripts, so there is no node_modules/.bin/node; test/system/image-build.test.ts),
# the `node` devDependency's under `npm run build`. node_modules/.bin/esbuild is esbuild's
# JavaScript launcher of its platform binary (allowScripts denies the postinstall that would
# put the binary in its place; either works here).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
. scripts/revision.sh
revision=$(build_revision build.sh)
rm -rf "$out"
# CommonJS dependencies call require(): an ES module has none, so the bundle makes one.
node_modules/.bin/esbuild src/main.ts --bundle --platform=node --target=node24 --format=esm \
  --minify-whitespace --minify-syntax --legal-comments=external --log-level=warning \
  --banner:js="import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" \
  --define:CONFIG_RELOAD_REVISION="\"$revision\"" \
  --splitting --outdir="$out" --entry-names='[name]' --chunk-names='chunks/[name]-[hash]'
