// `npm run bench:synthetic -- [--sizes 10000,100000,1000000] [--out FILE]`: the operator's own
// stores, queue and decision path past what one test control plane holds (docs/figures.md,
// "Past the test control plane"). One process per size (./run-one.ts, with --expose-gc and room
// for the heap), one after the other; the results are written to FILE with the machine's load.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { sizes: { type: 'string' }, out: { type: 'string' }, changes: { type: 'string' } } });
const sizes = (values.sizes ?? '10000,100000,1000000').split(',').map(Number);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const out = values.out ?? path.join(repo, 'bench/results/synthetic/scale.json');

const runs: unknown[] = [];
for (const n of sizes) {
  const load = loadavg()[0] ?? NaN;
  const t0 = Date.now();
  process.stderr.write(`[synthetic] ${n} objects: start (load ${load.toFixed(1)})\n`);
  const child = spawnSync(process.execPath, [
    '--expose-gc', '--max-old-space-size=20000', '--import', 'tsx', path.join(here, 'run-one.ts'), '--objects', String(n),
    ...(values.changes ? ['--changes', values.changes] : []),
  ], { cwd: repo, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (child.status !== 0) throw new Error(`synthetic: ${n} objects failed (exit ${child.status}): ${child.stderr.slice(-2000)}`);
  const result = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
  runs.push({ ...result, loadBefore: Math.round(load * 10) / 10, loadAfter: Math.round((loadavg()[0] ?? NaN) * 10) / 10, seconds: Math.round((Date.now() - t0) / 1000) });
  process.stderr.write(`[synthetic] ${n} objects: ${JSON.stringify(result)}\n`);
}
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({
  at: new Date().toISOString(), node: process.version, cpus: availableParallelism(), memoryBytes: totalmem(), runs,
}, null, 2)}\n`);
process.stderr.write(`[synthetic] wrote ${out}\n`);
