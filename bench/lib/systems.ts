// The system under test behind one interface, the operator or a peer (--peer): started as its
// own process, ready when its caches are synced, measured the same way — latency by the
// harness's own Deployment watch (the template annotation the system writes), memory from
// /proc, API requests from the audit log under its own identity, rolls by revision.
import { OPERATOR_USER } from './cluster.ts';
import { cfgOf, changeConfigMap, HASH } from './objects.ts';
import type { RunningOperator } from './operator.ts';
import { type PeerSpec, peerCommand, spawnPeer } from './peers.ts';
import type { BenchProcess } from './procs.ts';
import { type Env, startOp, stopOp } from './harness.ts';
import { sleep } from './util.ts';

/** An opted-in pair that only says when a peer without a "synced" log line reacts: never sampled. */
export const SENTINEL = 'app-sentinel';

export interface System {
  /** operator | reloader | wave */
  name: string;
  /** The template annotation whose change is this system's roll. */
  key: string;
  /** Its identity in the audit log. */
  user: string;
  /** How it was run, for the results. */
  command: string;
  proc: BenchProcess;
  op?: RunningOperator;
  peer?: PeerSpec;
  /** ms from spawn to ready: "caches synced" (operator), its log line or its first reaction to a sentinel change (peers). */
  readyMs: number;
  readyHow: string;
  rssAtReadyBytes: number;
  secrets: boolean;
  /** Whether the system has taken on this Deployment, so that a change of its ConfigMap must roll it. */
  adopted(app: string): boolean;
  /** When it took it on: recorded digest (operator), first roll (Wave); undefined for a peer without adoption. */
  adoptedAt(app: string): number | undefined;
  /**
   * Until it does nothing beyond what the benchmark's own samples ask (`samplesDone`: samples
   * finished so far) for two polls a second apart — operator: queue gauges at 0 and no more
   * reconciles than 2 a sample (its ConfigMap, then the roll's echo); peer: no more rolls than
   * the samples — at most `capMs`. false when capped (still busy).
   */
  idle(capMs: number, samplesDone?: () => number): Promise<boolean>;
  stop(): Promise<void>;
}

export function systemNames(env: Env): string[] {
  return ['operator', ...env.ctx.peers.map((p) => p.profile.name)];
}

