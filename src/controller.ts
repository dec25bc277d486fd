// Longer than 300 lines: the wiring of every stage and their one lifecycle (start, the kinds
// discovery turns on later, stop) read best in one place.
// Wires the data flow (docs/architecture.md, "Data flow") and runs its lifecycle:
//   ConfigMap, Secret reflectors ─► SourceStores (keyed digests) ─────┐
//                                                                     ├─► triage ─► WorkQueue ─► workers ─► Reconciler
//   Deployment, StatefulSet, DaemonSet reflectors ─► WorkloadStore ───┘      ▲
//                                                           waves coordinator ┘
// The stages live in src/controller/ (informers, triage, worker) and src/waves/; this file
// builds them and starts and stops them. The API (list page, watch, merge patch) and the clock
// are injected by the composition root (src/operator.ts), so that unit tests drive all of this
// against an in-memory stand-in. Reflectors run from start() on (a standby replica keeps them
// warm); workers run only from runWorkers() on, after every reflector has synced — before that
// a ConfigMap not yet listed would look absent.
import type { Logger } from 'winston';
import type { Config } from './config.ts';
import { quoteValue } from './core/annotations.ts';
import { DEFAULT_MAX_KEYS_PER_OBJECT, type DigestKey } from './core/digest.ts';
import type { WorkloadKind } from './core/keys.ts';
import { BY_RESOURCE_VERSION, byArrival } from './core/ordering.ts';
import { BUILT_IN_KINDS, kindSpec } from './core/kinds.ts';
import type { Decision, SourceKind } from './core/types.ts';
import type { ClusterApi, DiscoveryApi } from './kube/cluster-api.ts';
import { WorkQueue } from './queue/workqueue.ts';
import { DigestMemo } from './reconcile/digest-memo.ts';
import { type EventSink, Reconciler } from './reconcile/reconciler.ts';
import type { ReferenceIndex } from './state/reference-index.ts';
import { SourceStore } from './state/source-store.ts';
import { type WorkloadState, WorkloadStore } from './state/workload-store.ts';
import { type Clock, every, systemClock, type Timer } from './time/clock.ts';
import { SaidOnce } from './time/said-once.ts';
import { WaveCoordinator } from './waves/coordinator.ts';
import type { WaveGates } from './waves/gates.ts';
import { type Informer, informers, type InformersOptions, SOURCE_TYPES, WatchAvailability } from './controller/informers.ts';
import type { ControllerObserver } from './controller/observer.ts';
import { Triage } from './controller/triage.ts';
import { Workers } from './controller/worker.ts';
import { NamespaceScopes } from './controller/namespaces.ts';

import { KindDiscovery } from './controller/workload-kinds.ts';
export type { ControllerObserver } from './controller/observer.ts';

/** The start-up settings the controller acts on; their meaning is documented on Config. */
export type ControllerSettings = Pick<Config, 'dryRun' | 'debounceMs' | 'workers' | 'resyncPeriodMs' | 'qps' | 'burst'>
  & Partial<Pick<Config, 'adoptionQps' | 'namespaces' | 'templateOrder' | 'sourceKinds' | 'workloadKinds' | 'secretFieldSelector' | 'configMapSelector' | 'secretSelector'
    | 'waveThreshold' | 'canarySize' | 'waves' | 'waveTimeoutMs' | 'acceptAnnotations' | 'maxKeysPerObject'>>;

export interface ControllerOptions extends ControllerSettings {
  /** Config.namespaceSelector and Config.excludeNamespaces. */
  namespaceSelector?: string | undefined;
  excludeNamespaces?: readonly string[] | undefined;
  api: ClusterApi;
  /** The installation's digest key (src/kube/digest-key.ts). */
  /** Finds the custom workload kinds of --workload-kinds (src/controller/workload-kinds.ts); absent: none is. */
  discovery?: DiscoveryApi | undefined;
  digestKey: DigestKey;
  clock?: Clock;
  log: Logger;
  pageSize?: number;
  watchdogMs?: number;
  events?: EventSink;
  observer?: ControllerObserver;
}

