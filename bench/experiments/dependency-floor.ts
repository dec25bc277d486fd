// What each production dependency adds to the idle floor, bundled as the image bundles it
// (scripts/build.sh's esbuild flags), started with the image's Node flags and environment: a
// bare Node process, then one process per dependency used the way the operator uses it, and all
// of them together. RSS once still (two readings 300 ms apart within 256 KiB), and the V8 heap.
// Figures for docs/figures.md, "Memory floor"; no cluster needed.
//
//   npx tsx bench/experiments/dependency-floor.ts [--repeat 3] [--only <substring>] [--out bench/results/experiments/dependency-floor.json]
// --only runs the bare case and the cases whose name contains the substring.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { IMAGE_ENV, IMAGE_NODE_FLAGS } from '../../test/support/image.ts';
import { untilStill } from '../lib/util.ts';

const { values } = parseArgs({ options: { repeat: { type: 'string' }, out: { type: 'string' }, only: { type: 'string' } } });
const repeat = Number(values.repeat ?? 3);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const PROM_CORE = "import Registry from 'prom-client/lib/registry.js'; import Counter from 'prom-client/lib/counter.js'; import Gauge from 'prom-client/lib/gauge.js'; import Histogram from 'prom-client/lib/histogram.js'; const r = new Registry(); new Counter({ name: 'x', help: 'x', labelNames: ['a'], registers: [r] }).inc({ a: 'b' }); new Gauge({ name: 'g', help: 'g', registers: [r] }).set(1); new Histogram({ name: 'h', help: 'h', buckets: [0.1, 1], registers: [r] }).observe(0.5); await r.metrics();";
const PROM_CHOSEN = ['processCpuTotal', 'processStartTime', 'osMemoryHeap', 'heapSizeAndUsed', 'eventLoopLag']
  .map((m) => `import ${m} from 'prom-client/lib/metrics/${m}.js'; ${m}(r, {});`).join(' ') + ' await r.metrics();';

