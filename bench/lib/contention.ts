// Changes made while the system is busy with something else (issue: head-of-line blocking):
//
// mass-adoption: N Deployments (replicas 0), each with its own ConfigMap, NOT adopted: the
//   system starts as on a fresh install and takes them all on. While it does, sequential
//   changes to the ConfigMaps of random Deployments it has already taken on (operator: digest
//   recorded; Wave: rolled once; Reloader: any) are timed, write acknowledged → template changed,
//   against the baseline watcher's, sampled the same way at the same moments. The window ends
//   when every Deployment is taken on and the system does nothing beyond the samples.
// fan-out: one ConfigMap shared by M Deployments changes (M rolls); during that roll-out,
//   sequential changes to unrelated ConfigMaps (each with its own consumer) are timed, again
//   against the baseline watcher. Rounds add samples.
//
// Each system (the operator, then every --peer) runs in turn on the same control plane and
// objects. Target: the system's p99 ≤ 1.2 × the baseline watcher's p99 in the same window.
import path from 'node:path';
import { BASELINE_KEY, cfgOf, changeConfigMap, type Data, DATA_KEY, NS, type PairSpec, payload } from './objects.ts';
import { BenchProcess } from './procs.ts';
import {
  apiCounts, createObjects, type Ctx, type Env, type LatencyResult, openWindow, pairOf, round1, sleep, withCluster,
} from './scenarios.ts';
import { summarize } from './stats.ts';
import { verbTotal } from './audit.ts';
import { procMemory, SENTINEL, startSystem, type System, systemNames } from './systems.ts';
import { until } from './tracker.ts';

export const DURING_TARGET = 1.2;

export type ContentionSpec =
  | { kind: 'mass-adoption'; name: string; n: number; bytes: number; window: WindowLimits }
  | { kind: 'fan-out'; name: string; m: number; unrelated: number; rounds: number; bytes: number; window: WindowLimits };

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

interface DuringArm {
  label: string;
  key: string;
  /** Deployments a change may go to now. */
  candidates: () => readonly string[];
}

interface Sampled {
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
async function sampleDuring(env: Env, arms: readonly DuringArm[], active: () => boolean, timeoutMs: number, bytes: number, done: { count: number }): Promise<Sampled[]> {
  return Promise.all(arms.map(async (arm) => {
    const lat: number[] = [];
    const ack: number[] = [];
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
    return { latency: { summary, timeouts, writeAck: summarize(ack), samplesMs: lat.map((x) => Math.round(x * 10) / 10) }, perApp };
  }));
}

function merge(a: LatencyResult, b: LatencyResult): LatencyResult {
  const samplesMs = [...a.samplesMs, ...b.samplesMs];
  return { summary: summarize(samplesMs), timeouts: a.timeouts + b.timeouts, writeAck: a.writeAck.n >= b.writeAck.n ? a.writeAck : b.writeAck, samplesMs };
}

const emptyLatency = (): LatencyResult => ({ summary: summarize([]), timeouts: 0, writeAck: summarize([]), samplesMs: [] });

async function controllerCaughtUp(env: Env): Promise<void> {
  await until(() => env.tracker.unobserved() === 0, 300_000, 250);
}

/** Runs `fn` for every system in turn, a failure of one recorded and the others still run. */
async function eachSystem(env: Env, failures: Record<string, string>, fn: (name: string) => Promise<SystemRun>): Promise<SystemRun[]> {
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

function startBaseline(env: Env): BenchProcess {
  return new BenchProcess('baseline', env.ctx.repo, ['bench/baseline-watcher.ts', '--kubeconfig', env.cl.baselineKubeconfig], path.join(env.dir, 'baseline.log'));
}

const systemArgs = (ctx: Ctx, name: string) => (name === 'operator' ? { debounce: '0', args: ctx.settings.operatorArgs } : {});

// ---- mass-adoption -------------------------------------------------------------------------

export async function runMassAdoption(ctx: Ctx, sc: Extract<ContentionSpec, { kind: 'mass-adoption' }>): Promise<ContentionResult> {
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

// ---- fan-out -------------------------------------------------------------------------------

export async function runFanOut(ctx: Ctx, sc: Extract<ContentionSpec, { kind: 'fan-out' }>): Promise<ContentionResult> {
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

// ---- shared --------------------------------------------------------------------------------

function ratio(a: LatencyResult, b: LatencyResult): number {
  return Math.round((a.summary.p99 / b.summary.p99) * 100) / 100;
}

/** ConfigMap writes a sentinel readiness took (a peer without a "synced" log line): one a second until it reacted. */
function sentinelWrites(sys: System): number {
  return sys.readyHow.startsWith('first reaction') ? Math.max(1, Math.ceil(sys.readyMs / 1000)) : 0;
}

/** Rolls by revision of every opted-in Deployment (not the baseline's) since `before`. */
function rollsAll(env: Env, before: ReadonlyMap<string, number>): number {
  return env.tracker.rollsSince(before, [...before.keys()].filter((n) => !n.startsWith('bapp-'))).rolls;
}

function notesOf(sys: System): string[] {
  return sys.peer ? [...sys.peer.profile.notes] : [];
}

/**
 * Rolls by revision of `apps` since `before`, against what was asked: one per successful sample,
 * plus one at start-up for a peer that rolls what it first sees. `unasked`: rolls beyond the
 * samples (start-up rolls included); `duplicates`: Deployments beyond even that allowance.
 */
function rollAccounting(env: Env, before: ReadonlyMap<string, number>, apps: readonly string[], asked: ReadonlyMap<string, number>, rollsAtStart: boolean): { rolls: number; unasked: number; duplicates: number } {
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
async function fillApi(env: Env, systems: SystemRun[]): Promise<void> {
  const api = await apiCounts(env);
  for (const s of systems) {
    const a = api[s.system];
    if (!a) continue;
    const total = Object.values(a.counts).reduce((n, v) => n + v, 0);
    s.api = { ...s.api, counts: a.counts, total, writes: a.patches + verbTotal(a.counts, 'update', 'deployments'), lists: a.lists };
  }
}
