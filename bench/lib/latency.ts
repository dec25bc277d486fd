// Open-loop latency: a change's write acknowledged → the Deployment watch event showing the
// template annotation changed, sampled on several arms (the operator's, the baseline watcher's)
// at the same moments.
import type { Env } from './harness.ts';
import { changeSource, sourceOf } from './objects.ts';
import { summarize, type Summary } from './stats.ts';
import { shuffled, sleep } from './util.ts';

export interface LatencyResult {
  summary: Summary;
  timeouts: number;
  /** Write round trip (request sent → acknowledged), for context. */
  writeAck: Summary;
  samplesMs: number[];
  /**
   * Per sample of samplesMs, in order (contention scenarios): the Deployment changed and the
   * wall-clock ms (Date.now() scale) of the write's acknowledgement, to find a slow sample in the
   * operator's own trace and the audit log.
   */
  samplesWhere?: Array<{ app: string; ackedAt: number }>;
  /** By the kind of object changed, when an arm changes both ConfigMaps and Secrets. */
  byKind?: Record<string, Summary>;
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
