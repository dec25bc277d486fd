// `npm run bench` (full) / `npm run bench:quick`: latency, memory, start-up and API cost of the
// operator on the real control plane, against a minimal baseline watcher. Writes
// <out>/<scenario>.json, <out>/summary.md and <out>/plot.svg. See bench/README.md.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { watchLoad } from './lib/load.ts';
import { loadDigester } from './lib/objects.ts';
import type { Ctx, Settings } from './lib/context.ts';
import { parsePeers, peerCommand } from './lib/peers.ts';
import { snapshotOperator } from './lib/snapshot.ts';
import { renderPlot } from './report/plot.ts';
import { renderSummary, type RunMeta } from './report/summary.ts';
import { type ContentionSpec, runScenario, type ScenarioResult, type ScenarioSpec } from './scenarios/index.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `Usage: npx tsx bench/run.ts [--quick] [flags]

  --quick                    a few minutes: N = 100 and 1,000, sizes at N = 1,000, small samples
                             (writes to bench/results/quick unless --out is given)
  --scenarios LIST           scale,scale-secrets,size,burst-k,burst-shared,helm-secrets,scoping,mass-adoption,fan-out,waves
                             (default: all)
  --peer NAME=PATH           also run a peer operator (NAME: reloader or wave, its profile; PATH: its binary,
                             default /work/shared/peers/NAME), repeatable; in scale, scale-secrets, size,
                             mass-adoption and fan-out, one system at a time on the same cluster and objects
  --adoption-n N             mass-adoption: Deployments adopted at once, each with its own ConfigMap (full: 10000; quick: 500)
  --fanout-m M               fan-out: Deployments sharing one ConfigMap (full: 1000; quick: 100)
  --fanout-unrelated U       fan-out: unrelated pairs whose changes are timed during the roll-out (default 200)
  --fanout-rounds R          fan-out: changes of the shared ConfigMap (default 3)
  --during-min S, --during-max S   mass-adoption/fan-out: sampling window bounds in seconds (full: 20, 900; quick: 10, 180)
  --sample-timeout S         mass-adoption/fan-out: a change not rolled after S seconds is a timeout (default 120)
  --settle-max S             peers: how long a start-up (Wave's roll of every workload) is waited for (full: 300; quick: 60)
  --operator-args "ARGS"     more operator flags in mass-adoption and fan-out (e.g. "--adoption-qps 20")
  --sizes LIST               N for the scale scenarios (full: 100,1000,10000; quick: 100,1000)
  --secret-sizes LIST        N for scale-secrets, where every other pair consumes a Secret instead of a
                             ConfigMap (full: as --sizes; quick: 1000)
  --helm-secrets H           helm-secrets: helm release Secrets (type helm.sh/release.v1) (full: 2000; quick: 500)
  --helm-kib K               their size in KiB (default 256)
  --helm-pairs P             ordinary pairs beside them, half on a Secret, 1 KiB (default 100)
  --scoping-total N          scoping: ConfigMaps in the cluster (full: 10000; quick: 2000)
  --scoping-selected S       of them, labelled reload=yes and consumed, in namespace bench (full: 1000; quick: 200);
                             the others in namespaces of their own, S to a namespace
  --scoping-kib K            their size in KiB (default 16)
  --scoping-rounds R         rounds of the three runs: unscoped, --configmap-selector, --namespace (default 2)
  --scoping-churn C          unselected ConfigMaps rewritten at the end of each run (default 1000; 0 = none)
  --scoping-samples N        latency samples per run (default 50, +5 warm-up)
  --cm-sizes LIST            ConfigMap sizes in KiB for the size scenarios (default 1,16,64)
  --size-n N                 N for the size scenarios (full: 10000; quick: 1000)
  --samples N, --warmup N    latency samples per measurement (full: 300+10; quick: 60+5)
  --rate R                   latency samples per second, operator and baseline together (default 20)
  --baseline-pairs B         pairs for the baseline watcher, not opted in (default 50)
  --concurrency C            concurrent writes when creating objects and in the storm (default 32)
  --storm N|all              ConfigMaps (and Secrets) the change storm rewrites: min(N, this) (full: 2000; quick: 500; 0 = none)
  --install-max N            scale scenarios with N up to this start as an installation (Deployments not
                             yet adopted); larger ones, and the size scenarios, over adopted Deployments
                             (default 1000: adopting 10k at the default rate limit takes minutes)
  --burst-k K, --burst-trials T   K ConfigMaps per Deployment, T Deployments (full: 10, 20; quick: 5, 10)
  --shared M, --shared-rounds R   Deployments sharing one ConfigMap, rounds (full: 1000, 3; quick: 200, 2)
  --waves-m M                Deployments sharing the ConfigMap of the waves scenario (full: 1000; quick: 200)
  --log-level LEVEL          the operator's log level (default info, its own default)
  --node-options OPTS        NODE_OPTIONS for the operator (experiments, e.g. --max-old-space-size=128)
  --node-flags=FLAGS         Node/V8 flags for the operator after the image's (dist runtime; for flags
                             NODE_OPTIONS refuses, e.g. --single-threaded-gc)
  --trace-operator           trace the operator's event loop and GC: --trace-gc lines in its log, and
                             operator-<label>.trace.jsonl beside it (bench/lib/loop-trace.mjs: loop delay
                             per second, stalls, every GC, wall-clock times); with --keep-work
  --runtime dist|tsx         run the operator compiled, as its image does (node with the image's
                             flags and environment, dist/main.js; default),
                             or through tsx (node --import tsx src/main.ts, as the e2e tests do)
  --profile LIST|all         add a profiled run (--cpu-prof, heap snapshots after sync and after a storm
                             of 500) to these scale/size scenarios, e.g. size-n10000-64KiB
  --out DIR                  results directory (default bench/results)
  --report-only              rebuild summary.md and plot.svg from the JSON files in --out
  --keep-work                keep the work directory (control-plane and operator logs)
  -h, --help`;

const { values: v } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    peer: { type: 'string', multiple: true },
    'adoption-n': { type: 'string' },
    'fanout-m': { type: 'string' },
    'fanout-unrelated': { type: 'string' },
    'fanout-rounds': { type: 'string' },
    'during-min': { type: 'string' },
    'during-max': { type: 'string' },
    'sample-timeout': { type: 'string' },
    'settle-max': { type: 'string' },
    'operator-args': { type: 'string' },
    scenarios: { type: 'string' },
    sizes: { type: 'string' },
    'secret-sizes': { type: 'string' },
    'helm-secrets': { type: 'string' },
    'helm-kib': { type: 'string' },
    'helm-pairs': { type: 'string' },
    'scoping-total': { type: 'string' },
    'scoping-selected': { type: 'string' },
    'scoping-kib': { type: 'string' },
    'scoping-rounds': { type: 'string' },
    'scoping-churn': { type: 'string' },
    'scoping-samples': { type: 'string' },
    'cm-sizes': { type: 'string' },
    'size-n': { type: 'string' },
    samples: { type: 'string' },
    warmup: { type: 'string' },
    rate: { type: 'string' },
    'baseline-pairs': { type: 'string' },
    concurrency: { type: 'string' },
    storm: { type: 'string' },
    'install-max': { type: 'string' },
    'burst-k': { type: 'string' },
    'burst-trials': { type: 'string' },
    shared: { type: 'string' },
    'shared-rounds': { type: 'string' },
    'waves-m': { type: 'string' },
    'log-level': { type: 'string' },
    runtime: { type: 'string' },
    'node-options': { type: 'string' },
    'trace-operator': { type: 'boolean' },
    'node-flags': { type: 'string' },
    profile: { type: 'string' },
    out: { type: 'string' },
    'report-only': { type: 'boolean' },
    'keep-work': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (v.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const quick = v.quick === true;
const num = (raw: string | undefined, fallback: number): number => {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`not a number: ${raw}`);
  return n;
};
const list = (raw: string | undefined, fallback: number[]) => (raw ? raw.split(',').map((x) => num(x.trim(), 0)) : fallback);
const out = path.resolve(v.out ?? path.join(repo, 'bench/results', quick ? 'quick' : ''));
const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const settings: Settings = {
  samples: num(v.samples, quick ? 60 : 300),
  warmup: num(v.warmup, quick ? 5 : 10),
  rate: num(v.rate, 20),
  baselinePairs: num(v['baseline-pairs'], 50),
  concurrency: num(v.concurrency, 32),
  stormMax: v.storm === 'all' ? Number.MAX_SAFE_INTEGER : num(v.storm, quick ? 500 : 2000),
  logLevel: v['log-level'] ?? 'info',
  profile: v.profile === 'all' ? 'all' : new Set((v.profile ?? '').split(',').map((x) => x.trim()).filter(Boolean)),
  runtime: v.runtime === 'tsx' ? 'tsx' : 'dist',
  nodeOptions: v['node-options'] ?? '',
  traceOperator: v['trace-operator'] === true,
  nodeFlags: (v['node-flags'] ?? '').split(/\s+/).filter(Boolean),
  operatorArgs: (v['operator-args'] ?? '').split(/\s+/).filter(Boolean),
  peerSettleMs: num(v['settle-max'], quick ? 60 : 300) * 1000,
};
const peers = parsePeers(v.peer ?? []);
if (v.runtime !== undefined && v.runtime !== 'tsx' && v.runtime !== 'dist') throw new Error(`--runtime ${v.runtime}: expected dist or tsx`);
const ALL = ['scale', 'scale-secrets', 'size', 'burst-k', 'burst-shared', 'helm-secrets', 'scoping', 'mass-adoption', 'fan-out', 'waves'];
const wanted = new Set((v.scenarios ?? ALL.join(',')).split(',').map((s) => s.trim()));
for (const w of wanted) {
  if (!ALL.includes(w)) throw new Error(`--scenarios: unknown scenario ${w}`);
}
const sizes = list(v.sizes, quick ? [100, 1000] : [100, 1000, 10_000]);
const secretSizes = list(v['secret-sizes'], quick ? [1000] : sizes);
const cmSizes = list(v['cm-sizes'], [1, 16, 64]);
const sizeN = num(v['size-n'], quick ? 1000 : 10_000);
const installMax = num(v['install-max'], 1000);

const specs: ScenarioSpec[] = [];
if (wanted.has('scale')) for (const n of sizes) specs.push({ kind: 'scale', name: `scale-n${n}`, n, bytes: 1024, install: n <= installMax, secretShare: 0 });
// The same with every other pair on a Secret (same size): a scenario of its own, so that the
// ConfigMap-only figures of scale-n<N> stay comparable with earlier runs.
if (wanted.has('scale-secrets')) {
  for (const n of secretSizes) specs.push({ kind: 'scale', name: `scale-secrets-n${n}`, n, bytes: 1024, install: n <= installMax, secretShare: 0.5 });
}
if (wanted.has('size')) {
  for (const k of cmSizes) {
    // 1 KiB at a scale N already measured is the same scenario: not run twice.
    if (k === 1 && wanted.has('scale') && sizes.includes(sizeN)) continue;
    specs.push({ kind: 'scale', name: `size-n${sizeN}-${k}KiB`, n: sizeN, bytes: k * 1024, install: false, secretShare: 0 });
  }
}
if (wanted.has('burst-k')) specs.push({ kind: 'burst-k', name: 'burst-k', k: num(v['burst-k'], quick ? 5 : 10), trials: num(v['burst-trials'], quick ? 10 : 20) });
if (wanted.has('waves')) specs.push({ kind: 'waves', name: 'waves', m: num(v['waves-m'], quick ? 200 : 1000) });
if (wanted.has('burst-shared')) specs.push({ kind: 'burst-shared', name: 'burst-shared', m: num(v.shared, quick ? 200 : 1000), rounds: num(v['shared-rounds'], quick ? 2 : 3) });
if (wanted.has('helm-secrets')) {
  specs.push({
    kind: 'helm-secrets', name: 'helm-secrets', helmSecrets: num(v['helm-secrets'], quick ? 500 : 2000), helmBytes: num(v['helm-kib'], 256) * 1024,
    pairs: num(v['helm-pairs'], 100),
  });
}

if (wanted.has('scoping')) {
  specs.push({
    kind: 'scoping', name: 'scoping', total: num(v['scoping-total'], quick ? 2000 : 10_000), selected: num(v['scoping-selected'], quick ? 200 : 1000),
    bytes: num(v['scoping-kib'], 16) * 1024, rounds: num(v['scoping-rounds'], 2), churn: num(v['scoping-churn'], 1000),
    samples: num(v['scoping-samples'], 50), warmup: 5,
  });
}

const windowLimits = {
  minMs: num(v['during-min'], quick ? 10 : 20) * 1000,
  maxMs: num(v['during-max'], quick ? 180 : 900) * 1000,
  sampleTimeoutMs: num(v['sample-timeout'], 120) * 1000,
  settleMaxMs: settings.peerSettleMs,
};
const contention: ContentionSpec[] = [];
if (wanted.has('mass-adoption')) {
  const n = num(v['adoption-n'], quick ? 500 : 10_000);
  contention.push({ kind: 'mass-adoption', name: `mass-adoption-n${n}`, n, bytes: 1024, window: windowLimits });
}
if (wanted.has('fan-out')) {
  const m = num(v['fanout-m'], quick ? 100 : 1000);
  contention.push({
    kind: 'fan-out', name: `fan-out-m${m}`, m, unrelated: num(v['fanout-unrelated'], 200), rounds: num(v['fanout-rounds'], 3), bytes: 1024, window: windowLimits,
  });
}

function loadResults(): ScenarioResult[] {
  return readdirSync(out).filter((f) => f.endsWith('.json') && f !== 'meta.json')
    .map((f) => JSON.parse(readFileSync(path.join(out, f), 'utf8')) as ScenarioResult)
    .filter((r) => r && typeof r === 'object' && 'kind' in r);
}

function writeReport(meta: RunMeta): void {
  const results = loadResults();
  writeFileSync(path.join(out, 'summary.md'), renderSummary(meta, results));
  writeFileSync(path.join(out, 'plot.svg'), renderPlot(results));
  log(`wrote ${path.join(out, 'summary.md')} and plot.svg`);
}

mkdirSync(out, { recursive: true });
if (v['report-only']) {
  writeReport(JSON.parse(readFileSync(path.join(out, 'meta.json'), 'utf8')) as RunMeta);
  process.exit(0);
}

const started = Date.now();
const workRoot = mkdtempSync(path.join(os.tmpdir(), 'cro-bench-'));
// Interrupted (Ctrl-C, a stopped session): exit through the 'exit' hooks, which kill the
// operator, the baseline watcher and the control plane; then the work directory goes too.
process.on('exit', () => {
  if (!v['keep-work']) rmSync(workRoot, { recursive: true, force: true });
});
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping; results of finished scenarios are in ${out}`);
    process.exit(code);
  });
}
const snapshot = snapshotOperator(repo, path.join(workRoot, 'operator'));
log(`operator snapshot: commit ${snapshot.commit}${snapshot.dirty.length ? ` + ${snapshot.dirty.length} uncommitted file(s) in src/` : ''}; work dir ${workRoot}`);
if (settings.runtime === 'dist' && !snapshot.built) {
  log(`operator build failed, running it through tsx instead:\n${snapshot.buildOutput}`);
  settings.runtime = 'tsx';
}
const ctx: Ctx = {
  settings, repo, operatorDir: snapshot.dir, workRoot, resultsDir: out, digester: await loadDigester(snapshot.dir), log, peers,
  info: { k8s: '?', rbac: '?' },
};
const meta: RunMeta = {
  command: `npm run bench${quick ? ':quick' : ''}${process.argv.slice(2).filter((a) => a !== '--quick').length ? ` -- ${process.argv.slice(2).filter((a) => a !== '--quick').join(' ')}` : ''}`,
  preset: quick ? 'quick' : 'full',
  startedAt: new Date(started).toISOString(),
  durationSeconds: 0,
  machine: {
    nproc: os.availableParallelism(), memoryGiB: Math.round(os.totalmem() / 2 ** 30), cpu: os.cpus()[0]?.model.trim() ?? '?',
    kernel: os.release(), node: process.version, k8s: '?',
  },
  operator: { commit: snapshot.commit, dirty: snapshot.dirty, runtime: settings.runtime },
  settings: {
    ...settings, profile: settings.profile === 'all' ? 'all' : [...settings.profile], sizes, secretSizes, cmSizes, sizeN, installMax,
    ...(contention.length ? { window: windowLimits } : {}),
  },
  peers: peers.map((p) => ({ name: p.profile.name, binary: p.binary, command: peerCommand(p), notes: p.profile.notes })),
  scenarioSeconds: {},
  load: {},
  failures: {},
  rbac: '?',
};
for (const spec of [...specs, ...contention]) {
  const t0 = Date.now();
  log(`scenario ${spec.name}: start`);
  const load = watchLoad();
  try {
    const result = await runScenario(ctx, spec);
    writeFileSync(path.join(out, `${spec.name}.json`), `${JSON.stringify(result, null, 1)}\n`);
  } catch (err) {
    meta.failures[spec.name] = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`scenario ${spec.name} FAILED: ${meta.failures[spec.name]}`);
  }
  const loadReport = load.stop();
  (meta.load ??= {})[spec.name] = loadReport;
  if (loadReport.apiServersMax > 1) log(`scenario ${spec.name}: the machine was shared (${loadReport.apiServersMax} kube-apiservers at once)`);
  meta.scenarioSeconds[spec.name] = Math.round((Date.now() - t0) / 1000);
  log(`scenario ${spec.name}: ${meta.scenarioSeconds[spec.name]} s`);
  // Written after every scenario, so that a run cut short still says how its results were made.
  meta.durationSeconds = Math.round((Date.now() - started) / 1000);
  meta.machine.k8s = ctx.info.k8s;
  meta.rbac = ctx.info.rbac;
  writeFileSync(path.join(out, 'meta.json'), `${JSON.stringify(meta, null, 1)}\n`);
}
meta.durationSeconds = Math.round((Date.now() - started) / 1000);
meta.machine.k8s = ctx.info.k8s;
meta.rbac = ctx.info.rbac;
writeFileSync(path.join(out, 'meta.json'), `${JSON.stringify(meta, null, 1)}\n`);
writeReport(meta);
if (v['keep-work']) log(`work directory kept: ${workRoot}`);
process.exit(Object.keys(meta.failures).length ? 1 : 0);
