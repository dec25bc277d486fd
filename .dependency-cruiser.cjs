// The layering of src/ (docs/architecture.md, "Layers"), checked by test/system/layers.test.ts
// (`npx depcruise src bench test --config .dependency-cruiser.cjs`). A module may import its own
// layer or a lower one, never a higher one; nothing in src/ or bench/ imports in a cycle; no test
// imports bench code.
const LAYERS = [
  ['core', 'time'],
  ['config', 'kube', 'queue', 'state', 'watch', 'log'],
  ['reconcile', 'leader'],
  ['waves'],
  ['controller'],
  ['observability', 'explain', 'notify'],
  ['operator', 'main'],
];
// A folder src/<name>/ and a module src/<name>.ts are one unit of the layering.
const unit = (name) => `^src/${name}(/|\\.ts$)`;
const upward = LAYERS.slice(0, -1).flatMap((layer, i) => layer.map((name) => ({
  name: `layer-${name}`,
  comment: `src/${name} may not import a higher layer`,
  severity: 'error',
  from: { path: unit(name) },
  to: { path: LAYERS.slice(i + 1).flat().map(unit) },
})));

module.exports = {
  forbidden: [
    ...upward,
    { name: 'no-cycle', comment: 'no import cycle in src/ or bench/ (type-only imports included)', severity: 'error', from: { path: '^(src|bench)/' }, to: { circular: true } },
    { name: 'test-not-bench', comment: 'tests do not import benchmark code', severity: 'error', from: { path: '^test/' }, to: { path: '^bench/' } },
    { name: 'src-only-src', comment: 'the operator imports nothing of its tests or benchmarks', severity: 'error', from: { path: '^src/' }, to: { path: '^(test|bench|testbed|scripts)/' } },
    {
      name: 'every-module-placed', comment: 'a new folder of src/ takes its place in LAYERS', severity: 'error',
      from: { path: '^src/', pathNot: LAYERS.flat().map(unit) }, to: {},
    },
  ],
  options: {
    // TypeScript 7 has no compiler API for dependency-cruiser: swc parses.
    parser: 'swc',
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)zz-' },
  },
};
