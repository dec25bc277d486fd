// A work queue of string keys with client-go's semantics (see "Work queue" in
// docs/architecture.md): de-duplicated, a key never handed to two workers at once, per-key
// exponential backoff on failure, and a short debounce so that a burst of events for one key
// becomes one reconcile. Every timer and every reading of the time goes through a Clock, so
// tests drive the queue with a virtual one.
//
// Beyond client-go, due keys wait in priority lanes — configuration changes before
// housekeeping (adoptions, re-recordings) — and, inside a lane, take turns by flow (what caused
// them), so that no real change waits behind no-op or bulk work. Each lane has its own token
// bucket, and a token is a permission to WRITE: it is taken when a worker takes the key, and
// given back when the reconcile wrote nothing (done(key, { wrote: false })), so evaluating a
// workload that turns out to be up to date costs nothing.
//
// A key moves through these states; it is in at most one of the first two at any time:
//   delayed    - waiting on its own timer (debounce, backoff, addAfter)
//   due        - in its lane, waiting for a worker and a token of the lane
//   processing - handed to a worker, until done() (it may be due again meanwhile: "redo")
//
// Longer than 300 lines: lanes, flows, token buckets, debounce and backoff act on the same
// per-key state; split apart, each would reach into the others.
import { ExponentialBackoff } from '../time/backoff.ts';
import { type Clock, systemClock, type Timer } from '../time/clock.ts';
import { FairQueue } from './fair-queue.ts';
import { TokenBucket } from './rate-limiter.ts';

/** In the order they are served: a lane is served only when every lane before it is empty or out of tokens. */
export const LANES = ['change', 'housekeeping'] as const;
export type Lane = (typeof LANES)[number];

/** Where a key waits: its lane, and its flow (the cause it takes turns under) inside the lane. */
export interface Priority {
  lane: Lane;
  flow: string;
}

export interface LaneLimit {
  /** Writes per second, 0 = unlimited. */
  qps: number;
  /** Writes that may go at once before qps applies (at least 1). */
  burst: number;
  /**
   * Keys of the lane processed at once, at most (default: unlimited). Serving lanes in order
   * decides only who is taken next: with every worker inside a slow housekeeping write (an
   * adoption on a loaded apiserver), a change would wait for one to finish. Kept below the
   * number of workers, a worker is always free for a change.
   */
  maxInFlight?: number;
}

export interface WorkQueueOptions {
  /**
   * add(key) makes the key due debounceMs after its FIRST add since it was last taken; further
   * adds in the window coalesce. There is no trailing reset, so a writer in a loop cannot starve it.
   */
  debounceMs: number;
  /**
   * The change lane's write budget: writes per second (0 = unlimited) and burst. No defaults
   * here: the operator's live in its flag table, src/config/flags.ts.
   */
  qps: number;
  burst: number;
  /** The housekeeping lane's write budget. Default: unlimited. */
  housekeeping?: LaneLimit;
  /** Per-key exponential backoff for addRateLimited: base * 2^failures, no jitter. Default 200. */
  baseBackoffMs?: number;
  /** Cap of that backoff. Default 300_000. */
  maxBackoffMs?: number;
  /** Time and timers (debounce, backoff, addAfter, token waits, onTake). Default systemClock. */
  clock?: Clock;
  /**
   * Called when a worker takes a key, with how long the key was due before that: time waiting
   * for a token, for a free worker, or for its own previous run to finish. The deliberate delays
   * (debounce, backoff, addAfter) are not counted, so this measures saturation. Meant for
   * metrics; it is called synchronously and must not throw.
   */
  onTake?: (key: string, waitedMs: number, lane: Lane) => void;
  /**
   * Keys of one flow processed at once, at most (default: unlimited). Flows take turns in a
   * lane, but a fan-out of a thousand consumers would still fill every worker with slow patches
   * and an unrelated change would wait for one; kept below the number of workers, another flow
   * always finds one free.
   */
  maxInFlightPerFlow?: number;
}

