// What the sections of summary.md and plot.svg share: the targets, number and size formats,
// the label of a scale scenario and its restart.
import type { ScaleResult, StartupResult } from '../scenarios/scale.ts';
import { mib } from '../lib/stats.ts';

export const TARGETS = {
  p99Ratio: 1.2,
  rssMiB: 100,
  syncedMs: 5000,
};

export const fmt = (x: number | null | undefined, digits = 0) => (typeof x !== 'number' || !Number.isFinite(x) ? '—' : x.toFixed(digits));
export const kib = (bytes: number) => `${Math.round(bytes / 1024)} KiB`;
export const ok = (pass: boolean) => (pass ? '✅' : '❌');
export const share = (r: ScaleResult) => r.secretShare ?? 0;
export const scaleLabel = (r: ScaleResult) => `${r.n.toLocaleString('en-US')} × ${kib(r.configMapBytes)}${share(r) > 0 ? `, ${share(r) === 0.5 ? 'half' : `${Math.round(share(r) * 100)}%`} Secrets` : ''}`;
export const mibText = (bytes: number | undefined, digits = 1) => `${fmt(mib(bytes ?? NaN), digits)} MiB`;
/** Bytes: KiB below 1 MiB, else MiB. */
export const size = (bytes: number) => (!Number.isFinite(bytes) ? '—' : bytes < 1024 * 1024 ? `${fmt(bytes / 1024, 0)} KiB` : `${fmt(bytes / 1024 / 1024, 1)} MiB`);
/** A difference in bytes: KiB below 1 MiB, else MiB, with its sign. */
export const signed = (bytes: number) => {
  if (!Number.isFinite(bytes)) return '—';
  const sign = bytes < 0 ? '−' : '+';
  const abs = Math.abs(bytes);
  if (abs < 512) return '±0 KiB';
  return abs < 1024 * 1024 ? `${sign}${fmt(abs / 1024, 0)} KiB` : `${sign}${fmt(abs / 1024 / 1024, 1)} MiB`;
};

export function restart(r: ScaleResult): StartupResult | undefined {
  return r.startups.find((s) => s.kind === 'restart');
}

