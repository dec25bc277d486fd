// mass-adoption: N Deployments (replicas 0), each with its own ConfigMap, NOT adopted: the
// system starts as on a fresh install and takes them all on. While it does, sequential
// changes to the ConfigMaps of random Deployments it has already taken on (operator: digest
// recorded; Wave: rolled once; Reloader: any) are timed, write acknowledged → template changed,
// against the baseline watcher's, sampled the same way at the same moments. The window ends
// when every Deployment is taken on and the system does nothing beyond the samples.
// Each system (the operator, then every --peer) in turn, on the same control plane and objects.
import type { Ctx } from '../lib/context.ts';
import {
  type ContentionResult, controllerCaughtUp, eachSystem, fillApi, notesOf, ratio, rollAccounting, rollsAll, type Sampled, sampleDuring,
  sentinelWrites, startBaseline, systemArgs, type WindowLimits,
} from '../lib/contention.ts';
import { createObjects, openWindow, pairOf, withCluster } from '../lib/harness.ts';
import { BASELINE_KEY } from '../lib/objects.ts';
import { procMemory, SENTINEL, startSystem } from '../lib/systems.ts';
import { until } from '../lib/tracker.ts';
import { round1 } from '../lib/util.ts';

export interface MassAdoptionSpec { kind: 'mass-adoption'; name: string; n: number; bytes: number; window: WindowLimits }

export async function runMassAdoption(ctx: Ctx, sc: MassAdoptionSpec): Promise<ContentionResult> {
  return withCluster(ctx, sc.name, async (env) => {
    const apps = Array.from({ length: sc.n }, (_, i) => `app-${i}`);
    const baseApps = Array.from({ length: ctx.settings.baselinePairs }, (_, i) => `bapp-${i}`);
    const created = await createObjects(env, [...apps.map((a) => pairOf(a)), pairOf(SENTINEL), ...baseApps.map((a) => pairOf(a, false))], sc.bytes, false);
    const bl = startBaseline(env);
    await bl.waitFor('"watching"', (l) => l.message === 'watching', 60_000);
    const failures: Record<string, string> = {};
    const systems = await eachSystem(env, failures, async (name) => {
      await controllerCaughtUp(env);
      const revs0 = env.tracker.revisions();
      const w = openWindow(env, name, '');
      ctx.log(`  mass-adoption: ${name}`);
      const sys = await startSystem(env, name, `adopt-${name}`, { ...systemArgs(ctx, name), timeoutMs: 900_000 });
      w.user = sys.user;
      const t0 = performance.now();
      const done = { count: 0 };
      let quiet: boolean | undefined;
      const elapsed = () => performance.now() - t0;
      const finished = (async () => {
        await until(() => apps.every((a) => sys.adopted(a)), sc.window.maxMs, 500);
        quiet = await sys.idle(Math.max(0, sc.window.maxMs - elapsed()), () => done.count);
      })();
      const active = () => elapsed() < sc.window.maxMs && (quiet === undefined || elapsed() < sc.window.minMs);
      const [own, base] = await sampleDuring(env, [
        { label: name, key: sys.key, candidates: () => apps.filter((a) => sys.adopted(a)) },
        { label: `baseline (during ${name})`, key: BASELINE_KEY, candidates: () => baseApps },
      ], active, sc.window.sampleTimeoutMs, sc.bytes, done) as [Sampled, Sampled];
      await finished;
      const windowSeconds = round1(elapsed() / 1000);
      const memory = procMemory(sys);
      await sys.stop();
      w.to = Date.now();
      w.changes = done.count + sentinelWrites(sys);
      await controllerCaughtUp(env);
      const rolls = rollAccounting(env, revs0, apps, own.perApp, sys.peer?.profile.rollsAtStart ?? false);
      const taken = apps.filter((a) => sys.adoptedAt(a) !== undefined).map((a) => sys.adoptedAt(a) as number);
      const adoption = name === 'reloader' ? undefined : {
        taken: taken.length, of: apps.length, complete: taken.length === apps.length,
        firstToLastSeconds: taken.length ? round1((Math.max(...taken) - Math.min(...taken)) / 1000) : undefined,
        spawnToLastSeconds: taken.length ? round1((Math.max(...taken) - sys.proc.spawnedAt) / 1000) : undefined,
      };
      ctx.log(`  ${name}: window ${windowSeconds} s (${quiet ? 'went quiet' : 'still busy at its end'}), adoption ${JSON.stringify(adoption)}, rolls ${JSON.stringify(rolls)}`);
      return {
        system: name, command: sys.command, readyMs: sys.readyMs, readyHow: sys.readyHow,
        memory: { readyRssBytes: sys.rssAtReadyBytes, endRssBytes: memory.rssBytes, peakRssBytes: memory.peakRssBytes, cpuSeconds: memory.cpuSeconds },
        unaskedRolls: rolls.unasked, duplicateRolls: rolls.duplicates, missedRolls: own.latency.timeouts,
        ...(adoption ? { adoption } : {}),
        windowSeconds, quiet: quiet === true,
        own: own.latency, baseline: base.latency, ratioP99: ratio(own.latency, base.latency),
        api: { counts: {}, total: 0, changes: w.changes, rolls: rollsAll(env, revs0), writes: 0, lists: 0 },
        notes: notesOf(sys),
      };
    });
    await bl.stop();
    await fillApi(env, systems);
    return {
      scenario: sc.name, kind: 'mass-adoption', deployments: sc.n, configMapBytes: sc.bytes, baselinePairs: baseApps.length, ...created,
      window: sc.window, systems, failures, operatorProblems: env.problems,
    };
  });
}
