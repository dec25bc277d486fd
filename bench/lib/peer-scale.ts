// A peer (--peer) in the scale scenarios, after the operator, on the same cluster and objects:
// start-up (rolls, memory), steady-state latency sampled against the baseline watcher exactly as
// the operator's is (measureLatency: open loop, same rate, same moments), then the change storm.
import path from 'node:path';
import { pool } from './kube.ts';
import { BASELINE_KEY, changeSource, sourceOf } from './objects.ts';
import { type Env, openWindow } from './harness.ts';
import { type LatencyResult, measureLatency } from './latency.ts';
import { BenchProcess } from './procs.ts';
import { procMemory, startSystem } from './systems.ts';
import { until } from './tracker.ts';
import { round1, shuffled } from './util.ts';

export interface PeerScaleRun {
  system: string;
  command: string;
  readyMs: number;
  readyHow: string;
  /** Its start-up went quiet within the settle limit (Wave: every workload rolled). */
  settled: boolean;
  /** Rolls by revision from spawn until quiet (or the limit). */
  startupRolls: number;
  memory: { readyRssBytes: number; settledRssBytes: number; endRssBytes: number; peakRssBytes: number };
  latency: { peer: LatencyResult; baseline: LatencyResult };
  ratioP99: number;
  /** What was left out because the peer cannot do it (e.g. Secret changes). */
  unsupported: string[];
  storm?: { changes: number; rolled: number; missed: number; duplicates: number; allRolledSeconds: number | undefined; waitedSeconds: number };
  notes: string[];
}

export async function runPeerScale(env: Env, name: string, apps: readonly string[], baseApps: readonly string[], bytes: number): Promise<PeerScaleRun> {
  const { ctx } = env;
  await until(() => env.tracker.unobserved() === 0, 300_000, 250);
  const revs0 = env.tracker.revisions();
  const ws = openWindow(env, `${name}: start`, '');
  const sys = await startSystem(env, name, `scale-${name}`, { timeoutMs: 300_000 });
  ws.user = sys.user;
  const settled = await sys.idle(ctx.settings.peerSettleMs);
  await until(() => env.tracker.unobserved() === 0, 300_000, 250);
  const startupRolls = env.tracker.rollsSince(revs0, apps).rolls;
  const settledRss = procMemory(sys).rssBytes;
  ws.to = Date.now();
  ctx.log(`  ${name}: start-up rolls ${startupRolls}${settled ? '' : ` (still rolling after ${ctx.settings.peerSettleMs / 1000} s)`}, RSS ${Math.round(settledRss / 1048576)} MiB`);

  const unsupported: string[] = [];
  let mine = apps.filter((a) => sys.adopted(a));
  if (!sys.secrets && mine.some((a) => sourceOf(a).kind === 'Secret')) {
    mine = mine.filter((a) => sourceOf(a).kind === 'ConfigMap');
    unsupported.push('Secret changes (not watched with its documented flags): only ConfigMap changes sampled');
  }
  if (mine.length < apps.length && settled) unsupported.push(`${apps.length - mine.length} Deployments left out`);
  const bl = new BenchProcess('baseline', ctx.repo, ['bench/baseline-watcher.ts', '--kubeconfig', env.cl.baselineKubeconfig], path.join(env.dir, `baseline-${name}.log`));
  await bl.waitFor('"watching"', (l) => l.message === 'watching', 60_000);
  const wl = openWindow(env, `${name}: latency`, sys.user);
  const [peer, baseline] = await measureLatency(env, [
    { label: name, key: sys.key, apps: mine },
    { label: `baseline (during ${name})`, key: BASELINE_KEY, apps: baseApps },
  ], bytes) as [LatencyResult, LatencyResult];
  await sys.idle(60_000);
  wl.to = Date.now();
  // Every ConfigMap write reaches a peer that watches them all: the baseline's count too.
  wl.changes = 2 * (ctx.settings.samples + ctx.settings.warmup);
  await bl.stop();

  let storm: PeerScaleRun['storm'];
  if (ctx.settings.stormMax > 0) {
    await until(() => env.tracker.unobserved() === 0, 300_000, 250);
    const targets = shuffled(mine).slice(0, Math.min(mine.length, ctx.settings.stormMax));
    const wanted = new Set(targets);
    const seen = new Set<string>();
    let lastAt = 0;
    const off = env.tracker.onChange((c) => {
      if (c.key !== sys.key || !wanted.has(c.name)) return;
      seen.add(c.name);
      lastAt = c.at;
    });
    const before = env.tracker.revisions();
    const w = openWindow(env, `${name}: storm`, sys.user);
    const t0 = performance.now();
    await pool(targets, ctx.settings.concurrency, async (app) => {
      await changeSource(env.cl.admin, sourceOf(app), bytes);
    });
    // As long as the operator is given (its rate limit sets its pace), capped by the settle limit for a slower peer.
    const waitMs = Math.min(120_000 + (targets.length / 25) * 1000, Math.max(ctx.settings.peerSettleMs, 120_000));
    const all = await until(() => seen.size >= targets.length, waitMs, 200);
    const waited = performance.now() - t0;
    await sys.idle(60_000);
    off();
    w.to = Date.now();
    w.changes = targets.length;
    await until(() => env.tracker.unobserved() === 0, 300_000, 250);
    const c = env.tracker.rollsSince(before, targets);
    storm = {
      changes: targets.length, rolled: c.rolled, missed: c.missed, duplicates: c.duplicates,
      allRolledSeconds: all ? round1((lastAt - t0) / 1000) : undefined, waitedSeconds: round1(waited / 1000),
    };
    ctx.log(`  ${name} storm: ${c.rolled}/${targets.length} rolled (by revision), ${c.duplicates} duplicates, ${all ? `all after ${storm.allRolledSeconds} s` : `not all within ${storm.waitedSeconds} s`}`);
  }
  const end = procMemory(sys);
  await sys.stop();
  return {
    system: name, command: sys.command, readyMs: sys.readyMs, readyHow: sys.readyHow, settled, startupRolls,
    memory: { readyRssBytes: sys.rssAtReadyBytes, settledRssBytes: settledRss, endRssBytes: end.rssBytes, peakRssBytes: end.peakRssBytes },
    latency: { peer, baseline }, ratioP99: Math.round((peer.summary.p99 / baseline.summary.p99) * 100) / 100,
    unsupported, ...(storm ? { storm } : {}), notes: sys.peer ? [...sys.peer.profile.notes] : [],
  };
}
