// The scenarios. Each runs on a control plane of its own (fresh etcd), so that no scenario
// inherits another's objects, ReplicaSets or watch-cache history.
//
// scale / size (N opted-in Deployments, each consuming its own ConfigMap of `bytes`, plus a
// few pairs for the baseline watcher that are not opted in):
//   1. create the objects (bounded pool of concurrent creates); wait until the Deployment
//      controller has observed every Deployment, so that the cluster is quiet;
//   2. operator with --debounce 0: start-up (an installation when `install`, else a restart
//      over Deployments that already record their digest), memory, rolls at start-up; then
//      latency, sampled alternately on the operator's Deployments and on the baseline
//      watcher's (both processes running, same load, same moments);
//   3. operator with the default debounce: start-up (a restart: 0 rolls), latency (again
//      alternating with the baseline), then the change storm and memory after it;
//   4. with --profile: the operator again with --cpu-prof and heap snapshots after sync and
//      after a second storm (a separate run: profiling distorts the figures above).
// scale-secrets: the same, with every other pair consuming a Secret (same size, base64 in the API)
//   instead of a ConfigMap, so that latency, memory and the storm cover Secrets.
// helm-secrets: a few ordinary pairs (ConfigMaps and Secrets) plus H helm release Secrets
//   (type helm.sh/release.v1) of `helmBytes` each: the operator started without them, with them
//   (default: excluded by a field selector), with them listed (--exclude-secret-types ""), and
//   without them again; RSS, bytes read, the fieldSelector of every secrets LIST/WATCH, and the
//   latency of a Secret change.
// burst-k: K ConfigMaps of one Deployment changed together: rolls per Deployment.
// burst-shared: one ConfigMap consumed by M Deployments changed once: PATCHes, fan-out time.
// scoping (bench/lib/scoping.ts): 10,000 ConfigMaps of which 1,000 are consumed, the operator unscoped
//   and scoped by label selector and by namespace.
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { countByVerb, listWatchSelectors, readAudit, type SelectorCount, verbTotal, type Window } from './audit.ts';
import { BASELINE_USER, type BenchCluster, OPERATOR_USER, startCluster } from './cluster.ts';
import { pool } from './kube.ts';
import {
  BASELINE_KEY, cfgOf, changeConfigMap, changeSource, createPairs, DATA_KEY, type Data, type Digester, HASH, NS, type PairSpec, payload,
  SECRET_APP_PREFIX, secret, secretPayload, sourceOf,
} from './objects.ts';
import { type Runtime, startOperator, type RunningOperator } from './operator.ts';
import { BenchProcess, type OperatorMemory } from './procs.ts';
import { summarizeCpuProfile, summarizeHeapSnapshot, type CpuWindowSummary, type HeapRow } from './profile.ts';
import { mib, summarize, type Summary } from './stats.ts';
import { DeploymentTracker, until } from './tracker.ts';
import { type PeerSpec, peerOptIns } from './peers.ts';
import type { ScopingResult, ScopingSpec } from './scoping.ts';
import type { ContentionResult } from './contention.ts';
import { type PeerScaleRun, runPeerScale } from './peer-scale.ts';
import { SENTINEL } from './systems.ts';

export interface Settings {
  samples: number;
  warmup: number;
  /** Latency samples per second (Poisson arrivals, each on a different Deployment). */
  rate: number;
  concurrency: number;
  /** ConfigMaps rewritten by the change storm: min(N, stormMax); 0 = no storm. */
  stormMax: number;
  logLevel: string;
  /** Scenario names that get a profiled run, or 'all'. */
  profile: ReadonlySet<string> | 'all';
  runtime: Runtime;
  /** Pairs for the baseline watcher (not opted in), sampled alternately with the operator's. */
  baselinePairs: number;
  /** NODE_OPTIONS for the operator (experiments). */
  nodeOptions: string;
  /** More flags for the operator in the mass-adoption and fan-out scenarios (e.g. an adoption pace). */
  operatorArgs: string[];
  /** How long a peer's start-up (Wave's roll of every workload) is waited for. */
  peerSettleMs: number;
}

export interface Ctx {
  settings: Settings;
  repo: string;
  operatorDir: string;
  workRoot: string;
  resultsDir: string;
  digester: Digester;
  log(line: string): void;
  /** Peer operators (--peer) run after the operator in the scenarios that support them. */
  peers: PeerSpec[];
  /** Filled in by the first cluster started. */
  info: { k8s: string; rbac: string };
}

export type ScenarioSpec =
  /** secretShare: the fraction of the N pairs that consume a Secret instead of a ConfigMap (0 or 0.5). */
  | { kind: 'scale'; name: string; n: number; bytes: number; install: boolean; secretShare: number }
  /** H helm release Secrets of helmBytes each, beside `pairs` ordinary pairs (half Secrets) of 1 KiB. */
  | { kind: 'helm-secrets'; name: string; helmSecrets: number; helmBytes: number; pairs: number }
  | { kind: 'burst-k'; name: string; k: number; trials: number }
  | { kind: 'burst-shared'; name: string; m: number; rounds: number }
  | { kind: 'waves'; name: string; m: number }
  | ScopingSpec;

export interface StartupResult {
  label: string;
  kind: 'install' | 'restart';
  debounceMs: number | undefined;
  bootMs: number | undefined;
  syncedMs: number;
  adoptions: number;
  /** Install only: ms from spawn until every Deployment recorded its digest. */
  adoptAllMs: number | undefined;
  /** Rolls at start-up: the operator's counter, and template changes the benchmark observed. */
  rollsMetric: number;
  rollsObserved: number;
  memoryAtSync: OperatorMemory;
  memorySettled: OperatorMemory;
  /** Reconcile decisions by action from spawn until idle. */
  decisions: Record<string, number>;
}

export interface LatencyResult {
  summary: Summary;
  timeouts: number;
  /** Write round trip (request sent → acknowledged), for context. */
  writeAck: Summary;
  samplesMs: number[];
  /** By the kind of object changed, when an arm changes both ConfigMaps and Secrets. */
  byKind?: Record<string, Summary>;
}

export interface StormResult {
  changes: number;
  writeSeconds: number;
  /** From the first write to the last Deployment rolled. */
  allRolledSeconds: number;
  rolled: number;
  duplicateRolls: number;
  missed: number;
  memoryAfter: OperatorMemory;
  operatorCpuSeconds: number;
  /** Reconcile decisions during the storm by action: "none" are reconciles that wrote nothing. */
  decisions: Record<string, number>;
  /** Mean duration of one reconcile (the operator's histogram). */
  reconcileMeanMs: number;
}