export class Controller {
  /** One store per kind of config object watched. */
  readonly sources = new Map<SourceKind, SourceStore>();
  readonly workloads: WorkloadStore;
  readonly index: ReferenceIndex;
  readonly queue: WorkQueue;
  readonly reconciler: Reconciler;
  readonly waves: WaveGates;
  readonly #opts: ControllerOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #availability: WatchAvailability;
  readonly #informers: Informer[];
  /** With --namespace-selector: the namespaces' watches, opened and closed as their labels match. */
  /** The workload kinds watched now: the built-in ones, and the custom ones discovery found (they grow). */
  readonly #watchedKinds: WorkloadKind[];
  readonly #kinds: KindDiscovery;
  readonly #informerOptions: InformersOptions;
  #started = false;
  readonly #namespaces: NamespaceScopes | undefined;
  readonly #triage: Triage;
  readonly #coordinator: WaveCoordinator;
  readonly #workers: Workers;
  #synced = false;
  #stopping = false;
  #loops: Array<{ name: string; running: boolean }> = [];
  #workersRunning: Promise<void>[] = [];
  #resyncTimer: Timer | undefined;
  #depthTimer: Timer | undefined;

  constructor(opts: ControllerOptions) {
    this.#opts = opts;
    const log = (this.#log = opts.log);
    const clock = (this.#clock = opts.clock ?? systemClock);
    const sourceKinds = opts.sourceKinds ?? ['ConfigMap', 'Secret'];
    const workloadKinds: WorkloadKind[] = opts.workloadKinds ?? [...BUILT_IN_KINDS];
    const templateOrder = opts.templateOrder ?? 'resource-version';
    // Unordered, the only order there is is the one this process saw things in.
    const dater = templateOrder === 'off' ? byArrival() : BY_RESOURCE_VERSION;
    const accept = new Set(opts.acceptAnnotations ?? []);
    this.workloads = new WorkloadStore(clock, new Set(sourceKinds), dater, accept);
    this.index = this.workloads.index;
    // Said once per object (by uid, for an hour) however often a tenant pushes it over and back.
    const overBudgetSaid = new SaidOnce({ ttlMs: 60 * 60_000, clock });
    for (const kind of sourceKinds) {
      const maxKeys = opts.maxKeysPerObject ?? DEFAULT_MAX_KEYS_PER_OBJECT;
      this.sources.set(kind, new SourceStore(kind, opts.digestKey, (entry, value, reason) => {
        log.warn('malformed annotation', {
          object: `${entry.kind}/${entry.namespace}/${entry.name}`,
          reason: `annotation config-reload.dev/ignore=${quoteValue(value)} is malformed: ${reason}; its changes roll nothing until it is fixed`,
        });
      }, dater, accept, {
        maxKeys,
        onOverBudget: (entry, keys) => {
          if (!overBudgetSaid.first(entry.uid)) return;
          log.warn('config object over the key budget', {
            object: `${entry.kind}/${entry.namespace}/${entry.name}`, keys, maxKeys,
            reason: 'digested whole, not key by key: the workloads that read it are held until it holds fewer keys (--max-keys-per-object)',
          });
        },
        onOverBudgetCount: (count) => opts.observer?.sourcesOverBudget?.(SOURCE_TYPES[kind].plural, count),
      }));
    }
    const observer = opts.observer;
    this.queue = new WorkQueue({
      debounceMs: opts.debounceMs, qps: opts.qps, burst: opts.burst, clock,
      // A second's worth of adoptions may go at once; a roll never waits for them (its own lane),
      // nor for a worker: housekeeping never takes the last one.
      housekeeping: { qps: opts.adoptionQps ?? 0, burst: Math.max(1, opts.adoptionQps ?? 0), maxInFlight: Math.max(1, opts.workers - 1) },
      onTake: (_key, waitedMs) => observer?.queueWait?.(waitedMs / 1000),
      // Nor does a change wait for a worker behind a fan-out: no one flow takes the last one.
      maxInFlightPerFlow: Math.max(1, opts.workers - 1),
    });
    const availability = (this.#availability = new WatchAvailability(log));
    // The triage, the waves and the reconciler evaluate the same entries: one memo of their digests.
    const memo = new DigestMemo();
    const sourceView = { store: (kind: SourceKind) => this.sources.get(kind), available: (kind: SourceKind) => availability.available(SOURCE_TYPES[kind].plural) };
    const caughtUp = (w: WorkloadState) => this.#triage.waitedEnough(w.key);
    const synced = () => this.#synced;
    const stopping = () => this.#stopping;
    this.#triage = new Triage({ workloads: this.workloads, queue: this.queue, reconciler: { evaluate: (w) => this.reconciler.evaluate(w) }, clock, log, synced, stopping });
    this.#coordinator = new WaveCoordinator({
      settings: {
        threshold: opts.waveThreshold ?? 0, canarySize: opts.canarySize ?? 1, waves: opts.waves ?? 1, timeoutMs: opts.waveTimeoutMs ?? 10 * 60_000,
      },
      workloads: this.workloads,
      consumersOf: (source) => this.index.consumersOf(source),
      context: () => ({ sources: sourceView, digestKey: opts.digestKey, memo, now: clock.now(), templateOrder, caughtUp }),
      sourcesRevision: () => {
        let revision = availability.revision;
        for (const store of this.sources.values()) revision += store.revision;
        return revision;
      },
      clock, log, dryRun: opts.dryRun, events: opts.events, waveHeld: observer?.waveHeld?.bind(observer),
      sourceUid: (kind, source) => this.sources.get(kind)?.get(source)?.uid,
      workload: (key) => this.workloads.get(key),
      enqueue: (w, flow) => void this.#triage.enqueueIfNeeded(w, flow),
      synced,
    });
    this.#triage.waves = this.#coordinator;
    this.waves = this.#coordinator.gates;
    this.reconciler = new Reconciler({
      api: opts.api, workloads: this.workloads, clock, log, digestKey: opts.digestKey, memo,
      sources: sourceView, waves: this.waves.enabled ? this.waves : undefined, caughtUp,
      dryRun: opts.dryRun, events: opts.events, templateOrder,
      observer: {
        decided: (d: Decision, ns: string, dry: boolean) => observer?.decided?.(d, ns, dry),
        apiError: (verb: string, status: number | undefined) => observer?.apiError?.(verb, status),
      },
    });
    this.#workers = new Workers({
      queue: this.queue, reconciler: this.reconciler, workloads: this.workloads, triage: this.#triage, waves: this.#coordinator,
      clock, log, observer, stopping,
    });
    // Custom kinds are watched once discovery finds them (start(), then whenever one appears).
    const watchedKinds = (this.#watchedKinds = workloadKinds.filter((k) => kindSpec(k).builtIn));
    this.#kinds = new KindDiscovery({
      discovery: opts.discovery, kinds: workloadKinds, clock, log, observer,
      appeared: (kind) => this.#addKind(kind),
    });
    const informerOptions = {
      ...opts, clock, sources: this.sources, workloads: this.workloads, workloadKinds: watchedKinds, availability, triage: this.#triage,
      unacceptedSaid: new SaidOnce(),
      // Workloads held while a kind was refused are decided now.
      sourceRecovered: () => {
        if (this.#synced) this.resync('periodic');
      },
    };
    const selector = opts.namespaceSelector;
    this.#informerOptions = informerOptions;
    this.#informers = selector === undefined ? informers(informerOptions) : [];
    this.#namespaces = selector === undefined ? undefined : new NamespaceScopes({
      informers: informerOptions, selector, exclude: opts.excludeNamespaces ?? [], closed: (ns) => this.#dropNamespace(ns), ordered: templateOrder !== 'off',
    });
  }

  /** The namespaces watched by --namespace-selector now (undefined without one). */
  get selectedNamespaces(): string[] | undefined {
    return this.#namespaces?.namespaces;
  }

  /**
   * A namespace left the selection: everything of it is forgotten — config objects, workloads,
   * the index, queued keys, waves (their plans are rebuilt without its consumers), views,
   * refusals, its metric series. Nothing is written: a key still queued finds no workload.
   */
  #dropNamespace(namespace: string): void {
    for (const store of this.sources.values()) store.dropNamespace(namespace);
    for (const gone of this.workloads.dropNamespace(namespace)) {
      this.#triage.workloadRemoved(gone);
      this.queue.forget(gone.key);
    }
    const observer = this.#opts.observer;
    // Refused there only: the kind is watchable everywhere now, and what it held is decided.
    const recovered = this.#availability.forget(namespace);
    for (const kind of this.sources.keys()) if (recovered.includes(SOURCE_TYPES[kind].plural)) observer?.sourceAvailable?.(SOURCE_TYPES[kind].plural, true);
    if (recovered.length > 0 && this.#synced) this.resync('periodic');
    observer?.namespaceClosed?.(namespace);
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Timers that may still move the waves (a rolling wave's timeout, a coalesced plan rebuild). */
  get waveTimers(): number {
    return this.#coordinator.timers;
  }

  /** Workloads whose decision waits for a watch of config objects to catch up (src/core/decide.ts, viewBehind). */
  get waitingForWatch(): number {
    return this.#triage.waitingForWatch;
  }

  /**
   * Liveness: every loop that should run is running, and no reconcile is stuck. A loop that
   * died (a bug) makes the replica not alive, so the kubelet restarts it.
   */
  health(): { alive: boolean; problems: string[] } {
    const problems = this.#loops.filter((l) => !l.running && !this.#stopping).map((l) => `${l.name} stopped`);
    problems.push(...this.#namespaces?.problems ?? []);
    problems.push(...this.#workers.stuck());
    return { alive: problems.length === 0, problems };
  }

  /**
   * Starts every reflector; resolves once each has synced — or, for a kind whose watch is
   * refused (RBAC), once that is known: the workloads consuming it wait, the rest are served.
   */
  async start(): Promise<void> {
    for (const kind of await this.#kinds.start()) if (!kindSpec(kind).builtIn) this.#addKind(kind);
    this.#started = true;
    for (const { name, reflector } of this.#informers) this.#supervise(name, reflector.run());
    await Promise.all([...this.#informers.map((i) => i.settled), this.#namespaces?.start()]);
    this.#synced = true;
    const counts = Object.fromEntries([...this.sources].map(([kind, store]) => [kind, store.size]));
    const unavailable = [...this.sources.keys()].filter((kind) => !this.#availability.available(SOURCE_TYPES[kind].plural));
    this.#log.info('caches synced', { ...counts, workloads: this.workloads.size, unavailable });
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
      const loop = this.#workers.run(leadership);
      this.#workersRunning.push(loop);
      this.#supervise(`worker ${i}`, loop);
    }
    if (this.#opts.resyncPeriodMs > 0) this.#resyncTimer = every(this.#clock, this.#opts.resyncPeriodMs, () => this.resync('periodic'));
    this.#depthTimer = every(this.#clock, 1000, () => this.#opts.observer?.queueDepth?.(this.queue.length, this.queue.waiting));
  }

  /** Level-based check of every opted-in workload (src/controller/triage.ts). */
  resync(why: 'start' | 'periodic'): void {
    this.#triage.resync(why);
  }

  /**
   * Watches a custom kind discovery found: in every scope (a namespace opened later takes it from
   * the shared list). Before start() its reflectors wait for it; after, they run at once, and
   * its workloads are a first list (adopted, never rolled for being seen).
   */
  #addKind(kind: WorkloadKind): void {
    if (this.#watchedKinds.includes(kind) || this.#stopping) return;
    this.#watchedKinds.push(kind);
    if (this.#started) this.workloads.listsLate(kind);
    if (this.#namespaces) {
      if (this.#started) this.#namespaces.addWorkloadKind(kind);
      return;
    }
    const added = informers({ ...this.#informerOptions, sources: new Map(), workloadKinds: [kind] });
    this.#informers.push(...added);
    if (this.#started) for (const { name, reflector } of added) this.#supervise(name, reflector.run());
  }

  /** Custom kinds of --workload-kinds whose CRD discovery has not found (yet). */
  get absentKinds(): WorkloadKind[] {
    return this.#kinds.absent;
  }

  /** Stops taking work, lets in-flight writes finish, then stops the reflectors. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#kinds.stop();
    this.#resyncTimer?.cancel();
    this.#depthTimer?.cancel();
    this.#coordinator.stop();
    await this.queue.shutDownWithDrain();
    await Promise.all(this.#workersRunning);
    for (const { reflector } of this.#informers) reflector.stop();
    this.#namespaces?.stop();
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
}
