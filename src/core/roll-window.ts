// Roll windows (config-reload.dev/window, docs/annotations.md#roll-windows-and-pauses): when a
// workload may roll, in the wall time of an IANA zone. Pure: the zone's offsets come from
// Intl.DateTimeFormat (the ICU data Node ships), "now" is a parameter.
//
// Grammar, whitespace-separated: [DAYS] RANGES ZONE
//   DAYS   = DAY or DAY-DAY, comma-separated (Mon Tue Wed Thu Fri Sat Sun; a range may wrap:
//            Fri-Mon); absent: every day
//   RANGES = HH:MM-HH:MM, comma-separated; the end is excluded, 24:00 ends at midnight, and an
//            end before the start crosses midnight (22:00-06:00 opens on the days listed)
//   ZONE   = an IANA zone (Europe/Berlin, America/New_York, UTC)
// Wall time is what a clock in the zone shows: a start skipped by a spring-forward change opens
// the window when the clocks jump past it, and a fall-back hour that repeats a range's times
// opens it again.

import type { RollWindow } from './types.ts';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** How far nextOpening looks: a week, and a week more for a window a clock change skipped once. */
const HORIZON_MS = 15 * DAY_MS;
/** Clock changes are months apart: probing every 6 hours finds each, then a bisection dates it. */
const PROBE_MS = 6 * 3_600_000;

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** The window, or the reason it cannot be read. */
export function parseWindow(text: string): RollWindow | { problem: string } {
  // "Mon, Wed" and "09:00 - 17:00" are what people type: spaces around ',' and '-' are dropped.
  const tokens = text.trim().replace(/\s*([,-])\s*/g, '$1').split(/\s+/).filter((t) => t !== '');
  if (tokens.length < 2 || tokens.length > 3) {
    return { problem: 'expected [DAYS] HH:MM-HH:MM[,HH:MM-HH:MM] ZONE, e.g. "Mon-Fri 09:00-17:00 Europe/Berlin"' };
  }
  const zoneText = tokens[tokens.length - 1]!;
  const zone = resolveZone(zoneText);
  if (zone === undefined) return { problem: `${JSON.stringify(zoneText.slice(0, 60))} is not a time zone Intl knows (an IANA name such as Europe/Berlin)` };
  const days = tokens.length === 3 ? parseDays(tokens[0]!) : [0, 1, 2, 3, 4, 5, 6];
  if (!Array.isArray(days)) return days;
  const ranges = parseRanges(tokens[tokens.length - 2]!);
  if (!Array.isArray(ranges)) return ranges;
  return { text, days, ranges, zone };
}

function resolveZone(name: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

function dayOf(name: string): number | undefined {
  const i = DAY_NAMES.indexOf(name.toLowerCase() as (typeof DAY_NAMES)[number]);
  return i < 0 ? undefined : i;
}

function parseDays(text: string): number[] | { problem: string } {
  const days = new Set<number>();
  for (const item of text.split(',')) {
    const [from, to, extra] = item.split('-');
    const a = dayOf(from ?? '');
    const b = to === undefined ? a : dayOf(to);
    if (a === undefined || b === undefined || extra !== undefined) {
      return { problem: `${JSON.stringify(item.slice(0, 20))} is not a day or a range of days (Mon, Tue, Wed, Thu, Fri, Sat, Sun; e.g. Mon-Fri)` };
    }
    for (let d = a; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === b) break;
    }
  }
  return [...days].sort((x, y) => x - y);
}

function minutesOf(text: string, end: boolean): number | undefined {
  const m = /^(\d\d):(\d\d)$/.exec(text);
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (end && h === 24 && min === 0) return 24 * 60;
  return h < 24 && min < 60 ? h * 60 + min : undefined;
}

