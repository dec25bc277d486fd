// Memory of the operator at a few scales, and what holds it (npm run bench:memory -- --help).
//
// Per scale (N Deployments, each consuming its own ConfigMap of S KiB, created already
// adopted, on a fresh control plane) and per variant (an operator build × a set of Node flags),
// one operator run: RSS the moment it is synced (polled /readyz or its "caches synced" line),
// once idle after sync, once idle after a storm of ConfigMap rewrites (every target rolled), and
// the peak (VmHWM); each reading split into V8 heap spaces, external memory and the rest
// (malloc, code, libraries). References without a cluster: bare Node, and Node after importing
// @kubernetes/client-node, with the same flags. Results: bench/results/memory/<label>.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCluster } from './lib/cluster.ts';
import { pool } from './lib/kube.ts';
import { BENCH_DIGEST_KEY, cfgOf, changeConfigMap, createPairs, HASH, loadDigester, NS } from './lib/objects.ts';
import { startOperator, type RunningOperator } from './lib/operator.ts';
import { BenchProcess } from './lib/procs.ts';
import { summarizeHeapSnapshot } from './lib/profile.ts';
import { queueIdle } from './lib/harness.ts';
import { buildRef } from './lib/snapshot.ts';
import { DeploymentTracker, until } from './lib/tracker.ts';
import { untilStill } from './lib/util.ts';
import { IMAGE_ENV, IMAGE_NODE_FLAGS } from '../test/support/image.ts';

const HELP = `npm run bench:memory -- [options]
  --scales LIST       NxKiB pairs, comma-separated (default 100x1,2000x64)
  --storm N|all       ConfigMaps rewritten in the storm: min(N, this) (default all)
  --refs LIST         operator builds: git refs, or . for the working tree (default .)
  --node-flags LIST   Node flag sets separated by ';' ("image" = as the Dockerfile runs it,
                      "defaults" = no flag and no MALLOC_ARENA_MAX, NAME=value = an environment
                      variable; default image)
  --credentials LIST  how the operator authenticates, comma-separated: kubeconfig (--kubeconfig, a
                      ServiceAccount token in it; client-node loaded) or in-cluster (the token
                      file, CA and KUBERNETES_SERVICE_HOST/PORT, as in a pod; builds from before
                      the in-cluster path cannot) (default kubeconfig)
  --repeat R          runs of each variant (default 1)
  --quiet S           also read RSS S seconds after the storm, the operator idle all along (default
                      60; 0 = not): what a cluster at rest shows, once V8's memory reducer has run
  --heap-snapshots    a heap snapshot after sync and after the storm (summarised in the JSON)
  --no-references     skip the bare-Node and client-node references
  --label NAME        result file bench/results/memory/NAME.json (default: the commit)
  --hold              once the objects of the first scale exist, print the operator's
                      kubeconfig and wait (until interrupted): for profiling by hand`;

