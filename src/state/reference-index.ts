// ConfigMap → workloads and workload → ConfigMaps, so that a ConfigMap event costs
// O(workloads that consume it) and never a LIST. Keys are "namespace/name" for ConfigMaps and
// the work-queue key ("Deployment/namespace/name") for workloads.
export class ReferenceIndex {
  readonly #consumers = new Map<string, Set<string>>();
  readonly #consumed = new Map<string, readonly string[]>();

  /** Replaces what `workload` consumes. */
  set(workload: string, configMaps: readonly string[]): void {
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

  delete(workload: string): void {
    const previous = this.#consumed.get(workload);
    if (!previous) return;
    this.#consumed.delete(workload);
    for (const cm of previous) {
      const set = this.#consumers.get(cm);
      set?.delete(workload);
      if (set?.size === 0) this.#consumers.delete(cm);
    }
  }

  consumersOf(configMap: string): ReadonlySet<string> {
    return this.#consumers.get(configMap) ?? EMPTY;
  }

  consumedBy(workload: string): readonly string[] {
    return this.#consumed.get(workload) ?? [];
  }
}

const EMPTY: ReadonlySet<string> = new Set();

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
