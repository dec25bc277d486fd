// The world the model test's histories run in (./model-histories.ts): one in-memory cluster on
// one virtual clock, the operator's replicas against it (the real Controller: reflectors,
// stores, index, queue, reconciler), the workload controllers' status writes, and the pods
// oracle fed with every write. Each replica reaches the cluster through a witness that tells
// the oracle which controller made each write and what each controller saw only as a list.
import winston from 'winston';
import type { Controller } from '../../src/controller.ts';
import type { ClusterApi, WatchStream } from '../../src/kube/cluster-api.ts';
import { testController } from './controller-harness.ts';
import { FakeCluster } from './fake-cluster.ts';
import { NS, rolloutStatus } from './model-objects.ts';
import { PLURAL_OF, type RefSpec, type Settings, type WorkloadName, type WorkloadType } from './model-ops.ts';
import { PodsOracle } from './pods-oracle.ts';
import { flushMicrotasks, VirtualClock } from './virtual-clock.ts';

const modelLog = process.env.MODEL_LOG
  ? winston.createLogger({ level: 'debug', transports: [new winston.transports.Console({ format: winston.format.simple() })] })
  : winston.createLogger({ silent: true });
export const WAVE_TIMEOUT_MS = 60_000;
/** With patches refused for good, the operator is never idle (it retries each minute): quiet this long is settled. */
// Longer than the work queue's longest retry backoff (5 min): a key still retrying is not quiet.
const QUIET_MS = Math.max(WAVE_TIMEOUT_MS, 5 * 60_000) + 2 * 60_000;
const MAX_SETTLE_STEPS = 3000;
/** Longer than the operator's own short timers that queue work with nothing queued: the waves' plan rebuilds (at most 1 s apart). */
const IDLE_CONFIRM_MS = 1_500;

const PLURALS = ['configmaps', 'secrets', 'deployments', 'statefulsets', 'daemonsets'];

interface Replica {
  id: string;
  controller: Controller;
  leadership: AbortController;
  /** Open watches per kind: a reflector between two watches (a backoff, a relist) has none. */
  watching: Map<string, number>;
}

export interface WorkloadSpec {
  type: WorkloadType;
  refs: RefSpec[];
  image: number;
}

export class World {
  readonly clock = new VirtualClock();
  readonly cluster = new FakeCluster();
  readonly oracle = new PodsOracle();
  /** Warnings the replicas recorded, by reason (the waves say WaveHeld). */
  readonly warnings: string[] = [];
  /** What the harness itself found wrong (the operator never settling, a held wave not said). */
  readonly problems: string[] = [];
  /** The workloads that exist, as the test wrote them. */
  readonly workloads = new Map<WorkloadName, WorkloadSpec>();
  /** Workloads whose patches are refused for good, and whose rollouts fail. */
  readonly refused = new Set<string>();
  readonly failingRollouts = new Set<string>();
  /** The leader first; with two replicas, the standby second. */
  #replicas: Replica[] = [];
  readonly #stopping: Array<Promise<void>> = [];
  #started = 0;

  constructor(readonly settings: Settings) {
    this.cluster.onWrite.push((w) => this.oracle.observe(w));
    // MODEL_TRACE=1: every write the cluster applies, as it applies it (reading a failing history).
    if (process.env.MODEL_TRACE) this.cluster.onWrite.push((w) => console.log(`W rv${w.rv} ${w.type} ${w.plural}/${w.name} by=${w.by}/${w.actor ?? ''} tmpl=${w.templateChanged} ann=${JSON.stringify(w.object.metadata.annotations ?? {})} data=${JSON.stringify(w.object['data'] ?? '')}`));
  }

  get leader(): Controller {
    return this.#replicas[0]!.controller;
  }

