// The controller's hooks for metrics (src/observability/controller-metrics.ts implements them):
// a type only, so that what observes the controller does not depend on it.
import type { ReconcileObserver } from '../reconcile/reconciler.ts';
import type { SourceRef } from '../waves/gates.ts';

/** Hooks for metrics; every one optional. */
export interface ControllerObserver extends Partial<ReconcileObserver> {
  relist?(resource: string, reason: string): void;
  watchRestart?(resource: string, reason: string): void;
  synced?(resource: string, objects: number): void;
  /** Whether a watched kind can be watched (false: its watch is forbidden). */
  sourceAvailable?(resource: string, available: boolean): void;
  /** Whether a kind of --workload-kinds (its flag name) is installed (false: its CRD is not; src/controller/workload-kinds.ts). */
  workloadKindAvailable?(kind: string, available: boolean): void;
  /** How many objects of a config kind are over the key budget (--max-keys-per-object), whenever that changes. */
  sourcesOverBudget?(resource: string, count: number): void;
  reconciled?(seconds: number, result: 'success' | 'error'): void;
  queueWait?(seconds: number): void;
  queueDepth?(ready: number, waiting: number): void;
  /** A namespace left --namespace-selector: its series go. */
  namespaceClosed?(namespace: string): void;
  /** Workloads held by a failed wave of one config object; 0 once it is no longer held. */
  waveHeld?(source: SourceRef, held: number): void;
}