export interface ScaleResult {
  scenario: string;
  kind: 'scale';
  n: number;
  /** Size of each ConfigMap's (and Secret's) data. */
  configMapBytes: number;
  /** Fraction of the N pairs that consume a Secret instead of a ConfigMap (absent in older results: 0). */
  secretShare?: number;
  createSeconds: number;
  quietSeconds: number;
  listFloor: ListFloor;
  startups: StartupResult[];
  /** Each phase samples the operator and the baseline watcher alternately, under the same load. */
  latency: { debounce0: { operator: LatencyResult; baseline: LatencyResult }; default: { operator: LatencyResult; baseline: LatencyResult } };
  /** Our p99 over the baseline's p99, in the same phase. */
  ratioP99: { debounce0: number; default: number };
  baselinePairs: number;
  /** RSS of the baseline watcher at the end of its phase: the floor of Node + client-node. */
  baselineRssBytes: number;
  storm: StormResult | undefined;
  api: Record<string, { user: string; counts: Record<string, number>; changes: number; patches: number; lists: number }>;
  profile?: ProfileResult;
  operatorProblems: string[];
  trackerRelists: number;
  /** The peers (--peer), run after the operator on the same cluster and objects. */
  peers?: PeerScaleRun[];
  peerFailures?: Record<string, string>;
}

export interface ProfileResult {
  cpu: CpuWindowSummary[];
  heapAfterSync?: { totalMiB: number; rows: HeapRow[] };
  heapAfterStorm?: { totalMiB: number; rows: HeapRow[] };
  memoryAtSync: OperatorMemory;
  memoryAfterStorm?: OperatorMemory;
  syncedMs: number;
  files: string[];
}

export interface BurstPhase {
  debounceMs: number | undefined;
  trials: number;
  rollsPerDeployment: Record<string, number>;
  latencyFromLastWrite: Summary;
  timeouts: number;
  api: Record<string, number>;
  patches: number;
  lists: number;
}

export interface BurstKResult {
  scenario: string;
  kind: 'burst-k';
  k: number;
  phases: BurstPhase[];
  operatorProblems: string[];
}

export interface SharedPhase {
  debounceMs: number | undefined;
  rounds: number;
  consumers: number;
  /** Per round: ms from the write's acknowledgement to the last consumer rolled. */
  allRolledMs: number[];
  fanOut: Summary;
  rolled: number;
  duplicateRolls: number;
  api: Record<string, number>;
  patches: number;
  lists: number;
  reconcileMeanMs: number;
}

export interface SharedResult {
  scenario: string;
  kind: 'burst-shared';
  m: number;
  phases: SharedPhase[];
  operatorProblems: string[];
}

export interface HelmArm {
  label: string;
  /** Helm release Secrets in the cluster during this run of the operator. */
  helmSecrets: number;
  /** The operator's flags beyond the common ones. */
  args: string[];
  bootMs: number | undefined;
  syncedMs: number;
  /** Objects in the operator's stores at sync (its "caches synced" log line). */
  stored: Record<string, number>;
  memoryAtSync: OperatorMemory;
  memorySettled: OperatorMemory;
  /** Bytes the operator read (rchar) from spawn to sync, and to the end of its run. */
  readBytesAtSync: number;
  readBytesAtEnd: number;
  /** The apiserver's own figures for the run (its /metrics, differences): LIST secrets responses, Secret watch events. */
  apiserver: { listSecretsRequests: number; listSecretsBytes: number; secretWatchEvents: number; secretWatchEventBytes: number };
  /** Every secrets LIST and WATCH of the operator in this run, by fieldSelector (audit log). */
  secretRequests: SelectorCount[];
  /** Every request of the operator in this run, by verb and resource (audit log). */
  api: Record<string, number>;
  rollsMetric: number;
  adoptions: number;
  /** Latency of a Secret change (--debounce 0). */
  latency: LatencyResult;
}

export interface HelmResult {
  scenario: string;
  kind: 'helm-secrets';
  helmSecrets: number;
  /** Bytes of data per helm release Secret (base64 in the API: 4/3 of this on the wire). */
  helmSecretBytes: number;
  /** The operator's default exclusion: what every secrets LIST/WATCH should carry. */
  expectedSelector: string;
  pairs: { configMaps: number; secrets: number };
  createSeconds: number;
  helmCreateSeconds: number;
  helmDeleteSeconds: number;
  arms: HelmArm[];
  operatorProblems: string[];
}

export interface WavesArm {
  label: string;
  args: string[];
  /** ConfigMap write acknowledged → the first consumer's roll observed (the canary, in waves), ms. */
  firstRolledMs: number;
  /** … → the last consumer's roll observed, ms. */
  allRolledMs: number;
  rolled: number;
  duplicateRolls: number;
}

export interface WavesResult {
  scenario: string;
  kind: 'waves';
  m: number;
  arms: WavesArm[];
  operatorProblems: string[];
}

export type ScenarioResult = ScaleResult | BurstKResult | SharedResult | HelmResult | ScopingResult | ContentionResult | WavesResult;

/** The pause between two polls of a condition (never a wait that stands for one). */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Reads `read` every `periodMs` until `samples` readings in a row are `same` as the one before
 * (at most `maxPolls` polls), and returns the last: counters that stopped moving, a settled RSS.
 */
export async function untilStill<T>(read: () => Promise<T>, same: (a: T, b: T) => boolean, periodMs = 1000, samples = 2, maxPolls = 120): Promise<T> {
  let before = await read();
  for (let i = 0, still = 0; i < maxPolls && still < samples; i++) {
    await sleep(periodMs);
    const now = await read();
    still = same(before, now) ? still + 1 : 0;
    before = now;
  }
  return before;
}

/** The operator's memory once idle: RSS read until two readings 500 ms apart agree within 1 MiB. */
export function settledMemory(op: RunningOperator): ReturnType<RunningOperator['memory']> {
  return untilStill(() => op.memory(), (a, b) => Math.abs(a.rssBytes - b.rssBytes) < 1024 * 1024, 500, 1, 20);
}