const { values: v } = parseArgs({
  options: {
    scales: { type: 'string' }, storm: { type: 'string' }, refs: { type: 'string' }, 'node-flags': { type: 'string' },
    repeat: { type: 'string' }, credentials: { type: 'string' }, 'heap-snapshots': { type: 'boolean' }, 'no-references': { type: 'boolean' },
    label: { type: 'string' }, hold: { type: 'boolean' }, help: { type: 'boolean' }, quiet: { type: 'string' },
  },
});
if (v.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scales = (v.scales ?? '100x1,2000x64').split(',').map((s) => {
  const m = /^(\d+)x(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`--scales: ${s} is not NxKiB`);
  return { n: Number(m[1]), kib: Number(m[2]) };
});
const stormMax = v.storm === undefined || v.storm === 'all' ? Number.MAX_SAFE_INTEGER : Number(v.storm);
const refs = (v.refs ?? '.').split(',').map((r) => r.trim());
const flagSets = (v['node-flags'] ?? 'image').split(';').map((f) => f.trim());
const repeat = Number(v.repeat ?? 1);
const credentialModes = (v.credentials ?? 'kubeconfig').split(',').map((c) => c.trim());
for (const c of credentialModes) if (c !== 'kubeconfig' && c !== 'in-cluster') throw new Error(`--credentials: ${c} is not kubeconfig or in-cluster`);
const quietSeconds = Number(v.quiet ?? 60);
const log = (line: string) => process.stderr.write(`[memory ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const mib = (b: number) => Math.round((b / 1048576) * 10) / 10;
const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();

/** How Node is started for a flag set: argv flags and environment. */
function nodeSetup(set: string): { flags: string[]; env: Record<string, string> } {
  if (set === 'defaults') return { flags: [], env: {} };
  const words = set.split(/\s+/).filter(Boolean);
  // NAME=value: an environment variable (MALLOC_* knobs); anything else is a Node flag.
  const isEnv = (w: string) => /^[A-Z_][A-Z0-9_]*=/.test(w);
  const flags = words.filter((w) => !isEnv(w)).flatMap((w) => (w === 'image' ? IMAGE_NODE_FLAGS : [w]));
  const env: Record<string, string> = words.includes('image') ? { ...IMAGE_ENV } : {};
  for (const w of words.filter(isEnv)) env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1);
  return { flags, env };
}

interface Breakdown {
  rssMiB: number;
  peakRssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  /** V8 heap spaces with more than 0.5 MiB committed. */
  spacesMiB: Record<string, number>;
  externalMiB: number;
  /** RSS minus the committed V8 heap and external memory: malloc arenas, native buffers, code, libraries. */
  restMiB: number;
  anonymousMiB: number;
  fileBackedMiB: number;
}

async function breakdown(op: RunningOperator): Promise<Breakdown> {
  const text = await op.metrics();
  const metric = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  const spaces: Record<string, number> = {};
  for (const m of text.matchAll(/^nodejs_heap_space_size_total_bytes\{space="([^"]+)"\} ([0-9.e+-]+)$/gm)) spaces[m[1] as string] = Number(m[2]);
  const heapTotal = Object.values(spaces).reduce((a, b) => a + b, 0);
  const external = metric('nodejs_external_memory_bytes');
  const status = readFileSync(`/proc/${op.proc.pid}/status`, 'utf8');
  const rollup = readFileSync(`/proc/${op.proc.pid}/smaps_rollup`, 'utf8');
  const kb = (text: string, f: string) => Number(new RegExp(`^${f}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  const rss = kb(status, 'VmRSS');
  return {
    rssMiB: mib(rss), peakRssMiB: mib(kb(status, 'VmHWM')),
    heapUsedMiB: mib(metric('nodejs_heap_size_used_bytes')), heapTotalMiB: mib(heapTotal),
    spacesMiB: Object.fromEntries(Object.entries(spaces).filter(([, b]) => b > 512 * 1024).map(([k, b]) => [k, mib(b)])),
    externalMiB: mib(external), restMiB: mib(rss - heapTotal - external),
    anonymousMiB: mib(kb(rollup, 'Anonymous')), fileBackedMiB: mib(kb(rollup, 'Rss') - kb(rollup, 'Anonymous')),
  };
}

/** Once idle: RSS read every 500 ms until two readings agree within 1 MiB. */
async function settled(op: RunningOperator): Promise<Breakdown> {
  await untilStill(async () => (await op.memory()).rssBytes, (a, b) => Math.abs(a - b) < 1048576, 500, 1, 40);
  return breakdown(op);
}

async function heapSnapshot(op: RunningOperator, dir: string): Promise<ReturnType<typeof summarizeHeapSnapshot> | undefined> {
  const known = new Set(readdirSync(dir));
  op.proc.signal('SIGUSR2');
  // Written when its size stops changing (polled, with a deadline).
  let file: string | undefined;
  await until(() => (file ??= readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !known.has(f))) !== undefined, 60_000, 250);
  if (!file) return undefined;
  const full = path.join(dir, file);
  await untilStill(async () => statSync(full).size, (a, b) => a === b && a > 0, 500, 2, 240);
  return summarizeHeapSnapshot(full, 25);
}

/**
 * The ServiceAccount directory a pod would have (token, ca.crt), from the operator's kubeconfig
 * (bench/lib/cluster.ts: a TokenRequest token and the CA), and the service address.
 */
function serviceAccountOf(kubeconfig: string, dir: string): { serviceAccountDir: string; host: string; port: string } {
  const text = readFileSync(kubeconfig, 'utf8');
  const token = /^\s*token: (\S+)$/m.exec(text)?.[1];
  const ca = /certificate-authority-data: (\S+)/.exec(text)?.[1];
  const server = /server: (\S+)/.exec(text)?.[1];
  if (!token || !ca || !server) throw new Error(`${kubeconfig}: no token, CA or server`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'token'), token, { mode: 0o600 });
  writeFileSync(path.join(dir, 'ca.crt'), Buffer.from(ca, 'base64'));
  const url = new URL(server);
  return { serviceAccountDir: dir, host: url.hostname, port: url.port || '443' };
}

