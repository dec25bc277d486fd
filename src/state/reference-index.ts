// Config object → workloads and workload → config objects, so that a ConfigMap or Secret event
// costs O(workloads that consume it) and never a LIST. Written only by the workload store's own
// transitions (src/state/workload-store.ts): it is always in step with the entries.
import type { SourceKey, WorkloadKey } from '../core/keys.ts';

export class ReferenceIndex {
  readonly #consumers = new Map<SourceKey, Set<WorkloadKey>>();
  readonly #consumed = new Map<WorkloadKey, readonly SourceKey[]>();

  /** Replaces what `workload` consumes. */
  set(workload: WorkloadKey, sources: readonly SourceKey[]): void {
    const previous = this.#consumed.get(workload);
    if (previous && sameList(previous, sources)) return;
    this.delete(workload);
    if (sources.length === 0) return;
    this.#consumed.set(workload, sources);
    for (const source of sources) {
      let set = this.#consumers.get(source);
      if (!set) this.#consumers.set(source, (set = new Set()));
      set.add(workload);
    }
  }

  delete(workload: WorkloadKey): void {
    const previous = this.#consumed.get(workload);
    if (!previous) return;
    this.#consumed.delete(workload);
    for (const source of previous) {
      const set = this.#consumers.get(source);
      set?.delete(workload);
      if (set?.size === 0) this.#consumers.delete(source);
    }
  }

  consumersOf(source: SourceKey): ReadonlySet<WorkloadKey> {
    return this.#consumers.get(source) ?? EMPTY;
  }

  consumedBy(workload: WorkloadKey): readonly SourceKey[] {
    return this.#consumed.get(workload) ?? [];
  }
}

const EMPTY: ReadonlySet<WorkloadKey> = new Set();

function sameList(a: readonly SourceKey[], b: readonly SourceKey[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
