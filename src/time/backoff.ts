// Exponential backoff after failures, counted per key: the work queue backs off each failing key
// on its own, and a single retry loop (a reflector's list/watch) uses one key for itself.
//
// The step after n failures is base * 2^n, capped at max. With jitter 'half' the delay is drawn
// between step/2 and step: spread enough that retries of many clients do not line up, yet never less
// than half the step, so a hot failure loop cannot retry after 0 ms as "full jitter" would allow.

/** 'none': the delay is the step itself. 'half': step/2 + random * step/2. */
export type Jitter = 'none' | 'half';

export interface ExponentialBackoffOptions {
  /** The first delay (after one failure). At least 0. */
  baseMs: number;
  /** The cap on the step; at least baseMs. */
  maxMs: number;
  /** Default 'none'. */
  jitter?: Jitter;
  /** Uniform in [0, 1); default Math.random. Injected by tests to make jitter deterministic. */
  random?: () => number;
}

/** The key of a single retry loop that does not need per-key counts. */
const SINGLE = '';

export class ExponentialBackoff {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #jitter: Jitter;
  readonly #random: () => number;
  readonly #failures = new Map<string, number>();

  constructor(opts: ExponentialBackoffOptions) {
    if (!(opts.baseMs >= 0) || !Number.isFinite(opts.baseMs)) {
      throw new RangeError(`backoff base must be a finite number >= 0, got ${opts.baseMs}`);
    }
    if (!(opts.maxMs >= opts.baseMs)) {
      throw new RangeError(`backoff max (${opts.maxMs}) must be >= its base (${opts.baseMs})`);
    }
    this.#baseMs = opts.baseMs;
    this.#maxMs = opts.maxMs;
    this.#jitter = opts.jitter ?? 'none';
    this.#random = opts.random ?? Math.random;
  }

  /**
   * Counts one more failure of `key` and returns how long to wait before retrying it. A single
   * retry loop omits the key.
   */
  next(key: string = SINGLE): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    // Past ~1000 failures 2 ** failures is Infinity and min() still caps it; a zero base would
    // make that 0 * Infinity = NaN, hence its own case.
    const step = this.#baseMs === 0 ? 0 : Math.min(this.#maxMs, this.#baseMs * 2 ** failures);
    return this.#jitter === 'half' ? step / 2 + this.#random() * (step / 2) : step;
  }

  /** Failures of `key` since it was last forgotten. */
  failures(key: string = SINGLE): number {
    return this.#failures.get(key) ?? 0;
  }

  /** After a success: the key's next failure starts again from the base. */
  forget(key: string = SINGLE): void {
    this.#failures.delete(key);
  }
}
