// When a workload may roll (docs/rules.md#pauses-windows-and-debounce): its pause switch, its roll
// window and its own debounce, read from its annotations, and the last step of a decision — a
// roll that may not happen now is held (decision `paused` or `outside_window`), nothing else
// changes. Holding is level-based: nothing is remembered of what was held; once the pause is
// lifted or the window opens the chain decides again from what the cluster holds, so the pods
// roll once if they run other configuration than the current one, and not at all if a change
// was reverted meanwhile. Adoptions and re-records are never held (they roll nothing).
import { DEBOUNCE_ANNOTATION, PAUSED_ANNOTATION, quoteValue, WINDOW_ANNOTATION } from './annotations.ts';
import { durationMs } from './duration.ts';
import { describeInZone, nextOpening, parseWindow } from './roll-window.ts';
import type { Decision, Hold, OptIn } from './types.ts';

export type { Hold } from './types.ts';

/** The longest per-workload debounce: a longer wait is what a window is for. */
export const MAX_DEBOUNCE_MS = 3_600_000;

type Read = { ok: true; hold: Hold | undefined } | { ok: false; annotation: string; value: string; reason: string };

/** Reads the pause, window and debounce annotations of a workload; a malformed one is said, never guessed. */
export function parseHold(annotations: Record<string, string> | undefined): Read {
  const hold: Hold = {};
  const paused = annotations?.[PAUSED_ANNOTATION];
  if (paused !== undefined) {
    const v = paused.trim().toLowerCase();
    if (v !== 'true' && v !== 'false') return { ok: false, annotation: PAUSED_ANNOTATION, value: paused, reason: 'expected "true" or "false"' };
    if (v === 'true') hold.paused = true;
  }
  const window = annotations?.[WINDOW_ANNOTATION];
  if (window !== undefined) {
    const parsed = parseWindow(window);
    if ('problem' in parsed) return { ok: false, annotation: WINDOW_ANNOTATION, value: window, reason: parsed.problem };
    hold.window = parsed;
  }
  const debounce = annotations?.[DEBOUNCE_ANNOTATION];
  if (debounce !== undefined) {
    const ms = durationMs(debounce);
    if (ms === undefined || ms > MAX_DEBOUNCE_MS) {
      return { ok: false, annotation: DEBOUNCE_ANNOTATION, value: debounce, reason: 'expected a duration from 0 to 1h, such as 500ms, 30s or 5m' };
    }
    hold.debounceMs = ms;
  }
  return { ok: true, hold: Object.keys(hold).length > 0 ? hold : undefined };
}

/**
 * The opt-in with the workload's hold: an opted-in workload carries it (`hold`, only when one is
 * set); a malformed hold annotation makes the opt-in malformed, so the workload is left alone
 * and said so like any other malformed annotation.
 */
export function withHold(optIn: OptIn, annotations: Record<string, string> | undefined): OptIn {
  if (optIn.kind !== 'in') return optIn;
  const read = parseHold(annotations);
  if (!read.ok) return { kind: 'malformed', annotation: read.annotation, value: read.value, reason: read.reason };
  return read.hold === undefined ? optIn : { ...optIn, hold: read.hold };
}

/** The hold of a workload as a decision reads it. */
export interface HoldState {
  hold: Hold | undefined;
  /** The workload's resourceVersion when this process first saw it paused: one pause, one notice. */
  pausedSince: string | undefined;
  /** Wall-clock milliseconds since the epoch. */
  wallNow: number;
}

/** A roll that may not happen now becomes a hold; every other decision passes unchanged. */
export function holdRoll(decision: Decision, { hold, pausedSince, wallNow }: HoldState): Decision {
  if (decision.action !== 'roll' || hold === undefined) return decision;
  const what = decision.for !== undefined && decision.for.length > 0 ? `${[...decision.for].sort().join(', ')} changed` : 'the consumed configuration changed';
  const held = { action: 'none' as const, ...(decision.for ? { for: decision.for } : {}) };
  if (hold.paused) {
    return {
      ...held, code: 'paused', notice: 'RollPaused', cause: `paused since resourceVersion ${pausedSince ?? '?'}`,
      reason: `${what}: roll held, the workload is paused (${PAUSED_ANNOTATION}: "true"); unpausing rolls it once if its pods still run other configuration than the current one`,
    };
  }
  if (hold.window === undefined) return decision;
  const opens = nextOpening(hold.window, wallNow);
  if (opens === wallNow) return decision;
  const window = `${WINDOW_ANNOTATION} ${quoteValue(hold.window.text)}`;
  if (opens === undefined) {
    return { ...held, code: 'outside_window', notice: 'RollOutsideWindow', cause: 'outside window, not opening', reason: `${what}: roll held, outside ${window}, which does not open in the next 15 days` };
  }
  const when = `${describeInZone(hold.window.zone, opens)} (${new Date(opens).toISOString()})`;
  return {
    ...held, code: 'outside_window', notice: 'RollOutsideWindow', cause: `outside window until ${new Date(opens).toISOString()}`, until: opens,
    reason: `${what}: roll held outside ${window} until it opens at ${when}`,
  };
}
