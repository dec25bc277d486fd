// What an event queues (controller-runtime's handlers and predicates): every change of a store
// is turned into the workloads it may concern, each evaluated in memory and queued only when
// it needs a write or deserves a warning — a roll in the change lane, anything else behind it
// in the housekeeping lane ("Work queue" in docs/architecture.md). Also keeps the workloads
// whose decision waits for a watch of config objects to catch up (waiting_for_watch).
import type { Logger } from 'winston';
import type { WorkloadKey } from '../core/keys.ts';
import { sourceKey } from '../core/keys.ts';
import type { Decision } from '../core/types.ts';
import type { WorkQueue } from '../queue/workqueue.ts';
import type { Reconciler } from '../reconcile/reconciler.ts';
import type { SourceChange } from '../state/source-store.ts';
import type { WorkloadObservation, WorkloadState, WorkloadStore } from '../state/workload-store.ts';
import type { Clock, Timer } from '../time/clock.ts';
import type { SourceRef } from '../waves/gates.ts';
import type { WaveCoordinator } from '../waves/coordinator.ts';

/** The flow of what a resync finds: catch-up after a restart takes turns with new changes. */
const RESYNC_FLOW = 'resync';
/**
 * How long a decision waits for a watch of config objects to show the version a pod template was
 * written at (decision waiting_for_watch) before it reads the view as it is. Watches lag each
 * other by milliseconds; the apiserver's bookmarks come about once a minute on a quiet watch.
 */
export const VIEW_PATIENCE_MS = 10_000;
/**
 * Consumers of one changed config object evaluated per turn of the event loop: a ConfigMap
 * read by 1,000 workloads held the loop 144 ms (95 ms of CPU) in one block, and an unrelated
 * change's watch event waited behind it (bench/results/fanout-tail/run-13).
 */
export const CONSUMERS_PER_TURN = 100;

export interface TriageOptions {
  workloads: WorkloadStore;
  queue: WorkQueue;
  /** Reads the decision (evaluate) only: triage never writes. */
  reconciler: Pick<Reconciler, 'evaluate'>;
  clock: Clock;
  log: Logger;
  /** Whether the caches synced: before, every object is new and the start-up resync decides. */
  synced(): boolean;
  /** Whether the controller is stopping: nothing is queued or timed any more. */
  stopping(): boolean;
}

export class Triage {
  readonly #opts: TriageOptions;
  #waves: WaveCoordinator | undefined;
  /** Workloads whose decision waits for a watch of config objects to catch up, since when (monotonic). */
  readonly #waiting = new Map<WorkloadKey, number>();
  /** Workloads held outside their roll window: when it opens, and the timer that looks again then. */
  readonly #windowTimers = new Map<WorkloadKey, { until: number; timer: Timer }>();
  /** Workloads whose patch was refused (409): the resourceVersion it carried. */
  readonly #conflicts = new Map<WorkloadKey, string>();

  constructor(opts: TriageOptions) {
    this.#opts = opts;
  }

  /** The waves' coordinator, which triage tells what moved (set once both exist: each calls the other). */
  set waves(waves: WaveCoordinator) {
    this.#waves = waves;
  }

  get waitingForWatch(): number {
    return this.#waiting.size;
  }

  /** A workload that waited VIEW_PATIENCE_MS for a watch: its views are read as they are. */
  waitedEnough(key: WorkloadKey): boolean {
    const since = this.#waiting.get(key);
    return since !== undefined && this.#opts.clock.now() - since >= VIEW_PATIENCE_MS;
  }

  /**
   * Level-based check of every opted-in workload against the current index. Only those that
   * need a write or deserve a warning are queued: an up-to-date workload costs no API call.
   */
  resync(why: 'start' | 'periodic'): void {
    const { workloads, log } = this.#opts;
    let queued = 0;
    for (const w of workloads.values()) if (this.enqueueIfNeeded(w, RESYNC_FLOW)) queued++;
    log.log(why === 'start' || queued > 0 ? 'info' : 'debug', 'resync', { why, workloads: workloads.size, queued });
  }

  /**
   * Queues the workload only when an in-memory evaluation finds something to write or say.
   * `flow` is the cause it takes turns under. `ownDebounce: false` when its roll waited already
   * (a window opening): its own debounce, longer than a short window, would let it close again.
   * `now`: due at once, without --debounce either (the retry of a refused patch).
   */
  enqueueIfNeeded(w: WorkloadState, flow: string, ownDebounce = true, now = false): boolean {
    const decision = this.#opts.reconciler.evaluate(w);
    this.noteDecision(w, decision);
    if (decision.action === 'none' && !decision.warning && !decision.notice) return false;
    const priority = { lane: decision.action === 'roll' ? 'change' : 'housekeeping', flow } as const;
    // config-reload.dev/debounce: the workload's own debounce, counted from the first add as --debounce is.
    const debounceMs = w.optIn.kind === 'in' && ownDebounce ? w.optIn.hold?.debounceMs : undefined;
    if (now) this.#opts.queue.addAfter(w.key, 0, priority);
    else if (debounceMs === undefined) this.#opts.queue.add(w.key, priority);
    else this.#opts.queue.addAfter(w.key, debounceMs, priority);
    return true;
  }

