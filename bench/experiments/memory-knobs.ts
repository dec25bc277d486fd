// Where does the operator's RSS go, and does a runtime knob bring it down? One control plane
// with N Deployments + N ConfigMaps (already adopted); the operator is started once per
// variant (environment / NODE_OPTIONS), and after sync and after a storm of changes its RSS is
// split into V8 heap spaces (its /metrics), external memory and the rest (native: malloc
// arenas, TLS and zlib buffers, code).
//
//   npx tsx bench/experiments/memory-knobs.ts [--n 10000] [--kib 1] [--storm 500]
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCluster } from '../lib/cluster.ts';
import { pool } from '../lib/kube.ts';
import { cfgOf, changeConfigMap, createPairs, HASH, loadDigester, NS } from '../lib/objects.ts';
import { startOperator, type RunningOperator } from '../lib/operator.ts';
import { snapshotOperator } from '../lib/snapshot.ts';
import { DeploymentTracker, until } from '../lib/tracker.ts';

const { values } = parseArgs({ options: { n: { type: 'string' }, kib: { type: 'string' }, storm: { type: 'string' }, out: { type: 'string' } } });
const n = Number(values.n ?? 10_000);
const bytes = Number(values.kib ?? 1) * 1024;
const stormSize = Number(values.storm ?? 500);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = values.out ?? path.join(repo, 'bench/results/experiments', `memory-knobs-n${n}-${bytes / 1024}KiB.json`);
const log = (line: string) => process.stderr.write(`[memory-knobs] ${line}\n`);

// Each variant starts from Node's defaults (the image's own flags left out), so that each knob
// is measured alone; "both" is what the image runs since this experiment (see Dockerfile).
const VARIANTS: Array<{ name: string; env: Record<string, string> }> = [
  { name: 'Node defaults', env: {} },
  { name: 'MALLOC_ARENA_MAX=2', env: { MALLOC_ARENA_MAX: '2' } },
  { name: 'NODE_OPTIONS=--max-semi-space-size=2', env: { NODE_OPTIONS: '--max-semi-space-size=2' } },
  { name: 'both', env: { MALLOC_ARENA_MAX: '2', NODE_OPTIONS: '--max-semi-space-size=2' } },
];

const work = mkdtempSync(path.join(os.tmpdir(), 'cro-memory-knobs-'));
const snap = snapshotOperator(repo, path.join(work, 'operator'));
const digester = await loadDigester(snap.dir);
const cl = await startCluster(path.join(work, 'cluster'), snap.dir, log);
const mib = (b: number) => Math.round((b / 1048576) * 10) / 10;

async function breakdown(op: RunningOperator): Promise<Record<string, number>> {
  const text = await op.metrics();
  const metric = (name: string, label = '') => Number(new RegExp(`^${name}${label ? `\\{[^}]*${label}[^}]*\\}` : ''} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  const spaces: Record<string, number> = {};
  for (const m of text.matchAll(/^nodejs_heap_space_size_total_bytes\{space="([^"]+)"\} ([0-9.e+-]+)$/gm)) spaces[m[1] as string] = Number(m[2]);
  const rss = metric('process_resident_memory_bytes');
  const heapTotal = Object.values(spaces).reduce((a, b) => a + b, 0);
  const external = metric('nodejs_external_memory_bytes');
  const rollup = readFileSync(`/proc/${op.proc.pid}/smaps_rollup`, 'utf8');
  const kb = (f: string) => Number(new RegExp(`^${f}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0) * 1024;
  return {
    rssMiB: mib(rss),
    heapUsedMiB: mib(metric('nodejs_heap_size_used_bytes')),
    heapTotalMiB: mib(heapTotal),
    ...Object.fromEntries(Object.entries(spaces).map(([k, v]) => [`heap_${k}_MiB`, mib(v)])),
    externalMiB: mib(external),
    anonymousMiB: mib(kb('Anonymous')),
    fileBackedMiB: mib(kb('Rss') - kb('Anonymous')),
    /** RSS not explained by the V8 heap or external memory: malloc arenas, native buffers, code, libraries. */
    restMiB: mib(rss - heapTotal - external),
  };
}

async function idle(op: RunningOperator): Promise<void> {
  let last = -1;
  let stable = 0;
  while (stable < 6) {
    const c = await op.metric('config_reload_reconcile_duration_seconds_count');
    stable = c === last ? stable + 1 : 0;
    last = c;
    await new Promise((r) => setTimeout(r, 250));
  }
}

try {
  await cl.admin.requestRetry('POST', '/api/v1/namespaces', { metadata: { name: NS } });
  const tracker = new DeploymentTracker(cl.admin, [HASH], HASH);
  await tracker.start();
  const apps = Array.from({ length: n }, (_, i) => `app-${i}`);
  const t0 = performance.now();
  await createPairs({ kube: cl.admin, pairs: apps.map((app) => ({ app, configMaps: [cfgOf(app)] })), bytes, concurrency: 32, digester });
  await until(() => tracker.size >= n && tracker.unobserved() === 0, 600_000, 250);
  log(`${n} pairs of ${bytes / 1024} KiB ready in ${Math.round((performance.now() - t0) / 1000)} s`);
  const results: Array<Record<string, unknown>> = [];
  for (const v of VARIANTS) {
    const op = await startOperator({
      operatorDir: snap.dir, runtime: snap.built ? 'dist' : 'tsx', kubeconfig: cl.operatorKubeconfig, logDir: work, label: v.name.replace(/\W+/g, '_'),
      logLevel: 'info', env: v.env, nodeDefaults: true,
    }, 600_000);
    const atSync = await breakdown(op);
    await idle(op);
    const targets = apps.slice(0, stormSize);
    await pool(targets, 32, async (app) => {
      await changeConfigMap(cl.admin, cfgOf(app), bytes);
    });
    await idle(op);
    const afterStorm = await breakdown(op);
    await op.proc.stop();
    results.push({ variant: v.name, syncedMs: Math.round(op.syncedMs), atSync, afterStorm });
    log(`${v.name}: synced ${Math.round(op.syncedMs)} ms; at sync ${JSON.stringify(atSync)}; after storm ${JSON.stringify(afterStorm)}`);
    await until(() => tracker.unobserved() === 0, 300_000, 250);
  }
  await tracker.stop();
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ command: `npx tsx bench/experiments/memory-knobs.ts --n ${n} --kib ${bytes / 1024} --storm ${stormSize}`, operatorCommit: snap.commit, n, configMapBytes: bytes, storm: stormSize, results }, null, 1)}\n`);
  log(`wrote ${out}`);
} finally {
  await cl.stop();
}
process.exit(0);
