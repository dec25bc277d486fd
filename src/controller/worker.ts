// The leader's workers: each takes a due key from the work queue, reconciles it, and acts on
// the result — forget, requeue after a delay, retry with backoff, or give up until the next
// change — and keeps what liveness needs (loops running, no reconcile stuck).
import type { Logger } from 'winston';
import type { WorkloadKey } from '../core/keys.ts';
import type { WorkQueue } from '../queue/workqueue.ts';
import type { Reconciler, ReconcileResult } from '../reconcile/reconciler.ts';
import type { WorkloadStore } from '../state/workload-store.ts';
import type { Clock } from '../time/clock.ts';
import type { WaveCoordinator } from '../waves/coordinator.ts';
import type { ControllerObserver } from './observer.ts';
import type { Triage } from './triage.ts';

/** A reconcile that has not finished by then is stuck (its calls have deadlines far shorter). */
const STUCK_RECONCILE_MS = 5 * 60_000;

export interface WorkersOptions {
  queue: WorkQueue;
  reconciler: Pick<Reconciler, 'reconcile'>;
  workloads: WorkloadStore;
  triage: Triage;
  waves: WaveCoordinator;
  clock: Clock;
  log: Logger;
  observer?: ControllerObserver | undefined;
  /** Whether the controller is stopping: what is still queued is left to the next leader. */
  stopping(): boolean;
}

export class Workers {
  readonly #opts: WorkersOptions;
  /** Monotonic start of each reconcile in progress, for liveness. */
  readonly #inFlight = new Map<WorkloadKey, number>();

  constructor(opts: WorkersOptions) {
    this.#opts = opts;
  }

  /** Reconciles running for longer than STUCK_RECONCILE_MS, said for liveness. */
  stuck(): string[] {
    const now = this.#opts.clock.now();
    const problems: string[] = [];
    for (const [key, since] of this.#inFlight) {
      if (now - since > STUCK_RECONCILE_MS) problems.push(`reconcile of ${key} running for ${Math.round((now - since) / 1000)} s`);
    }
    return problems;
  }

  /** One worker loop; it ends when the queue shuts down. `leadership` aborted: no write starts, one in flight is cancelled. */
  async run(leadership: AbortSignal | undefined): Promise<void> {
    const { queue, reconciler, clock } = this.#opts;
    for (;;) {
      const key = (await queue.get()) as WorkloadKey | undefined;
      if (key === undefined) return;
      // Stopping (or no longer leading): what is still queued is left to the next leader.
      if (this.#opts.stopping() || leadership?.aborted) {
        queue.done(key);
        continue;
      }
      const started = clock.now();
      this.#inFlight.set(key, started);
      let result: ReconcileResult;
      try {
        result = await reconciler.reconcile(key, leadership);
      } catch (err) {
        // The reconciler reports failures as results; a throw is a bug, retried like a failure.
        result = { kind: 'retry', error: err instanceof Error ? err.stack ?? err.message : String(err) };
      } finally {
        this.#inFlight.delete(key);
      }
      this.#act(key, result, (clock.now() - started) / 1000);
      // The write budget is spent only by writes: an evaluation that wrote nothing gives its token back.
      queue.done(key, { wrote: result.kind !== 'done' || result.written });
    }
  }

  /** The worker's side of a reconcile result. */
  #act(key: WorkloadKey, result: ReconcileResult, seconds: number): void {
    const { queue, workloads, triage, waves, log, observer } = this.#opts;
    switch (result.kind) {
      case 'done': {
        queue.forget(key);
        observer?.reconciled?.(seconds, 'success');
        const decision = result.decision;
        // Waiting for a watch, or held outside its roll window (it may have closed since triage): a timer looks again.
        const waiting = decision?.code === 'waiting_for_watch' || decision?.code === 'outside_window' ? workloads.get(key) : undefined;
        if (waiting && decision) triage.noteDecision(waiting, decision);
        // A roll in a wave moves that wave: a dry-run's simulated roll is all there is to see of it.
        const w = decision?.wave ? workloads.get(key) : undefined;
        if (w) waves.planSoon(waves.gates.sourcesOf(w, decision));
        return;
      }
      case 'requeueAfter':
        queue.forget(key);
        // A refused roll fails its wave in every shared object it reads, not only those that
        // changed (the waves count it failed for its digest): those plans are built again.
        if (result.refused) {
          const w = workloads.get(key);
          if (w) waves.planSoon(waves.gates.sourcesOf(w, undefined));
        }
        observer?.reconciled?.(seconds, 'success');
        log.debug('requeued', { workload: key, afterMs: result.delayMs, reason: result.reason });
        queue.addAfter(key, result.delayMs);
        if (result.conflictAt !== undefined) triage.conflicted(key, result.conflictAt);
        return;
      case 'retry': {
        observer?.reconciled?.(seconds, 'error');
        const retries = queue.numRequeues(key);
        log.log(retries < 5 ? 'warn' : 'error', 'reconcile failed: retrying with backoff', { workload: key, error: result.error, retries });
        queue.addRateLimited(key);
        return;
      }
      case 'terminal':
        queue.forget(key);
        observer?.reconciled?.(seconds, 'error');
        log.error('reconcile failed: not retrying until the workload or its configuration changes', { workload: key, error: result.error });
        return;
    }
  }
}
