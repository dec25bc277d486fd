// What a log line, an Event or a message already said, so that a condition that persists — or
// that a tenant flips back and forth — is said once, not on every event or retry. Bounded (the
// least recently said go first, and are said again if they come back) and, when given a ttl,
// forgotten after it on the injected clock, so a long-lived condition is said again now and then.
import { LRUCache } from 'lru-cache';
import { type Clock, systemClock } from './clock.ts';

export interface SaidOnceOptions {
  /** How many keys are remembered (default 10,000). */
  max?: number;
  /** Said again after this long (default: never, while remembered). */
  ttlMs?: number;
  clock?: Clock;
}

export class SaidOnce<K extends string = string> {
  readonly #said: LRUCache<K, string>;

  constructor(opts: SaidOnceOptions = {}) {
    const clock = opts.clock ?? systemClock;
    this.#said = new LRUCache<K, string>({
      max: opts.max ?? 10_000,
      ...(opts.ttlMs === undefined ? {} : { ttl: opts.ttlMs, ttlResolution: 0, perf: { now: () => clock.now() } }),
    });
  }

  /**
   * True the first time `key` is said with `what` (and remembers it): false while the same is
   * still remembered. A different `what` for the key (the reason changed) is said again.
   */
  first(key: K, what = ''): boolean {
    if (this.#said.get(key) === what) return false;
    this.#said.set(key, what);
    return true;
  }

  /** Whether `key` is remembered as said (with `what`): to skip working out what would be said. */
  said(key: K, what = ''): boolean {
    return this.#said.get(key) === what;
  }

  /** The condition ended: the next time it starts, it is said again. */
  forget(key: K): void {
    this.#said.delete(key);
  }
}
