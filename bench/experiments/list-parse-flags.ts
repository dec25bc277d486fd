// CPU of reading a LIST page (src/kube/json-stream.ts's streaming parser and an HMAC of each
// item's data, what the config stores do) under V8 flag sets: the price, in throughput, of the
// flags that lower the idle floor (docs/architecture.md, "Memory"; bench/results/memory/steps.md,
// step 9). Each flag set in its own process, the page bundled as the image bundles the operator;
// CPU time (user + system) per page, the median of the rounds after two warm-up ones, so that a
// loaded machine changes it less than wall time.
//
//   npx tsx bench/experiments/list-parse-flags.ts [--repeat 3] [--out bench/results/experiments/list-parse-flags.json]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { IMAGE_ENV, IMAGE_NODE_FLAGS } from '../../test/support/image.ts';

const { values } = parseArgs({ options: { repeat: { type: 'string' }, out: { type: 'string' } } });
const repeat = Number(values.repeat ?? 3);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FLAG_SETS = [[], ['--max-semi-space-size=1'], ['--max-opt=2'], ['--max-semi-space-size=1', '--max-opt=2'], ['--max-opt=1']];
/** Pages: 100 ConfigMaps of 64 KiB, and 3,000 of 1 KiB (many small items: the tokenizer's per-item work). */
const PAGES = [{ kib: 64, items: 100 }, { kib: 1, items: 3000 }];

const work = mkdtempSync(path.join(os.tmpdir(), 'cro-parseflags-'));
const src = path.join(work, 'page.ts');
writeFileSync(src, `
import { createHmac } from 'node:crypto';
import { readList } from ${JSON.stringify(path.join(repo, 'src/kube/json-stream.ts'))};
const kib = Number(process.env.KIB), n = Number(process.env.ITEMS), rounds = 22;
const item = (i: number) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg-' + i, namespace: 'bench', resourceVersion: String(1000 + i), uid: 'uid-' + i, labels: { app: 'app-' + i } }, data: { 'config.yaml': 'k: ' + 'v'.repeat(kib * 1024) } });
const page = Buffer.from(JSON.stringify({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '42' }, items: Array.from({ length: n }, (_, i) => item(i)) }));
async function* chunks() { for (let o = 0; o < page.length; o += 65536) yield page.subarray(o, o + 65536); }
const cpu: number[] = [];
for (let r = 0; r < rounds; r++) {
  const c0 = process.cpuUsage();
  await readList<{ data: Record<string, string> }>(chunks(), 'bench', (x) => {
    const h = createHmac('sha256', 'key');
    for (const [k, v] of Object.entries(x.data)) h.update(k).update(v);
    h.digest();
  });
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
}
const rest = cpu.slice(2).sort((a, b) => a - b);
process.stdout.write(JSON.stringify({ pageMB: page.length / 1e6, firstMs: cpu[0], medianMs: rest[Math.floor(rest.length / 2)] }) + '\\n');
`);
const bundle = path.join(work, 'page.mjs');
execFileSync(path.join(repo, 'node_modules/.bin/esbuild'), [src, '--bundle', '--platform=node', '--target=node24', '--format=esm',
  '--minify-whitespace', '--minify-syntax', '--log-level=error',
  "--banner:js=import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  `--outfile=${bundle}`], { cwd: repo, env: { ...process.env, NODE_PATH: path.join(repo, 'node_modules') } });

const round1 = (x: number) => Math.round(x * 10) / 10;
const results: Array<Record<string, unknown>> = [];
try {
  for (const page of PAGES) {
    for (const flags of FLAG_SETS) {
      const runs: Array<{ medianMs: number; firstMs: number; pageMB: number }> = [];
      // Flag sets interleaved run by run would be fairer on a loaded machine; one after the
      // other keeps each process's page and code warm for its own rounds only, which is the point.
      for (let i = 0; i < repeat; i++) {
        const out = execFileSync(process.execPath, [...IMAGE_NODE_FLAGS, ...flags, bundle], {
          env: { ...process.env, ...IMAGE_ENV, NODE_ENV: 'production', KIB: String(page.kib), ITEMS: String(page.items) }, encoding: 'utf8',
        });
        runs.push(JSON.parse(out.trim()) as { medianMs: number; firstMs: number; pageMB: number });
      }
      const medians = runs.map((r) => r.medianMs).sort((a, b) => a - b);
      const median = medians[Math.floor(medians.length / 2)] as number;
      results.push({ page: `${page.items} × ${page.kib} KiB`, pageMB: round1(runs[0]!.pageMB), flags: ['image', ...flags].join(' '), cpuMsPerPage: round1(median), MBPerCpuSecond: Math.round(runs[0]!.pageMB / (median / 1000)), runs: medians.map(round1), firstPageMs: runs.map((r) => round1(r.firstMs)) });
      process.stderr.write(`${JSON.stringify(results.at(-1))}\n`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const report = { command: `npx tsx bench/experiments/list-parse-flags.ts ${process.argv.slice(2).join(' ')}`.trim(), date: new Date().toISOString(), node: process.version, loadavg: os.loadavg()[0], imageFlags: IMAGE_NODE_FLAGS, repeat, results };
if (values.out) writeFileSync(path.resolve(values.out), `${JSON.stringify(report, null, 1)}\n`);
process.stdout.write(`${results.map((r) => `${String(r.page).padEnd(14)} ${String(r.flags).padEnd(64)} ${String(r.cpuMsPerPage).padStart(7)} ms CPU/page  ${r.MBPerCpuSecond} MB/s`).join('\n')}\n`);
