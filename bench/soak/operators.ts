// The operator under test: replicas under leader election, each its own process as users run it
// (`node --import tsx src/main.ts`, spawned, never imported). Two replicas are killable (SIGKILL,
// leader failover, SIGTERM handover); a third, the memory witness, is never signalled by the
// soak, so one process lives through the whole run and its RSS says whether memory stays flat.
// A replica that exits by itself (a leader that lost its Lease exits 1 by design) is restarted,
// as its kubelet would, and the exit is reported.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { BenchProcess } from '../lib/procs.ts';
import type { Kube } from '../lib/kube.ts';
import type { Rng } from '../../test/support/rng.ts';
import { pollInterval } from './poll.ts';

export interface PoolOptions {
  root: string;
  logDir: string;
  /** The kubeconfig each new process gets (through the fault proxy once it is there). */
  kubeconfig: () => string;
  namespaces: string[];
  controlNamespace: string;
  digestKeyFile: string;
  admin: Kube;
  log: (line: string) => void;
  /** Told of every process spawned (the oracle's windows follow its log). */
  onSpawn?: (identity: string, proc: BenchProcess) => void;
}

export interface RssSample {
  t: number;
  replica: string;
  pid: number;
  rssMiB: number;
  /** periodic: every 5 s, whatever happens; checkpoint: once per checkpoint, settled. */
  phase: 'periodic' | 'checkpoint';
  /**
   * At checkpoints, from the replica's /metrics: V8's used heap and the memory of its external
   * buffers. Beside RSS they say whether a growth is live objects (a leak) or pages the allocator
   * kept after a peak.
   */
  heapUsedMiB?: number;
  externalMiB?: number;
}

export interface ProcessLife {
  replica: string;
  identity: string;
  pid: number;
  startedAt: number;
  endedAt?: number;
  end?: string;
}

interface Slot {
  name: string;
  killable: boolean;
  generation: number;
  proc?: BenchProcess;
  identity?: string;
  life?: ProcessLife;
  /** Set while the soak itself stops this process (an exit it caused is not unexpected). */
  expectingExit: boolean;
  restarting?: Promise<void>;
  /** The port of its /metrics (it listens on a port of its choosing, and logs it). */
  httpPort?: number;
}

export const LEASE = 'soak-operator';

