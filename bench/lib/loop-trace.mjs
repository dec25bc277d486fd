// Preloaded into the operator under test by `npm run bench -- --trace-operator` (NODE_OPTIONS
// --import, so plain JavaScript): what its event loop and its GC did, with wall-clock times, to
// put beside a slow latency sample. Written as JSON lines to $BENCH_TRACE_FILE:
//   {"k":"sec", "t", "max", "p99", "mean", "cpuMs", "handles"}  every second: event-loop delay (ms,
//                                                                 perf_hooks histogram at 2 ms resolution)
//   {"k":"stall", "t", "ms", "cpuMs"}                             a 10 ms interval timer that fired ≥ 40 ms late
//                                                                 (t: when the loop came back; cpuMs: the process's
//                                                                 CPU time meanwhile; vol/invol: the main thread's
//                                                                 voluntary/involuntary context switches meanwhile;
//                                                                 waitMs: its time runnable but waiting for a core,
//                                                                 /proc schedstat — a stall mostly waitMs is the machine's)
//   {"k":"gc", "t", "ms", "kind"}                                 every GC (t: its start)
// Nothing here changes what the operator does; the timers are unref'd.
import { appendFileSync, readFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

const file = process.env.BENCH_TRACE_FILE;
// Only the main thread: a loader's hooks thread (tsx) runs the preload too.
if (file && isMainThread) {
  const KINDS = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  let lines = [];
  const flush = () => {
    if (lines.length === 0) return;
    appendFileSync(file, lines.join('\n') + '\n');
    lines = [];
  };
  const at = (ms) => Math.round((performance.timeOrigin + ms) * 10) / 10;
  const hist = monitorEventLoopDelay({ resolution: 2 });
  hist.enable();
  let cpu = process.cpuUsage();
  setInterval(() => {
    const c = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    lines.push(JSON.stringify({
      k: 'sec', t: Date.now(), max: hist.max / 1e6, p99: hist.percentile(99) / 1e6, mean: Math.round(hist.mean / 1e4) / 100,
      cpuMs: Math.round((c.user + c.system) / 1000), handles: process.getActiveResourcesInfo().length,
    }));
    hist.reset();
    flush();
  }, 1000).unref();
  // A stall's CPU time tells the operator's own work (CPU ≈ the stall) from a process the
  // machine did not run (CPU ≪ the stall: other processes had the cores).
  // The main thread's context switches (Linux): a stall with many involuntary ones was the
  // process waiting for a core; one with a voluntary switch and no CPU, a blocking call (a
  // synchronous write to a full stdout/stderr pipe).
  const switches = () => {
    try {
      const status = readFileSync(`/proc/self/task/${process.pid}/status`, 'utf8');
      // schedstat: ns on the CPU, ns runnable but waiting for one, timeslices.
      const waitNs = Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[1]);
      return { vol: Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? NaN), invol: Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? NaN), waitNs };
    } catch {
      return { vol: NaN, invol: NaN, waitNs: NaN };
    }
  };
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let lastSw = switches();
  setInterval(() => {
    const now = performance.now();
    const c = process.cpuUsage(lastCpu);
    lastCpu = process.cpuUsage();
    const sw = switches();
    if (now - last >= 50) {
      lines.push(JSON.stringify({
        k: 'stall', t: at(now), ms: Math.round(now - last - 10), cpuMs: Math.round((c.user + c.system) / 1000),
        vol: sw.vol - lastSw.vol, invol: sw.invol - lastSw.invol, waitMs: Math.round((sw.waitNs - lastSw.waitNs) / 1e6),
      }));
    }
    last = now;
    lastSw = sw;
  }, 10).unref();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      lines.push(JSON.stringify({ k: 'gc', t: at(e.startTime), ms: Math.round(e.duration * 100) / 100, kind: KINDS[e.detail?.kind] ?? String(e.detail?.kind) }));
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('exit', flush);
}
