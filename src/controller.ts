// Wires the data flow (docs/architecture.md, "Data flow"):
//   ConfigMap, Secret reflectors ─► SourceStores (keyed digests) ─────┐
//                                                                     ├─► ReferenceIndex ─► WorkQueue ─► Reconciler
//   Deployment, StatefulSet, DaemonSet reflectors ─► WorkloadStore ───┘
// The API (list page, watch, merge patch) and the clock are injected by the composition root
// (src/operator.ts), so that unit tests drive all of this against an in-memory stand-in.
// Reflectors run from start() on (a standby replica keeps them warm); workers run only from
// runWorkers() on, after both reflectors have synced — before that a ConfigMap not yet listed
// would look absent.
import type { Logger } from 'winston';
import type { Config } from './config.ts';
import type { DigestKey } from './core/digest.ts';
import { BY_RESOURCE_VERSION, byArrival } from './core/ordering.ts';
import { quoteValue } from './core/annotations.ts';
import { type SourceKey, sourceKey, type WorkloadKey, type WorkloadKind } from './core/keys.ts';
import type { Decision, SourceKind } from './core/types.ts';
import {
  type ClusterApi, CONFIGMAPS, DAEMONSETS, DEPLOYMENTS, type ResourceType, SECRETS, STATEFULSETS,
} from './kube/cluster-api.ts';
import { WorkQueue } from './queue/workqueue.ts';
import { heldBecause, releaseCommand, type SourcePlan, type SourceRef, WaveGates } from './reconcile/waves.ts';
import { describeWave } from './core/waves.ts';
import { type EventSink, type ReconcileObserver, Reconciler, type ReconcileResult } from './reconcile/reconciler.ts';
import { type SourceChange, type SourceLike, SourceStore } from './state/source-store.ts';
import { ReferenceIndex } from './state/reference-index.ts';
import { type WorkloadLike, type WorkloadObservation, type WorkloadState, WorkloadStore } from './state/workload-store.ts';
import { type Clock, every, systemClock, type Timer } from './time/clock.ts';
import { Reflector, type ReflectorSink } from './watch/reflector.ts';

// A ConfigMap or Secret may hold up to 1 MiB: smaller pages bound what one page costs in transit.
const SOURCE_PAGE_SIZE = 100;
const WORKLOAD_PAGE_SIZE = 500;

const SOURCE_TYPES: Record<SourceKind, ResourceType> = { ConfigMap: CONFIGMAPS, Secret: SECRETS };
const WORKLOAD_TYPES: Record<WorkloadKind, ResourceType> = { Deployment: DEPLOYMENTS, StatefulSet: STATEFULSETS, DaemonSet: DAEMONSETS };
/** The flow of what a resync finds: catch-up after a restart takes turns with new changes. */
const RESYNC_FLOW = 'resync';
/**
 * How long a decision waits for a watch of config objects to show the version a pod template was
 * written at (decision waiting_for_watch) before it reads the view as it is. Watches lag each
 * other by milliseconds; the apiserver's bookmarks come about once a minute on a quiet watch.
 */
const VIEW_PATIENCE_MS = 10_000;
/** A reconcile that has not finished by then is stuck (its calls have deadlines far shorter). */
const STUCK_RECONCILE_MS = 5 * 60_000;
/** How long consumer events gather before the waves they belong to are planned again (#consumerMoved). */
const WAVE_COALESCE_MS = 100;
/**
 * The gap between two coalesced rebuilds is at least this many times the last one's duration:
 * a plan reads every consumer, and at a fixed 100 ms the rebuilds of a 1,000-consumer fan-out
 * on a loaded machine took a fifth of a core in blocks of 20 ms and more, which every other
 * change's events waited behind. At 10×, rebuilds take at most a tenth of the event loop.
 */
const PLAN_TIME_FACTOR = 10;
/** ...but never more than this: one rebuild slowed by a GC pause or a starved CPU must not hold a wave for long. */
const PLAN_SPACING_MAX_MS = 1_000;

