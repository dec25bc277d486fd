// --profile: a separate run of the operator with --cpu-prof and heap snapshots (SIGUSR2) after
// sync and after a storm of 500 at most; profiling distorts timings, so it never overlaps the
// measured phases. The CPU profile is copied to <out>/profiles/, heap snapshots stay in the
// work directory (they are large); both are summarised in the result.
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { type Env, queueIdle, startOp, stopOp } from './harness.ts';
import type { RunningOperator } from './operator.ts';
import type { OperatorMemory } from './procs.ts';
import { summarizeCpuProfile, summarizeHeapSnapshot, type CpuWindowSummary, type HeapRow } from './profile.ts';
import { storm } from './storm.ts';
import { sleep } from './util.ts';

export interface ProfileResult {
  cpu: CpuWindowSummary[];
  heapAfterSync?: { totalMiB: number; rows: HeapRow[] };
  heapAfterStorm?: { totalMiB: number; rows: HeapRow[] };
  memoryAtSync: OperatorMemory;
  memoryAfterStorm?: OperatorMemory;
  syncedMs: number;
  files: string[];
}

export async function runProfile(env: Env, apps: readonly string[], bytes: number, syncTimeout: number): Promise<ProfileResult> {
  // Heap snapshots are large: they stay in the work directory; the CPU profile is copied to the results.
  const dir = path.join(env.dir, 'profile');
  mkdirSync(dir, { recursive: true });
  const before = new Set(existsSync(dir) ? readdirSync(dir) : []);
  const op = await startOp(env, 'profile', undefined, syncTimeout, {
    env: { NODE_OPTIONS: `${env.ctx.settings.nodeOptions} --cpu-prof --cpu-prof-dir=${dir} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}`.trim() },
  });
  const syncedMs = op.syncedMs;
  const memoryAtSync = await op.memory();
  await queueIdle(op, 60_000);
  const heapAfterSync = await heapSnapshot(op, dir, before);
  let memoryAfterStorm: OperatorMemory | undefined;
  let heapAfterStorm: ProfileResult['heapAfterStorm'];
  const stormFrom = performance.now() - op.proc.spawnedAt;
  if (env.ctx.settings.stormMax > 0) {
    const st = await storm(env, op, apps.slice(0, Math.min(500, env.ctx.settings.stormMax)), bytes, 'profiled (500 at most)');
    memoryAfterStorm = st.memoryAfter;
    heapAfterStorm = await heapSnapshot(op, dir, before);
  }
  const stormTo = performance.now() - op.proc.spawnedAt;
  await stopOp(env, op);
  const files = readdirSync(dir).filter((f) => !before.has(f));
  const cpuFile = files.find((f) => f.endsWith('.cpuprofile'));
  const kept: string[] = [];
  if (cpuFile) {
    const to = path.join(env.ctx.resultsDir, 'profiles', `${path.basename(env.dir)}.cpuprofile`);
    mkdirSync(path.dirname(to), { recursive: true });
    copyFileSync(path.join(dir, cpuFile), to);
    kept.push(path.relative(env.ctx.resultsDir, to));
  }
  const cpu = cpuFile ? summarizeCpuProfile(path.join(dir, cpuFile), [
    { name: 'spawn → synced', fromMs: 0, toMs: syncedMs },
    { name: 'storm', fromMs: stormFrom, toMs: stormTo },
    { name: 'whole run', fromMs: 0, toMs: Number.MAX_SAFE_INTEGER },
  ]) : [];
  return {
    cpu, memoryAtSync, syncedMs: Math.round(syncedMs),
    ...(heapAfterSync ? { heapAfterSync } : {}), ...(heapAfterStorm ? { heapAfterStorm } : {}),
    ...(memoryAfterStorm ? { memoryAfterStorm } : {}),
    files: kept,
  };
}

async function heapSnapshot(op: RunningOperator, dir: string, before: Set<string>): Promise<{ totalMiB: number; rows: HeapRow[] } | undefined> {
  const known = new Set(readdirSync(dir));
  op.proc.signal('SIGUSR2');
  let file: string | undefined;
  let lastSize = -1;
  let stableSince = 0;
  const deadline = performance.now() + 120_000;
  while (performance.now() < deadline) {
    await sleep(250);
    file ??= readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !known.has(f) && !before.has(f));
    if (!file) continue;
    const size = statSync(path.join(dir, file)).size;
    if (size === lastSize && size > 0) {
      if (performance.now() - stableSince > 1500) break;
    } else {
      lastSize = size;
      stableSince = performance.now();
    }
  }
  if (!file) return undefined;
  try {
    return summarizeHeapSnapshot(path.join(dir, file));
  } catch {
    return undefined;
  }
}
