// A work queue of string keys with client-go's semantics (see "Work queue" in
// docs/architecture.md): de-duplicated, a key never handed to two workers at once, per-key
// exponential backoff on failure, a global rate limit, and a short debounce so that a burst of
// events for one key becomes one reconcile. Every timer and every reading of the time goes
// through a Clock, so tests drive the queue with a virtual one.
//
// A key moves through these states; it is in at most one of the first three at any time:
//   delayed   - waiting on its own timer (debounce, backoff, addAfter)
//   throttled - due, waiting for a token of the global rate limit
//   dirty     - ready: in the ready FIFO, or held back while a worker still processes it
//   processing - handed to a worker, until done() (it may be dirty at the same time)
import { ExponentialBackoff } from '../time/backoff.ts';
import { type Clock, systemClock, type Timer } from '../time/clock.ts';
import { TokenBucket } from './rate-limiter.ts';

export interface WorkQueueOptions {
  /**
   * add(key) makes the key ready debounceMs after its FIRST add since it was last taken; further
   * adds in the window coalesce. There is no trailing reset, so a writer in a loop cannot starve it.
   */
  debounceMs: number;
  /**
   * Global token bucket applied when keys become ready: keys per second, 0 = unlimited. No
   * default here: the operator's defaults live in src/config.ts.
   */
  qps: number;
  /** How many keys may become ready at once before qps applies (at least 1). */
  burst: number;
  /** Per-key exponential backoff for addRateLimited: base * 2^failures, no jitter. Default 200. */
  baseBackoffMs?: number;
  /** Cap of that backoff. Default 300_000. */
  maxBackoffMs?: number;
  /** Time and timers (debounce, backoff, addAfter, rate limit, onTake). Default systemClock. */
  clock?: Clock;
  /**
   * Called when a worker takes a key, with how long the key was due before that: time held by
   * the rate limit, waiting for a free worker, or waiting for its own previous run to finish.
   * The deliberate delays (debounce, backoff, addAfter) are not counted, so this measures
   * saturation. Meant for metrics; it is called synchronously and must not throw.
   */
  onTake?: (key: string, waitedMs: number) => void;
}

interface Delayed {
  readyAt: number;
  timer: Timer;
}

/** Array-backed FIFO whose take() is O(1) amortised (Array#shift is O(n) on large arrays). */
class Fifo {
  #items: string[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: string): void {
    this.#items.push(item);
  }

  take(): string | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head++];
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}

export class WorkQueue {
  readonly #debounceMs: number;
  readonly #clock: Clock;
  readonly #onTake: ((key: string, waitedMs: number) => void) | undefined;
  readonly #backoff: ExponentialBackoff;
  readonly #bucket: TokenBucket;

  readonly #delayed = new Map<string, Delayed>();
  /** key -> when it became due. Insertion-ordered, so keys get tokens in the order they became due. */
  readonly #throttled = new Map<string, number>();
  #throttleTimer: Timer | undefined;
  /** key -> when it became due, for onTake. */
  readonly #dirty = new Map<string, number>();
  readonly #ready = new Fifo();
  readonly #processing = new Set<string>();

  /** Pending get() calls; non-empty only while #ready is empty. */
  readonly #takers: Array<(key: string | undefined) => void> = [];
  readonly #drainWaiters: Array<() => void> = [];
  #shuttingDown = false;

  constructor(opts: WorkQueueOptions) {
    this.#debounceMs = Math.max(0, opts.debounceMs);
    this.#clock = opts.clock ?? systemClock;
    this.#onTake = opts.onTake;
    this.#backoff = new ExponentialBackoff({ baseMs: opts.baseBackoffMs ?? 200, maxMs: opts.maxBackoffMs ?? 300_000 });
    this.#bucket = new TokenBucket(opts.qps, opts.burst, this.#clock);
  }

  /** Debounced and de-duplicated: the usual way to say "look at this key". */
  add(key: string): void {
    this.#schedule(key, this.#debounceMs);
  }

  /**
   * Makes the key due after delayMs (periodic resync, a requeue-after). When the key is already
   * delayed, the earlier of the two deadlines wins — so a new event (add) also cuts short a
   * pending backoff, as in client-go: level-based reconcile makes an early retry harmless.
   */
  addAfter(key: string, delayMs: number): void {
    this.#schedule(key, delayMs);
  }

