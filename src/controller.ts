// Wires the data flow of design §2:
//   ConfigMap reflector ─► ConfigMapStore (digests) ─┐
//                                                    ├─► ReferenceIndex ─► WorkQueue ─► Reconciler
//   Deployment reflector ─► WorkloadStore (refs) ────┘
// Reflectors run from start() on (a standby replica keeps them warm); workers run only from
// runWorkers() on, after both reflectors have synced — before that a ConfigMap not yet listed
// would look absent.
import type { Logger } from 'winston';
import type { Config } from './config.ts';
import type { Decision } from './core/types.ts';
import { type ClusterApi, CONFIGMAPS, DEPLOYMENTS } from './kube/cluster-api.ts';
import type { ConfigMapLike } from './state/configmap-store.ts';
import type { DeploymentLike } from './state/workload-store.ts';
import { type Clock, every, systemClock, type Timer } from './time/clock.ts';
import { WorkQueue } from './queue/workqueue.ts';
import { type EventSink, type ReconcileObserver, Reconciler, RetryableError } from './reconcile/reconciler.ts';
import { ConfigMapStore } from './state/configmap-store.ts';
import { ReferenceIndex } from './state/reference-index.ts';
import { workloadKey, WorkloadStore } from './state/workload-store.ts';
import { Reflector, type ReflectorHooks, type ReflectorSink } from './watch/reflector.ts';

function objectKey(o: { metadata?: { namespace?: string; name?: string } }): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

const CONFIGMAP_PAGE_SIZE = 100;
const DEPLOYMENT_PAGE_SIZE = 500;

