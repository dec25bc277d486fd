// Changes made while the system is busy with something else (issue: head-of-line blocking): what
// the two scenarios of the kind share (bench/scenarios/mass-adoption.ts, fan-out.ts). Each system
// (the operator, then every --peer) runs in turn on the same control plane and objects; while it
// is busy, sequential changes are timed on its Deployments and, at the same moments, on the
// baseline watcher's. Target: the system's p99 ≤ 1.2 × the baseline watcher's p99 in the same
// window. Rolls are counted by revision, API requests from the audit log under its identity.
import path from 'node:path';
import { verbTotal } from './audit.ts';
import type { Ctx } from './context.ts';
import { apiCounts, type Env } from './harness.ts';
import type { LatencyResult } from './latency.ts';
import { cfgOf, changeConfigMap } from './objects.ts';
import { BenchProcess } from './procs.ts';
import { summarize } from './stats.ts';
import { type System, systemNames } from './systems.ts';
import { until } from './tracker.ts';
import { sleep } from './util.ts';

export const DURING_TARGET = 1.2;

export interface WindowLimits {
  /** Sampling goes on at least this long (a system with nothing to adopt gets samples too). */
  minMs: number;
  /** And at most this long: a system still busy then is reported as such. */
  maxMs: number;
  /** A change not seen rolled after this long is a timeout. */
  sampleTimeoutMs: number;
  /** A peer's start-up (Wave's rolls of every workload) is waited for at most this long before the fan-out. */
  settleMaxMs: number;
}

export interface SystemRun {
  system: string;
  command: string;
  readyMs: number;
  readyHow: string;
  memory: { readyRssBytes: number; endRssBytes: number; peakRssBytes: number; cpuSeconds: number };
  /** Rolls (by revision) that no change asked for: at start-up (Wave's adoption) or duplicates. */
  unaskedRolls: number;
  /** Deployments that rolled more often than asked (+1 for a peer that rolls at start-up). */
  duplicateRolls: number;
  /** Changes never seen rolled: sample timeouts, and fan-out consumers not rolled. */
  missedRolls: number;
  adoption?: { taken: number; of: number; firstToLastSeconds: number | undefined; spawnToLastSeconds: number | undefined; complete: boolean };
  /** The window: how long it sampled, and whether the system went quiet within it. */
  windowSeconds: number;
  quiet: boolean;
  own: LatencyResult;
  baseline: LatencyResult;
  ratioP99: number;
  fanOut?: { consumers: number; rounds: Array<{ allRolledMs: number | undefined; rolled: number; missed: number; duplicates: number }>; settled: boolean };
  /**
   * Its requests in its window (audit log, its identity): `changes` = every ConfigMap write in
   * the window (its samples, the baseline's, the shared one, the sentinel's: a peer may act on
   * ConfigMaps it has no consumer for), `rolls` = rolls by revision of the opted-in Deployments,
   * `writes` = its PATCH and UPDATE of workloads.
   */
  api: { counts: Record<string, number>; total: number; changes: number; rolls: number; writes: number; lists: number };
  notes: string[];
}

export interface ContentionResult {
  scenario: string;
  kind: 'mass-adoption' | 'fan-out';
  /** Opted-in Deployments: N (mass-adoption) or M sharing one ConfigMap + the unrelated ones (fan-out). */
  deployments: number;
  m?: number;
  unrelated?: number;
  rounds?: number;
  configMapBytes: number;
  baselinePairs: number;
  createSeconds: number;
  quietSeconds: number;
  window: WindowLimits;
  systems: SystemRun[];
  failures: Record<string, string>;
  operatorProblems: string[];
}

export interface DuringArm {
  label: string;
  key: string;
  /** Deployments a change may go to now. */
  candidates: () => readonly string[];
}

export interface Sampled {
  latency: LatencyResult;
  /** Samples per Deployment, timed out or not (each is one roll asked for). */
  perApp: Map<string, number>;
}

/**
 * Sequential samples on every arm at once (one change at a time per arm: write, wait for the
 * roll or the timeout, a pause of 100 ms on average, next), while `active()`. Each sample goes to
 * a random candidate; one that timed out is never changed again (its late roll would be taken
 * for another's).
 */
