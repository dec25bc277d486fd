// A Clock whose time moves only when a test moves it. Timers fire in deadline order (ties in
// the order they were set); between two firings pending promise callbacks are flushed, so async
// code that a timer wakes runs before the next timer, as it would on a real event loop.
import type { Clock, Timer } from '../../src/time/clock.ts';
import { Rng } from './rng.ts';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Lets queued promise callbacks (and what they queue in turn) run. */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}

export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #pending: Pending[] = [];
  readonly #wallOffset: number;
  readonly #random: Rng;

  /** `seed`: of random(), so that the jitter of every timer replays the same way each run. */
  constructor(start = 1_000_000, wallStart = Date.UTC(2026, 0, 1), seed = 0x5eed) {
    this.#now = start;
    this.#wallOffset = wallStart - start;
    this.#random = new Rng(seed);
  }

  random(): number {
    return this.#random.next();
  }

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return this.#now + this.#wallOffset;
  }

  after(ms: number, fn: () => void): Timer {
    const entry: Pending = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#pending.push(entry);
    return { cancel: () => void (entry.cancelled = true) };
  }

  /** Timers set and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.#pending.filter((p) => !p.cancelled).length;
  }

  /** When the next live timer is due, or undefined when none is set. */
  get nextDue(): number | undefined {
    return this.#next()?.at;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    await flushMicrotasks();
    for (;;) {
      const next = this.#next();
      if (next === undefined || next.at > until) break;
      this.#pending = this.#pending.filter((p) => p !== next);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
      await flushMicrotasks();
    }
    this.#now = until;
  }

  /** Fires timers until none is left due within `limitMs` from now; returns the time spent. */
  async runUntilIdle(limitMs = 3_600_000): Promise<number> {
    const start = this.#now;
    await flushMicrotasks();
    for (;;) {
      const next = this.#next();
      if (next === undefined || next.at - start > limitMs) break;
      await this.advance(next.at - this.#now);
    }
    return this.#now - start;
  }

  #next(): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.#pending) {
      if (p.cancelled) continue;
      if (best === undefined || p.at < best.at || (p.at === best.at && p.seq < best.seq)) best = p;
    }
    this.#pending = this.#pending.filter((p) => !p.cancelled);
    return best;
  }
}