/** The start-up settings the controller acts on; their meaning is documented on Config. */
export type ControllerSettings = Pick<Config, 'dryRun' | 'debounceMs' | 'workers' | 'resyncPeriodMs' | 'qps' | 'burst'>
  & Partial<Pick<Config, 'adoptionQps' | 'namespaces' | 'templateOrder' | 'sourceKinds' | 'workloadKinds' | 'secretFieldSelector' | 'configMapSelector' | 'secretSelector'
    | 'waveThreshold' | 'canarySize' | 'waves' | 'waveTimeoutMs'>>;

export interface ControllerOptions extends ControllerSettings {
  api: ClusterApi;
  /** The installation's digest key (src/kube/digest-key.ts). */
  digestKey: DigestKey;
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
  /** Whether a watched kind can be watched (false: its watch is forbidden). */
  sourceAvailable?(resource: string, available: boolean): void;
  reconciled?(seconds: number, result: 'success' | 'error'): void;
  queueWait?(seconds: number): void;
  queueDepth?(ready: number, waiting: number): void;
  /** Workloads held by a failed wave of one config object; 0 once it is no longer held. */
  waveHeld?(source: SourceRef, held: number): void;
}

export class Controller {
  /** One store per kind of config object watched. */
  readonly sources = new Map<SourceKind, SourceStore>();
  readonly workloads: WorkloadStore;
  readonly index = new ReferenceIndex();
  readonly queue: WorkQueue;
  readonly reconciler: Reconciler;
  readonly #opts: ControllerOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  /** One reflector per kind and watched namespace (or one for all namespaces). */
  readonly #reflectors: Array<{ name: string; reflector: Reflector<SourceLike> | Reflector<WorkloadLike> }> = [];
  /** Per kind of config object, the scopes (namespaces, '' for all) whose watch is refused (403) now. */
  readonly #forbidden = new Map<SourceKind, Set<string>>();
  /** Per watched resource: resolves once it has synced, or been refused (see start()). */
  readonly #settled: Promise<void>[] = [];
  /** Resources whose watch is refused now, for the log (said once per refusal). */
  readonly #refusedNow = new Set<string>();
  #synced = false;
  #stopping = false;
  #loops: Array<{ name: string; running: boolean }> = [];
  /** Monotonic start of each reconcile in progress, for liveness. */
  readonly #inFlight = new Map<WorkloadKey, number>();
  #workersRunning: Promise<void>[] = [];
  #resyncTimer: Timer | undefined;
  #depthTimer: Timer | undefined;
  readonly waves: WaveGates;
  /** Moves when a kind of config object becomes watchable or not (decisions read it). */
  #availability = 0;
  /** Per shared config object: the timer that looks again when its rolling wave times out. */
  readonly #waveTimers = new Map<string, { at: number; timer: Timer }>();
  /** Shared objects whose consumers moved since the last coalesced plan rebuild, and its timer. */
  readonly #movedSources = new Map<SourceKey, SourceRef>();
  #movedFlush: Timer | undefined;
  /** How long the last coalesced rebuild of plans took (monotonic ms): it spaces the next one. */
  #lastPlansMs = 0;
  /** Per shared config object: what its pending consumers were last re-evaluated for (#wavesMoved). */
  readonly #verdictsSaid = new Map<SourceKey, string>();
  /** The shared objects whose pending consumers #wavesMoved evaluated since #configChanged cleared it. */
  readonly #pendingEvaluated = new Set<SourceKey>();
  /** Workloads whose decision waits for a watch of config objects to catch up, since when (monotonic). */
  readonly #waiting = new Map<WorkloadKey, number>();
  /** Shared config objects held now, and what was said of each (said once per content and failure). */
  readonly #held = new Map<string, string>();
  /** Per shared config object: the content and wave last said to be rolling (said once each). */
  readonly #rolling = new Map<string, string>();

