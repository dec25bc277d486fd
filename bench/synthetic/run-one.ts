// One size of the synthetic scale run (./main.ts starts one process per size, with --expose-gc):
// the real Controller (reflectors, stores, index, queue, decisions, reconciler) against
// ./cluster.ts on the system clock. Phases:
//   install  every object listed, every Deployment adopted (one merge patch each, no budget)
//   events   E changes of ConfigMaps nothing reads, then E of ConfigMaps a Deployment reads (E rolls)
//   restart  a second controller over the adopted objects: the common start; it writes nothing
// Memory is the heap after a full GC, less the heap before the restart's controller existed (so
// the source's own bookkeeping cancels out). Each store's longest list commit (one turn of the
// event loop) is timed too, in main-thread CPU as well as wall time: on a loaded machine the
// event loop's longest block reads the scheduler as much as the code. Prints one JSON object.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import winston from 'winston';
import { Controller } from '../../src/controller.ts';
import { digestKey } from '../../src/core/digest.ts';
import { SourceStore } from '../../src/state/source-store.ts';
import { WorkloadStore } from '../../src/state/workload-store.ts';
import { SyntheticCluster } from './cluster.ts';

const { values } = parseArgs({ options: { objects: { type: 'string' }, changes: { type: 'string' }, workers: { type: 'string' } } });
const objects = Number(values.objects ?? '10000');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const fullGc = () => {
  gc();
  gc();
};

const cluster = new SyntheticCluster(objects);
const deployments = cluster.count('deployments');
const changes = Math.min(Number(values.changes ?? '2000'), cluster.units);

function controller(): Controller {
  return new Controller({
    api: cluster, digestKey: digestKey(Buffer.alloc(32, 7)), log: winston.createLogger({ silent: true }), namespaces: undefined,
    dryRun: false, debounceMs: 0, workers: Number(values.workers ?? '4'), resyncPeriodMs: 0, qps: 0, burst: 1, adoptionQps: 0,
    watchdogMs: 24 * 3600_000, events: { normal: async () => undefined, warning: async () => undefined },
  });
}

const idle = (c: Controller) => c.queue.length === 0 && c.queue.waiting === 0 && c.queue.processing === 0;
/** Polls (this is a benchmark, not a test): resolves once `done` holds, checked every 5 ms. */
async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error('synthetic: timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Wall and CPU ms of `fn`, with the event loop's longest block while it ran. */
async function measured(fn: () => Promise<void>): Promise<{ wallMs: number; cpuMs: number; maxBlockMs: number; p99BlockMs: number }> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  delay.disable();
  return {
    wallMs: Math.round(wallMs), cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    maxBlockMs: Math.round(delay.max / 1e6), p99BlockMs: Math.round(delay.percentile(99) / 1e6),
  };
}

/** The longest list commit of each kind of store since the last reset: wall and main-thread CPU ms. */
const commits = { workloads: { wallMs: 0, cpuMs: 0, count: 0 }, sources: { wallMs: 0, cpuMs: 0, count: 0 } };
function timeCommits(proto: { beginReplace(...args: never[]): { commit(...args: never[]): unknown } }, longest: typeof commits.workloads): void {
  const begin = proto.beginReplace;
  proto.beginReplace = function (this: unknown, ...args: never[]) {
    const replacement = begin.apply(this, args);
    const commit = replacement.commit;
    return {
      ...replacement,
      commit: (...rest: never[]) => {
        const cpu0 = process.threadCpuUsage();
        const t0 = performance.now();
        try {
          return commit.apply(replacement, rest);
        } finally {
          const cpu = process.threadCpuUsage(cpu0);
          longest.wallMs = Math.max(longest.wallMs, performance.now() - t0);
          longest.cpuMs = Math.max(longest.cpuMs, (cpu.user + cpu.system) / 1000);
          longest.count++;
        }
      },
    };
  };
}
timeCommits(WorkloadStore.prototype as never, commits.workloads);
timeCommits(SourceStore.prototype as never, commits.sources);
/** The longest commits since the last call, rounded; starts the next reading. */
function longestCommits() {
  const taken = Object.fromEntries(Object.entries(commits).map(([k, v]) => [k, { wallMs: Math.round(v.wallMs), cpuMs: Math.round(v.cpuMs), count: v.count }]));
  for (const v of Object.values(commits)) Object.assign(v, { wallMs: 0, cpuMs: 0, count: 0 });
  return taken;
}