export async function startSystem(env: Env, name: string, label: string, opts: { debounce?: string; args?: string[]; timeoutMs: number }): Promise<System> {
  if (name === 'operator') {
    const op = await startOp(env, label, opts.debounce, opts.timeoutMs, { args: opts.args ?? [] });
    const args = [...(opts.debounce === undefined ? [] : ['--debounce', opts.debounce]), ...(opts.args ?? [])];
    return {
      name, key: HASH, user: OPERATOR_USER, command: `${env.ctx.settings.runtime === 'dist' ? 'node dist/main.js' : 'node --import tsx src/main.ts'} ${args.join(' ')}`.trim(),
      proc: op.proc, op, readyMs: Math.round(op.syncedMs), readyHow: 'log line "caches synced"',
      rssAtReadyBytes: op.proc.stat()?.rssBytes ?? NaN, secrets: true,
      adopted: (app) => env.tracker.recorded(app) !== undefined,
      adoptedAt: (app) => env.tracker.firstRecordedAt.get(app),
      async idle(capMs, samplesDone = () => 0) {
        const read = async () => ({
          depth: (await op.metric('config_reload_queue_depth')) + (await op.metric('config_reload_queue_waiting')),
          reconciles: await op.metric('config_reload_reconcile_duration_seconds_count'),
          samples: samplesDone(),
        });
        return quietFor(read, (a, b) => b.depth === 0 && b.reconciles - a.reconciles <= 2 * (b.samples - a.samples), capMs);
      },
      stop: () => stopOp(env, op),
    };
  }
  const peer = env.ctx.peers.find((p) => p.profile.name === name);
  if (!peer) throw new Error(`unknown system ${name}`);
  const prof = peer.profile;
  // Wave's first roll of each workload is its adoption: seen on the harness's watch from spawn on.
  const firstRoll = new Map<string, number>();
  const off = env.tracker.onChange((c) => {
    if (c.key === prof.templateKey && !firstRoll.has(c.name)) firstRoll.set(c.name, c.at);
  });
  const { proc, user } = await spawnPeer(peer, env.cl, env.dir, label);
  let readyAt: number;
  let readyHow: string;
  try {
    if (prof.readyLine) {
      readyAt = (await proc.waitFor('its "synced" log line', prof.readyLine, opts.timeoutMs)).at;
      readyHow = 'log line "Starting workers" (deployment controller)';
    } else {
      // No log line says its informers are synced: write the sentinel's ConfigMap every second
      // until the peer rolls the sentinel (granularity: one reaction, under a second).
      readyHow = 'first reaction to a sentinel ConfigMap change (written every second from spawn)';
      const deadline = performance.now() + opts.timeoutMs;
      for (;;) {
        if (!proc.running) throw new Error(`${proc.name} exited before it was ready\n${proc.tail.slice(-15).join('\n')}`);
        if (performance.now() > deadline) throw new Error(`${proc.name}: no reaction to the sentinel within ${opts.timeoutMs} ms\n${proc.tail.slice(-15).join('\n')}`);
        const waiter = env.tracker.nextChange(SENTINEL, prof.templateKey, 1000);
        await changeConfigMap(env.cl.admin, cfgOf(SENTINEL), 64);
        const change = await waiter;
        if (change) {
          readyAt = change.at;
          break;
        }
      }
    }
  } catch (err) {
    off();
    await proc.stop();
    throw err;
  }
  env.ctx.log(`  ${name} ${label}: ready in ${Math.round(readyAt - proc.spawnedAt)} ms (${readyHow})`);
  const rolls = () => env.tracker.changes.reduce((n, c) => n + (c.key === prof.templateKey ? 1 : 0), 0);
  return {
    name, key: prof.templateKey, user, command: peerCommand(peer), proc, peer,
    readyMs: Math.round(readyAt - proc.spawnedAt), readyHow, rssAtReadyBytes: proc.stat()?.rssBytes ?? NaN, secrets: prof.secrets,
    adopted: (app) => !prof.rollsAtStart || firstRoll.has(app),
    adoptedAt: (app) => (prof.rollsAtStart ? firstRoll.get(app) : undefined),
    async idle(capMs, samplesDone = () => 0) {
      const read = async () => ({ rolls: rolls(), samples: samplesDone() });
      return quietFor(read, (a, b) => b.rolls - a.rolls <= b.samples - a.samples, capMs);
    },
    async stop() {
      off();
      const code = await proc.stop();
      for (const p of proc.problems) if (env.problems.length < 30) env.problems.push(`${proc.name}: ${p}`);
      // A Go binary ends on SIGTERM by the signal (128 here) or exits 0: anything else is worth a line.
      if (code !== 0 && code !== 128) env.problems.push(`${proc.name}: exit code ${code}`);
    },
  };
}

/** Polls `read` every second until two consecutive pairs of readings are `quiet`; false after `capMs`. */
async function quietFor<T>(read: () => Promise<T>, quiet: (a: T, b: T) => boolean, capMs: number): Promise<boolean> {
  const deadline = performance.now() + capMs;
  let before = await read();
  let still = 0;
  while (still < 2) {
    if (performance.now() > deadline) return false;
    await sleep(1000);
    const now = await read();
    still = quiet(before, now) ? still + 1 : 0;
    before = now;
  }
  return true;
}

/** Memory of a system from /proc: RSS now and its peak (VmHWM). */
export function procMemory(sys: System): { rssBytes: number; peakRssBytes: number; cpuSeconds: number } {
  const st = sys.proc.stat();
  return { rssBytes: st?.rssBytes ?? NaN, peakRssBytes: st?.peakRssBytes ?? NaN, cpuSeconds: st?.cpuSeconds ?? NaN };
}
