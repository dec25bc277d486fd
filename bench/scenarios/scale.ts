// scale / scale-secrets / size: N opted-in Deployments, each consuming its own ConfigMap of
// `bytes`, plus a few pairs for the baseline watcher that are not opted in (one scenario kind;
// run.ts names it scale-n<N>, scale-secrets-n<N> or size-n<N>-<K>KiB):
//   1. create the objects (bounded pool of concurrent creates); wait until the Deployment
//      controller has observed every Deployment, so that the cluster is quiet;
//   2. operator with --debounce 0: start-up (an installation when `install`, else a restart
//      over Deployments that already record their digest), memory, rolls at start-up; then
//      latency, sampled alternately on the operator's Deployments and on the baseline
//      watcher's (both processes running, same load, same moments);
//   3. operator with the default debounce: start-up (a restart: 0 rolls), latency (again
//      alternating with the baseline), then the change storm and memory after it;
//   4. every --peer in turn, on the same cluster and objects (bench/lib/peer-scale.ts);
//   5. with --profile: the operator again with --cpu-prof and heap snapshots after sync and
//      after a second storm (a separate run: profiling distorts the figures above).
// scale-secrets: the same, with every other pair consuming a Secret (same size, base64 in the API)
//   instead of a ConfigMap, so that latency, memory and the storm cover Secrets.
import path from 'node:path';
import { BASELINE_USER, OPERATOR_USER } from '../lib/cluster.ts';
import type { Ctx } from '../lib/context.ts';
import { apiCounts, createObjects, debounceOf, type Env, openWindow, pairOf, queueIdle, startOp, stopOp, withCluster } from '../lib/harness.ts';
import { type Arm, type LatencyResult, measureLatency } from '../lib/latency.ts';
import { BASELINE_KEY, HASH, type PairSpec, SECRET_APP_PREFIX } from '../lib/objects.ts';
import type { RunningOperator } from '../lib/operator.ts';
import { type PeerScaleRun, runPeerScale } from '../lib/peer-scale.ts';
import { BenchProcess, type OperatorMemory } from '../lib/procs.ts';
import { type ProfileResult, runProfile } from '../lib/profiled-run.ts';
import { storm, type StormResult } from '../lib/storm.ts';
import { SENTINEL } from '../lib/systems.ts';
import { until } from '../lib/tracker.ts';
import { sleep } from '../lib/util.ts';

/** secretShare: the fraction of the N pairs that consume a Secret instead of a ConfigMap (0 or 0.5). */
export interface ScaleSpec { kind: 'scale'; name: string; n: number; bytes: number; install: boolean; secretShare: number }

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

export async function runScale(ctx: Ctx, sc: ScaleSpec): Promise<ScaleResult> {
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