/** Each case: module code run as the operator runs it (imports, and the first use that loads the rest). */
const CASES: Record<string, string> = {
  'bare node': '',
  'undici (fetch, Agent)': "import { Agent, fetch } from 'undici'; new Agent({ connect: {} }); globalThis.keep = fetch;",
  "Node's own fetch (built-in undici, first call)": "await fetch('data:,x').then((r) => r.text());",
  "node:https (Agent, a TLS context with one CA)": "import https from 'node:https'; import tls from 'node:tls'; globalThis.keep = new https.Agent({ keepAlive: true, ca: tls.rootCertificates[0] });",
  "node:http imported (ESM: its lazy WebSocket exports load Node's own undici)": "import http from 'node:http'; const s = http.createServer((q, r) => r.end('ok')); s.listen(0, '127.0.0.1');",
  'node:http required (as src/observability/http-server.ts loads it)': "import { createRequire } from 'node:module'; const http = createRequire(import.meta.url)('node:http'); const s = http.createServer((q, r) => r.end('ok')); s.listen(0, '127.0.0.1');",
  '@streamparser/json': "import { JSONParser } from '@streamparser/json'; const p = new JSONParser(); p.onValue = () => {}; p.write('{\"a\":[1]}');",
  'prom-client imported, nothing made': "import * as prom from 'prom-client'; globalThis.keep = prom;",
  'prom-client (registry and a counter, no default metrics)': "import { Registry, Counter } from 'prom-client'; const r = new Registry(); new Counter({ name: 'x', help: 'x', registers: [r] }); await r.metrics();",
  'prom-client (registry, default metrics)': "import { collectDefaultMetrics, Registry, Counter } from 'prom-client'; const r = new Registry(); collectDefaultMetrics({ register: r }); new Counter({ name: 'x', help: 'x', registers: [r] }); await r.metrics();",
  // prom-client's index also loads node:cluster (AggregatorRegistry), node:https and node:zlib
  // (Pushgateway): what the library's own files cost without them, by deep import of lib/.
  'node:zlib imported': "import zlib from 'node:zlib'; globalThis.keep = zlib;",
  'node:cluster imported': "import cluster from 'node:cluster'; globalThis.keep = cluster;",
  'node:v8 imported': "import v8 from 'node:v8'; globalThis.keep = v8.getHeapSpaceStatistics();",
  'node:perf_hooks monitorEventLoopDelay': "import { monitorEventLoopDelay } from 'node:perf_hooks'; const h = monitorEventLoopDelay({ resolution: 10 }); h.enable(); globalThis.keep = h;",
  'node:https imported': "import https from 'node:https'; globalThis.keep = https;",
  'prom-client core by deep import (lib/registry, counter, gauge, histogram)': PROM_CORE,
  'prom-client core by deep import, all default metrics (lib/defaultMetrics)': `${PROM_CORE} import collect from 'prom-client/lib/defaultMetrics.js'; collect({ register: r }); await r.metrics();`,
  'prom-client core by deep import, the default metrics the operator shows (cpu, start time, memory, heap, event-loop lag)': `${PROM_CORE} ${PROM_CHOSEN}`,
  'winston (JSON logger)': "import winston from 'winston'; const l = winston.createLogger({ format: winston.format.json(), transports: [new winston.transports.Stream({ stream: (await import('node:fs')).createWriteStream('/dev/null') })] }); l.info('x', { a: 1 });",
  'lru-cache': "import { LRUCache } from 'lru-cache'; new LRUCache({ max: 10 }).set('a', 1);",
  '@kubernetes/client-node (KubeConfig)': "import { KubeConfig } from '@kubernetes/client-node'; new KubeConfig();",
};
const LIBS = ['prom-client (registry, default metrics)', 'winston (JSON logger)', 'lru-cache', '@streamparser/json', 'node:http required (as src/observability/http-server.ts loads it)'];
// What the idle operator loads (src/main.ts in a cluster), and the same with Node's own HTTPS client in undici's place.
CASES['all the operator loads: undici, prom-client, winston, lru-cache, @streamparser/json, node:http'] = [CASES['undici (fetch, Agent)'], ...LIBS.map((c) => CASES[c])].join('\n');
CASES['the same with node:https in place of undici'] = [CASES['node:https (Agent, a TLS context with one CA)'], ...LIBS.map((c) => CASES[c])].join('\n');
// What prom-client adds beside the rest (node:https is loaded anyway): none of it, its core and the chosen default metrics, all of it.
const OTHERS = LIBS.filter((c) => !c.startsWith('prom-client'));
const CHOSEN = 'prom-client core by deep import, the default metrics the operator shows (cpu, start time, memory, heap, event-loop lag)';
CASES['node:https and the other libraries, without prom-client'] = [CASES['node:https (Agent, a TLS context with one CA)'], ...OTHERS.map((c) => CASES[c])].join('\n');
CASES['node:https and the other libraries, prom-client core by deep import with the chosen default metrics'] = [CASES['node:https (Agent, a TLS context with one CA)'], CASES[CHOSEN], ...OTHERS.map((c) => CASES[c])].join('\n');
// Each remaining library's share beside the rest (node:https and the operator's metrics loaded): the whole set less one.
const WITH_METRICS = (left: string) => [CASES['node:https (Agent, a TLS context with one CA)'], `import { OperatorMetrics } from ${JSON.stringify(path.join(repo, 'src/observability/metrics.ts'))}; await new OperatorMetrics().registry.metrics();`, ...OTHERS.filter((c) => c !== left).map((c) => CASES[c])].join('\n');
CASES['node:https, src/observability/metrics.ts and the other libraries but winston'] = WITH_METRICS('winston (JSON logger)');
CASES['node:https, src/observability/metrics.ts and the other libraries but the node:http server'] = WITH_METRICS('node:http required (as src/observability/http-server.ts loads it)');
// What src/observability/metrics.ts now is: prom-client's lib/ files and the process metrics computed at scrape time (src/observability/process-metrics.ts).
const OURS = `import { OperatorMetrics } from ${JSON.stringify(path.join(repo, 'src/observability/metrics.ts'))}; await new OperatorMetrics().registry.metrics();`;
CASES['src/observability/metrics.ts (OperatorMetrics, one scrape)'] = OURS;
CASES['node:https and the other libraries, src/observability/metrics.ts'] = [CASES['node:https (Agent, a TLS context with one CA)'], OURS, ...OTHERS.map((c) => CASES[c])].join('\n');