interface Delayed {
  readyAt: number;
  timer: Timer;
  priority: Priority;
}

interface Due {
  priority: Priority;
  /** When it became due, for onTake. */
  dueAt: number;
  /** Matches the ticket in its lane's FairQueue while this entry is current. */
  ticket: number;
}

interface Ticket {
  key: string;
  ticket: number;
}

interface Processing {
  priority: Priority;
  /** The lane whose token the key holds (refunded when nothing was written). */
  charged: Lane;
  /** Added again while processing: due once done() is called. */
  redo?: { priority: Priority; dueAt: number };
}

const RANK: Record<Lane, number> = { change: 0, housekeeping: 1 };

/** The more urgent of two priorities; on a tie the first (the one already waiting) keeps its flow. */
function merge(current: Priority, added: Priority): Priority {
  return RANK[added.lane] < RANK[current.lane] ? added : current;
}

export class WorkQueue {
  readonly #debounceMs: number;
  readonly #clock: Clock;
  readonly #onTake: WorkQueueOptions['onTake'];
  readonly #backoff: ExponentialBackoff;
  readonly #buckets: Record<Lane, TokenBucket>;

  readonly #delayed = new Map<string, Delayed>();
  readonly #due = new Map<string, Due>();
  readonly #lanes: Record<Lane, FairQueue<Ticket>> = { change: new FairQueue(), housekeeping: new FairQueue() };
  readonly #dueIn: Record<Lane, number> = { change: 0, housekeeping: 0 };
  /** Keys taken from each lane and not done yet, and the cap of each (LaneLimit.maxInFlight). */
  readonly #inFlight: Record<Lane, number> = { change: 0, housekeeping: 0 };
  readonly #maxInFlight: Record<Lane, number>;
  /** Keys taken per flow and not done yet (flows with none are absent), and the cap. */
  readonly #flowInFlight = new Map<string, number>();
  readonly #maxInFlightPerFlow: number;
  /** Lanes that had due keys and no token at the last attempt to take one: what a token timer waits for. */
  readonly #starved = new Set<Lane>();
  #tickets = 0;
  readonly #processing = new Map<string, Processing>();
  #tokenTimer: Timer | undefined;

  /** Pending get() calls; non-empty only while nothing can be handed out. */
  readonly #takers: Array<(key: string | undefined) => void> = [];
  readonly #drainWaiters: Array<() => void> = [];
  #shuttingDown = false;

