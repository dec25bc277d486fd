// fan-out: one ConfigMap shared by M Deployments changes (M rolls); during that roll-out,
// sequential changes to unrelated ConfigMaps (each with its own consumer) are timed against the
// baseline watcher's, sampled the same way at the same moments. Rounds add samples.
// Each system (the operator, then every --peer) in turn, on the same control plane and objects.
import type { Ctx } from '../lib/context.ts';
import {
  type ContentionResult, controllerCaughtUp, eachSystem, emptyLatency, fillApi, merge, notesOf, ratio, rollAccounting, rollsAll, type Sampled,
  sampleDuring, sentinelWrites, startBaseline, type SystemRun, systemArgs, type WindowLimits,
} from '../lib/contention.ts';
import { createObjects, openWindow, pairOf, withCluster } from '../lib/harness.ts';
import { BASELINE_KEY, changeConfigMap, type Data, DATA_KEY, NS, type PairSpec, payload } from '../lib/objects.ts';
import { procMemory, SENTINEL, startSystem } from '../lib/systems.ts';
import { round1 } from '../lib/util.ts';

export interface FanOutSpec { kind: 'fan-out'; name: string; m: number; unrelated: number; rounds: number; bytes: number; window: WindowLimits }

export async function runFanOut(ctx: Ctx, sc: FanOutSpec): Promise<ContentionResult> {
  return withCluster(ctx, sc.name, async (env) => {
    const shared = 'cfg-shared';
    const data: Data = { [DATA_KEY]: payload(sc.bytes) };
    await env.cl.admin.requestRetry('POST', `/api/v1/namespaces/${NS}/configmaps`, { metadata: { name: shared, namespace: NS }, data });
    const fans = Array.from({ length: sc.m }, (_, i) => `fan-${i}`);
    const apps = Array.from({ length: sc.unrelated }, (_, i) => `app-${i}`);
    const baseApps = Array.from({ length: ctx.settings.baselinePairs }, (_, i) => `bapp-${i}`);
    const pairs: PairSpec[] = [...fans.map((app) => ({ app, configMaps: [shared] })), ...apps.map((a) => pairOf(a)), pairOf(SENTINEL), ...baseApps.map((a) => pairOf(a, false))];
    // Already adopted by the operator (a restart): what is measured is the fan-out, not an adoption.
    const created = await createObjects(env, pairs, sc.bytes, true, new Map([[shared, data]]));
    const bl = startBaseline(env);
    await bl.waitFor('"watching"', (l) => l.message === 'watching', 60_000);
    const failures: Record<string, string> = {};
    const systems = await eachSystem(env, failures, async (name) => {
      await controllerCaughtUp(env);
      const startRevs = env.tracker.revisions();
      const w = openWindow(env, name, '');
      ctx.log(`  fan-out: ${name}`);
      const sys = await startSystem(env, name, `fan-${name}`, { ...systemArgs(ctx, name), timeoutMs: 600_000 });
      w.user = sys.user;
      // Its start-up (Wave rolls every workload, rate-limited) is waited for, at most settleMaxMs.
      const settled = await sys.idle(sc.window.settleMaxMs);
      if (!settled) ctx.log(`  ${name}: still rolling at start-up after ${sc.window.settleMaxMs / 1000} s; the fan-out starts anyway`);
      await controllerCaughtUp(env);
      const unasked = env.tracker.rollsSince(startRevs, [...fans, ...apps]).rolls;
      let own = emptyLatency();
      let base = emptyLatency();
      const perApp = new Map<string, number>();
      const rounds: NonNullable<SystemRun['fanOut']>['rounds'] = [];
      let windowMs = 0;
      let samples = 0;
      let quiet = true;
      for (let r = 0; r < sc.rounds; r++) {
        const revs0 = env.tracker.revisions();
        const wanted = new Set(fans);
        const firstAt = new Map<string, number>();
        const off = env.tracker.onChange((c) => {
          if (c.key === sys.key && wanted.has(c.name) && !firstAt.has(c.name)) firstAt.set(c.name, c.at);
        });
        const { acked } = await changeConfigMap(env.cl.admin, shared, sc.bytes);
        const t0 = performance.now();
        const done = { count: 0 };
        const active = () => firstAt.size < fans.length && performance.now() - t0 < sc.window.maxMs;
        const [o, b] = await sampleDuring(env, [
          { label: `${name} round ${r + 1}`, key: sys.key, candidates: () => apps.filter((a) => sys.adopted(a)) },
          { label: `baseline (during ${name} round ${r + 1})`, key: BASELINE_KEY, candidates: () => baseApps },
        ], active, sc.window.sampleTimeoutMs, sc.bytes, done) as [Sampled, Sampled];
        windowMs += performance.now() - t0;
        samples += done.count;
        own = merge(own, o.latency);
        base = merge(base, b.latency);
        for (const [k, v] of o.perApp) perApp.set(k, (perApp.get(k) ?? 0) + v);
        // A round cut short by the window's limit is not waited for again as long.
        quiet = (await sys.idle(Math.max(5000, sc.window.maxMs - (performance.now() - t0)))) && quiet;
        off();
        await controllerCaughtUp(env);
        const byRevision = env.tracker.rollsSince(revs0, fans);
        const allRolledMs = firstAt.size === fans.length ? Math.round(Math.max(...firstAt.values()) - acked) : undefined;
        rounds.push({ allRolledMs, rolled: byRevision.rolled, missed: byRevision.missed, duplicates: byRevision.duplicates });
        ctx.log(`  ${name} round ${r + 1}: ${byRevision.rolled}/${fans.length} rolled (by revision), last after ${allRolledMs ?? '—'} ms, ${byRevision.duplicates} duplicates`);
      }
      const memory = procMemory(sys);
      await sys.stop();
      w.to = Date.now();
      w.changes = sc.rounds + samples + sentinelWrites(sys);
      const revs0 = startRevs;
      const unrelated = rollAccounting(env, startRevs, apps, perApp, sys.peer?.profile.rollsAtStart ?? false);
      return {
        system: name, command: sys.command, readyMs: sys.readyMs, readyHow: sys.readyHow,
        memory: { readyRssBytes: sys.rssAtReadyBytes, endRssBytes: memory.rssBytes, peakRssBytes: memory.peakRssBytes, cpuSeconds: memory.cpuSeconds },
        unaskedRolls: unasked, duplicateRolls: unrelated.duplicates + rounds.reduce((n, x) => n + x.duplicates, 0),
        missedRolls: own.timeouts + rounds.reduce((n, x) => n + x.missed, 0),
        windowSeconds: round1(windowMs / 1000), quiet,
        own: own, baseline: base, ratioP99: ratio(own, base),
        fanOut: { consumers: fans.length, rounds, settled },
        api: { counts: {}, total: 0, changes: w.changes, rolls: rollsAll(env, revs0), writes: 0, lists: 0 },
        notes: notesOf(sys),
      };
    });
    await bl.stop();
    await fillApi(env, systems);
    return {
      scenario: sc.name, kind: 'fan-out', deployments: sc.m + sc.unrelated, m: sc.m, unrelated: sc.unrelated, rounds: sc.rounds,
      configMapBytes: sc.bytes, baselinePairs: baseApps.length, ...created, window: sc.window, systems, failures, operatorProblems: env.problems,
    };
  });
}
