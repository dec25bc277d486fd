// Small helpers of the harness: pauses between polls, polling until a reading stands still,
// shuffling, rounding.

/** The pause between two polls of a condition (never a wait that stands for one). */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Reads `read` every `periodMs` until `samples` readings in a row are `same` as the one before
 * (at most `maxPolls` polls), and returns the last: counters that stopped moving, a settled RSS.
 */
export async function untilStill<T>(read: () => Promise<T>, same: (a: T, b: T) => boolean, periodMs = 1000, samples = 2, maxPolls = 120): Promise<T> {
  let before = await read();
  for (let i = 0, still = 0; i < maxPolls && still < samples; i++) {
    await sleep(periodMs);
    const now = await read();
    still = same(before, now) ? still + 1 : 0;
    before = now;
  }
  return before;
}

export function shuffled<T>(items: readonly T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

export const round1 = (x: number) => Math.round(x * 10) / 10;
