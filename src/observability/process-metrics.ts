// The standard process_* and nodejs_* metrics that dashboards for Node.js read, under
// prom-client's names and help texts, computed when scraped. The operator does not call
// prom-client's collectDefaultMetrics: reaching it goes through the package's index, whose other
// parts cost memory the idle operator does not need (src/observability/prom-client-core.ts).
// Left out of prom-client's set: GC durations, active handles and requests, and virtual memory,
// which nothing the chart ships reads.
import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { Counter, Gauge, type Registry } from './prom-client-core.ts';

/** Resolution of the event-loop delay sampler, in ms (prom-client's default). */
const EVENT_LOOP_RESOLUTION_MS = 10;

/**
 * A read that fails (EMFILE near the descriptor limit: reading RSS and /proc need one) keeps the
 * metric's last value rather than failing the whole scrape, as prom-client's own collectors do.
 */
function guarded(read: () => void): () => void {
  return () => {
    try {
      read();
    } catch {
      // The last value stands.
    }
  };
}

export function registerProcessMetrics(registry: Registry): void {
  const registers = [registry];

  // CPU time as three counters that advance by the time used since the previous scrape.
  let lastCpu = process.cpuUsage();
  const cpuUser = new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers,
    collect: guarded(() => {
      const now = process.cpuUsage();
      const user = (now.user - lastCpu.user) / 1e6;
      const system = (now.system - lastCpu.system) / 1e6;
      lastCpu = now;
      cpuUser.inc(user);
      cpuSystem.inc(system);
      cpuTotal.inc(user + system);
    }),
  });
  const cpuSystem = new Counter({ name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.', registers });
  const cpuTotal = new Counter({ name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', registers });

  new Gauge({ name: 'process_start_time_seconds', help: 'Start time of the process since unix epoch in seconds.', registers })
    .set(Math.round(Date.now() / 1000 - process.uptime()));

  const rss: Gauge = new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    registers,
    collect: guarded(() => rss.set(process.memoryUsage.rss())),
  });

  const heapTotal = new Gauge({
    name: 'nodejs_heap_size_total_bytes',
    help: 'Process heap size from Node.js in bytes.',
    registers,
    collect: guarded(() => {
      const m = process.memoryUsage();
      heapTotal.set(m.heapTotal);
      heapUsed.set(m.heapUsed);
      external.set(m.external);
    }),
  });
  const heapUsed = new Gauge({ name: 'nodejs_heap_size_used_bytes', help: 'Process heap size used from Node.js in bytes.', registers });
  const external = new Gauge({ name: 'nodejs_external_memory_bytes', help: 'Node.js external memory size in bytes.', registers });

  // Per V8 heap space (new, old, code, …): bench/memory.ts splits RSS with them.
  const space = (stat: string, collect?: () => void) => new Gauge({
    name: `nodejs_heap_space_size_${stat}_bytes`,
    help: `Process heap space size ${stat} from Node.js in bytes.`,
    labelNames: ['space'] as const,
    registers,
    ...(collect ? { collect: guarded(collect) } : {}),
  });
  const spaceTotal = space('total', () => {
    for (const s of getHeapSpaceStatistics()) {
      const labels = { space: s.space_name.replace(/_space$/, '') };
      spaceTotal.set(labels, s.space_size);
      spaceUsed.set(labels, s.space_used_size);
      spaceAvailable.set(labels, s.space_available_size);
    }
  });
  const spaceUsed = space('used');
  const spaceAvailable = space('available');

  if (process.platform === 'linux') {
    const openFds: Gauge = new Gauge({
      name: 'process_open_fds',
      help: 'Number of open file descriptors.',
      registers,
      // The directory's own descriptor, open while it is read, is not counted.
      collect: guarded(() => openFds.set(readdirSync('/proc/self/fd').length - 1)),
    });
    guarded(() => {
      const maxFds = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
      if (maxFds) new Gauge({ name: 'process_max_fds', help: 'Maximum number of open file descriptors.', registers }).set(Number(maxFds));
    })();
  }

  const [major, minor, patch] = process.versions.node.split('.');
  new Gauge({
    name: 'nodejs_version_info',
    help: 'Node.js version info.',
    labelNames: ['version', 'major', 'minor', 'patch'] as const,
    registers,
  }).set({ version: process.version, major: major ?? '', minor: minor ?? '', patch: patch ?? '' }, 1);

  registerEventLoopLag(registers);
}

/**
 * nodejs_eventloop_lag_seconds: how long a setImmediate queued by the scrape waited. The others:
 * the delay distribution since the previous scrape, from Node's sampler.
 */
function registerEventLoopLag(registers: Registry[]): void {
  const delay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  delay.enable();
  const stats: Array<[string, string, (h: typeof delay) => number]> = [
    ['min', 'The minimum recorded event loop delay.', (h) => h.min],
    ['max', 'The maximum recorded event loop delay.', (h) => h.max],
    ['mean', 'The mean of the recorded event loop delays.', (h) => h.mean],
    ['stddev', 'The standard deviation of the recorded event loop delays.', (h) => h.stddev],
    ['p50', 'The 50th percentile of the recorded event loop delays.', (h) => h.percentile(50)],
    ['p90', 'The 90th percentile of the recorded event loop delays.', (h) => h.percentile(90)],
    ['p99', 'The 99th percentile of the recorded event loop delays.', (h) => h.percentile(99)],
  ];
  const gauges: Array<{ gauge: Gauge; read: (h: typeof delay) => number }> = [];
  // Registered before the gauges its collect sets: the registry collects in registration order,
  // and a gauge read before it was set would show the previous scrape's figures.
  const lag: Gauge = new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Lag of event loop in seconds.',
    registers,
    async collect() {
      for (const { gauge, read } of gauges) gauge.set(read(delay) / 1e9);
      delay.reset();
      const start = process.hrtime.bigint();
      await new Promise((resolve) => setImmediate(resolve));
      lag.set(Number(process.hrtime.bigint() - start) / 1e9);
    },
  });
  for (const [stat, help, read] of stats) gauges.push({ gauge: new Gauge({ name: `nodejs_eventloop_lag_${stat}_seconds`, help, registers }), read });
}