  constructor(opts: ControllerOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#clock = opts.clock ?? systemClock;
    const sourceKinds = opts.sourceKinds ?? ['ConfigMap', 'Secret'];
    const workloadKinds = opts.workloadKinds ?? ['Deployment', 'StatefulSet', 'DaemonSet'];
    const templateOrder = opts.templateOrder ?? 'resource-version';
    // Unordered, the only order there is is the one this process saw things in.
    const dater = templateOrder === 'off' ? byArrival() : BY_RESOURCE_VERSION;
    this.workloads = new WorkloadStore(this.#clock, new Set(sourceKinds), dater);
    for (const kind of sourceKinds) {
      this.sources.set(kind, new SourceStore(kind, opts.digestKey, (entry, value, reason) => {
        this.#log.warn('malformed annotation', {
          object: `${entry.kind}/${entry.namespace}/${entry.name}`,
          reason: `annotation config-reload.dev/ignore=${quoteValue(value)} is malformed: ${reason}; its changes roll nothing until it is fixed`,
        });
      }, dater));
    }
    const observer = opts.observer;
    this.queue = new WorkQueue({
      debounceMs: opts.debounceMs, qps: opts.qps, burst: opts.burst, clock: this.#clock,
      // A second's worth of adoptions may go at once; a roll never waits for them (its own lane),
      // nor for a worker: housekeeping never takes the last one.
      housekeeping: { qps: opts.adoptionQps ?? 0, burst: Math.max(1, opts.adoptionQps ?? 0), maxInFlight: Math.max(1, opts.workers - 1) },
      onTake: (_key, waitedMs) => observer?.queueWait?.(waitedMs / 1000),
      // Nor does a change wait for a worker behind a fan-out: no one flow takes the last one.
      maxInFlightPerFlow: Math.max(1, opts.workers - 1),
    });
    const sourceView = { store: (kind: SourceKind) => this.sources.get(kind), available: (kind: SourceKind) => !this.#forbidden.has(kind) };
    const caughtUp = (w: WorkloadState) => this.#waitedEnough(w.key);
    this.waves = new WaveGates({
      settings: {
        threshold: opts.waveThreshold ?? 0, canarySize: opts.canarySize ?? 1, waves: opts.waves ?? 1, timeoutMs: opts.waveTimeoutMs ?? 10 * 60_000,
      },
      workloads: this.workloads,
      consumersOf: (source) => this.index.consumersOf(source),
      context: () => ({ sources: sourceView, digestKey: opts.digestKey, now: this.#clock.now(), templateOrder, caughtUp }),
      sourcesRevision: () => {
        let revision = this.#availability;
        for (const store of this.sources.values()) revision += store.revision;
        return revision;
      },
      onPlan: (plan) => this.#wavesMoved(plan),
    });
    this.reconciler = new Reconciler({
      api: opts.api, workloads: this.workloads, clock: this.#clock, log: opts.log, digestKey: opts.digestKey,
      sources: sourceView, waves: this.waves.enabled ? this.waves : undefined, caughtUp,
      dryRun: opts.dryRun, events: opts.events, templateOrder,
      observer: {
        decided: (d: Decision, ns: string, dry: boolean) => observer?.decided?.(d, ns, dry),
        apiError: (verb: string, status: number | undefined) => observer?.apiError?.(verb, status),
      },
    });
    const common = { api: opts.api, clock: this.#clock, log: opts.log, ...(opts.watchdogMs ? { watchdogMs: opts.watchdogMs } : {}) };
    const labelSelectors: Record<SourceKind, string | undefined> = { ConfigMap: opts.configMapSelector, Secret: opts.secretSelector };
    // Scoping happens at the watch: one watch per namespace, selectors applied by the apiserver,
    // so that what is not watched costs neither memory nor bandwidth.
    const scopes: Array<string | undefined> = opts.namespaces && opts.namespaces.length > 0 ? opts.namespaces : [undefined];
    for (const namespace of scopes) {
      const scope = namespace ?? '';
      for (const [kind, store] of this.sources) {
        const type = SOURCE_TYPES[kind];
        const settled = this.#settleSignal();
        this.#reflectors.push({ name: `${kind} reflector${namespace ? ` (${namespace})` : ''}`, reflector: new Reflector<SourceLike>({
          ...common, type, namespace, pageSize: opts.pageSize ?? SOURCE_PAGE_SIZE,
          labelSelector: labelSelectors[kind],
          // Helm keeps every release in a Secret of up to 1 MiB that no pod mounts: excluded by
          // the apiserver, they cost neither memory nor bandwidth.
          ...(kind === 'Secret' && opts.secretFieldSelector ? { fieldSelector: opts.secretFieldSelector } : {}),
          hooks: {
            onRelist: (reason) => observer?.relist?.(type.plural, reason),
            onWatchRestart: (reason) => observer?.watchRestart?.(type.plural, reason),
            onSynced: () => {
              observer?.synced?.(type.plural, store.size);
              settled();
              this.#sourceUsable(kind, scope, true);
            },
            onForbidden: (error) => {
              settled();
              this.#sourceUsable(kind, scope, false, error);
            },
          },
        }, this.#sourceSink(store, namespace)) });
      }
      for (const kind of workloadKinds) {
        const type = WORKLOAD_TYPES[kind];
        const settled = this.#settleSignal();
        this.#reflectors.push({ name: `${kind} reflector${namespace ? ` (${namespace})` : ''}`, reflector: new Reflector<WorkloadLike>({
          ...common, type, namespace, pageSize: opts.pageSize ?? WORKLOAD_PAGE_SIZE,
          hooks: {
            onRelist: (reason) => observer?.relist?.(type.plural, reason),
            onWatchRestart: (reason) => observer?.watchRestart?.(type.plural, reason),
            onSynced: () => {
              observer?.synced?.(type.plural, this.workloads.countOf(kind));
              settled();
              this.#refused(type.plural, scope, false);
            },
            // A kind it may not watch holds nothing back: the other kinds are served.
            onForbidden: (error) => {
              settled();
              this.#refused(type.plural, scope, true, error, '--workload-kinds');
            },
          },
        }, this.#workloadSink(kind, namespace)) });
      }
    }
  }

  /** The store of ConfigMaps (undefined when they are not watched). */
  get configMaps(): SourceStore | undefined {
    return this.sources.get('ConfigMap');
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Timers that may still move the waves (a rolling wave's timeout, a coalesced plan rebuild). */
  get waveTimers(): number {
    return this.#waveTimers.size + (this.#movedFlush ? 1 : 0);
  }

  /** Workloads whose decision waits for a watch of config objects to catch up (src/core/decide.ts, viewBehind). */
  get waitingForWatch(): number {
    return this.#waiting.size;
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

  /**
   * Starts every reflector; resolves once each has synced — or, for a kind of config object whose
   * watch is refused (RBAC), once that is known: the workloads consuming it wait, the rest are
   * served.
   */
  async start(): Promise<void> {
    for (const { name, reflector } of this.#reflectors) this.#supervise(name, reflector.run());
    await Promise.all(this.#settled);
    this.#synced = true;
    const counts = Object.fromEntries([...this.sources].map(([kind, store]) => [kind, store.size]));
    this.#log.info('caches synced', { ...counts, workloads: this.workloads.size, unavailable: [...this.#forbidden.keys()] });
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
    for (const w of this.workloads.values()) if (this.#enqueueIfNeeded(w, RESYNC_FLOW)) queued++;
    this.#log.log(why === 'start' || queued > 0 ? 'info' : 'debug', 'resync', { why, workloads: this.workloads.size, queued });
  }

  /** Stops taking work, lets in-flight writes finish, then stops the reflectors. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#resyncTimer?.cancel();
    this.#depthTimer?.cancel();
    for (const { timer } of this.#waveTimers.values()) timer.cancel();
    this.#movedFlush?.cancel();
    await this.queue.shutDownWithDrain();
    await Promise.all(this.#workersRunning);
    for (const { reflector } of this.#reflectors) reflector.stop();
  }

  /** A promise start() waits for, and the function that resolves it. */
  #settleSignal(): () => void {
    let resolve!: () => void;
    this.#settled.push(new Promise<void>((r) => (resolve = r)));
    return () => resolve();
  }

  /**
   * Says once that a watch is refused (naming the permission and the flag that drops it), and
   * once that it works again. `scope`: the namespace, '' for all.
   */
  #refused(plural: string, scope: string, refused: boolean, error?: string, flag?: string): void {
    const id = `${plural}|${scope}`;
    if (refused === this.#refusedNow.has(id)) return;
    if (refused) {
      this.#refusedNow.add(id);
      this.#log.error(`cannot watch ${plural}: serving everything else, retrying with backoff`, {
        error,
        missingPermission: `list and watch on ${plural} (${scope ? `namespace ${scope}` : 'all namespaces'})`,
        ...(flag ? { toTurnOff: flag } : {}),
      });
    } else {
      this.#refusedNow.delete(id);
      this.#log.info(`${plural} can be watched again`, { scope: scope || '(all namespaces)' });
    }
  }

  /** A watched kind of config object became usable (synced) or not (its watch refused) in one scope. */
  #sourceUsable(kind: SourceKind, scope: string, usable: boolean, error?: string): void {
    const refusedScopes = this.#forbidden.get(kind) ?? new Set<string>();
    const was = refusedScopes.size === 0;
    if (usable) refusedScopes.delete(scope);
    else refusedScopes.add(scope);
    if (refusedScopes.size === 0) this.#forbidden.delete(kind);
    else this.#forbidden.set(kind, refusedScopes);
    const now = refusedScopes.size === 0;
    if (now !== was) this.#availability++;
    const plural = SOURCE_TYPES[kind].plural;
    this.#opts.observer?.sourceAvailable?.(plural, now);
    this.#refused(plural, scope, !usable, error, kind === 'Secret' ? '--config-sources configmaps' : '--config-sources');
    // Workloads held while it was refused are decided now.
    if (now && !was && this.#synced) this.resync('periodic');
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
      // Stopping (or no longer leading): what is still queued is left to the next leader.
      if (this.#stopping || leadership?.aborted) {
        this.queue.done(key);
        continue;
      }
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
      // The write budget is spent only by writes: an evaluation that wrote nothing gives its token back.
      this.queue.done(key, { wrote: result.kind !== 'done' || result.written });
    }
  }

  /** The worker's side of a reconcile result. */
  #act(key: WorkloadKey, result: ReconcileResult, seconds: number): void {
    const observer = this.#opts.observer;
    switch (result.kind) {
      case 'done': {
        this.queue.forget(key);
        observer?.reconciled?.(seconds, 'success');
        const waiting = result.decision?.code === 'waiting_for_watch' ? this.workloads.get(key) : undefined;
        if (waiting && result.decision) this.#noteWaiting(waiting, result.decision);
        // A roll in a wave moves that wave: a dry-run's simulated roll is all there is to see of it.
        const w = result.decision?.wave ? this.workloads.get(key) : undefined;
        if (w) this.#planSoon(this.waves.sourcesOf(w, result.decision));
        return;
      }
      case 'requeueAfter':
        this.queue.forget(key);
        // A refused roll fails its wave in every shared object it reads, not only those that
        // changed (the waves count it failed for its digest): those plans are built again.
        if (result.refused) {
          const w = this.workloads.get(key);
          if (w) this.#planSoon(this.waves.sourcesOf(w, undefined));
        }
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

  /**
   * Queues the workload only when an in-memory evaluation finds something to write or say: a
   * roll in the change lane, anything else (adoption, re-recording, a warning) behind it in the
   * housekeeping lane. `flow` is the cause it takes turns under ("Work queue" in
   * docs/architecture.md).
   */
  #enqueueIfNeeded(w: WorkloadState, flow: string): boolean {
    const decision = this.reconciler.evaluate(w);
    this.#noteWaiting(w, decision);
    if (decision.action === 'none' && !decision.warning) return false;
    this.queue.add(w.key, { lane: decision.action === 'roll' ? 'change' : 'housekeeping', flow });
    return true;
  }

  /**
   * A workload whose decision waits for a watch of config objects to catch up (decision
   * waiting_for_watch): noted with when it started waiting; a timer looks again once it waited
   * VIEW_PATIENCE_MS, when the views are read as they are.
   */
  #noteWaiting(w: WorkloadState, decision: Decision): void {
    if (decision.code !== 'waiting_for_watch') {
      this.#waiting.delete(w.key);
      return;
    }
    if (this.#waiting.has(w.key) || this.#stopping) return;
    this.#waiting.set(w.key, this.#clock.now());
    this.#clock.after(VIEW_PATIENCE_MS, () => {
      const current = this.workloads.get(w.key);
      if (current && this.#waiting.has(w.key) && !this.#stopping) this.#enqueueIfNeeded(current, w.key);
    });
  }

  #waitedEnough(key: WorkloadKey): boolean {
    const since = this.#waiting.get(key);
    return since !== undefined && this.#clock.now() - since >= VIEW_PATIENCE_MS;
  }

  /** A watch of config objects showed more: the workloads waiting for one look again. */
  #viewMoved(): void {
    if (this.#waiting.size === 0 || !this.#synced) return;
    for (const key of [...this.#waiting.keys()]) {
      const w = this.workloads.get(key);
      if (w) this.#enqueueIfNeeded(w, key);
      else this.#waiting.delete(key);
    }
  }

  #configChanged(change: SourceChange): void {
    // Before the first sync every object is new to us: nothing "changed", the start-up resync decides.
    if (!this.#synced) return;
    // Only the release annotation changed: a held change may go on.
    if (!change.content) {
      this.waves.plan(change);
      return;
    }
    const consumers = [...this.index.consumersOf(change.key)];
    // A shared object's plan, rebuilt for the new content, evaluates its consumers not rolled yet
    // (#wavesMoved): they are not evaluated a second time here — but only when this very call
    // evaluated them (verdicts said in an earlier pass predate this change).
    this.#pendingEvaluated.clear();
    const plan = this.waves.plan(change);
    const evaluated = plan && this.#pendingEvaluated.has(change.key) ? new Set<string>(plan.plan.pending) : undefined;
    const others: SourceRef[] = [];
    for (const key of consumers) {
      const w = this.workloads.get(key);
      // A consumer's own decision moved, so may the waves of the other shared objects it reads
      // (a canary whose required object went missing is no longer rolling).
      if (w && this.waves.enabled) others.push(...this.waves.sourcesOf(w, undefined).filter((r) => sourceKey(r.kind, r.namespace, r.name) !== change.key));
      if (evaluated?.has(key)) continue;
      // Every consumer of one change takes turns with every other change, never in front of it.
      if (w) this.#enqueueIfNeeded(w, change.key);
    }
    if (others.length > 0) this.#planSoon(others);
  }

  /**
   * The waves of a shared config object moved (docs/architecture.md, "Waves"): its consumers
   * not yet rolled are evaluated again (a wave that may go now queues; a held one says so), the
   * timeout of the rolling wave is armed, and a held change is said once.
   */
  #wavesMoved(plan: SourcePlan): void {
    const { source, plan: waves } = plan;
    // No longer shared (or gone): what was said of it goes with it.
    if (plan.signature === 'unshared') {
      this.#rolling.delete(source);
      this.#held.delete(source);
      this.#verdictsSaid.delete(source);
      this.#waveTimers.get(source)?.timer.cancel();
      this.#waveTimers.delete(source);
      this.#opts.observer?.waveHeld?.(plan, 0);
      // Its consumers waited for its waves: now each rolls (or not) on its own.
      if (this.#synced) {
        for (const key of this.index.consumersOf(source)) {
          const w = this.workloads.get(key);
          if (w) this.#enqueueIfNeeded(w, source);
        }
      }
      return;
    }
    const dry = this.#opts.dryRun;
    const rolling = `${plan.token}|${waves.frontier}`;
    if (!waves.active || waves.frontier >= waves.waves.length) this.#rolling.delete(source);
    else if (waves.held.length === 0 && this.#rolling.get(source) !== rolling) {
      this.#rolling.set(source, rolling);
      const members = waves.waves[waves.frontier]!;
      const position = describeWave({ index: waves.frontier, of: waves.waves.length });
      this.#log.info(`${dry ? 'would roll' : 'rolling'} ${position} of ${plan.display}`, {
        object: `${plan.kind}/${plan.namespace}/${plan.name}`, content: plan.token, workloads: members.slice(0, 20), count: members.length,
      });
    }
    const heldNow = waves.active && waves.held.length > 0;
    const said = `${plan.token}|${waves.failing.join(',')}`;
    if (heldNow && this.#held.get(source) !== said) {
      this.#held.set(source, said);
      const message = `${plan.display} change held at content ${plan.token}: ${heldBecause(waves.failing)}; `
        + `${waves.held.length} workloads not rolled until the next change of ${plan.display}, or: ${releaseCommand(plan)}`;
      this.#log.warn('wave held', {
        object: `${plan.kind}/${plan.namespace}/${plan.name}`, content: plan.token, failing: waves.failing, held: waves.held.length,
        toRelease: releaseCommand(plan),
      });
      const entry = this.sources.get(plan.kind)?.get(source);
      if (entry) {
        void this.#opts.events?.warning({ kind: plan.kind, apiVersion: 'v1', namespace: plan.namespace, name: plan.name, uid: entry.uid }, 'WaveHeld', message);
      }
    } else if (!heldNow && this.#held.delete(source)) {
      this.#log.info('wave no longer held', {
        object: `${plan.kind}/${plan.namespace}/${plan.name}`, content: plan.token, released: plan.released,
      });
    }
    this.#opts.observer?.waveHeld?.(plan, heldNow ? waves.held.length : 0);
    this.#armWaveTimer(plan);
    // Before the first sync the start-up resync decides.
    if (!this.#synced) return;
    // The consumers not rolled yet can go (or must be said held) only when the content, the
    // frontier or the failures moved; a signature that moved only by its recheck time (members
    // finishing their rollouts) changes no verdict, and re-evaluating every pending consumer on
    // each was most of a fan-out's remaining CPU.
    const verdicts = verdictsOf(plan);
    if (this.#verdictsSaid.get(source) === verdicts) return;
    this.#verdictsSaid.set(source, verdicts);
    this.#pendingEvaluated.add(source);
    for (const key of waves.pending) {
      const w = this.workloads.get(key as WorkloadKey);
      if (w) this.#enqueueIfNeeded(w, source);
    }
  }

  /** One timer per shared config object: when its rolling wave times out, the plan changes. */
  #armWaveTimer(plan: SourcePlan): void {
    const at = plan.plan.recheckAt;
    const armed = this.#waveTimers.get(plan.source);
    if (armed?.at === at) return;
    armed?.timer.cancel();
    this.#waveTimers.delete(plan.source);
    if (at === undefined || this.#stopping) return;
    const ref = { kind: plan.kind, namespace: plan.namespace, name: plan.name };
    // Timers may fire a little early against the monotonic clock (Node's do, by up to ~2 ms): the
    // plan would not see the timeout yet, and nothing would arm the timer again.
    const fire = (): void => {
      const left = at - this.#clock.now();
      const entry = this.#waveTimers.get(plan.source);
      if (left > 0 && entry) {
        entry.timer = this.#clock.after(left, fire);
        return;
      }
      this.#waveTimers.delete(plan.source);
      this.waves.plan(ref);
    };
    this.#waveTimers.set(plan.source, { at, timer: this.#clock.after(Math.max(0, at - this.#clock.now()), fire) });
  }

  /**
   * A consumer's health or canary annotation changed (or it left): the waves of what it consumes
   * may move. The plans are rebuilt once per WAVE_COALESCE_MS, not per event: a plan reads every
   * consumer, and a rolling fan-out delivers an event per consumer per rollout step.
   */
  #consumerMoved(namespace: string, consumed: readonly { kind: SourceKind; name: string }[]): void {
    this.#planSoon(consumed.map((c) => ({ kind: c.kind, namespace, name: c.name })));
  }

  /** Plans the waves of these config objects again, together, WAVE_COALESCE_MS from now. */
  #planSoon(refs: readonly SourceRef[]): void {
    if (!this.waves.enabled || !this.#synced || this.#stopping) return;
    for (const r of refs) this.#movedSources.set(sourceKey(r.kind, r.namespace, r.name), r);
    if (this.#movedSources.size === 0) return;
    const spacing = Math.min(PLAN_SPACING_MAX_MS, Math.max(WAVE_COALESCE_MS, PLAN_TIME_FACTOR * this.#lastPlansMs));
    this.#movedFlush ??= this.#clock.after(spacing, () => {
      this.#movedFlush = undefined;
      const moved = [...this.#movedSources.values()];
      this.#movedSources.clear();
      const started = this.#clock.now();
      for (const ref of moved) this.waves.plan(ref, { fresh: true });
      this.#lastPlansMs = this.#clock.now() - started;
    });
  }

  #sourceSink(store: SourceStore, namespace: string | undefined): ReflectorSink<SourceLike> {
    return {
      upsert: (obj) => {
        const change = store.observe(obj, namespace ?? '');
        if (change) this.#configChanged(change);
        this.#viewMoved();
      },
      remove: (obj) => {
        const change = store.observeDeleted(obj, namespace ?? '');
        if (change) this.#configChanged(change);
        this.#viewMoved();
      },
      progress: (rv) => {
        store.progress(rv, namespace ?? '');
        this.#viewMoved();
      },
      beginList: () => {
        const replacement = store.beginReplace(namespace);
        return {
          add: (obj) => replacement.add(obj),
          commit: (rv) => {
            for (const change of replacement.commit(rv)) this.#configChanged(change);
            this.#viewMoved();
          },
        };
      },
    };
  }

  #workloadSink(kind: WorkloadKind, namespace: string | undefined): ReflectorSink<WorkloadLike> {
    return {
      upsert: (d, created) => this.#workloadObserved(this.workloads.observe(kind, d, created, namespace ?? '')),
      progress: (rv) => this.workloads.progress(kind, rv, namespace ?? ''),
      remove: (d) => {
        const removed = this.workloads.remove(this.workloads.keyOf(kind, d));
        if (removed) {
          this.#waiting.delete(removed.key);
          this.index.delete(removed.key);
          this.#consumerMoved(removed.namespace, removed.consumed);
        }
      },
      beginList: () => {
        const replacement = this.workloads.beginReplace(kind, namespace);
        return {
          add: (d) => replacement.add(d),
          commit: (rv) => {
            const { observed, removed } = replacement.commit(rv);
            for (const gone of removed) {
              this.index.delete(gone.key);
              this.#consumerMoved(gone.namespace, gone.consumed);
            }
            for (const o of observed) this.#workloadObserved(o);
          },
        };
      },
    };
  }

  #workloadObserved(o: WorkloadObservation): void {
    const consumed: SourceKey[] = o.state ? o.state.consumed.map((c) => sourceKey(c.kind, o.state!.namespace, c.name)) : [];
    this.index.set(o.key, consumed);
    if (o.relevant && o.state && this.#synced) this.#enqueueIfNeeded(o.state, o.key);
    // What it consumes now and what it consumed before (it may have left a wave, or opted out).
    if (o.waveChanged) this.#consumerMoved(o.state?.namespace ?? o.previous?.namespace ?? '', [...o.previous?.consumed ?? [], ...o.state?.consumed ?? []]);
  }
}

/** What the verdicts of a plan's pending consumers depend on: the content, the frontier and its members, the failures, a release. */
function verdictsOf(plan: SourcePlan): string {
  const waves = plan.plan;
  // The frontier wave's members too: a canary that leaves (deleted, opted out) makes another one.
  return `${plan.token}|${waves.active}|${waves.frontier}|${waves.failing.join(',')}|${plan.released}|${waves.waves[waves.frontier]?.join(',') ?? ''}`;
}