export function shuffled<T>(items: readonly T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

export interface Env {
  ctx: Ctx;
  cl: BenchCluster;
  tracker: DeploymentTracker;
  dir: string;
  windows: Array<Window & { user: string; changes: number }>;
  problems: string[];
}

export async function withCluster<T>(ctx: Ctx, name: string, fn: (env: Env) => Promise<T>): Promise<T> {
  const dir = path.join(ctx.workRoot, name);
  mkdirSync(dir, { recursive: true });
  const cl = await startCluster(dir, ctx.operatorDir, ctx.log, ctx.peers.map((p) => p.profile.name));
  const tracker = new DeploymentTracker(cl.admin, [HASH, BASELINE_KEY, ...ctx.peers.map((p) => p.profile.templateKey)], HASH);
  ctx.info.k8s = cl.k8sVersion;
  ctx.info.rbac = cl.rbacSource;
  try {
    await cl.admin.requestRetry('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    await tracker.start();
    return await fn({ ctx, cl, tracker, dir, windows: [], problems: [] });
  } finally {
    await tracker.stop();
    await cl.stop();
  }
}

export async function startOp(env: Env, label: string, debounce: string | undefined, timeoutMs: number, extra: { env?: Record<string, string>; args?: string[] } = {}): Promise<RunningOperator> {
  const op = await startOperator({
    operatorDir: env.ctx.operatorDir, runtime: env.ctx.settings.runtime, kubeconfig: env.cl.operatorKubeconfig, logDir: env.dir, label,
    logLevel: env.ctx.settings.logLevel,
    extraArgs: [...(debounce === undefined ? [] : ['--debounce', debounce]), ...(extra.args ?? [])],
    env: { ...(env.ctx.settings.nodeOptions ? { NODE_OPTIONS: env.ctx.settings.nodeOptions } : {}), ...extra.env },
  }, timeoutMs);
  env.ctx.log(`  operator ${label}: synced in ${Math.round(op.syncedMs)} ms`);
  return op;
}

export async function stopOp(env: Env, op: RunningOperator | BenchProcess): Promise<void> {
  const proc = op instanceof BenchProcess ? op : op.proc;
  const code = await proc.stop();
  for (const p of proc.problems) if (env.problems.length < 30) env.problems.push(`${proc.name}: ${p}`);
  if (code !== 0) env.problems.push(`${proc.name}: exit code ${code}`);
}

async function debounceOf(op: RunningOperator): Promise<number | undefined> {
  const line = await op.proc.waitFor('"starting"', (l) => l.message === 'starting', 1).catch(() => undefined);
  const v = line?.line.debounceMs;
  return typeof v === 'number' ? v : undefined;
}

/**
 * Waits until the operator is idle: no key ready or parked on a timer (its queue gauges,
 * refreshed every second) and no reconcile finished for 1.5 s. The second condition is needed
 * because keys held back by the global rate limit appear in neither gauge.
 */
export async function queueIdle(op: RunningOperator, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let idleSince: number | undefined;
  let lastCount = -1;
  while (performance.now() < deadline) {
    const depth = (await op.metric('config_reload_queue_depth')) + (await op.metric('config_reload_queue_waiting'));
    const count = await op.metric('config_reload_reconcile_duration_seconds_count');
    if (depth === 0 && count === lastCount) {
      idleSince ??= performance.now();
      if (performance.now() - idleSince >= 1500) return;
    } else {
      idleSince = undefined;
    }
    lastCount = count;
    await sleep(250);
  }
}

/** Mean reconcile duration (ms) between two readings of the operator's histogram. */
async function reconcileReading(op: RunningOperator): Promise<{ sum: number; count: number }> {
  return { sum: await op.metric('config_reload_reconcile_duration_seconds_sum'), count: await op.metric('config_reload_reconcile_duration_seconds_count') };
}

function meanMs(a: { sum: number; count: number }, b: { sum: number; count: number }): number {
  return b.count > a.count ? Math.round(((b.sum - a.sum) / (b.count - a.count)) * 10000) / 10 : NaN;
}

export function openWindow(env: Env, name: string, user: string): Window & { user: string; changes: number } {
  const w = { name, user, from: Date.now(), to: Number.MAX_SAFE_INTEGER, changes: 0 };
  env.windows.push(w);
  return w;
}

async function startup(env: Env, op: RunningOperator, label: string, kind: 'install' | 'restart', apps: readonly string[], timeoutMs: number): Promise<StartupResult> {
  const memoryAtSync = await op.memory();
  let adoptAllMs: number | undefined;
  if (kind === 'install') {
    const ok = await until(() => env.tracker.unrecorded(apps) === 0, timeoutMs, 100);
    if (!ok) env.problems.push(`${label}: ${env.tracker.unrecorded(apps)} Deployments still without a recorded digest after ${timeoutMs} ms`);
    adoptAllMs = performance.now() - op.proc.spawnedAt;
    env.ctx.log(`  ${label}: adopted ${apps.length} Deployments in ${Math.round(adoptAllMs)} ms from spawn`);
  }
  await queueIdle(op, 60_000);
  await sleep(1000);
  const rollsObserved = env.tracker.changesSince(HASH, op.proc.spawnedAt).length;
  const result: StartupResult = {
    label, kind, debounceMs: await debounceOf(op), bootMs: op.bootMs, syncedMs: Math.round(op.syncedMs),
    adoptions: await op.metric('config_reload_adoptions_total'), adoptAllMs: adoptAllMs === undefined ? undefined : Math.round(adoptAllMs),
    rollsMetric: await op.metric('config_reload_rolls_total'), rollsObserved,
    memoryAtSync, memorySettled: await op.memory(),
    decisions: await op.metricBy('config_reload_decisions_total', 'action'),
  };
  env.ctx.log(`  ${label}: rolls at start-up ${result.rollsMetric} (observed ${rollsObserved}), adoptions ${result.adoptions}, RSS ${(result.memorySettled.rssBytes / 1048576).toFixed(1)} MiB`);
  return result;
}

export interface Arm {
  label: string;
  /** The template annotation whose change marks the reaction. */
  key: string;
  apps: readonly string[];
}

/**
 * Open-loop latency samples: Poisson arrivals at `rate`, alternating between the arms in a
 * shuffled order (so every arm sees the same load and moments), each a content change of the
 * ConfigMap of a Deployment not already in flight; latency is from the write's
 * acknowledgement to the arrival of the Deployment watch event showing the arm's template
 * annotation changed.
 */
export async function measureLatency(env: Env, arms: readonly Arm[], bytes: number): Promise<LatencyResult[]> {
  const s = env.ctx.settings;
  const perArm = s.warmup + s.samples;
  const schedule = shuffled(arms.flatMap((_, i) => Array.from({ length: perArm }, () => i)));
  const state = arms.map((arm) => ({
    order: shuffled(arm.apps), cursor: 0, busy: new Set<string>(), seen: 0,
    lat: [] as number[], ack: [] as number[], timeouts: 0, byKind: new Map<string, number[]>(),
  }));
  const pick = (i: number): string | undefined => {
    const st = state[i];
    if (!st) return undefined;
    for (let tries = 0; tries < st.order.length; tries++) {
      const app = st.order[st.cursor++ % st.order.length] as string;
      if (!st.busy.has(app)) return app;
    }
    return undefined;
  };
  const inflight: Promise<void>[] = [];
  for (const i of schedule) {
    await sleep(-Math.log(1 - Math.random()) * (1000 / s.rate));
    const arm = arms[i] as Arm;
    const st = state[i] as (typeof state)[number];
    let app = pick(i);
    while (app === undefined) {
      await sleep(20);
      app = pick(i);
    }
    const target = app;
    st.busy.add(target);
    const warm = st.seen++ < s.warmup;
    inflight.push((async () => {
      const waiter = env.tracker.nextChange(target, arm.key, 30_000);
      const source = sourceOf(target);
      const { sent, acked } = await changeSource(env.cl.admin, source, bytes);
      const change = await waiter;
      // Let a debounced operator finish with the key before it is changed again.
      await sleep(200);
      st.busy.delete(target);
      if (warm) return;
      if (!change) {
        st.timeouts++;
        return;
      }
      st.lat.push(change.at - acked);
      st.ack.push(acked - sent);
      const perKind = st.byKind.get(source.kind) ?? [];
      perKind.push(change.at - acked);
      st.byKind.set(source.kind, perKind);
    })());
  }
  await Promise.all(inflight);
  return arms.map((arm, i) => {
    const st = state[i] as (typeof state)[number];
    const summary = summarize(st.lat);
    env.ctx.log(`  latency ${arm.label}: p50 ${summary.p50} p95 ${summary.p95} p99 ${summary.p99} ms (n=${summary.n}, timeouts ${st.timeouts})`);
    const byKind = st.byKind.size > 1 ? Object.fromEntries([...st.byKind].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, summarize(v)])) : undefined;
    if (byKind) for (const [k, v] of Object.entries(byKind)) env.ctx.log(`    ${k}: p50 ${v.p50} p95 ${v.p95} p99 ${v.p99} ms (n=${v.n})`);
    return { summary, timeouts: st.timeouts, writeAck: summarize(st.ack), samplesMs: st.lat.map((x) => Math.round(x * 10) / 10), ...(byKind ? { byKind } : {}) };
  });
}

