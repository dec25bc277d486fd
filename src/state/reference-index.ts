// Config object → workloads and workload → config objects, so that a ConfigMap or Secret event
// costs O(workloads that consume it) and never a LIST.
import type { SourceKey, WorkloadKey } from '../core/keys.ts';

export class ReferenceIndex {
  readonly #consumers = new Map<SourceKey, Set<WorkloadKey>>();
  readonly #consumed = new Map<WorkloadKey, readonly SourceKey[]>();

  /** Replaces what `workload` consumes. */
  set(workload: WorkloadKey, configMaps: readonly SourceKey[]): void {
    const previous = this.#consumed.get(workload);
    if (previous && sameList(previous, configMaps)) return;
    this.delete(workload);
    if (configMaps.length === 0) return;
    this.#consumed.set(workload, configMaps);
    for (const cm of configMaps) {
      let set = this.#consumers.get(cm);
      if (!set) this.#consumers.set(cm, (set = new Set()));
      set.add(workload);
    }
  }

  delete(workload: WorkloadKey): void {
    const previous = this.#consumed.get(workload);
    if (!previous) return;
    this.#consumed.delete(workload);
    for (const cm of previous) {
      const set = this.#consumers.get(cm);
      set?.delete(workload);
      if (set?.size === 0) this.#consumers.delete(cm);
    }
  }

  consumersOf(configMap: SourceKey): ReadonlySet<WorkloadKey> {
    return this.#consumers.get(configMap) ?? EMPTY;
  }

  consumedBy(workload: WorkloadKey): readonly SourceKey[] {
    return this.#consumed.get(workload) ?? [];
  }
}

const EMPTY: ReadonlySet<WorkloadKey> = new Set();

function sameList(a: readonly SourceKey[], b: readonly SourceKey[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