  /**
   * A decision made of a workload (here or by a reconcile): one waiting for a watch of config
   * objects to catch up is noted with when it started waiting; a timer looks again once it
   * waited VIEW_PATIENCE_MS, when the views are read as they are.
   */
  noteDecision(w: WorkloadState, decision: Decision): void {
    this.#noteWindow(w, decision);
    if (decision.code !== 'waiting_for_watch') {
      this.#waiting.delete(w.key);
      return;
    }
    const { clock, workloads, stopping } = this.#opts;
    if (this.#waiting.has(w.key) || stopping()) return;
    this.#waiting.set(w.key, clock.now());
    clock.after(VIEW_PATIENCE_MS, () => {
      const current = workloads.get(w.key);
      if (current && this.#waiting.has(w.key) && !stopping()) this.enqueueIfNeeded(current, w.key);
    });
  }

  /**
   * A roll held outside its window: one timer per workload, on the injected clock, looks again
   * when the window opens (the decision's `until`). Any other decision cancels it.
   */
  #noteWindow(w: WorkloadState, decision: Decision): void {
    const armed = this.#windowTimers.get(w.key);
    const until = decision.code === 'outside_window' ? decision.until : undefined;
    if (armed !== undefined && armed.until === until) return;
    armed?.timer.cancel();
    this.#windowTimers.delete(w.key);
    const { clock, workloads, stopping } = this.#opts;
    if (until === undefined || stopping()) return;
    const timer = clock.after(Math.max(0, until - clock.wallNow()), () => {
      this.#windowTimers.delete(w.key);
      const current = workloads.get(w.key);
      if (current && !stopping()) this.enqueueIfNeeded(current, w.key, false);
    });
    this.#windowTimers.set(w.key, { until, timer });
  }

  /** A watch of config objects showed more: the workloads waiting for one look again. */
  viewMoved(): void {
    if (this.#waiting.size === 0 || !this.#opts.synced()) return;
    for (const key of [...this.#waiting.keys()]) {
      const w = this.#opts.workloads.get(key);
      if (w) this.enqueueIfNeeded(w, key);
      else this.#waiting.delete(key);
    }
  }

  /** A config object changed (content, ignore switch, release annotation): its consumers look again. */
  configChanged(change: SourceChange): void {
    if (!this.#opts.synced()) return;
    const waves = this.#waves;
    // Only the release annotation changed: a held change may go on.
    if (!change.content) {
      waves?.gates.plan(change);
      return;
    }
    const { workloads, clock, stopping } = this.#opts;
    const consumers = [...workloads.index.consumersOf(change.key)];
    // A shared object's plan, rebuilt for the new content, hands its consumers not rolled yet
    // back (see WaveCoordinator): they are not evaluated a second time here.
    const evaluated = waves?.planChanged(change);
    const others: SourceRef[] = [];
    // In slices, each consumer as it is when its slice runs (a later change evaluates it again).
    const slice = (from: number): void => {
      if (from > 0 && stopping()) return;
      const end = Math.min(consumers.length, from + CONSUMERS_PER_TURN);
      for (const key of consumers.slice(from, end)) {
        const w = workloads.get(key);
        // A consumer's own decision moved, so may the waves of the other shared objects it reads
        // (a canary whose required object went missing is no longer rolling).
        if (w && waves?.enabled) others.push(...waves.gates.sourcesOf(w, undefined).filter((r) => sourceKey(r.kind, r.namespace, r.name) !== change.key));
        if (evaluated?.has(key)) continue;
        // Every consumer of one change takes turns with every other change, never in front of it.
        if (w) this.enqueueIfNeeded(w, change.key);
      }
      if (end < consumers.length) clock.after(0, () => slice(end));
      else if (others.length > 0) waves?.planSoon(others);
    };
    slice(0);
  }

  /**
   * A patch of the workload was refused (409) because it changed after `resourceVersion`: most
   * often its controller's status write, which no decision reads, so its event would queue
   * nothing and the roll would wait for the reconciler's fallback delay. The next version seen
   * looks again at once instead, as if the change had just arrived.
   */
  conflicted(key: WorkloadKey, resourceVersion: string): void {
    const w = this.#opts.workloads.get(key);
    // The newer version's event came before the refusal did.
    if (w !== undefined && w.resourceVersion !== resourceVersion) {
      if (this.#opts.synced()) this.enqueueIfNeeded(w, key, false, true);
      return;
    }
    this.#conflicts.set(key, resourceVersion);
  }

  /** A workload was seen (an event, a list): it is evaluated when relevant. */
  workloadObserved(o: WorkloadObservation): void {
    // No longer retained (opted out): nothing of it is waited for or timed any more.
    if (o.state === undefined) this.#forget(o.key);
    const refusedAt = this.#conflicts.get(o.key);
    if (refusedAt !== undefined && o.state !== undefined && o.state.resourceVersion !== refusedAt) {
      this.#conflicts.delete(o.key);
      // Without the debounce: the change was debounced before the refused patch.
      if (this.#opts.synced()) this.enqueueIfNeeded(o.state, o.key, false, true);
    } else if (o.relevant && o.state && this.#opts.synced()) this.enqueueIfNeeded(o.state, o.key);
    // What it consumes now and what it consumed before (it may have left a wave, or opted out).
    if (o.waveChanged) this.#waves?.consumerMoved(o.state?.namespace ?? o.previous?.namespace ?? '', [...o.previous?.consumed ?? [], ...o.state?.consumed ?? []]);
  }

  /** A workload is gone (deleted, or absent from a relist). */
  workloadRemoved(gone: WorkloadState): void {
    this.#forget(gone.key);
    this.#waves?.consumerMoved(gone.namespace, gone.consumed);
  }

  /** What triage keeps of a workload it no longer looks at: its wait for a watch and its window timer. */
  #forget(key: WorkloadKey): void {
    this.#waiting.delete(key);
    this.#conflicts.delete(key);
    this.#windowTimers.get(key)?.timer.cancel();
    this.#windowTimers.delete(key);
  }
}