async function storm(env: Env, op: RunningOperator, apps: readonly string[], bytes: number, label: string): Promise<StormResult> {
  const s = env.ctx.settings;
  const targets = shuffled(apps).slice(0, Math.min(apps.length, s.stormMax));
  const wanted = new Set(targets);
  const counts = new Map<string, number>();
  let lastAt = 0;
  const off = env.tracker.onChange((c) => {
    if (c.key !== HASH || !wanted.has(c.name)) return;
    counts.set(c.name, (counts.get(c.name) ?? 0) + 1);
    lastAt = c.at;
  });
  const cpu0 = op.proc.stat()?.cpuSeconds ?? 0;
  const decisions0 = await op.metricBy('config_reload_decisions_total', 'action');
  const rec0 = await reconcileReading(op);
  const t0 = performance.now();
  await pool(targets, s.concurrency, async (app) => {
    await changeSource(env.cl.admin, sourceOf(app), bytes);
  });
  const writeSeconds = (performance.now() - t0) / 1000;
  env.ctx.log(`  storm ${label}: ${targets.length} ConfigMaps/Secrets rewritten in ${writeSeconds.toFixed(1)} s`);
  // The default rate limit (50/s after a burst of 500) sets the pace: allow for it generously.
  const timeoutMs = 120_000 + (targets.length / 25) * 1000;
  await until(() => counts.size >= targets.length, timeoutMs, 200);
  const allRolledSeconds = ((counts.size >= targets.length ? lastAt : performance.now()) - t0) / 1000;
  await queueIdle(op, 60_000);
  await sleep(2000);
  off();
  let duplicates = 0;
  for (const c of counts.values()) duplicates += Math.max(0, c - 1);
  const decisions = await op.metricBy('config_reload_decisions_total', 'action');
  for (const [k, v] of Object.entries(decisions0)) decisions[k] = (decisions[k] ?? 0) - v;
  const result: StormResult = {
    changes: targets.length, writeSeconds: round1(writeSeconds), allRolledSeconds: round1(allRolledSeconds),
    rolled: counts.size, duplicateRolls: duplicates, missed: targets.length - counts.size,
    memoryAfter: await op.memory(), operatorCpuSeconds: round1((op.proc.stat()?.cpuSeconds ?? 0) - cpu0), decisions,
    reconcileMeanMs: meanMs(rec0, await reconcileReading(op)),
  };
  env.ctx.log(`  storm ${label}: ${result.rolled}/${targets.length} rolled in ${result.allRolledSeconds} s, ${duplicates} duplicate rolls, RSS after ${(result.memoryAfter.rssBytes / 1048576).toFixed(1)} MiB`);
  return result;
}

export const round1 = (x: number) => Math.round(x * 10) / 10;

export interface ListFloor {
  /** ms to LIST every ConfigMap and Deployment (pages of 500) and parse them, uncompressed. */
  plainMs: number;
  /** The same with gzip responses (what client-node asks for). */
  gzipMs: number;
  /** Bytes on the wire: uncompressed, gzip. */
  plainBytes: number;
  gzipBytes: number;
}

/**
 * The floor of any list-based sync: the harness lists the collections the way a reflector would
 * (Secrets too when the scenario has them).
 */
async function listFloor(env: Env, withSecrets = false): Promise<ListFloor> {
  const run = async (gzip: boolean) => {
    const t0 = performance.now();
    const a = await env.cl.admin.listAll('/api/v1/configmaps', 500, gzip);
    const b = await env.cl.admin.listAll('/apis/apps/v1/deployments', 500, gzip);
    const c = withSecrets ? await env.cl.admin.listAll('/api/v1/secrets', 500, gzip) : { bytes: 0 };
    return { ms: Math.round(performance.now() - t0), bytes: a.bytes + b.bytes + c.bytes };
  };
  const plain = await run(false);
  const gz = await run(true);
  env.ctx.log(`  list floor: ${plain.ms} ms uncompressed (${Math.round(plain.bytes / 1048576)} MiB), ${gz.ms} ms gzip (${Math.round(gz.bytes / 1048576)} MiB)`);
  return { plainMs: plain.ms, gzipMs: gz.ms, plainBytes: plain.bytes, gzipBytes: gz.bytes };
}

export async function createObjects(env: Env, pairs: readonly PairSpec[], bytes: number, preAdopted: boolean, existing?: ReadonlyMap<string, Data>): Promise<{ createSeconds: number; quietSeconds: number }> {
  const t0 = performance.now();
  await createPairs({
    kube: env.cl.admin, pairs, bytes, concurrency: env.ctx.settings.concurrency, extraAnnotations: peerOptIns(env.ctx.peers),
    ...(preAdopted ? { digester: env.ctx.digester } : {}),
    ...(existing ? { existing } : {}),
    progress: (done) => env.ctx.log(`  created ${done}/${pairs.length} pairs`),
  });
  const createSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  // Quiet cluster: every Deployment seen and processed by the Deployment controller.
  await until(() => env.tracker.size >= pairs.length && env.tracker.unobserved() === 0, 600_000, 250);
  const quietSeconds = (performance.now() - t1) / 1000;
  env.ctx.log(`  ${pairs.length} pairs created in ${createSeconds.toFixed(1)} s; Deployment controller caught up ${quietSeconds.toFixed(1)} s later`);
  return { createSeconds: round1(createSeconds), quietSeconds: round1(quietSeconds) };
}

export async function apiCounts(env: Env): Promise<Record<string, { user: string; counts: Record<string, number>; changes: number; patches: number; lists: number }>> {
  const requests = await readAudit(env.cl.auditLog);
  const out: Record<string, { user: string; counts: Record<string, number>; changes: number; patches: number; lists: number }> = {};
  for (const w of env.windows) {
    const counts = countByVerb(requests, w.user, w);
    out[w.name] = { user: w.user, counts, changes: w.changes, patches: verbTotal(counts, 'patch', 'deployments'), lists: verbTotal(counts, 'list') };
  }
  return out;
}

// ---- scale / size ----------------------------------------------------------------------

