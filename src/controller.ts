// Wires the data flow (docs/architecture.md, "Data flow"):
//   ConfigMap reflector ─► ConfigMapStore (digests) ─┐
//                                                    ├─► ReferenceIndex ─► WorkQueue ─► Reconciler
//   Deployment reflector ─► WorkloadStore (refs) ────┘
// The API (list page, watch, merge patch) and the clock are injected by the composition root
// (src/operator.ts), so that unit tests drive all of this against an in-memory stand-in.
// Reflectors run from start() on (a standby replica keeps them warm); workers run only from
// runWorkers() on, after both reflectors have synced — before that a ConfigMap not yet listed
// would look absent.
import type { Logger } from 'winston';
import type { Config } from './config.ts';
import { type ConfigMapKey, configMapKey, type WorkloadKey } from './core/keys.ts';
import type { Decision } from './core/types.ts';
import { type ClusterApi, CONFIGMAPS, DEPLOYMENTS } from './kube/cluster-api.ts';
import { WorkQueue } from './queue/workqueue.ts';
import { type EventSink, type ReconcileObserver, Reconciler, type ReconcileResult } from './reconcile/reconciler.ts';
import { type ConfigMapChange, type ConfigMapLike, ConfigMapStore } from './state/configmap-store.ts';
import { ReferenceIndex } from './state/reference-index.ts';
import { type DeploymentLike, type WorkloadObservation, type WorkloadState, WorkloadStore } from './state/workload-store.ts';
import { type Clock, every, systemClock, type Timer } from './time/clock.ts';
import { Reflector, type ReflectorHooks, type ReflectorSink } from './watch/reflector.ts';

// A ConfigMap may hold up to 1 MiB: smaller pages bound what one page costs in transit.
const CONFIGMAP_PAGE_SIZE = 100;
const DEPLOYMENT_PAGE_SIZE = 500;
/** A reconcile that has not finished by then is stuck (its calls have deadlines far shorter). */
const STUCK_RECONCILE_MS = 5 * 60_000;

/** The start-up settings the controller acts on; their meaning is documented on Config. */
export type ControllerSettings = Pick<Config, 'namespace' | 'dryRun' | 'debounceMs' | 'workers' | 'resyncPeriodMs' | 'qps' | 'burst'> & Partial<Pick<Config, 'templateOrder'>>;

export interface ControllerOptions extends ControllerSettings {
  api: ClusterApi;
  clock?: Clock;
  log: Logger;
  pageSize?: number;
  watchdogMs?: number;
  events?: EventSink;
  observer?: ControllerObserver;
}

/** Hooks for metrics; every one optional. */
export interface ControllerObserver extends Partial<ReconcileObserver> {
  relist?(resource: string, reason: string): void;
  watchRestart?(resource: string, reason: string): void;
  synced?(resource: string, objects: number): void;
  reconciled?(seconds: number, result: 'success' | 'error'): void;
  queueWait?(seconds: number): void;
  queueDepth?(ready: number, waiting: number): void;
}

export class Controller {
  readonly configMaps = new ConfigMapStore();
  readonly workloads: WorkloadStore;
  readonly index = new ReferenceIndex();
  readonly queue: WorkQueue;
  readonly reconciler: Reconciler;
  readonly #opts: ControllerOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #cmReflector: Reflector<ConfigMapLike>;
  readonly #deployReflector: Reflector<DeploymentLike>;
  #synced = false;
  #stopping = false;
  #loops: Array<{ name: string; running: boolean }> = [];
  /** Monotonic start of each reconcile in progress, for liveness. */
  readonly #inFlight = new Map<WorkloadKey, number>();
  #workersRunning: Promise<void>[] = [];
  #resyncTimer: Timer | undefined;
  #depthTimer: Timer | undefined;

