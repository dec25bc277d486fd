// Starting the operator under test and reading its state: synced (log line "caches synced", or
// /readyz when the log level hides it), workers running (log line "resync" why=start), and its
// /metrics (memory, rolls, adoptions, queue).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BenchProcess, freePort, operatorMemory, type OperatorMemory } from './procs.ts';
import { BENCH_DIGEST_KEY } from './objects.ts';
import { IMAGE_ENV, IMAGE_NODE_FLAGS } from '../../test/support/image.ts';

export type Runtime = 'dist' | 'tsx';

export interface OperatorOptions {
  operatorDir: string;
  /**
   * dist: `node` with IMAGE_NODE_FLAGS and IMAGE_ENV, `dist/main.js`, as the image runs it (see
   * Dockerfile); tsx: `node --import tsx src/main.ts`, Node's defaults.
   */
  runtime: Runtime;
  kubeconfig: string;
  /**
   * Credentials the in-cluster way instead of --kubeconfig, as in a pod: a ServiceAccount
   * directory (token, ca.crt) and the service address (src/kube/in-cluster.ts).
   */
  inCluster?: { serviceAccountDir: string; host: string; port: string };
  logDir: string;
  label: string;
  logLevel: string;
  extraArgs?: string[];
  env?: Record<string, string>;
  /** With runtime dist: leave out the image's Node flags and environment (experiments). */
  nodeDefaults?: boolean;
  /** With runtime dist: Node flags before dist/main.js instead of the image's (experiments; not all are allowed in NODE_OPTIONS). */
  nodeFlags?: string[];
  /** With runtime dist: Node flags after those (e.g. --trace-gc, which NODE_OPTIONS refuses). */
  extraNodeFlags?: string[];
  /** false: no --digest-key-file (builds from before the digest key, which refuse the flag). Default true. */
  digestKey?: boolean;
}

export interface RunningOperator {
  proc: BenchProcess;
  port: number;
  /** ms from spawn to the first log line ("starting"): Node boot and module load. */
  bootMs: number | undefined;
  /** ms from spawn to synced. */
  syncedMs: number;
  syncedAt: number;
  memory(): Promise<OperatorMemory>;
  metrics(): Promise<string>;
  /** Sum over all series of a metric (e.g. config_reload_rolls_total). */
  metric(name: string): Promise<number>;
  /** A metric summed by the value of one label, e.g. decisions by action. */
  metricBy(name: string, label: string): Promise<Record<string, number>>;
}

const LOGGED = new Set(['debug', 'info']);

export async function startOperator(o: OperatorOptions, timeoutMs: number): Promise<RunningOperator> {
  mkdirSync(o.logDir, { recursive: true });
  const port = await freePort();
  const keyFile = path.join(o.logDir, 'digest-key');
  writeFileSync(keyFile, BENCH_DIGEST_KEY.toString('base64'), { mode: 0o600 });
  const args = [
    ...(o.inCluster ? [] : ['--kubeconfig', o.kubeconfig]), '--http-addr', `127.0.0.1:${port}`, '--log-format', 'json',
    '--log-level', o.logLevel, ...(o.digestKey === false ? [] : ['--digest-key-file', keyFile]), ...(o.extraArgs ?? []),
  ];
  const asImage = o.runtime === 'dist' && !o.nodeDefaults;
  const flags = o.nodeFlags ?? (asImage ? IMAGE_NODE_FLAGS : []);
  const entry = o.runtime === 'dist' ? [...flags, ...(o.extraNodeFlags ?? []), 'dist/main.js'] : ['--import', 'tsx', 'src/main.ts'];
  const inCluster: Record<string, string> = o.inCluster ? {
    KUBERNETES_SERVICE_HOST: o.inCluster.host, KUBERNETES_SERVICE_PORT: o.inCluster.port,
    CONFIG_RELOAD_SERVICE_ACCOUNT_DIR: o.inCluster.serviceAccountDir, KUBECONFIG: '', HOME: o.logDir,
  } : {};
  const env = { ...(asImage ? IMAGE_ENV : {}), ...inCluster, ...o.env };
  const proc = new BenchProcess(`operator ${o.label}`, o.operatorDir, [...entry, ...args], path.join(o.logDir, `operator-${o.label}.log`), env);
  let syncedAt: number;
  if (LOGGED.has(o.logLevel)) {
    syncedAt = (await proc.waitFor('"caches synced"', (l) => l.message === 'caches synced', timeoutMs)).at;
  } else {
    syncedAt = await pollReady(proc, port, timeoutMs);
  }
  const starting = LOGGED.has(o.logLevel) ? await proc.waitFor('"starting"', (l) => l.message === 'starting', 1000).catch(() => undefined) : undefined;
  const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return {
    proc, port, syncedAt,
    syncedMs: syncedAt - proc.spawnedAt,
    bootMs: starting ? starting.at - proc.spawnedAt : undefined,
    memory: () => operatorMemory(proc, port),
    metrics,
    async metric(name) {
      const text = await metrics();
      let sum = 0;
      for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'gm'))) sum += Number(m[1]);
      return sum;
    },
    async metricBy(name, label) {
      const text = await metrics();
      const out: Record<string, number> = {};
      for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} ([0-9.e+-]+)$`, 'gm'))) {
        const value = new RegExp(`${label}="([^"]*)"`).exec(m[1] ?? '')?.[1] ?? '';
        out[value] = (out[value] ?? 0) + Number(m[2]);
      }
      return out;
    },
  };
}

async function pollReady(proc: BenchProcess, port: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (!proc.running) throw new Error(`${proc.name} exited before it was ready\n${proc.tail.join('\n')}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.status === 200) return performance.now();
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${proc.name}: not ready after ${timeoutMs} ms\n${proc.tail.join('\n')}`);
}