/** The pair of a Deployment by the naming convention of sourceOf: its one ConfigMap or Secret. */
export function pairOf(app: string, optIn = true): PairSpec {
  const src = sourceOf(app);
  const base: PairSpec = src.kind === 'Secret' ? { app, configMaps: [], secrets: [src.name] } : { app, configMaps: [src.name] };
  return optIn ? base : { ...base, optIn: false };
}

export async function runScale(ctx: Ctx, sc: Extract<ScenarioSpec, { kind: 'scale' }>): Promise<ScaleResult> {
  return withCluster(ctx, sc.name, async (env) => {
    // With a share of Secrets, they are spread evenly: sapp-<i> (Secret sec-<i>) every 1/share pairs.
    const every = sc.secretShare > 0 ? Math.round(1 / sc.secretShare) : 0;
    const apps = Array.from({ length: sc.n }, (_, i) => (every > 0 && i % every === every - 1 ? `${SECRET_APP_PREFIX}${i}` : `app-${i}`));
    const baseApps = Array.from({ length: ctx.settings.baselinePairs }, (_, i) => `bapp-${i}`);
    // With peers, a sentinel pair tells when Reloader (no "synced" log line) reacts.
    const pairs: PairSpec[] = [...apps.map((app) => pairOf(app)), ...(ctx.peers.length ? [pairOf(SENTINEL)] : []), ...baseApps.map((app) => pairOf(app, false))];
    const created = await createObjects(env, pairs, sc.bytes, !sc.install);
    const floor = await listFloor(env, sc.secretShare > 0);
    // Generous: 20k objects of 64 KiB take a while to list; an installation adopts at the rate limit.
    const syncTimeout = 300_000;
    const startups: StartupResult[] = [];
    const changes = 2 * (ctx.settings.samples + ctx.settings.warmup);

    const bl = new BenchProcess('baseline', ctx.repo, ['bench/baseline-watcher.ts', '--kubeconfig', env.cl.baselineKubeconfig], path.join(env.dir, 'baseline.log'));
    await bl.waitFor('"watching"', (l) => l.message === 'watching', 60_000);
    const arms = (label: string): Arm[] => [
      { label: `operator ${label}`, key: HASH, apps },
      { label: `baseline (during operator ${label})`, key: BASELINE_KEY, apps: baseApps },
    ];

    // One operator start (its own API window), then latency against the baseline, same load.
    const startThenMeasure = async (p: {
      start: string; latency: string; op: string; debounce: string | undefined;
      startup: string; kind: 'install' | 'restart'; startupTimeoutMs: number; arms: string;
    }) => {
      const ws = openWindow(env, p.start, OPERATOR_USER);
      const op = await startOp(env, p.op, p.debounce, syncTimeout);
      startups.push(await startup(env, op, p.startup, p.kind, apps, p.startupTimeoutMs));
      ws.to = Date.now();
      const wo = openWindow(env, p.latency, OPERATOR_USER);
      const wb = openWindow(env, `${p.latency} (baseline)`, BASELINE_USER);
      const [operator, baseline] = await measureLatency(env, arms(p.arms), sc.bytes) as [LatencyResult, LatencyResult];
      await queueIdle(op, 30_000);
      wo.to = wb.to = Date.now();
      wo.changes = wb.changes = changes / 2;
      return { op, operator, baseline };
    };

    // 2. operator, --debounce 0
    const fast = await startThenMeasure({
      start: 'start-1', latency: 'latency-debounce0', op: 'debounce0', debounce: '0',
      startup: 'start-1 (debounce 0)', kind: sc.install ? 'install' : 'restart', startupTimeoutMs: 120_000 + sc.n * 40, arms: '--debounce 0',
    });
    await stopOp(env, fast.op);
    await until(() => env.tracker.unobserved() === 0, 120_000, 250);

    // 3. operator, default debounce: restart, latency, storm.
    const dflt = await startThenMeasure({
      start: 'start-2', latency: 'latency-default', op: 'default', debounce: undefined,
      startup: 'start-2 (default debounce)', kind: 'restart', startupTimeoutMs: 60_000, arms: 'default debounce',
    });
    const op = dflt.op;
    const baselineRss = bl.stat()?.rssBytes ?? NaN;
    await stopOp(env, bl);
    let stormResult: StormResult | undefined;
    if (ctx.settings.stormMax > 0) {
      const w = openWindow(env, 'storm', OPERATOR_USER);
      stormResult = await storm(env, op, apps, sc.bytes, 'default debounce');
      w.to = Date.now();
      w.changes = stormResult.changes;
    }
    await stopOp(env, op);

    const peers: PeerScaleRun[] = [];
    const peerFailures: Record<string, string> = {};
    for (const peer of ctx.peers) {
      try {
        peers.push(await runPeerScale(env, peer.profile.name, apps, baseApps, sc.bytes));
      } catch (err) {
        peerFailures[peer.profile.name] = err instanceof Error ? (err.stack ?? err.message) : String(err);
        ctx.log(`  ${peer.profile.name} FAILED: ${peerFailures[peer.profile.name]}`);
      }
    }

    let profile: ProfileResult | undefined;
    if (ctx.settings.profile === 'all' || ctx.settings.profile.has(sc.name)) {
      await until(() => env.tracker.unobserved() === 0, 300_000, 250);
      profile = await runProfile(env, apps, sc.bytes, syncTimeout);
    }

    const ratio = (a: LatencyResult, b: LatencyResult) => Math.round((a.summary.p99 / b.summary.p99) * 100) / 100;
    const result: ScaleResult = {
      scenario: sc.name, kind: 'scale', n: sc.n, configMapBytes: sc.bytes, ...(sc.secretShare > 0 ? { secretShare: sc.secretShare } : {}),
      baselinePairs: baseApps.length, ...created, listFloor: floor, startups,
      latency: { debounce0: { operator: fast.operator, baseline: fast.baseline }, default: { operator: dflt.operator, baseline: dflt.baseline } },
      ratioP99: { debounce0: ratio(fast.operator, fast.baseline), default: ratio(dflt.operator, dflt.baseline) },
      baselineRssBytes: baselineRss,
      storm: stormResult,
      api: await apiCounts(env),
      ...(profile ? { profile } : {}),
      operatorProblems: env.problems,
      trackerRelists: env.tracker.relists,
      ...(ctx.peers.length ? { peers, peerFailures } : {}),
    };
    return result;
  });
}

