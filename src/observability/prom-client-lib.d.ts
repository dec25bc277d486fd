// The files of prom-client that src/observability/prom-client-core.ts imports: each exports one
// class (module.exports = Class), typed in the package's index.d.ts, to which prom-client-core.ts
// casts them.
declare module 'prom-client/lib/counter.js' { const C: unknown; export default C; }
declare module 'prom-client/lib/gauge.js' { const C: unknown; export default C; }
declare module 'prom-client/lib/histogram.js' { const C: unknown; export default C; }
declare module 'prom-client/lib/registry.js' { const C: unknown; export default C; }