  /** After a failure: retry the key after its exponential backoff. */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    this.#schedule(key, this.#backoff.next(key));
  }

  /** After a success: the key's next failure starts again from the base backoff. */
  forget(key: string): void {
    this.#backoff.forget(key);
  }

  /** Failures of the key since it was last forgotten. */
  numRequeues(key: string): number {
    return this.#backoff.failures(key);
  }

  /**
   * Waits for a ready key and marks it processing until done(key). After shutDown it still hands
   * out keys that were already ready, then resolves undefined.
   */
  get(): Promise<string | undefined> {
    const key = this.#ready.take();
    if (key !== undefined) return Promise.resolve(this.#take(key));
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#takers.push(resolve));
  }

  /** The worker is finished with the key; if it was added meanwhile, it is ready again now. */
  done(key: string): void {
    if (!this.#processing.delete(key)) return;
    if (this.#dirty.has(key)) this.#offer(key);
    if (this.#processing.size === 0 && this.#shuttingDown) this.#resolveDrain();
  }

  /** Keys ready to be taken now (the queue depth). */
  get length(): number {
    return this.#ready.length;
  }

  /** Keys waiting on a timer: debounce, backoff or addAfter. */
  get waiting(): number {
    return this.#delayed.size;
  }

  /** Keys that are due but held back by the global rate limit. */
  get throttled(): number {
    return this.#throttled.size;
  }

  /** Keys handed to a worker and not yet done. */
  get processing(): number {
    return this.#processing.size;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Accepts no new work and drops delayed and throttled keys (their timers are cancelled);
   * pending get() calls resolve undefined.
   */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) timer.cancel();
    this.#delayed.clear();
    this.#throttled.clear();
    this.#throttleTimer?.cancel();
    this.#throttleTimer = undefined;
    for (const taker of this.#takers.splice(0)) taker(undefined);
    if (this.#processing.size === 0) this.#resolveDrain();
  }

  /** shutDown, then wait until every key being processed is done. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #schedule(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    // Already due: it will be processed with no further delay, which covers this request too.
    if (this.#dirty.has(key) || this.#throttled.has(key)) return;
    const existing = this.#delayed.get(key);
    if (delayMs <= 0) {
      if (existing) this.#cancelDelay(key, existing);
      this.#becomeDue(key);
      return;
    }
    const readyAt = this.#clock.now() + delayMs;
    if (existing !== undefined) {
      // Keeping the earlier deadline is what makes debounce coalesce without a trailing reset.
      if (existing.readyAt <= readyAt) return;
      existing.timer.cancel();
    }
    // The system clock's timers are unref'd: the queue's owner (watchers, servers) is what keeps
    // the process alive, never a pending key.
    const timer = this.#clock.after(delayMs, () => {
      this.#delayed.delete(key);
      this.#becomeDue(key);
    });
    this.#delayed.set(key, { readyAt, timer });
  }

  #cancelDelay(key: string, delayed: Delayed): void {
    delayed.timer.cancel();
    this.#delayed.delete(key);
  }

  #becomeDue(key: string): void {
    this.#throttled.set(key, this.#clock.now());
    this.#admitThrottled();
  }

  /** Moves throttled keys to ready while the bucket has tokens; sleeps until the next token. */
  #admitThrottled(): void {
    for (const [key, dueAt] of this.#throttled) {
      if (!this.#bucket.tryTake()) break;
      this.#throttled.delete(key);
      // Time held by the rate limit counts as waiting (onTake), so dueAt travels along.
      this.#dirty.set(key, dueAt);
      // A key still being processed waits in dirty; done() offers it again.
      if (!this.#processing.has(key)) this.#offer(key);
    }
    if (this.#throttled.size > 0 && this.#throttleTimer === undefined) {
      this.#throttleTimer = this.#clock.after(Math.max(1, this.#bucket.msUntilToken()), () => {
        this.#throttleTimer = undefined;
        this.#admitThrottled();
      });
    }
  }

  /** Hands a ready key to a waiting get(), or queues it. */
  #offer(key: string): void {
    const taker = this.#takers.shift();
    if (taker !== undefined) taker(this.#take(key));
    else this.#ready.push(key);
  }

  #take(key: string): string {
    const now = this.#clock.now();
    const dueAt = this.#dirty.get(key) ?? now;
    this.#dirty.delete(key);
    this.#processing.add(key);
    this.#onTake?.(key, Math.max(0, now - dueAt));
    return key;
  }

  #resolveDrain(): void {
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }
}
