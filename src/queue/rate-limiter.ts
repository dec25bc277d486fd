// The write budget of a lane of the work queue: a token bucket on how fast the operator writes,
// so that a buggy controller rewriting a ConfigMap or Secret in a loop cannot turn into
// thousands of rollouts (see "Work queue" in docs/architecture.md). The per-key limit, a backoff after
// failures, is src/time/backoff.ts.
import { type Clock, systemClock } from '../time/clock.ts';

/** A token bucket refilled continuously at `qps`, holding at most `burst` tokens. */
export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #refilledAt: number;

  /** qps 0 (or less) means unlimited. The bucket starts full. */
  constructor(qps: number, burst: number, clock: Clock = systemClock) {
    this.#qps = qps;
    // A burst below one would never hold a whole token.
    this.#burst = Math.max(1, burst);
    this.#clock = clock;
    this.#tokens = this.#burst;
    this.#refilledAt = clock.now();
  }

  get unlimited(): boolean {
    return this.#qps <= 0;
  }

  #refill(): void {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#refilledAt) * this.#qps) / 1000);
    this.#refilledAt = now;
  }

  tryTake(): boolean {
    if (this.unlimited) return true;
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Returns a token taken for a write that was not sent (the bucket never holds more than burst). */
  giveBack(): void {
    if (this.unlimited) return;
    this.#refill();
    this.#tokens = Math.min(this.#burst, this.#tokens + 1);
  }

  /** Milliseconds until tryTake() can succeed (0 when it can now). */
  msUntilToken(): number {
    if (this.unlimited) return 0;
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) * 1000) / this.#qps);
  }
}
