// Whether the machine was shared during a scenario: the benchmark needs the cores to itself,
// and on a shared machine (another test suite, another control plane) its tail latencies and
// start-up times are not comparable. Samples the load average and counts kube-apiserver
// processes that are not the scenario's own.
import { readdirSync, readFileSync } from 'node:fs';

export interface LoadReport {
  loadAvgMean: number;
  loadAvgMax: number;
  /** Most kube-apiserver processes seen at once, the scenario's own included (1 = alone). */
  apiServersMax: number;
}

function apiServers(): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.split('\0')[0]?.endsWith('kube-apiserver')) n++;
    } catch {
      // gone
    }
  }
  return n;
}

export function watchLoad(everyMs = 5000): { stop(): LoadReport } {
  const loads: number[] = [];
  let servers = 0;
  const sample = () => {
    try {
      loads.push(Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]));
      servers = Math.max(servers, apiServers());
    } catch {
      // not Linux
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      const mean = loads.reduce((a, b) => a + b, 0) / (loads.length || 1);
      return { loadAvgMean: Math.round(mean * 100) / 100, loadAvgMax: Math.max(0, ...loads), apiServersMax: servers };
    },
  };
}