  /** The name the leading replica's writes carry. */
  get leaderId(): string {
    return this.#replicas[0]!.id;
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.settings.replicas; i++) this.#replicas.push(await this.#startReplica());
    this.#lead();
  }

  /** Every replica replaced by a fresh process: its stores start empty, from a list. */
  async restart(): Promise<void> {
    for (const r of this.#replicas.splice(0)) this.#retire(r);
    await this.start();
  }

  /** The leader loses its Lease (mid-patch, maybe): the warm standby leads, the old leader returns as a standby. */
  async failover(): Promise<void> {
    if (this.#replicas.length < 2) return this.restart();
    this.#retire(this.#replicas.shift()!);
    this.#lead();
    this.#replicas.push(await this.#startReplica());
  }

  async stop(): Promise<void> {
    for (const r of this.#replicas.splice(0)) this.#retire(r);
    const stopped = await Promise.race([
      Promise.all(this.#stopping).then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 10_000).unref()),
    ]);
    if (!stopped) this.problems.push('a stopped replica never finished stopping');
  }

  /**
   * Delivers everything, answers every patch, writes the workload controllers' statuses and
   * runs the timers until the operator has nothing left to do (with patches refused for good:
   * until it has been quiet for QUIET_MS). `final`: the Secret watch is allowed again first.
   */
  async settle(final = false): Promise<void> {
    const { cluster, clock } = this;
    const mode = cluster.patchMode;
    cluster.patchMode = 'ok';
    if (final) cluster.forbid('secrets', false);
    const started = clock.now();
    let settled = false;
    /** The resourceVersion when the operator was last seen idle: idle again after IDLE_CONFIRM_MS with no write between is settled. */
    let idleAt: number | undefined;
    for (let step = 0; step < MAX_SETTLE_STEPS && !settled; step++) {
      cluster.releaseAnswers();
      cluster.deliverAll();
      this.#writeStatuses();
      await flushMicrotasks();
      const quiet = this.#quiet();
      // A quiet apiserver still sends bookmarks: the watches' versions move on without events.
      if (quiet && this.leader.waitingForWatch > 0) {
        cluster.bookmark();
        cluster.deliverAll();
        await flushMicrotasks();
      }
      const idle = quiet && this.#nothingWaiting();
      settled = (idle && idleAt === cluster.resourceVersion) || (quiet && this.refused.size > 0 && clock.now() - started >= QUIET_MS);
      if (settled) break;
      idleAt = idle ? cluster.resourceVersion : undefined;
      // Idle: wait out the timers that may still queue work (the waves' coalesced plans); quiet
      // but for timers (a retry, a debounce): jump ahead; else stop at the next timer.
      const next = clock.nextDue;
      // Quiet but for a wave's timeout (a rollout progressing): jump to it.
      const waveDue = quiet && this.leader.waveTimers > 0 && next !== undefined ? Math.max(0, next - clock.now()) : undefined;
      await clock.advance(idle ? IDLE_CONFIRM_MS : waveDue ?? (quiet ? 5_000 : next === undefined ? 1000 : Math.max(0, Math.min(next - clock.now(), 10_000))));
    }
    if (!settled && !this.problems.includes('the operator did not settle')) this.problems.push('the operator did not settle');
    cluster.patchMode = mode;
  }

  /** The workload controller's status for what it has seen of `name` (`at` makes a repeated write a change). */
  writeStatus(name: WorkloadName, at: number): void {
    const spec = this.workloads.get(name);
    if (!spec) return;
    this.cluster.writeStatus(PLURAL_OF[spec.type], NS, name, (g) => rolloutStatus(spec.type, g, this.failingRollouts.has(name), at));
  }

  /** With waves, rollouts are judged by status: each workload's controller answers every new generation. */
  #writeStatuses(): void {
    if (!this.settings.waves) return;
    for (const name of this.#statusDue()) this.writeStatus(name, 0);
  }

  #statusDue(): WorkloadName[] {
    if (!this.settings.waves) return [];
    return [...this.workloads].filter(([name, spec]) => {
      const o = this.cluster.get(PLURAL_OF[spec.type], NS, name);
      return o !== undefined && (o['status'] as { observedGeneration?: number } | undefined)?.observedGeneration !== o.metadata.generation;
    }).map(([name]) => name);
  }

  /**
   * Nothing in flight: every replica watches every kind it may (none is between two watches,
   * where what is written meanwhile would be missed), no event undelivered, no answer held,
   * nothing queued or being reconciled.
   */
  #quiet(): boolean {
    const q = this.leader.queue;
    const watching = this.#replicas.every((r) => PLURALS.every((p) => this.cluster.isForbidden(p) || (r.watching.get(p) ?? 0) > 0));
    return watching && q.length === 0 && q.processing === 0 && this.cluster.pending() === 0 && this.cluster.heldAnswers === 0
      && this.#statusDue().length === 0;
  }

  #nothingWaiting(): boolean {
    const q = this.leader.queue;
    return q.waiting === 0 && q.throttled === 0 && this.leader.waitingForWatch === 0 && this.leader.waveTimers === 0;
  }

  #lead(): void {
    const leader = this.#replicas[0]!;
    leader.controller.runWorkers(leader.leadership.signal);
  }

  /** Stops a replica as a lost Lease does: no write starts from now on, one in flight is abandoned. */
  #retire(r: Replica): void {
    r.leadership.abort();
    this.#stopping.push(r.controller.stop());
  }

  async #startReplica(): Promise<Replica> {
    const id = `c${++this.#started}`;
    const { settings } = this;
    const watching = new Map<string, number>();
    const controller = testController({
      // Every namespace, one watch per kind: the model's replicas are not scoped.
      api: this.#witness(id, watching), clock: this.clock, log: modelLog, namespaces: undefined, dryRun: settings.dryRun, debounceMs: settings.debounceMs,
      workers: settings.workers, resyncPeriodMs: settings.resyncPeriodMs, adoptionQps: settings.adoptionQps,
      templateOrder: settings.templateOrder,
      ...(settings.waves ? { waveThreshold: settings.waves.threshold, canarySize: settings.waves.canarySize, waves: settings.waves.waves, waveTimeoutMs: WAVE_TIMEOUT_MS } : {}),
      events: {
        normal: async () => {},
        warning: async (_target, reason) => void this.warnings.push(reason),
      },
    });
    await controller.start();
    return { id, controller, leadership: new AbortController(), watching };
  }

  /**
   * The cluster as replica `id` sees it. It names the replica in the writes it makes, and tells
   * the oracle, per kind, what reached the replica only as a list: everything written after the
   * last version its watch delivered and up to the list (its first list, a relist after 410, the
   * list that ends a refusal); and when a refusal (403) starts.
   */
  #witness(id: string, watching: Map<string, number>): ClusterApi {
    const { cluster, oracle } = this;
    const seen = new Map<string, number>();
    const refused = (plural: string, err: unknown) => {
      if ((err as { status?: unknown } | undefined)?.status === 403) oracle.blind(id, plural, seen.get(plural) ?? 0);
    };
    return {
      listPage: async (type, req, onItem) => {
        try {
          const page = await cluster.listPage(type, req, onItem);
          const at = Number(page.resourceVersion);
          oracle.listed(id, type.plural, seen.get(type.plural) ?? 0, at);
          seen.set(type.plural, at);
          return page;
        } catch (err) {
          refused(type.plural, err);
          throw err;
        }
      },
      watch: (type, req, onEvent) => {
        let stream: WatchStream;
        try {
          stream = cluster.watch(type, req, (event) => {
            const rv = Number(event.object.metadata?.resourceVersion ?? 0);
            if (rv > (seen.get(type.plural) ?? 0)) {
              seen.set(type.plural, rv);
              oracle.seen(id, type.plural, rv);
            }
            onEvent(event as never);
          });
        } catch (err) {
          refused(type.plural, err);
          throw err;
        }
        watching.set(type.plural, (watching.get(type.plural) ?? 0) + 1);
        stream.ended.catch((err: unknown) => refused(type.plural, err))
          .finally(() => watching.set(type.plural, (watching.get(type.plural) ?? 1) - 1));
        return stream;
      },
      mergePatch: (type, req) => cluster.mergePatch(type, req, id),
    };
  }
}