async function runProfile(env: Env, apps: readonly string[], bytes: number, syncTimeout: number): Promise<ProfileResult> {
  // Heap snapshots are large: they stay in the work directory; the CPU profile is copied to the results.
  const dir = path.join(env.dir, 'profile');
  mkdirSync(dir, { recursive: true });
  const before = new Set(existsSync(dir) ? readdirSync(dir) : []);
  const op = await startOp(env, 'profile', undefined, syncTimeout, {
    env: { NODE_OPTIONS: `${env.ctx.settings.nodeOptions} --cpu-prof --cpu-prof-dir=${dir} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}`.trim() },
  });
  const syncedMs = op.syncedMs;
  const memoryAtSync = await op.memory();
  await queueIdle(op, 60_000);
  const heapAfterSync = await heapSnapshot(op, dir, before);
  let memoryAfterStorm: OperatorMemory | undefined;
  let heapAfterStorm: ProfileResult['heapAfterStorm'];
  const stormFrom = performance.now() - op.proc.spawnedAt;
  if (env.ctx.settings.stormMax > 0) {
    const st = await storm(env, op, apps.slice(0, Math.min(500, env.ctx.settings.stormMax)), bytes, 'profiled (500 at most)');
    memoryAfterStorm = st.memoryAfter;
    heapAfterStorm = await heapSnapshot(op, dir, before);
  }
  const stormTo = performance.now() - op.proc.spawnedAt;
  await stopOp(env, op);
  const files = readdirSync(dir).filter((f) => !before.has(f));
  const cpuFile = files.find((f) => f.endsWith('.cpuprofile'));
  const kept: string[] = [];
  if (cpuFile) {
    const to = path.join(env.ctx.resultsDir, 'profiles', `${path.basename(env.dir)}.cpuprofile`);
    mkdirSync(path.dirname(to), { recursive: true });
    copyFileSync(path.join(dir, cpuFile), to);
    kept.push(path.relative(env.ctx.resultsDir, to));
  }
  const cpu = cpuFile ? summarizeCpuProfile(path.join(dir, cpuFile), [
    { name: 'spawn → synced', fromMs: 0, toMs: syncedMs },
    { name: 'storm', fromMs: stormFrom, toMs: stormTo },
    { name: 'whole run', fromMs: 0, toMs: Number.MAX_SAFE_INTEGER },
  ]) : [];
  return {
    cpu, memoryAtSync, syncedMs: Math.round(syncedMs),
    ...(heapAfterSync ? { heapAfterSync } : {}), ...(heapAfterStorm ? { heapAfterStorm } : {}),
    ...(memoryAfterStorm ? { memoryAfterStorm } : {}),
    files: kept,
  };
}

async function heapSnapshot(op: RunningOperator, dir: string, before: Set<string>): Promise<{ totalMiB: number; rows: HeapRow[] } | undefined> {
  const known = new Set(readdirSync(dir));
  op.proc.signal('SIGUSR2');
  let file: string | undefined;
  let lastSize = -1;
  let stableSince = 0;
  const deadline = performance.now() + 120_000;
  while (performance.now() < deadline) {
    await sleep(250);
    file ??= readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !known.has(f) && !before.has(f));
    if (!file) continue;
    const size = statSync(path.join(dir, file)).size;
    if (size === lastSize && size > 0) {
      if (performance.now() - stableSince > 1500) break;
    } else {
      lastSize = size;
      stableSince = performance.now();
    }
  }
  if (!file) return undefined;
  try {
    return summarizeHeapSnapshot(path.join(dir, file));
  } catch {
    return undefined;
  }
}

// ---- burst-k -------------------------------------------------------------------------------

export async function runBurstK(ctx: Ctx, sc: Extract<ScenarioSpec, { kind: 'burst-k' }>): Promise<BurstKResult> {
  return withCluster(ctx, sc.name, async (env) => {
    const apps = Array.from({ length: sc.trials }, (_, t) => `app-${t}`);
    const pairs = apps.map((app) => ({ app, configMaps: Array.from({ length: sc.k }, (_, j) => `${cfgOf(app)}-${j}`) }));
    await createObjects(env, pairs, 1024, true);
    const phases: BurstPhase[] = [];
    for (const debounce of [undefined, '0']) {
      const label = debounce === undefined ? 'default' : 'debounce0';
      const op = await startOp(env, label, debounce, 120_000);
      await queueIdle(op, 30_000);
      const w = openWindow(env, `burst-${label}`, OPERATOR_USER);
      const since = performance.now();
      const lat: number[] = [];
      let timeouts = 0;
      const trials: Promise<void>[] = [];
      for (const [t, app] of apps.entries()) {
        await sleep(300);
        trials.push((async () => {
          const waiter = env.tracker.nextChange(app, HASH, 30_000);
          const writes = await Promise.all((pairs[t] as PairSpec).configMaps.map((cm) => changeConfigMap(env.cl.admin, cm, 1024)));
          const lastAck = Math.max(...writes.map((x) => x.acked));
          const change = await waiter;
          if (change) lat.push(change.at - lastAck);
          else timeouts++;
        })());
      }
      await Promise.all(trials);
      const debounceMs = await debounceOf(op);
      await sleep((debounceMs ?? 1000) + 3000);
      await queueIdle(op, 30_000);
      w.to = Date.now();
      w.changes = sc.trials * sc.k;
      const perApp = new Map<string, number>();
      for (const c of env.tracker.changesSince(HASH, since)) perApp.set(c.name, (perApp.get(c.name) ?? 0) + 1);
      const hist: Record<string, number> = {};
      for (const app of apps) {
        const k = String(perApp.get(app) ?? 0);
        hist[k] = (hist[k] ?? 0) + 1;
      }
      await stopOp(env, op);
      phases.push({
        debounceMs, trials: sc.trials, rollsPerDeployment: hist, latencyFromLastWrite: summarize(lat), timeouts,
        api: {}, patches: 0, lists: 0,
      });
      ctx.log(`  burst-k ${label}: rolls per Deployment ${JSON.stringify(hist)}`);
    }
    const api = await apiCounts(env);
    for (const [i, label] of ['default', 'debounce0'].entries()) {
      const a = api[`burst-${label}`];
      const phase = phases[i];
      if (a && phase) Object.assign(phase, { api: a.counts, patches: a.patches, lists: a.lists });
    }
    return { scenario: sc.name, kind: 'burst-k', k: sc.k, phases, operatorProblems: env.problems };
  });
}

// ---- burst-shared --------------------------------------------------------------------------

