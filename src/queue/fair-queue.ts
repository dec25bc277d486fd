// The due keys of one lane of the work queue, served round-robin by flow (see "Work queue" in
// docs/architecture.md). A flow is what caused the work — the ConfigMap whose change fans out
// to its consumers, a workload's own edit — so one change with a thousand consumers takes turns
// with an unrelated change instead of standing in front of it.

/** Array-backed FIFO whose take() is O(1) amortised (Array#shift is O(n) on large arrays). */
export class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  take(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head] as T;
    this.#items[this.#head++] = undefined as T; // let it be collected
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}

/**
 * FIFO per flow, flows in turn. Entries carry a ticket: the owner (the work queue) decides
 * whether a ticket is still valid when it comes up, which is how an entry is withdrawn in O(1)
 * (a key that moved to another lane leaves a stale ticket behind, skipped on take).
 */
export class FairQueue<T> {
  readonly #flows = new Map<string, Fifo<T>>();
  /** Flows that hold entries, in turn order; each appears once. */
  readonly #turns = new Fifo<string>();

  push(flow: string, entry: T): void {
    let fifo = this.#flows.get(flow);
    if (fifo === undefined) {
      fifo = new Fifo<T>();
      this.#flows.set(flow, fifo);
      this.#turns.push(flow);
    }
    fifo.push(entry);
  }

  /**
   * The next entry that `valid` accepts, taking flows in turn; undefined when none is left. A
   * flow that `eligible` refuses (at its share of the workers) passes its turn and keeps its
   * entries.
   */
  take(valid: (entry: T) => boolean, eligible: (flow: string) => boolean = () => true): T | undefined {
    let passes = this.#turns.length;
    for (;;) {
      const flow = this.#turns.take();
      if (flow === undefined) return undefined;
      if (!eligible(flow)) {
        this.#turns.push(flow);
        if (--passes <= 0) return undefined;
        continue;
      }
      const fifo = this.#flows.get(flow) as Fifo<T>;
      let entry = fifo.take();
      while (entry !== undefined && !valid(entry)) entry = fifo.take();
      if (fifo.length > 0) this.#turns.push(flow);
      else this.#flows.delete(flow);
      if (entry !== undefined) return entry;
    }
  }

  clear(): void {
    while (this.#turns.take() !== undefined);
    this.#flows.clear();
  }
}
