// The change storm: min(N, --storm) ConfigMaps (and Secrets) rewritten through the bounded pool
// while the operator runs; time until each of their Deployments rolled, duplicate rolls,
// reconcile decisions by action, memory after.
import { type Env, meanMs, queueIdle, reconcileReading } from './harness.ts';
import { pool } from './kube.ts';
import { changeSource, HASH, sourceOf } from './objects.ts';
import type { RunningOperator } from './operator.ts';
import type { OperatorMemory } from './procs.ts';
import { until } from './tracker.ts';
import { round1, shuffled, sleep } from './util.ts';

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

export async function storm(env: Env, op: RunningOperator, apps: readonly string[], bytes: number, label: string): Promise<StormResult> {
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
