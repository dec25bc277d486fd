// The two limits of the work queue: a per-key exponential backoff after failures, and a global
// token bucket on how fast keys become ready (design §4: a controller rewriting a Secret in a
// loop must not turn into thousands of rollouts).

export type Clock = () => number;

/** Per-key delay after failures: base * 2^failures, capped. */
export class ExponentialBackoff {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #failures = new Map<string, number>();

  constructor(baseMs: number, maxMs: number) {
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  /** Counts one more failure of `key` and returns how long to wait before retrying it. */
  next(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    // After ~1000 failures 2 ** failures is Infinity; min() still caps it, so no overflow check.
    return Math.min(this.#maxMs, this.#baseMs * 2 ** failures);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }
}

/** A token bucket refilled continuously at `qps`, holding at most `burst` tokens. */
export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  readonly #now: Clock;
  #tokens: number;
  #refilledAt: number;

  /** qps 0 (or less) means unlimited. */
  constructor(qps: number, burst: number, now: Clock) {
    this.#qps = qps;
    // A burst below one would never hold a whole token.
    this.#burst = Math.max(1, burst);
    this.#now = now;
    this.#tokens = this.#burst;
    this.#refilledAt = now();
  }

  get unlimited(): boolean {
    return this.#qps <= 0;
  }

  #refill(): void {
    const now = this.#now();
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

  /** Milliseconds until tryTake() can succeed (0 when it can now). */
  msUntilToken(): number {
    if (this.unlimited) return 0;
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) * 1000) / this.#qps);
  }
}