export async function runShared(ctx: Ctx, sc: Extract<ScenarioSpec, { kind: 'burst-shared' }>): Promise<SharedResult> {
  return withCluster(ctx, sc.name, async (env) => {
    const shared = 'cfg-shared';
    const data = { [DATA_KEY]: payload(1024) };
    await env.cl.admin.requestRetry('POST', `/api/v1/namespaces/${NS}/configmaps`, { metadata: { name: shared, namespace: NS }, data });
    const apps = Array.from({ length: sc.m }, (_, i) => `app-${i}`);
    await createObjects(env, apps.map((app) => ({ app, configMaps: [shared] })), 1024, true, new Map([[shared, data]]));
    const phases: SharedPhase[] = [];
    for (const debounce of [undefined, '0']) {
      const label = debounce === undefined ? 'default' : 'debounce0';
      // The fan-out itself, all at once: waves have a scenario of their own (waves).
      const op = await startOp(env, label, debounce, 120_000, { args: ['--wave-threshold', '0'] });
      await queueIdle(op, 30_000);
      const w = openWindow(env, `shared-${label}`, OPERATOR_USER);
      const rec0 = await reconcileReading(op);
      const fan: number[] = [];
      const allRolled: number[] = [];
      let rolled = 0;
      let duplicates = 0;
      for (let r = 0; r < sc.rounds; r++) {
        const counts = new Map<string, number>();
        const firstAt = new Map<string, number>();
        const off = env.tracker.onChange((c) => {
          if (c.key !== HASH) return;
          counts.set(c.name, (counts.get(c.name) ?? 0) + 1);
          if (!firstAt.has(c.name)) firstAt.set(c.name, c.at);
        });
        const { acked } = await changeConfigMap(env.cl.admin, shared, 1024);
        await until(() => firstAt.size >= sc.m, 120_000 + sc.m * 40, 100);
        const last = Math.max(...firstAt.values());
        allRolled.push(Math.round(last - acked));
        for (const at of firstAt.values()) fan.push(at - acked);
        await sleep(((await debounceOf(op)) ?? 1000) + 2000);
        await queueIdle(op, 30_000);
        off();
        rolled += firstAt.size;
        for (const c of counts.values()) duplicates += Math.max(0, c - 1);
        ctx.log(`  shared ${label} round ${r + 1}: ${firstAt.size}/${sc.m} rolled, last after ${allRolled[allRolled.length - 1]} ms`);
      }
      w.to = Date.now();
      w.changes = sc.rounds;
      phases.push({
        debounceMs: await debounceOf(op), rounds: sc.rounds, consumers: sc.m, allRolledMs: allRolled, fanOut: summarize(fan),
        rolled, duplicateRolls: duplicates, api: {}, patches: 0, lists: 0, reconcileMeanMs: meanMs(rec0, await reconcileReading(op)),
      });
      await stopOp(env, op);
    }
    const api = await apiCounts(env);
    for (const [i, label] of ['default', 'debounce0'].entries()) {
      const a = api[`shared-${label}`];
      const phase = phases[i];
      if (a && phase) Object.assign(phase, { api: a.counts, patches: a.patches, lists: a.lists });
    }
    return { scenario: sc.name, kind: 'burst-shared', m: sc.m, phases, operatorProblems: env.problems };
  });
}

// ---- waves ---------------------------------------------------------------------------------

/**
 * One ConfigMap consumed by M Deployments, changed once per arm: every consumer at once
 * (--wave-threshold 0), then in waves (the defaults: one canary, then the rest), then in 3
 * waves after the canary. Deployments have replicas 0, so a wave is healthy as soon as the
 * Deployment controller observed it: what is measured is the operator's part (the gate, the
 * status round trips), not pods starting.
 */
export async function runWaves(ctx: Ctx, sc: Extract<ScenarioSpec, { kind: 'waves' }>): Promise<WavesResult> {
  return withCluster(ctx, sc.name, async (env) => {
    const shared = 'cfg-waves';
    const data = { [DATA_KEY]: payload(1024) };
    await env.cl.admin.requestRetry('POST', `/api/v1/namespaces/${NS}/configmaps`, { metadata: { name: shared, namespace: NS }, data });
    const apps = Array.from({ length: sc.m }, (_, i) => `app-${i}`);
    await createObjects(env, apps.map((app) => ({ app, configMaps: [shared] })), 1024, true, new Map([[shared, data]]));
    const arms: WavesArm[] = [];
    for (const [label, args] of [
      ['at once (--wave-threshold 0)', ['--wave-threshold', '0']],
      ['waves (defaults: 1 canary, then 1 wave)', []],
      ['--waves 3', ['--waves', '3']],
    ] as Array<[string, string[]]>) {
      const op = await startOp(env, `waves-${arms.length + 1}`, '0', 120_000, { args });
      await queueIdle(op, 30_000);
      const counts = new Map<string, number>();
      const firstAt = new Map<string, number>();
      const off = env.tracker.onChange((c) => {
        if (c.key !== HASH) return;
        counts.set(c.name, (counts.get(c.name) ?? 0) + 1);
        if (!firstAt.has(c.name)) firstAt.set(c.name, c.at);
      });
      const { acked } = await changeConfigMap(env.cl.admin, shared, 1024);
      await until(() => firstAt.size >= sc.m, 300_000 + sc.m * 100, 100);
      await queueIdle(op, 30_000);
      off();
      const times = [...firstAt.values()];
      arms.push({
        label, args, firstRolledMs: Math.round(Math.min(...times) - acked), allRolledMs: Math.round(Math.max(...times) - acked),
        rolled: firstAt.size, duplicateRolls: [...counts.values()].reduce((n, c) => n + Math.max(0, c - 1), 0),
      });
      ctx.log(`  waves ${label}: ${firstAt.size}/${sc.m} rolled, first after ${arms.at(-1)!.firstRolledMs} ms, last after ${arms.at(-1)!.allRolledMs} ms`);
      await stopOp(env, op);
    }
    return { scenario: sc.name, kind: 'waves', m: sc.m, arms, operatorProblems: env.problems };
  });
}

// ---- helm-secrets --------------------------------------------------------------------------

const HELM_TYPE = 'helm.sh/release.v1';
/** The labels helm puts on a release Secret (plus one of the benchmark's, to delete them). */
const HELM_LABEL = 'bench.config-reload.dev/helm-release';

interface ApiserverSecretFigures {
  listRequests: number;
  listBytes: number;
  watchEvents: number;
  watchBytes: number;
}

/**
 * The apiserver's own counters for Secrets (its /metrics): LIST responses on secrets, pages
 * and bytes (apiserver_response_sizes), and Secret watch events sent and their bytes
 * (apiserver_watch_events_sizes), to every client. Differences over a run: the operator is the
 * only client that lists Secrets then; watch events also count the control plane's own Secret
 * watches (the apiserver's own informer, the garbage collector's metadata watch), which see the
 * benchmark's Secret changes — and every helm release Secret written.
 */
async function apiserverSecretFigures(env: Env): Promise<ApiserverSecretFigures> {
  const res = await env.cl.admin.requestRetry<unknown>('GET', '/metrics');
  const text = typeof res.body === 'string' ? res.body : '';
  const sum = (metric: string, match: (labels: string) => boolean): number => {
    let total = 0;
    for (const m of text.matchAll(new RegExp(`^${metric}\\{([^}]*)\\} ([0-9.e+-]+)$`, 'gm'))) {
      if (match(m[1] ?? '')) total += Number(m[2]);
    }
    return total;
  };
  const listSecrets = (l: string) => l.includes('resource="secrets"') && l.includes('verb="LIST"');
  const secretEvents = (l: string) => l.includes('kind="Secret"') || l.includes('resource="secrets"');
  return {
    listRequests: sum('apiserver_response_sizes_count', listSecrets),
    listBytes: sum('apiserver_response_sizes_sum', listSecrets),
    watchEvents: sum('apiserver_watch_events_sizes_count', secretEvents),
    watchBytes: sum('apiserver_watch_events_sizes_sum', secretEvents),
  };
}