export async function sampleDuring(env: Env, arms: readonly DuringArm[], active: () => boolean, timeoutMs: number, bytes: number, done: { count: number }): Promise<Sampled[]> {
  return Promise.all(arms.map(async (arm) => {
    const lat: number[] = [];
    const ack: number[] = [];
    const where: Array<{ app: string; ackedAt: number }> = [];
    const perApp = new Map<string, number>();
    const spoiled = new Set<string>();
    let timeouts = 0;
    while (active()) {
      const candidates = arm.candidates().filter((a) => !spoiled.has(a));
      if (candidates.length === 0) {
        await sleep(100);
        continue;
      }
      const app = candidates[Math.floor(Math.random() * candidates.length)] as string;
      const waiter = env.tracker.nextChange(app, arm.key, timeoutMs);
      const { sent, acked } = await changeConfigMap(env.cl.admin, cfgOf(app), bytes);
      const change = await waiter;
      done.count++;
      if (change) {
        lat.push(change.at - acked);
        ack.push(acked - sent);
        where.push({ app, ackedAt: Math.round(performance.timeOrigin + acked) });
        perApp.set(app, (perApp.get(app) ?? 0) + 1);
      } else {
        timeouts++;
        spoiled.add(app);
        // Asked for all the same: a roll arriving after the timeout is late, not a duplicate.
        perApp.set(app, (perApp.get(app) ?? 0) + 1);
      }
      await sleep(-Math.log(1 - Math.random()) * 100);
    }
    const summary = summarize(lat);
    env.ctx.log(`    ${arm.label}: p50 ${summary.p50} p99 ${summary.p99} max ${summary.max} ms (n=${summary.n}, timeouts ${timeouts})`);
    return { latency: { summary, timeouts, writeAck: summarize(ack), samplesMs: lat.map((x) => Math.round(x * 10) / 10), samplesWhere: where }, perApp };
  }));
}

export function merge(a: LatencyResult, b: LatencyResult): LatencyResult {
  const samplesMs = [...a.samplesMs, ...b.samplesMs];
  const samplesWhere = [...(a.samplesWhere ?? []), ...(b.samplesWhere ?? [])];
  return { summary: summarize(samplesMs), timeouts: a.timeouts + b.timeouts, writeAck: a.writeAck.n >= b.writeAck.n ? a.writeAck : b.writeAck, samplesMs, samplesWhere };
}

export const emptyLatency = (): LatencyResult => ({ summary: summarize([]), timeouts: 0, writeAck: summarize([]), samplesMs: [] });

export async function controllerCaughtUp(env: Env): Promise<void> {
  await until(() => env.tracker.unobserved() === 0, 300_000, 250);
}

/** Runs `fn` for every system in turn, a failure of one recorded and the others still run. */
export async function eachSystem(env: Env, failures: Record<string, string>, fn: (name: string) => Promise<SystemRun>): Promise<SystemRun[]> {
  const runs: SystemRun[] = [];
  for (const name of systemNames(env)) {
    try {
      runs.push(await fn(name));
    } catch (err) {
      failures[name] = err instanceof Error ? (err.stack ?? err.message) : String(err);
      env.ctx.log(`  ${name} FAILED: ${failures[name]}`);
    }
  }
  return runs;
}

export function startBaseline(env: Env): BenchProcess {
  return new BenchProcess('baseline', env.ctx.repo, ['bench/baseline-watcher.ts', '--kubeconfig', env.cl.baselineKubeconfig], path.join(env.dir, 'baseline.log'));
}

export const systemArgs = (ctx: Ctx, name: string) => (name === 'operator' ? { debounce: '0', args: ctx.settings.operatorArgs } : {});

export function ratio(a: LatencyResult, b: LatencyResult): number {
  return Math.round((a.summary.p99 / b.summary.p99) * 100) / 100;
}

/** ConfigMap writes a sentinel readiness took (a peer without a "synced" log line): one a second until it reacted. */
export function sentinelWrites(sys: System): number {
  return sys.readyHow.startsWith('first reaction') ? Math.max(1, Math.ceil(sys.readyMs / 1000)) : 0;
}

/** Rolls by revision of every opted-in Deployment (not the baseline's) since `before`. */
export function rollsAll(env: Env, before: ReadonlyMap<string, number>): number {
  return env.tracker.rollsSince(before, [...before.keys()].filter((n) => !n.startsWith('bapp-'))).rolls;
}

export function notesOf(sys: System): string[] {
  return sys.peer ? [...sys.peer.profile.notes] : [];
}

/**
 * Rolls by revision of `apps` since `before`, against what was asked: one per successful sample,
 * plus one at start-up for a peer that rolls what it first sees. `unasked`: rolls beyond the
 * samples (start-up rolls included); `duplicates`: Deployments beyond even that allowance.
 */
export function rollAccounting(env: Env, before: ReadonlyMap<string, number>, apps: readonly string[], asked: ReadonlyMap<string, number>, rollsAtStart: boolean): { rolls: number; unasked: number; duplicates: number } {
  let rolls = 0;
  let unasked = 0;
  let duplicates = 0;
  const now = env.tracker.revisions();
  for (const app of apps) {
    const n = Math.max(0, (now.get(app) ?? 0) - (before.get(app) ?? 0));
    const want = asked.get(app) ?? 0;
    rolls += n;
    unasked += Math.max(0, n - want);
    duplicates += Math.max(0, n - want - (rollsAtStart ? 1 : 0));
  }
  return { rolls, unasked, duplicates };
}

/** API requests of each system's identity in its own window (the audit log). */
export async function fillApi(env: Env, systems: SystemRun[]): Promise<void> {
  const api = await apiCounts(env);
  for (const s of systems) {
    const a = api[s.system];
    if (!a) continue;
    const total = Object.values(a.counts).reduce((n, v) => n + v, 0);
    s.api = { ...s.api, counts: a.counts, total, writes: a.patches + verbTotal(a.counts, 'update', 'deployments'), lists: a.lists };
  }
}