export class OperatorPool {
  readonly #o: PoolOptions;
  readonly #slots: Slot[] = [
    { name: 'a', killable: true, generation: 0, expectingExit: false },
    { name: 'b', killable: true, generation: 0, expectingExit: false },
    { name: 'witness', killable: false, generation: 0, expectingExit: false },
  ];
  readonly rss: RssSample[] = [];
  readonly lives: ProcessLife[] = [];
  readonly unexpectedExits: Array<ProcessLife & { tail: string[] }> = [];
  #sampler: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(o: PoolOptions) {
    this.#o = o;
    mkdirSync(o.logDir, { recursive: true });
  }

  async start(): Promise<void> {
    for (const s of this.#slots) this.#spawn(s);
    this.#sampler = setInterval(() => this.sample(), 5000);
    await this.waitForLeader(120_000);
  }

  /** One RSS reading (VmRSS of /proc/PID/status) of every live replica. */
  sample(phase: 'periodic' | 'checkpoint' = 'periodic'): void {
    for (const s of this.#slots) {
      const st = s.proc?.running ? s.proc.stat() : undefined;
      if (st) this.rss.push({ t: Date.now(), replica: s.identity ?? s.name, pid: s.proc?.pid ?? -1, rssMiB: round(st.rssBytes / 2 ** 20), phase });
    }
  }

  /** A checkpoint's reading: RSS, and the heap figures of each replica's /metrics. */
  async sampleCheckpoint(): Promise<void> {
    const at = this.rss.length;
    this.sample('checkpoint');
    await Promise.all(this.rss.slice(at).map(async (r) => {
      const slot = this.#slots.find((s) => s.identity === r.replica);
      const port = slot?.httpPort;
      if (port === undefined) return;
      const text = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) }).then((res) => res.text()).catch(() => '');
      const gauge = (name: string) => {
        const m = new RegExp(`^${name} (\\S+)`, 'm').exec(text);
        return m ? round(Number(m[1]) / 2 ** 20) : undefined;
      };
      r.heapUsedMiB = gauge('nodejs_heap_size_used_bytes');
      r.externalMiB = gauge('nodejs_external_memory_bytes');
    }));
  }

  /** The Lease holder, as the apiserver has it. */
  async holder(): Promise<string | undefined> {
    const res = await this.#o.admin.request<{ spec?: { holderIdentity?: string } }>('GET',
      `/apis/coordination.k8s.io/v1/namespaces/${this.#o.controlNamespace}/leases/${LEASE}`, undefined, 'application/json', (s) => s === 404);
    return res.status === 404 ? undefined : res.body.spec?.holderIdentity;
  }

  /** Waits until a live replica holds the Lease and its workers run (it logged resync why=start). */
  async waitForLeader(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await Promise.all(this.#slots.map((s) => s.restarting));
      const holder = await this.holder().catch(() => undefined);
      const slot = this.#slots.find((s) => s.identity === holder && s.proc?.running);
      if (slot?.proc) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const ok = await slot.proc.waitFor('workers started', (l) => l.message === 'resync' && l.why === 'start', Math.min(left, 5000)).then(() => true, () => false);
        if (ok && slot.proc.running && (await this.holder().catch(() => undefined)) === holder) return holder as string;
      }
      if (Date.now() > deadline) break;
      await pollInterval(250);
    }
    throw new Error(`no replica leads with its workers running after ${timeoutMs} ms; processes: ${this.#slots.map((s) => `${s.identity}:${s.proc?.running ? 'up' : 'down'}`).join(', ')}`);
  }

  /** An operator event of the workload; returns what was done. */
  async event(type: 'operator-kill' | 'leader-failover' | 'operator-graceful-restart', rng: Rng): Promise<string> {
    // Draw first, whatever the state, so the sequence depends on the seed only.
    const drawn = rng.pick(this.#slots.filter((s) => s.killable));
    const holder = await this.holder().catch(() => undefined);
    const leader = this.#slots.find((s) => s.identity === holder);
    let slot: Slot;
    let signal: NodeJS.Signals = 'SIGKILL';
    if (type === 'operator-kill') {
      slot = drawn;
    } else {
      // The leader, unless it is the witness (never signalled): then a killable standby.
      slot = leader?.killable ? leader : drawn;
      if (type === 'operator-graceful-restart') signal = 'SIGTERM';
    }
    if (slot.restarting) return `${slot.name} already restarting`;
    const what = `${signal} ${slot.identity}${slot === leader ? ' (leader)' : ' (standby)'}`;
    this.#o.log(what);
    slot.restarting = this.#restart(slot, signal).finally(() => {
      slot.restarting = undefined;
    });
    return what;
  }

  async #restart(slot: Slot, signal: NodeJS.Signals): Promise<void> {
    slot.expectingExit = true;
    const proc = slot.proc;
    if (proc) {
      proc.signal(signal);
      await proc.stop(30_000);
    }
    slot.expectingExit = false;
    if (!this.#stopped) this.#spawn(slot);
  }

  #spawn(slot: Slot): void {
    const o = this.#o;
    slot.generation++;
    const identity = `soak-${slot.name}-${slot.generation}`;
    const args = [
      '--import', 'tsx', 'src/main.ts',
      '--kubeconfig', o.kubeconfig(), '--http-addr', '127.0.0.1:0', '--log-format', 'json', '--log-level', 'info',
      '--namespace', [...o.namespaces, o.controlNamespace].join(','),
      '--leader-elect', '--leader-election-namespace', o.controlNamespace, '--leader-election-id', LEASE, '--lease-duration', '10s',
      '--digest-key-file', o.digestKeyFile, '--config-sources', 'configmaps', '--workload-kinds', 'deployments',
    ];
    const proc = new BenchProcess(`operator ${identity}`, o.root, args, path.join(o.logDir, `${identity}.log`), { POD_NAME: identity });
    const life: ProcessLife = { replica: slot.name, identity, pid: proc.pid, startedAt: Date.now() };
    this.lives.push(life);
    slot.proc = proc;
    slot.identity = identity;
    slot.life = life;
    slot.httpPort = undefined;
    o.onSpawn?.(identity, proc);
    void proc.waitFor('http server listening', (l) => l.message === 'http server listening', 120_000)
      .then(({ line }) => { if (slot.proc === proc) slot.httpPort = Number(line.port); }, () => undefined);
    void proc.waitFor('exit', () => false, 2_000_000_000).catch(() => {
      life.endedAt = Date.now();
      life.end = slot.expectingExit || this.#stopped ? 'stopped by the soak' : 'exited by itself';
      if (!slot.expectingExit && !this.#stopped && slot.proc === proc) {
        slot.restarting = proc.stop(1000).then((code) => {
          life.end = `exited by itself (code ${code}${code === 128 ? ': a signal' : ''})`;
          this.unexpectedExits.push({ ...life, tail: proc.tail.slice(-10) });
          o.log(`${identity} ${life.end}; restarting it`);
          if (!this.#stopped) this.#spawn(slot);
        }).finally(() => {
          slot.restarting = undefined;
        });
      }
    });
  }

  /** Waits for restarts in flight. */
  async idle(): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.restarting));
  }

  /** The witness's pid and identity (the memory check follows it). */
  get witness(): string | undefined {
    return this.#slots.find((s) => !s.killable)?.identity;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#sampler) clearInterval(this.#sampler);
    await this.idle();
    await Promise.all(this.#slots.map((s) => s.proc?.stop(10_000)));
  }
}

const round = (x: number) => Math.round(x * 10) / 10;