/** The start-up settings the controller acts on; their meaning is documented on Config. */
export type ControllerSettings = Pick<Config, 'namespace' | 'dryRun' | 'debounceMs' | 'workers' | 'resyncPeriodMs' | 'qps' | 'burst'>;

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
  readonly workloads = new WorkloadStore();
  readonly index = new ReferenceIndex();
  readonly queue: WorkQueue;
  readonly reconciler: Reconciler;
  readonly #opts: ControllerOptions;
  readonly #log: Logger;
  readonly #cmReflector: Reflector<ConfigMapLike>;
  readonly #deployReflector: Reflector<DeploymentLike>;
  #synced = false;
  #workersRunning: Promise<void>[] = [];
  #resyncTimer: Timer | undefined;
  #depthTimer: Timer | undefined;
  readonly #clock: Clock;

  constructor(opts: ControllerOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    const observer = opts.observer;
    this.queue = new WorkQueue({
      debounceMs: opts.debounceMs, qps: opts.qps, burst: opts.burst, clock: opts.clock ?? systemClock,
      onTake: (_key, waitedMs) => observer?.queueWait?.(waitedMs / 1000),
    });
    const clock = opts.clock ?? systemClock;
    this.#clock = clock;
    this.reconciler = new Reconciler({
      api: opts.api, configMaps: this.configMaps, workloads: this.workloads, log: opts.log, dryRun: opts.dryRun,
      ...(opts.events ? { events: opts.events } : {}),
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
    const common = { api: opts.api, clock, log: opts.log, namespace: opts.namespace, ...(opts.watchdogMs ? { watchdogMs: opts.watchdogMs } : {}) };
    this.#cmReflector = new Reflector<ConfigMapLike>({
      ...common, type: CONFIGMAPS, hooks: hooks('configmaps'),
      // A ConfigMap may hold up to 1 MiB: smaller pages bound what one page costs in transit.
      pageSize: opts.pageSize ?? CONFIGMAP_PAGE_SIZE,
    }, this.#configMapSink());
    this.#deployReflector = new Reflector<DeploymentLike>({
      ...common, type: DEPLOYMENTS, hooks: hooks('deployments'), pageSize: opts.pageSize ?? DEPLOYMENT_PAGE_SIZE,
    }, this.#deploymentSink());
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Starts both reflectors; resolves once both have synced. */
  async start(): Promise<void> {
    void this.#cmReflector.run();
    void this.#deployReflector.run();
    await Promise.all([this.#cmReflector.synced, this.#deployReflector.synced]);
    this.#synced = true;
    this.#log.info('caches synced', { configMaps: this.configMaps.size, deployments: this.workloads.size });
  }

  /** Starts the workers (the leader's part): a full pass first, then a periodic resync. */
  runWorkers(): void {
    if (!this.#synced) throw new Error('runWorkers before the caches synced');
    if (this.#workersRunning.length > 0) return;
    this.resync('start');
    for (let i = 0; i < this.#opts.workers; i++) this.#workersRunning.push(this.#worker());
    if (this.#opts.resyncPeriodMs > 0) {
      this.#resyncTimer = every(this.#clock, this.#opts.resyncPeriodMs, () => this.resync('periodic'));
    }
    this.#depthTimer = every(this.#clock, 1000, () => this.#opts.observer?.queueDepth?.(this.queue.length, this.queue.waiting));
  }

  /**
   * Level-based check of every opted-in workload against the current index. Only those that
   * need a write or deserve a warning are queued: an up-to-date workload costs no API call.
   */
  resync(why: 'start' | 'periodic'): void {
    let queued = 0;
    for (const w of this.workloads.values()) {
      if (w.optIn.kind === 'out') continue;
      const decision = this.reconciler.evaluate(w);
      if (decision.action !== 'none' || decision.warning) {
        this.queue.add(workloadKey(w.namespace, w.name));
        queued++;
      }
    }
    this.#log.log(why === 'start' || queued > 0 ? 'info' : 'debug', 'resync', { why, workloads: this.workloads.size, queued });
  }

  /** Stops taking work, lets in-flight writes finish, then stops the reflectors. */
  async stop(): Promise<void> {
    this.#resyncTimer?.cancel();
    this.#depthTimer?.cancel();
    await this.queue.shutDownWithDrain();
    await Promise.all(this.#workersRunning);
    this.#cmReflector.stop();
    this.#deployReflector.stop();
  }

  async #worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const started = performance.now();
      try {
        await this.reconciler.reconcile(key);
        this.queue.forget(key);
        this.#opts.observer?.reconciled?.((performance.now() - started) / 1000, 'success');
      } catch (err) {
        this.#opts.observer?.reconciled?.((performance.now() - started) / 1000, 'error');
        const retries = this.queue.numRequeues(key);
        this.#log.log(err instanceof RetryableError && retries < 5 ? 'warn' : 'error', 'reconcile failed: retrying with backoff', {
          workload: key, error: err instanceof Error ? err.message : String(err), retries,
        });
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  #enqueueConsumers(cmKey: string): void {
    const name = cmKey.slice(cmKey.indexOf('/') + 1);
    // Before the first sync every object is new to us: nothing "changed", the start-up resync decides.
    if (!this.#synced) return;
    for (const wk of this.index.consumersOf(cmKey)) {
      this.workloads.get(wk)?.changedSinceRecorded.add(name);
      this.queue.add(wk);
    }
  }

  #configMapSink(): ReflectorSink<ConfigMapLike> {
    return {
      upsert: (cm) => {
        if (this.configMaps.upsert(cm)) this.#enqueueConsumers(objectKey(cm));
      },
      remove: (cm) => {
        const key = objectKey(cm);
        if (this.configMaps.remove(key)) this.#enqueueConsumers(key);
      },
      beginList: () => {
        const seen = new Set<string>();
        return {
          add: (cm) => {
            seen.add(objectKey(cm));
            if (this.configMaps.upsert(cm)) this.#enqueueConsumers(objectKey(cm));
          },
          commit: () => {
            for (const key of [...this.configMaps.keys()]) {
              if (!seen.has(key) && this.configMaps.remove(key)) this.#enqueueConsumers(key);
            }
          },
        };
      },
    };
  }

  #deploymentSink(): ReflectorSink<DeploymentLike> {
    return {
      upsert: (d) => this.#upsertDeployment(d),
      remove: (d) => this.#forget(workloadKey(d.metadata?.namespace ?? '', d.metadata?.name ?? '')),
      beginList: () => {
        const seen = new Set<string>();
        return {
          add: (d) => {
            seen.add(objectKey(d));
            this.#upsertDeployment(d);
          },
          commit: () => {
            for (const key of [...this.workloads.keys()]) {
              if (!seen.has(key.slice('Deployment/'.length))) this.#forget(key);
            }
          },
        };
      },
    };
  }

  #upsertDeployment(d: DeploymentLike): void {
    const { key, relevant, state } = this.workloads.upsert(d);
    this.index.set(key, state ? state.consumed.map((c) => `${state.namespace}/${c.name}`) : []);
    if (relevant && this.#synced) this.queue.add(key);
  }

  #forget(key: string): void {
    this.workloads.remove(key);
    this.index.delete(key);
  }
}