/** RSS of a bare Node process after `code`, with the flags of a variant, once still. */
async function reference(cwd: string, set: string, code: string): Promise<{ rssMiB: number; heapUsedMiB: number; externalMiB: number }> {
  const { flags, env } = nodeSetup(set);
  const script = `${code}; const m = process.memoryUsage(); console.error(JSON.stringify({ message: 'ready', heapUsed: m.heapUsed, external: m.external })); setInterval(() => {}, 1e6);`;
  const proc = new BenchProcess('reference', cwd, [...flags, '--input-type=module', '-e', script], path.join(os.tmpdir(), `cro-memory-ref-${process.pid}.log`), env);
  try {
    const ready = await proc.waitFor('ready', (l) => l.message === 'ready', 30_000);
    const rss = await untilStill(async () => proc.stat()?.rssBytes ?? NaN, (a, b) => Math.abs(a - b) < 256 * 1024, 300, 2, 30);
    return { rssMiB: mib(rss), heapUsedMiB: mib(Number(ready.line.heapUsed)), externalMiB: mib(Number(ready.line.external)) };
  } finally {
    await proc.stop();
  }
}

const label = v.label ?? git('rev-parse', '--short=12', 'HEAD');
const outDir = path.join(repo, 'bench/results/memory');
const work = mkdtempSync(path.join(os.tmpdir(), 'cro-memory-'));
const digestDir = work;
const builds = refs.map((ref, i) => ({ ref, ...buildRef(repo, ref, path.join(work, `operator-${i}`)) }));
for (const b of builds) log(`operator ${b.ref}: commit ${b.commit}${b.dirty ? ` + ${b.dirty} uncommitted file(s)` : ''}`);
const digester = await loadDigester(builds[0]!.dir);

const result: Record<string, unknown> = {
  command: `npm run bench:memory -- ${process.argv.slice(2).join(' ')}`.trim(),
  date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadavgAtStart: os.loadavg()[0],
  builds: builds.map(({ ref, commit, dirty }) => ({ ref, commit, dirty })), flagSets: flagSets.map((s) => ({ set: s, ...nodeSetup(s) })),
};
const write = () => {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, `${label}.json`), `${JSON.stringify(result, null, 1)}\n`);
};

if (!v['no-references']) {
  const refsOut: Array<Record<string, unknown>> = [];
  for (const set of flagSets) {
    refsOut.push({ flags: set, what: 'node -e (nothing imported)', ...await reference(builds[0]!.dir, set, '') });
    refsOut.push({ flags: set, what: "await import('@kubernetes/client-node')", ...await reference(builds[0]!.dir, set, "await import('@kubernetes/client-node')") });
    log(`references (${set}): ${JSON.stringify(refsOut.slice(-2))}`);
  }
  result.references = refsOut;
  write();
}