  constructor(opts: WorkQueueOptions) {
    this.#debounceMs = Math.max(0, opts.debounceMs);
    this.#clock = opts.clock ?? systemClock;
    this.#onTake = opts.onTake;
    this.#backoff = new ExponentialBackoff({ baseMs: opts.baseBackoffMs ?? 200, maxMs: opts.maxBackoffMs ?? 300_000 });
    const housekeeping = opts.housekeeping ?? { qps: 0, burst: 1 };
    this.#maxInFlight = { change: Infinity, housekeeping: Math.max(1, housekeeping.maxInFlight ?? Infinity) };
    this.#maxInFlightPerFlow = Math.max(1, opts.maxInFlightPerFlow ?? Infinity);
    this.#buckets = {
      change: new TokenBucket(opts.qps, opts.burst, this.#clock),
      housekeeping: new TokenBucket(housekeeping.qps, housekeeping.burst, this.#clock),
    };
  }

  /** Debounced and de-duplicated: the usual way to say "look at this key". Default priority: a change, its own flow. */
  add(key: string, priority?: Priority): void {
    this.#schedule(key, this.#debounceMs, priority);
  }

  /**
   * Makes the key due after delayMs (periodic resync, a requeue-after). When the key is already
   * delayed, the earlier of the two deadlines wins — so a new event (add) also cuts short a
   * pending backoff, as in client-go: level-based reconcile makes an early retry harmless.
   * Without a priority, a key being processed keeps the one it was taken with.
   */
  addAfter(key: string, delayMs: number, priority?: Priority): void {
    this.#schedule(key, delayMs, priority);
  }

  /** After a failure: retry the key after its exponential backoff, with the priority it had. */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    this.#schedule(key, this.#backoff.next(key), undefined);
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
   * Waits for a due key whose lane has a token, takes the token and marks the key processing
   * until done(key). Lanes are served in order, flows in turn. After shutDown it resolves
   * undefined.
   */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#takeNext();
    if (key !== undefined) return Promise.resolve(key);
    this.#waitForToken();
    return new Promise((resolve) => this.#takers.push(resolve));
  }

  /**
   * The worker is finished with the key. `wrote: false` says the reconcile sent no write: the
   * key's token goes back to its lane. If the key was added meanwhile, it is due again now.
   */
  done(key: string, outcome: { wrote: boolean } = { wrote: true }): void {
    const p = this.#processing.get(key);
    if (p === undefined) return;
    this.#processing.delete(key);
    this.#inFlight[p.charged]--;
    const flowCount = (this.#flowInFlight.get(p.priority.flow) ?? 1) - 1;
    if (flowCount > 0) this.#flowInFlight.set(p.priority.flow, flowCount);
    else this.#flowInFlight.delete(p.priority.flow);
    if (!outcome.wrote) this.#buckets[p.charged].giveBack();
    if (p.redo && !this.#shuttingDown) this.#enterDue(key, p.redo.priority, p.redo.dueAt);
    else this.#dispatch();
    if (this.#processing.size === 0 && this.#shuttingDown) this.#resolveDrain();
  }

  /** Keys due now, in every lane: the queue depth. */
  get length(): number {
    return this.#due.size;
  }

  /** Keys due in one lane. */
  dueIn(lane: Lane): number {
    return this.#dueIn[lane];
  }

  /** Keys waiting on a timer: debounce, backoff or addAfter. */
  get waiting(): number {
    return this.#delayed.size;
  }

  /** Due keys of lanes that are out of tokens now: held back by a write budget. */
  get throttled(): number {
    let held = 0;
    for (const lane of LANES) if (this.#dueIn[lane] > 0 && this.#buckets[lane].msUntilToken() > 0) held += this.#dueIn[lane];
    return held;
  }

  /** Keys handed to a worker and not yet done. */
  get processing(): number {
    return this.#processing.size;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Accepts no new work and drops delayed and due keys (their timers are cancelled); pending
   * and later get() calls resolve undefined.
   */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) timer.cancel();
    this.#delayed.clear();
    this.#due.clear();
    for (const lane of LANES) {
      this.#lanes[lane].clear();
      this.#dueIn[lane] = 0;
    }
    this.#tokenTimer?.cancel();
    this.#tokenTimer = undefined;
    for (const taker of this.#takers.splice(0)) taker(undefined);
    if (this.#processing.size === 0) this.#resolveDrain();
  }

  /** shutDown, then wait until every key being processed is done. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #schedule(key: string, delayMs: number, asked: Priority | undefined): void {
    if (this.#shuttingDown) return;
    const processing = this.#processing.get(key);
    const priority = asked ?? processing?.priority ?? { lane: 'change', flow: key };
    // Already due: it will be processed with no further delay, which covers this request too —
    // in the more urgent lane of the two.
    const due = this.#due.get(key);
    if (due !== undefined) {
      const merged = merge(due.priority, priority);
      if (merged !== due.priority) this.#enterDue(key, merged, due.dueAt);
      return;
    }
    if (processing?.redo) {
      processing.redo.priority = merge(processing.redo.priority, priority);
      return;
    }
    const existing = this.#delayed.get(key);
    const effective = existing ? merge(existing.priority, priority) : priority;
    if (delayMs <= 0) {
      if (existing) this.#cancelDelay(key, existing);
      this.#becomeDue(key, effective);
      return;
    }
    const readyAt = this.#clock.now() + delayMs;
    if (existing !== undefined) {
      existing.priority = effective;
      // Keeping the earlier deadline is what makes debounce coalesce without a trailing reset.
      if (existing.readyAt <= readyAt) return;
      existing.timer.cancel();
    }
    // The system clock's timers are unref'd: the queue's owner (watchers, servers) is what keeps
    // the process alive, never a pending key.
    const timer = this.#clock.after(delayMs, () => {
      const delayed = this.#delayed.get(key);
      this.#delayed.delete(key);
      this.#becomeDue(key, delayed?.priority ?? effective);
    });
    this.#delayed.set(key, { readyAt, timer, priority: effective });
  }

  #cancelDelay(key: string, delayed: Delayed): void {
    delayed.timer.cancel();
    this.#delayed.delete(key);
  }

  #becomeDue(key: string, priority: Priority): void {
    const processing = this.#processing.get(key);
    // A key still being processed waits for done(); the time counts as waiting (onTake).
    if (processing !== undefined) {
      processing.redo = { priority: processing.redo ? merge(processing.redo.priority, priority) : priority, dueAt: this.#clock.now() };
      return;
    }
    this.#enterDue(key, priority, this.#clock.now());
  }

  /** Puts the key into its lane (moving it out of another one, whose ticket goes stale). */
  #enterDue(key: string, priority: Priority, dueAt: number): void {
    const previous = this.#due.get(key);
    if (previous) this.#dueIn[previous.priority.lane]--;
    const ticket = ++this.#tickets;
    this.#due.set(key, { priority, dueAt, ticket });
    this.#dueIn[priority.lane]++;
    this.#lanes[priority.lane].push(priority.flow, { key, ticket });
    this.#dispatch();
  }

  /** The next key of the first lane that has both keys and a token; takes the token. */
  #takeNext(): string | undefined {
    this.#starved.clear();
    const eligible = (flow: string) => (this.#flowInFlight.get(flow) ?? 0) < this.#maxInFlightPerFlow;
    for (const lane of LANES) {
      if (this.#dueIn[lane] === 0 || this.#inFlight[lane] >= this.#maxInFlight[lane]) continue;
      if (!this.#buckets[lane].tryTake()) {
        this.#starved.add(lane);
        continue;
      }
      const entry = this.#lanes[lane].take((t) => this.#due.get(t.key)?.ticket === t.ticket, eligible);
      if (entry === undefined) {
        // Every flow with keys is at its share of the workers (done() wakes them), or only stale
        // tickets were left: the token stays in the lane.
        this.#buckets[lane].giveBack();
        continue;
      }
      const due = this.#due.get(entry.key) as Due;
      this.#due.delete(entry.key);
      this.#dueIn[lane]--;
      this.#processing.set(entry.key, { priority: due.priority, charged: lane });
      this.#inFlight[lane]++;
      this.#flowInFlight.set(due.priority.flow, (this.#flowInFlight.get(due.priority.flow) ?? 0) + 1);
      this.#onTake?.(entry.key, Math.max(0, this.#clock.now() - due.dueAt), lane);
      return entry.key;
    }
    return undefined;
  }

  /** Hands keys to waiting get() calls while it can. */
  #dispatch(): void {
    while (this.#takers.length > 0) {
      const key = this.#takeNext();
      if (key === undefined) break;
      (this.#takers.shift() as (key: string | undefined) => void)(key);
    }
    if (this.#takers.length > 0) this.#waitForToken();
  }

  /** Keys are due but their lanes are out of tokens: wake up when the first token is back. */
  #waitForToken(): void {
    if (this.#tokenTimer !== undefined) return;
    let wait = Infinity;
    // Only a lane that lacked a token waits for one; a lane at a cap of keys in flight (its own,
    // or every flow's) is woken by done().
    for (const lane of this.#starved) if (this.#dueIn[lane] > 0) wait = Math.min(wait, this.#buckets[lane].msUntilToken());
    if (wait === Infinity) return;
    this.#tokenTimer = this.#clock.after(Math.max(1, wait), () => {
      this.#tokenTimer = undefined;
      this.#dispatch();
    });
  }

  #resolveDrain(): void {
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }
}
