// The one duration grammar: flags (src/config/values.ts) and the per-workload debounce annotation
// (src/core/hold.ts) read durations alike. Bounds are each caller's.

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `250ms`, `2s`, `1.5m`, `1h` or `0`, in milliseconds; undefined when the text is not one. */
export function durationMs(raw: string): number | undefined {
  const trimmed = raw.trim();
  if (trimmed === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(trimmed);
  return m ? Math.round(Number(m[1]) * UNITS[m[2] as string]!) : undefined;
}