const runs: Array<Record<string, unknown>> = [];
result.runs = runs;
for (const { n, kib } of scales) {
  const bytes = kib * 1024;
  const cl = await startCluster(path.join(work, `cluster-${n}x${kib}`), builds[0]!.dir, log);
  try {
    await cl.admin.requestRetry('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    const tracker = new DeploymentTracker(cl.admin, [HASH], HASH);
    await tracker.start();
    const apps = Array.from({ length: n }, (_, i) => `app-${i}`);
    const t0 = performance.now();
    await createPairs({ kube: cl.admin, pairs: apps.map((app) => ({ app, configMaps: [cfgOf(app)] })), bytes, concurrency: 32, digester });
    await until(() => tracker.size >= n && tracker.unobserved() === 0, 900_000, 250);
    log(`${n} pairs of ${kib} KiB ready in ${Math.round((performance.now() - t0) / 1000)} s`);
    if (v.hold) {
      writeFileSync(path.join(digestDir, 'digest-key'), BENCH_DIGEST_KEY.toString('base64'), { mode: 0o600 });
      log(`holding: --kubeconfig ${cl.operatorKubeconfig} --digest-key-file ${path.join(digestDir, 'digest-key')}; admin kubeconfig ${cl.cp.kubeconfigPath}`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      break;
    }
    const inCluster = serviceAccountOf(cl.operatorKubeconfig, path.join(work, `serviceaccount-${n}x${kib}`));
    for (const b of builds) {
      for (const [set, credentials] of flagSets.flatMap((f) => credentialModes.map((c) => [f, c] as const))) {
        if (credentials === 'in-cluster' && !existsSync(path.join(b.dir, 'src/kube/in-cluster.ts'))) {
          log(`${b.ref}@${b.commit}: no in-cluster path without client-node in this build; skipped`);
          continue;
        }
        for (let r = 0; r < repeat; r++) {
          const { flags, env } = nodeSetup(set);
          const logDir = path.join(work, `logs-${n}x${kib}`);
          mkdirSync(logDir, { recursive: true });
          const snaps = v['heap-snapshots'] ? ` --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${logDir}` : '';
          const op = await startOperator({
            operatorDir: b.dir, runtime: 'dist', kubeconfig: cl.operatorKubeconfig, logDir, label: `${b.commit}-${credentials}-${r}`, logLevel: 'info',
            ...(credentials === 'in-cluster' ? { inCluster } : {}),
            nodeDefaults: true, nodeFlags: flags, env: { ...env, ...(snaps ? { NODE_OPTIONS: snaps.trim() } : {}) },
          }, 900_000);
          const atSync = await breakdown(op);
          await queueIdle(op, 120_000);
          const afterSync = await settled(op);
          const rolls0 = await op.metric('config_reload_rolls_total');
          const heapAfterSync = v['heap-snapshots'] ? await heapSnapshot(op, logDir) : undefined;
          // The storm: every target rewritten through a bounded pool, then every one rolled.
          const targets = apps.slice(0, Math.min(n, stormMax));
          const wanted = new Set(targets);
          const rolled = new Set<string>();
          const off = tracker.onChange((c) => {
            if (c.key === HASH && wanted.has(c.name)) rolled.add(c.name);
          });
          const s0 = performance.now();
          await pool(targets, 32, async (app) => {
            await changeConfigMap(cl.admin, cfgOf(app), bytes);
          });
          await until(() => rolled.size >= targets.length, 120_000 + targets.length * 40, 200);
          const stormSeconds = Math.round((performance.now() - s0) / 100) / 10;
          off();
          await queueIdle(op, 120_000);
          const afterStorm = await settled(op);
          // A defined period of rest, part of what is measured (not a wait for something to happen).
          const afterQuiet = quietSeconds > 0 ? await new Promise((resolve) => setTimeout(resolve, quietSeconds * 1000)).then(() => breakdown(op)) : undefined;
          const heapAfterStorm = v['heap-snapshots'] ? await heapSnapshot(op, logDir) : undefined;
          const rolls = (await op.metric('config_reload_rolls_total')) - rolls0;
          await op.proc.stop();
          const run = {
            n, kib, ref: b.ref, commit: b.commit, flags: set, credentials, repeat: r, syncedMs: Math.round(op.syncedMs),
            atSync, afterSync, storm: { changes: targets.length, rolled: rolled.size, operatorRolls: rolls, seconds: stormSeconds }, afterStorm,
            ...(afterQuiet ? { afterQuiet: { seconds: quietSeconds, ...afterQuiet } } : {}),
            ...(heapAfterSync ? { heapAfterSync } : {}), ...(heapAfterStorm ? { heapAfterStorm } : {}),
          };
          runs.push(run);
          write();
          log(`${n}x${kib}KiB ${b.ref}@${b.commit} [${set}] ${credentials} #${r}: synced ${run.syncedMs} ms; RSS at sync ${atSync.rssMiB}, idle ${afterSync.rssMiB} (heap ${afterSync.heapUsedMiB}/${afterSync.heapTotalMiB}, ext ${afterSync.externalMiB}, rest ${afterSync.restMiB}); after storm of ${targets.length} (${rolled.size} rolled, ${stormSeconds} s) ${afterStorm.rssMiB} (heap ${afterStorm.heapUsedMiB}/${afterStorm.heapTotalMiB}, ext ${afterStorm.externalMiB}, rest ${afterStorm.restMiB}); peak ${afterStorm.peakRssMiB} MiB${afterQuiet ? `; ${quietSeconds} s later ${afterQuiet.rssMiB} (heap ${afterQuiet.heapUsedMiB}/${afterQuiet.heapTotalMiB}, ext ${afterQuiet.externalMiB}, rest ${afterQuiet.restMiB})` : ''}`);
          await until(() => tracker.unobserved() === 0, 300_000, 250);
        }
      }
    }
    await tracker.stop();
  } finally {
    await cl.stop();
  }
}
write();
log(`wrote ${path.join(outDir, `${label}.json`)}`);
rmSync(work, { recursive: true, force: true });
process.exit(0);
