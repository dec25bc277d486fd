// Time as a dependency: every timer and every "now" the operator reads comes from a Clock, so
// that unit tests drive time themselves (test/support/virtual-clock.ts) instead of sleeping.
// Randomness (the jitter of timers) comes from the clock too: a seeded virtual clock replays a
// run exactly.

/** A scheduled callback; cancel() is idempotent and harmless after it ran. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (deadlines, backoff, rate limits): never jumps with the wall clock. */
  now(): number;
  /** Wall-clock milliseconds since the epoch, only for timestamps other processes read (a Lease). */
  wallNow(): number;
  /**
   * Runs `fn` once after `ms`. Real timers are unref'd: what keeps the process alive is its
   * watches and servers, never a pending delay.
   */
  after(ms: number, fn: () => void): Timer;
  /** Uniform in [0, 1): the jitter of backoffs and timeouts. */
  random(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  after(ms, fn) {
    const handle = setTimeout(fn, Math.max(0, ms));
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
  random: () => Math.random(),
};

/** Runs `fn` every `ms` until cancelled (a chain of after(), so a virtual clock drives it too). */
export function every(clock: Clock, ms: number, fn: () => void): Timer {
  let current: Timer | undefined;
  let cancelled = false;
  const tick = () => {
    if (cancelled) return;
    current = clock.after(ms, () => {
      fn();
      tick();
    });
  };
  tick();
  return {
    cancel() {
      cancelled = true;
      current?.cancel();
    },
  };
}

/** A promise that resolves after `ms` on `clock`, or at once when `signal` aborts. */
export function delay(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = clock.after(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    const onAbort = () => {
      timer.cancel();
      resolve();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
