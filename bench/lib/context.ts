// What every scenario is given: the run's settings (from the command line) and its context
// (the operator snapshot, the work and results directories, the digest functions, the peers).
import type { Digester } from './objects.ts';
import type { Runtime } from './operator.ts';
import type { PeerSpec } from './peers.ts';

export interface Settings {
  samples: number;
  warmup: number;
  /** Latency samples per second (Poisson arrivals, each on a different Deployment). */
  rate: number;
  concurrency: number;
  /** ConfigMaps rewritten by the change storm: min(N, stormMax); 0 = no storm. */
  stormMax: number;
  logLevel: string;
  /** Scenario names that get a profiled run, or 'all'. */
  profile: ReadonlySet<string> | 'all';
  runtime: Runtime;
  /** Pairs for the baseline watcher (not opted in), sampled alternately with the operator's. */
  baselinePairs: number;
  /** NODE_OPTIONS for the operator (experiments). */
  nodeOptions: string;
  /** Trace the operator's event loop and GC (bench/lib/loop-trace.mjs, --trace-gc). */
  traceOperator: boolean;
  /** Node/V8 flags for the operator after the image's (--node-flags). */
  nodeFlags?: string[];
  /** More flags for the operator in the mass-adoption and fan-out scenarios (e.g. an adoption pace). */
  operatorArgs: string[];
  /** How long a peer's start-up (Wave's roll of every workload) is waited for. */
  peerSettleMs: number;
}

export interface Ctx {
  settings: Settings;
  repo: string;
  operatorDir: string;
  workRoot: string;
  resultsDir: string;
  digester: Digester;
  log(line: string): void;
  /** Peer operators (--peer) run after the operator in the scenarios that support them. */
  peers: PeerSpec[];
  /** Filled in by the first cluster started. */
  info: { k8s: string; rbac: string };
}