const work = mkdtempSync(path.join(os.tmpdir(), 'cro-depfloor-'));
// The operator's own bundle (scripts/build.sh), its modules evaluated and nothing run
// (`--version`): what loading its code adds to the libraries, against what running it adds.
execFileSync('bash', [path.join(repo, 'scripts/build.sh'), path.join(work, 'dist')], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
CASES['dist/main.js loaded, nothing run (--version)'] = `process.argv.push('--version'); const write = process.stdout.write; process.stdout.write = () => true; const main = ${JSON.stringify(path.join(work, 'dist/main.js'))}; await import(main); process.stdout.write = write;`;

const mib = (b: number) => Math.round((b / 1048576) * 10) / 10;

function bundle(name: string, code: string): string {
  const src = path.join(work, `${name.replace(/\W+/g, '-')}.mjs`);
  const out = `${src.slice(0, -4)}.bundle.mjs`;
  writeFileSync(src, `${code}\nconst m = process.memoryUsage(); process.stderr.write(JSON.stringify({ ready: true, heapUsed: m.heapUsed }) + '\\n'); setInterval(() => {}, 1e6);\n`);
  execFileSync(path.join(repo, 'node_modules/.bin/esbuild'), [src, '--bundle', '--platform=node', '--target=node24', '--format=esm',
    '--minify-whitespace', '--minify-syntax', '--log-level=error',
    "--banner:js=import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    `--outfile=${out}`], { cwd: repo, env: { ...process.env, NODE_PATH: path.join(repo, 'node_modules') } });
  return out;
}

async function measure(file: string): Promise<{ rssMiB: number; heapUsedMiB: number }> {
  const child = spawn(process.execPath, [...IMAGE_NODE_FLAGS, file], { env: { ...process.env, ...IMAGE_ENV, NODE_ENV: 'production' }, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const heapUsed = await new Promise<number>((resolve, reject) => {
      let text = '';
      child.stderr.on('data', (c: Buffer) => {
        text += c.toString();
        const line = text.split('\n').find((l) => l.startsWith('{"ready"'));
        if (line) resolve((JSON.parse(line) as { heapUsed: number }).heapUsed);
      });
      child.on('exit', (code) => reject(new Error(`${file} exited ${code}: ${text}`)));
    });
    const rss = () => Promise.resolve(Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024);
    const still = await untilStill(rss, (a, b) => Math.abs(a - b) < 256 * 1024, 300, 2, 60);
    return { rssMiB: mib(still), heapUsedMiB: mib(heapUsed) };
  } finally {
    child.kill('SIGKILL');
  }
}

const results: Array<Record<string, unknown>> = [];
try {
  for (const [name, code] of Object.entries(CASES)) {
    if (values.only && name !== 'bare node' && !name.includes(values.only)) continue;
    const file = bundle(name, code);
    const runs = [];
    for (let i = 0; i < repeat; i++) runs.push(await measure(file));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    results.push({ case: name, bundleKiB: Math.round(readFileSync(file).length / 1024), rssMiB: median(runs.map((r) => r.rssMiB)), heapUsedMiB: median(runs.map((r) => r.heapUsedMiB)), runs });
    process.stderr.write(`${name}: ${JSON.stringify(results.at(-1))}\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const bare = results[0]?.rssMiB as number;
for (const r of results) r.addsMiB = Math.round(((r.rssMiB as number) - bare) * 10) / 10;
const report = { command: `npx tsx bench/experiments/dependency-floor.ts ${process.argv.slice(2).join(' ')}`.trim(), date: new Date().toISOString(), node: process.version, flags: IMAGE_NODE_FLAGS, env: IMAGE_ENV, repeat, results };
if (values.out) writeFileSync(path.resolve(values.out), `${JSON.stringify(report, null, 1)}\n`);
process.stdout.write(`${results.map((r) => `${String(r.case).padEnd(48)} ${String(r.rssMiB).padStart(6)} MiB RSS  (+${r.addsMiB})  heap ${r.heapUsedMiB} MiB  bundle ${r.bundleKiB} KiB`).join('\n')}\n`);
