#!/usr/bin/env bash
# The kubectl plugin as one file a user puts on the PATH: scripts/kubectl-plugin.ts (`explain`,
# `--help`, `--version`) and every dependency bundled by esbuild into OUT (default
# dist/kubectl-config_reload), a `#!/usr/bin/env node` script, executable, that needs Node
# >= 22.19 and nothing else: no checkout, no node_modules. The licence comments of what it
# bundles go to OUT.LEGAL.txt. The release workflow publishes both as release assets.
#   bash scripts/build-plugin.sh [OUT]      (`npm run build:plugin`)
#
# CommonJS, not an ES module: a file without an extension is read as CommonJS or as an ES
# module depending on the nearest package.json's "type" (a stray ~/package.json decides for
# ~/.local/bin), and an ES module under "type": "commonjs" does not run. The banner makes
# `require` resolve Node's built-in modules (and fail, as require does, for anything else: the
# optional native add-ons of ws) and gives `module` an object when the file is read as an ES
# module instead ("type": "module"), so the same file runs under either. Nothing it bundles may
# use import.meta, which CommonJS has not: esbuild's warning about it is made an error. The
# banner's first line refuses a Node older than 22.19 with a clear message.
# The git revision (--version): scripts/revision.sh, as for the operator's bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist/kubectl-config_reload}"
. scripts/revision.sh
revision=$(build_revision build-plugin.sh)
mkdir -p "$(dirname "$out")"
rm -f "$out" "$out.LEGAL.txt"
node_modules/.bin/esbuild scripts/kubectl-plugin.ts --bundle --platform=node --target=node22 --format=cjs \
  --minify-whitespace --minify-syntax --legal-comments=external --log-level=warning --log-override:empty-import-meta=error \
  --banner:js="#!/usr/bin/env node
if (process.versions.node.split('.').map(Number).reduce((a, n, i) => i < 2 ? a * 1000 + n : a, 0) < 22019) { process.stderr.write('kubectl config-reload: error: Node >= 22.19 is needed, this is ' + process.version + '\\n'); process.exit(2); }
var require = typeof require === 'function' ? require : (id) => process.getBuiltinModule(id) ?? (() => { throw Object.assign(new Error('Cannot find module ' + id), { code: 'MODULE_NOT_FOUND' }); })();
var module = typeof module === 'object' ? module : { exports: {} }, exports = module.exports;" \
  --define:CONFIG_RELOAD_REVISION="\"$revision\"" \
  --outfile="$out"
chmod 755 "$out"
