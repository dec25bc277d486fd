// burst-k: K ConfigMaps of one Deployment written concurrently, on T Deployments one after the
// other, with the default debounce and with --debounce 0: rolls per Deployment (expect one with
// the default debounce), latency from the last write, API requests.
import { OPERATOR_USER } from '../lib/cluster.ts';
import type { Ctx } from '../lib/context.ts';
import { apiCounts, createObjects, debounceOf, openWindow, queueIdle, startOp, stopOp, withCluster } from '../lib/harness.ts';
import { cfgOf, changeConfigMap, HASH, type PairSpec } from '../lib/objects.ts';
import { summarize, type Summary } from '../lib/stats.ts';
import { sleep } from '../lib/util.ts';

export interface BurstKSpec { kind: 'burst-k'; name: string; k: number; trials: number }

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

export async function runBurstK(ctx: Ctx, sc: BurstKSpec): Promise<BurstKResult> {
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
