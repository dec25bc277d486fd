// Runs config-reload-operator (src/main.ts) from wherever it is called: through tsx from the
// TypeScript sources in a development checkout (tsx installed), else the compiled dist/main.js.
// Imports resolve from this file, not from the caller's directory. Used by the kubectl plugin
// launcher (bin/kubectl-config_reload), which chooses the Node that runs it.
import { existsSync } from 'node:fs';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(`config-reload-operator: error: Node >= 22.19 is needed, this is ${process.version}: ` +
    `run \`npm ci\` in ${new URL('..', import.meta.url).pathname} (it provides Node 24), or put a newer node on the PATH\n`);
  process.exit(2);
}

const source = new URL('../src/main.ts', import.meta.url);
const compiled = new URL('../dist/main.js', import.meta.url);
let entry = compiled;
if (existsSync(source)) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    entry = source;
  } catch {
    // No tsx (an install without devDependencies): the compiled code.
  }
}
if (entry === compiled && !existsSync(compiled)) {
  process.stderr.write('config-reload-operator: error: neither tsx nor dist/main.js found: run `npm ci` (and `npm run build` for dist/)\n');
  process.exit(2);
}
await import(entry.href);