function parseRanges(text: string): Array<[number, number]> | { problem: string } {
  const ranges: Array<[number, number]> = [];
  for (const item of text.split(',')) {
    const [from, to, extra] = item.split('-');
    const s = minutesOf(from ?? '', false);
    const e = minutesOf(to ?? '', true);
    if (s === undefined || e === undefined || extra !== undefined) {
      return { problem: `${JSON.stringify(item.slice(0, 20))} is not a range of times HH:MM-HH:MM (00:00 to 24:00)` };
    }
    if (s === e) return { problem: `${JSON.stringify(item)} is empty: its start and end are the same time` };
    ranges.push([s, e]);
  }
  return ranges;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** What a clock in `zone` shows at `instant`, as milliseconds of a UTC date with those fields (whole seconds). */
export function wallTime(zone: string, instant: number): number {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(zone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(instant)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p['year']!, p['month']! - 1, p['day']!, p['hour']! % 24, p['minute']!, p['second']!);
}

/** The zone's offset from UTC at `instant`. */
function offsetAt(zone: string, instant: number): number {
  return wallTime(zone, instant) - Math.floor(instant / 1000) * 1000;
}

function weekday(wall: number): number {
  return (Math.floor(wall / DAY_MS) + 4) % 7; // 1970-01-01 was a Thursday
}

/** Whether a wall time (as wallTime returns it) is inside the window. */
function openAtWall(w: RollWindow, wall: number): boolean {
  const day = weekday(wall);
  const minute = Math.floor((((wall % DAY_MS) + DAY_MS) % DAY_MS) / MINUTE_MS);
  return w.ranges.some(([s, e]) => e > s
    ? w.days.includes(day) && minute >= s && minute < e
    : (w.days.includes(day) && minute >= s) || (w.days.includes((day + 6) % 7) && minute < e));
}

export function isOpen(w: RollWindow, instant: number): boolean {
  return openAtWall(w, wallTime(w.zone, instant));
}

/**
 * The first instant at or after `now` at which the window is open (`now` itself when it is);
 * undefined when it does not open within 15 days. Walks the stretches of constant offset: within
 * one, wall time is the instant plus the offset, and the window opens at its first range start
 * after the stretch begins (or at the stretch's start, a clock change into an open range).
 */
export function nextOpening(w: RollWindow, now: number): number | undefined {
  if (isOpen(w, now)) return now;
  const horizon = now + HORIZON_MS;
  let start = Math.floor(now / 1000) * 1000;
  while (start < horizon) {
    const offset = offsetAt(w.zone, start);
    const end = nextChange(w.zone, start, offset, horizon);
    const wall = firstOpenWall(w, start + offset, end + offset);
    if (wall !== undefined) return Math.max(now, wall - offset);
    start = end;
  }
  return undefined;
}

/** The first instant after `start` at which the zone's offset is not `offset`, or `horizon`. */
function nextChange(zone: string, start: number, offset: number, horizon: number): number {
  for (let before = start, probe = start + PROBE_MS; before < horizon; before = probe, probe += PROBE_MS) {
    const at = Math.min(probe, horizon);
    if (offsetAt(zone, at) === offset) continue;
    // Offsets change on whole seconds: bisect to one.
    let lo = before;
    let hi = at;
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (offsetAt(zone, mid) === offset) lo = mid;
      else hi = mid;
    }
    return hi;
  }
  return horizon;
}

/** The first wall time in [lo, hi) at which the window is open, if any. */
function firstOpenWall(w: RollWindow, lo: number, hi: number): number | undefined {
  if (openAtWall(w, lo)) return lo;
  let best: number | undefined;
  for (let day = Math.floor(lo / DAY_MS); day * DAY_MS < hi; day++) {
    if (!w.days.includes(weekday(day * DAY_MS))) continue;
    for (const [s] of w.ranges) {
      const at = day * DAY_MS + s * MINUTE_MS;
      if (at > lo && at < hi && (best === undefined || at < best)) best = at;
    }
  }
  return best;
}

/** An instant as the zone's clock shows it: `Mon 2026-03-30 09:00 Europe/Berlin`. */
export function describeInZone(zone: string, instant: number): string {
  const wall = wallTime(zone, instant);
  const day = DAY_NAMES[weekday(wall)]!;
  return `${day[0]!.toUpperCase()}${day.slice(1)} ${new Date(wall).toISOString().slice(0, 16).replace('T', ' ')} ${zone}`;
}
