// The harness every scenario runs on: a control plane of its own (fresh etcd, so that no
// scenario inherits another's objects, ReplicaSets or watch-cache history) with the benchmark's
// Deployment watch; the operator started and stopped; its idleness read from its metrics; API
// windows for the audit log; the objects created through a bounded pool.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { countByVerb, readAudit, verbTotal, type Window } from './audit.ts';
import { type BenchCluster, startCluster } from './cluster.ts';
import type { Ctx } from './context.ts';
import { BASELINE_KEY, createPairs, type Data, DATA_KEY, HASH, NS, type PairSpec, payload, sourceOf } from './objects.ts';
import { startOperator, type RunningOperator } from './operator.ts';
import { peerOptIns } from './peers.ts';
import { BenchProcess, type OperatorMemory } from './procs.ts';
import { DeploymentTracker, until } from './tracker.ts';
import { round1, sleep, untilStill } from './util.ts';

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
    env: { ...nodeOptions(env, label), ...extra.env },
    extraNodeFlags: [...env.ctx.settings.nodeFlags ?? [], ...(env.ctx.settings.traceOperator ? ['--trace-gc'] : [])],
  }, timeoutMs);
  env.ctx.log(`  operator ${label}: synced in ${Math.round(op.syncedMs)} ms`);
  return op;
}

/** NODE_OPTIONS (--node-options), and with --trace-operator the tracer preloaded, writing beside the operator's log. */
function nodeOptions(env: Env, label: string): Record<string, string> {
  const s = env.ctx.settings;
  const opts = [s.nodeOptions, s.traceOperator ? `--import ${path.join(env.ctx.repo, 'bench/lib/loop-trace.mjs')}` : ''].filter(Boolean).join(' ');
  return {
    ...(opts ? { NODE_OPTIONS: opts } : {}),
    ...(s.traceOperator ? { BENCH_TRACE_FILE: path.join(env.dir, `operator-${label}.trace.jsonl`) } : {}),
  };
}

export async function stopOp(env: Env, op: RunningOperator | BenchProcess): Promise<void> {
  const proc = op instanceof BenchProcess ? op : op.proc;
  const code = await proc.stop();
  for (const p of proc.problems) if (env.problems.length < 30) env.problems.push(`${proc.name}: ${p}`);
  if (code !== 0) env.problems.push(`${proc.name}: exit code ${code}`);
}

export async function debounceOf(op: RunningOperator): Promise<number | undefined> {
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
export async function reconcileReading(op: RunningOperator): Promise<{ sum: number; count: number }> {
  return { sum: await op.metric('config_reload_reconcile_duration_seconds_sum'), count: await op.metric('config_reload_reconcile_duration_seconds_count') };
}

export function meanMs(a: { sum: number; count: number }, b: { sum: number; count: number }): number {
  return b.count > a.count ? Math.round(((b.sum - a.sum) / (b.count - a.count)) * 10000) / 10 : NaN;
}

/** The operator's memory once idle: RSS read until two readings 500 ms apart agree within 1 MiB. */
export function settledMemory(op: RunningOperator): ReturnType<RunningOperator['memory']> {
  return untilStill(() => op.memory(), (a, b) => Math.abs(a.rssBytes - b.rssBytes) < 1024 * 1024, 500, 1, 20);
}

/** What an operator held and used from its sync until idle, read the same way by every scenario. */
export interface SyncReading {
  /** Objects in its stores, from its "caches synced" line. */
  stored: Record<string, number>;
  memoryAtSync: OperatorMemory;
  memorySettled: OperatorMemory;
  rollsMetric: number;
  adoptions: number;
}

/** Read just after `startOp` returned: memory at once, then the stores, then idle memory and the counters. */
export async function readSync(op: RunningOperator): Promise<SyncReading> {
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
  return { stored, memoryAtSync, memorySettled, rollsMetric, adoptions };
}

/** One ConfigMap `name` and `m` opted-in Deployments app-0… consuming it; returns their names. */
export async function createSharedConsumers(env: Env, name: string, m: number): Promise<string[]> {
  const data = { [DATA_KEY]: payload(1024) };
  await env.cl.admin.requestRetry('POST', `/api/v1/namespaces/${NS}/configmaps`, { metadata: { name, namespace: NS }, data });
  const apps = Array.from({ length: m }, (_, i) => `app-${i}`);
  await createObjects(env, apps.map((app) => ({ app, configMaps: [name] })), 1024, true, new Map([[name, data]]));
  return apps;
}

export function openWindow(env: Env, name: string, user: string): Window & { user: string; changes: number } {
  const w = { name, user, from: Date.now(), to: Number.MAX_SAFE_INTEGER, changes: 0 };
  env.windows.push(w);
  return w;
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

/** The pair of a Deployment by the naming convention of sourceOf: its one ConfigMap or Secret. */
export function pairOf(app: string, optIn = true): PairSpec {
  const src = sourceOf(app);
  const base: PairSpec = src.kind === 'Secret' ? { app, configMaps: [], secrets: [src.name] } : { app, configMaps: [src.name] };
  return optIn ? base : { ...base, optIn: false };
}
