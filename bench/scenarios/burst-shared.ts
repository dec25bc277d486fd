// burst-shared: one ConfigMap consumed by M Deployments, changed once per round, with the
// default debounce and with --debounce 0, every consumer at once (--wave-threshold 0; waves have
// a scenario of their own): the fan-out time, rolls, duplicates, PATCHes (expect M) and LISTs
// (expect none).
import { OPERATOR_USER } from '../lib/cluster.ts';
import type { Ctx } from '../lib/context.ts';
import {
  apiCounts, createSharedConsumers, debounceOf, meanMs, openWindow, queueIdle, reconcileReading, startOp, stopOp, withCluster,
} from '../lib/harness.ts';
import { changeConfigMap, HASH } from '../lib/objects.ts';
import { summarize, type Summary } from '../lib/stats.ts';
import { until } from '../lib/tracker.ts';
import { sleep } from '../lib/util.ts';

export interface SharedSpec { kind: 'burst-shared'; name: string; m: number; rounds: number }

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

export async function runShared(ctx: Ctx, sc: SharedSpec): Promise<SharedResult> {
  return withCluster(ctx, sc.name, async (env) => {
    const shared = 'cfg-shared';
    const apps = await createSharedConsumers(env, shared, sc.m);
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