// What the source alone costs: every object generated once, as a list would.
const generation = await measured(async () => {
  for (const plural of ['deployments', 'configmaps', 'secrets'] as const) {
    for (let j = 0; j < cluster.count(plural); j++) cluster.object(plural, j);
  }
});

fullGc();
const atStart = process.memoryUsage();
/** Install, then events: on a controller reachable only from this call, so that it is freed after. */
async function firstController() {
  const c = controller();
  longestCommits();
  const listed = { ...await measured(() => c.start()), longestCommit: longestCommits() };
  c.runWorkers();
  const adopted = await measured(() => until(() => cluster.patches.total >= deployments && idle(c), 3600_000));
  const adoptionPatches = cluster.patches.total;
  // E changes nothing reads, then E that one Deployment each reads: each of those rolls once.
  const unread = await measured(async () => {
    for (let i = 0; i < changes; i++) {
      const unit = Math.floor((i * cluster.units) / changes);
      cluster.changeData('configmaps', unit * 6 + 1 + (i % 5));
    }
    await new Promise((resolve) => setImmediate(resolve));
    await until(() => idle(c), 600_000);
  });
  const rollsBefore = cluster.patches.rolls;
  const read = await measured(async () => {
    for (let i = 0; i < changes; i++) cluster.changeData('configmaps', Math.floor((i * cluster.units) / changes) * 6);
    await until(() => cluster.patches.rolls - rollsBefore >= changes && idle(c), 600_000);
  });
  const rolls = cluster.patches.rolls - rollsBefore;
  await c.stop();
  return { listed, adopted, adoptionPatches, unread, read, rolls };
}
const { listed, adopted, adoptionPatches, unread, read, rolls } = await firstController();

// Callbacks the first controller left queued (a source event, a poll) run before it is freed.
await new Promise((resolve) => setTimeout(resolve, 200));
fullGc();
// Near atStart plus the source's record of the writes when the first controller was freed.
const before = process.memoryUsage();
const patchesBefore = cluster.patches.total;
const c2 = controller();
longestCommits();
const restartListed = { ...await measured(() => c2.start()), longestCommit: longestCommits() };
c2.runWorkers();
const restartIdle = await measured(() => until(() => idle(c2), 3600_000));
fullGc();
const after = process.memoryUsage();
const restartPatches = cluster.patches.total - patchesBefore;
await c2.stop();

process.stdout.write(`${JSON.stringify({
  objects: cluster.units * 10, deployments, configMaps: cluster.count('configmaps'), secrets: cluster.count('secrets'), changes,
  generation, install: { listed, adopted, patches: adoptionPatches },
  events: {
    unread: { ...unread, cpuUsPerEvent: Math.round((unread.cpuMs * 1000) / changes) },
    read: { ...read, rolls, cpuUsPerEvent: Math.round((read.cpuMs * 1000) / changes) },
  },
  restart: { listed: restartListed, idle: restartIdle, patches: restartPatches },
  memory: {
    operatorHeapBytes: after.heapUsed - before.heapUsed, heapBytesPerObject: Math.round((after.heapUsed - before.heapUsed) / (cluster.units * 10)),
    rssBytes: after.rss, heapUsedBytes: after.heapUsed, externalBytes: after.external - before.external,
    heapLeftByFirstBytes: before.heapUsed - atStart.heapUsed, peakRssBytes: process.resourceUsage().maxRSS * 1024,
  },
  conflicts: cluster.patches.conflicts,
})}\n`);
