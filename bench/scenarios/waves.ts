// waves: one ConfigMap consumed by M Deployments, changed once per arm (see runWaves).
import type { Ctx } from '../lib/context.ts';
import { createSharedConsumers, queueIdle, startOp, stopOp, withCluster } from '../lib/harness.ts';
import { changeConfigMap, HASH } from '../lib/objects.ts';
import { until } from '../lib/tracker.ts';

export interface WavesSpec { kind: 'waves'; name: string; m: number }

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

/**
 * One ConfigMap consumed by M Deployments, changed once per arm: every consumer at once
 * (--wave-threshold 0), then in waves (the defaults: one canary, then the rest), then in 3
 * waves after the canary. Deployments have replicas 0, so a wave is healthy as soon as the
 * Deployment controller observed it: what is measured is the operator's part (the gate, the
 * status round trips), not pods starting.
 */
export async function runWaves(ctx: Ctx, sc: WavesSpec): Promise<WavesResult> {
  return withCluster(ctx, sc.name, async (env) => {
    const shared = 'cfg-waves';
    const apps = await createSharedConsumers(env, shared, sc.m);
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