export async function runHelm(ctx: Ctx, sc: Extract<ScenarioSpec, { kind: 'helm-secrets' }>): Promise<HelmResult> {
  return withCluster(ctx, sc.name, async (env) => {
    // Ordinary pairs, half of them on a Secret: the operator has work, and Secret changes to time.
    const apps = Array.from({ length: sc.pairs }, (_, i) => (i % 2 === 1 ? `${SECRET_APP_PREFIX}${i}` : `app-${i}`));
    const secretApps = apps.filter((a) => sourceOf(a).kind === 'Secret');
    const created = await createObjects(env, apps.map((app) => pairOf(app)), 1024, true);
    const windows = new Map<string, Window>();
    const arms: Array<Omit<HelmArm, 'secretRequests' | 'api'>> = [];

    const runArm = async (label: string, args: string[], helmSecrets: number) => {
      // Watch events of the Secrets written before (the control plane's own watches) still in
      // flight would count in this run: wait until the apiserver's counters are still.
      // The watch events of the Secrets just written must not count in this run.
      const before = await untilStill(() => apiserverSecretFigures(env), (a, b) => a.watchEvents === b.watchEvents && a.listRequests === b.listRequests);
      const w = openWindow(env, `helm: ${label}`, OPERATOR_USER);
      windows.set(label, w);
      const op = await startOp(env, `helm-${arms.length + 1}`, '0', 600_000, { args });
      const memoryAtSync = await op.memory();
      const synced = await op.proc.waitFor('"caches synced"', (l) => l.message === 'caches synced', 1).catch(() => undefined);
      const stored: Record<string, number> = {};
      for (const k of ['ConfigMap', 'Secret', 'workloads']) {
        const v = synced?.line[k];
        if (typeof v === 'number') stored[k] = v;
      }
      await queueIdle(op, 60_000);
      const memorySettled = await settledMemory(op);
      const rollsMetric = await op.metric('config_reload_rolls_total');
      const adoptions = await op.metric('config_reload_adoptions_total');
      ctx.log(`  ${label}: synced ${Math.round(op.syncedMs)} ms, stored ${JSON.stringify(stored)}, RSS at sync ${mib(memoryAtSync.rssBytes)} MiB, `
        + `settled ${mib(memorySettled.rssBytes)} MiB, peak ${mib(memorySettled.peakRssBytes)} MiB, read ${mib(memoryAtSync.readBytes ?? NaN)} MiB to sync`);
      const [latency] = await measureLatency(env, [{ label: `operator (${label}), Secret changes`, key: HASH, apps: secretApps }], 1024) as [LatencyResult];
      await queueIdle(op, 30_000);
      const readBytesAtEnd = op.proc.stat()?.readBytes ?? NaN;
      await stopOp(env, op);
      w.to = Date.now();
      w.changes = ctx.settings.samples + ctx.settings.warmup;
      const after = await apiserverSecretFigures(env);
      arms.push({
        label, helmSecrets, args, bootMs: op.bootMs, syncedMs: Math.round(op.syncedMs), stored, memoryAtSync, memorySettled,
        readBytesAtSync: memoryAtSync.readBytes ?? NaN, readBytesAtEnd,
        apiserver: {
          listSecretsRequests: after.listRequests - before.listRequests, listSecretsBytes: after.listBytes - before.listBytes,
          secretWatchEvents: after.watchEvents - before.watchEvents, secretWatchEventBytes: after.watchBytes - before.watchBytes,
        },
        rollsMetric, adoptions, latency,
      });
    };

    await runArm('without helm Secrets', [], 0);

    // The helm release Secrets: `release` holds helmBytes of incompressible data (helm's own is
    // gzip, base64-encoded once more), named and labelled as helm names them.
    const t0 = performance.now();
    const releases = Math.max(1, Math.ceil(sc.helmSecrets / 10));
    const helm = Array.from({ length: sc.helmSecrets }, (_, i) => ({ release: `rel-${i % releases}`, version: Math.floor(i / releases) + 1 }));
    let done = 0;
    await pool(helm, Math.min(ctx.settings.concurrency, 8), async ({ release, version }) => {
      const body = secret(`sh.helm.release.v1.${release}.v${version}`, { release: secretPayload(sc.helmBytes) }, HELM_TYPE, {
        name: release, owner: 'helm', status: 'superseded', version: String(version), [HELM_LABEL]: 'true',
      });
      await env.cl.admin.requestRetry('POST', `/api/v1/namespaces/${NS}/secrets`, body);
      if (++done % 500 === 0) ctx.log(`  created ${done}/${sc.helmSecrets} helm release Secrets`);
    });
    const helmCreateSeconds = round1((performance.now() - t0) / 1000);
    ctx.log(`  ${sc.helmSecrets} helm release Secrets of ${Math.round(sc.helmBytes / 1024)} KiB created in ${helmCreateSeconds} s`);

    await runArm('helm Secrets excluded (default)', [], sc.helmSecrets);
    await runArm('helm Secrets listed (--exclude-secret-types "")', ['--exclude-secret-types', ''], sc.helmSecrets);
    await runArm('helm Secrets excluded (default), again', [], sc.helmSecrets);

    // One by one: a DELETE of the collection answers with every deleted object (here more than
    // one string can hold).
    const t1 = performance.now();
    await pool(helm, Math.min(ctx.settings.concurrency, 8), async ({ release, version }) => {
      await env.cl.admin.requestRetry('DELETE', `/api/v1/namespaces/${NS}/secrets/sh.helm.release.v1.${release}.v${version}`, undefined, undefined, (st) => st === 404);
    });
    const gone = await (async () => {
      const deadline = performance.now() + 300_000;
      while (performance.now() < deadline) {
        const left = await env.cl.admin.requestRetry<{ items: unknown[] }>('GET', `/api/v1/namespaces/${NS}/secrets?limit=1&labelSelector=${encodeURIComponent(`${HELM_LABEL}=true`)}`);
        if (left.body.items.length === 0) return true;
        await sleep(500);
      }
      return false;
    })();
    if (!gone) env.problems.push('helm release Secrets still present 300 s after their deletion');
    const helmDeleteSeconds = round1((performance.now() - t1) / 1000);
    await runArm('without helm Secrets, again (deleted)', [], 0);

    const requests = await readAudit(env.cl.auditLog);
    const result: HelmResult = {
      scenario: sc.name, kind: 'helm-secrets', helmSecrets: sc.helmSecrets, helmSecretBytes: sc.helmBytes,
      expectedSelector: `type!=${HELM_TYPE}`,
      pairs: { configMaps: apps.length - secretApps.length, secrets: secretApps.length },
      createSeconds: created.createSeconds, helmCreateSeconds, helmDeleteSeconds,
      arms: arms.map((a) => {
        const w = windows.get(a.label) as Window;
        return { ...a, secretRequests: listWatchSelectors(requests, OPERATOR_USER, 'secrets', w), api: countByVerb(requests, OPERATOR_USER, w) };
      }),
      operatorProblems: env.problems,
    };
    for (const a of result.arms) {
      ctx.log(`  ${a.label}: secrets LIST/WATCH ${a.secretRequests.map((r) => `${r.verb} ×${r.count} [${r.fieldSelector || 'no fieldSelector'}]`).join(', ')}`);
    }
    return result;
  });
}