  constructor(opts: ControllerOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#clock = opts.clock ?? systemClock;
    this.workloads = new WorkloadStore(this.#clock);
    const observer = opts.observer;
    this.queue = new WorkQueue({
      debounceMs: opts.debounceMs, qps: opts.qps, burst: opts.burst, clock: this.#clock,
      onTake: (_key, waitedMs) => observer?.queueWait?.(waitedMs / 1000),
    });
    this.reconciler = new Reconciler({
      api: opts.api, configMaps: this.configMaps, workloads: this.workloads, clock: this.#clock, log: opts.log,
      dryRun: opts.dryRun, events: opts.events, templateOrder: opts.templateOrder ?? 'resource-version',
      observer: {
        decided: (d: Decision, ns: string, dry: boolean) => observer?.decided?.(d, ns, dry),
        apiError: (verb: string, status: number | undefined) => observer?.apiError?.(verb, status),
      },
    });
    const hooks = (resource: string): ReflectorHooks => ({
      onRelist: (reason) => observer?.relist?.(resource, reason),
      onWatchRestart: (reason) => observer?.watchRestart?.(resource, reason),
      onSynced: () => observer?.synced?.(resource, resource === 'configmaps' ? this.configMaps.size : this.workloads.size),
    });
    const common = {
      api: opts.api, clock: this.#clock, log: opts.log, namespace: opts.namespace,
      ...(opts.watchdogMs ? { watchdogMs: opts.watchdogMs } : {}),
    };
    this.#cmReflector = new Reflector<ConfigMapLike>({
      ...common, type: CONFIGMAPS, hooks: hooks('configmaps'), pageSize: opts.pageSize ?? CONFIGMAP_PAGE_SIZE,
    }, this.#configMapSink());
    this.#deployReflector = new Reflector<DeploymentLike>({
      ...common, type: DEPLOYMENTS, hooks: hooks('deployments'), pageSize: opts.pageSize ?? DEPLOYMENT_PAGE_SIZE,
    }, this.#deploymentSink());
  }

  get synced(): boolean {
    return this.#synced;
  }

  /**
   * Liveness: every loop that should run is running, and no reconcile is stuck. A loop that
   * died (a bug) makes the replica not alive, so the kubelet restarts it.
   */
  health(): { alive: boolean; problems: string[] } {
    const problems = this.#loops.filter((l) => !l.running && !this.#stopping).map((l) => `${l.name} stopped`);
    const now = this.#clock.now();
    for (const [key, since] of this.#inFlight) {
      if (now - since > STUCK_RECONCILE_MS) problems.push(`reconcile of ${key} running for ${Math.round((now - since) / 1000)} s`);
    }
    return { alive: problems.length === 0, problems };
  }

  /** Starts both reflectors; resolves once both have synced. */
  async start(): Promise<void> {
    this.#supervise('configmap reflector', this.#cmReflector.run());
    this.#supervise('deployment reflector', this.#deployReflector.run());
    await Promise.all([this.#cmReflector.synced, this.#deployReflector.synced]);
    this.#synced = true;
    this.#log.info('caches synced', { configMaps: this.configMaps.size, deployments: this.workloads.size });
  }

  /**
   * Starts the workers (the leader's part): a full pass first, then a periodic resync.
   * `leadership`, when given, is aborted when this replica stops leading: from then on no
   * write starts, and one in flight is cancelled.
   */
  runWorkers(leadership?: AbortSignal): void {
    if (!this.#synced) throw new Error('runWorkers before the caches synced');
    if (this.#workersRunning.length > 0) return;
    this.resync('start');
    for (let i = 0; i < this.#opts.workers; i++) {
      const loop = this.#worker(leadership);
      this.#workersRunning.push(loop);
      this.#supervise(`worker ${i}`, loop);
    }
    if (this.#opts.resyncPeriodMs > 0) this.#resyncTimer = every(this.#clock, this.#opts.resyncPeriodMs, () => this.resync('periodic'));
    this.#depthTimer = every(this.#clock, 1000, () => this.#opts.observer?.queueDepth?.(this.queue.length, this.queue.waiting));
  }

  /**
   * Level-based check of every opted-in workload against the current index. Only those that
   * need a write or deserve a warning are queued: an up-to-date workload costs no API call.
   */
  resync(why: 'start' | 'periodic'): void {
    let queued = 0;
    for (const w of this.workloads.values()) if (this.#enqueueIfNeeded(w)) queued++;
    this.#log.log(why === 'start' || queued > 0 ? 'info' : 'debug', 'resync', { why, workloads: this.workloads.size, queued });
  }

  /** Stops taking work, lets in-flight writes finish, then stops the reflectors. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#resyncTimer?.cancel();
    this.#depthTimer?.cancel();
    await this.queue.shutDownWithDrain();
    await Promise.all(this.#workersRunning);
    this.#cmReflector.stop();
    this.#deployReflector.stop();
  }

  #supervise(name: string, loop: Promise<void>): void {
    const entry = { name, running: true };
    this.#loops.push(entry);
    loop.then(
      () => {
        entry.running = false;
        if (!this.#stopping) this.#log.error('loop ended unexpectedly', { loop: name });
      },
      (err: unknown) => {
        entry.running = false;
        this.#log.error('loop crashed', { loop: name, error: err instanceof Error ? err.stack ?? err.message : String(err) });
      },
    );
  }

  async #worker(leadership: AbortSignal | undefined): Promise<void> {
    for (;;) {
      const key = (await this.queue.get()) as WorkloadKey | undefined;
      if (key === undefined) return;
      const started = this.#clock.now();
      this.#inFlight.set(key, started);
      let result: ReconcileResult;
      try {
        result = await this.reconciler.reconcile(key, leadership);
      } catch (err) {
        // The reconciler reports failures as results; a throw is a bug, retried like a failure.
        result = { kind: 'retry', error: err instanceof Error ? err.stack ?? err.message : String(err) };
      } finally {
        this.#inFlight.delete(key);
      }
      const seconds = (this.#clock.now() - started) / 1000;
      this.#act(key, result, seconds);
      this.queue.done(key);
    }
  }

  /** The worker's side of a reconcile result. */
  #act(key: WorkloadKey, result: ReconcileResult, seconds: number): void {
    const observer = this.#opts.observer;
    switch (result.kind) {
      case 'done':
        this.queue.forget(key);
        observer?.reconciled?.(seconds, 'success');
        return;
      case 'requeueAfter':
        this.queue.forget(key);
        observer?.reconciled?.(seconds, 'success');
        this.#log.debug('requeued', { workload: key, afterMs: result.delayMs, reason: result.reason });
        this.queue.addAfter(key, result.delayMs);
        return;
      case 'retry': {
        observer?.reconciled?.(seconds, 'error');
        const retries = this.queue.numRequeues(key);
        this.#log.log(retries < 5 ? 'warn' : 'error', 'reconcile failed: retrying with backoff', { workload: key, error: result.error, retries });
        this.queue.addRateLimited(key);
        return;
      }
      case 'terminal':
        this.queue.forget(key);
        observer?.reconciled?.(seconds, 'error');
        this.#log.error('reconcile failed: not retrying until the workload or its configuration changes', { workload: key, error: result.error });
        return;
    }
  }

  /** Queues the workload only when an in-memory evaluation finds something to write or say. */
  #enqueueIfNeeded(w: WorkloadState): boolean {
    const decision = this.reconciler.evaluate(w);
    if (decision.action === 'none' && !decision.warning) return false;
    this.queue.add(w.key);
    return true;
  }

  #configChanged(change: ConfigMapChange): void {
    // Before the first sync every object is new to us: nothing "changed", the start-up resync decides.
    if (!this.#synced) return;
    for (const key of this.index.consumersOf(change.key)) {
      this.workloads.configChanged(key, change.name);
      const w = this.workloads.get(key);
      if (w) this.#enqueueIfNeeded(w);
    }
  }

  #configMapSink(): ReflectorSink<ConfigMapLike> {
    return {
      upsert: (cm) => {
        const change = this.configMaps.observe(cm);
        if (change) this.#configChanged(change);
      },
      remove: (cm) => {
        const change = this.configMaps.observeDeleted(cm);
        if (change) this.#configChanged(change);
      },
      beginList: () => {
        const replacement = this.configMaps.beginReplace();
        return {
          add: (cm) => replacement.add(cm),
          commit: (rv) => {
            for (const change of replacement.commit(rv)) this.#configChanged(change);
          },
        };
      },
    };
  }

  #deploymentSink(): ReflectorSink<DeploymentLike> {
    return {
      upsert: (d) => this.#workloadObserved(this.workloads.observe(d)),
      remove: (d) => {
        const removed = this.workloads.remove(this.workloads.observe(d).key);
        if (removed) this.index.delete(removed.key);
      },
      beginList: () => {
        const replacement = this.workloads.beginReplace();
        return {
          add: (d) => replacement.add(d),
          commit: () => {
            const { observed, removed } = replacement.commit();
            for (const key of removed) this.index.delete(key);
            for (const o of observed) this.#workloadObserved(o);
          },
        };
      },
    };
  }

  #workloadObserved(o: WorkloadObservation): void {
    const consumed: ConfigMapKey[] = o.state ? o.state.consumed.map((c) => configMapKey(o.state!.namespace, c.name)) : [];
    this.index.set(o.key, consumed);
    if (o.relevant && o.state && this.#synced) this.#enqueueIfNeeded(o.state);
  }
}
