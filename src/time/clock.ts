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

/**
 * The longest delay a host timer takes: Node (like browsers) stores it in a signed 32-bit int, and
 * anything longer (2³¹ ms, about 24.8 days, and up) is armed as 1 ms, with only a warning. A
 * 1000 h watchdog then fired at once, over and over: 640 watch requests in 2 s.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The host's timers, injected so that a test can see what is armed (globalThis by default). */
export interface TimerHost {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const nodeTimers: TimerHost = {
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * `fn` after `ms` on `host`, whatever `ms` is: a delay past MAX_TIMER_MS is a chain of host timers
 * none longer than it (so it fires when due, never early); Infinity never fires; a negative delay
 * is 0. NaN is a bug of the caller, refused rather than turned into 1 ms.
 */
export function hostTimer(host: TimerHost, ms: number, fn: () => void): Timer {
  if (Number.isNaN(ms)) throw new RangeError('timer delay is NaN');
  let remaining = Math.max(0, ms);
  let handle: unknown;
  let cancelled = false;
  const arm = () => {
    if (remaining === Infinity) return; // never due: nothing to arm
    const step = Math.min(remaining, MAX_TIMER_MS);
    remaining -= step;
    handle = host.setTimeout(() => {
      if (cancelled) return;
      if (remaining > 0) arm();
      else fn();
    }, step);
  };
  arm();
  return {
    cancel() {
      cancelled = true;
      if (handle !== undefined) host.clearTimeout(handle);
    },
  };
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  after: (ms, fn) => hostTimer(nodeTimers, ms, fn),
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
