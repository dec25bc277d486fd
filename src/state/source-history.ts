// What one config object's content was, by resourceVersion, as far as this process saw it: a
// short list of segments, each a content (undefined: absent) known to hold from one version on.
// The pods of a workload run the content of its last pod-template write; when the operator
// knows that write's version (a watch event, its own roll), this history says what content that
// was (docs/architecture.md, "What the pods run").
//
// What is known and what is not, exactly:
// - a watch event shows the write it carries: the content changed at that version, exactly;
// - a list shows each object as of its own last write: its content holds from that version on,
//   and nothing is known of what came before (an object absent from a list: absent from the
//   list's version on);
// - a relist after a broken watch (410) knows nothing between the last version the watch showed
//   and what the list shows: the earlier segment ends there, leaving a gap.
// A query over a gap or before the first segment is unknown, and unknown falls on the safe side.
import type { SourceContent } from '../core/types.ts';

export interface Segment {
  /** The first version at which this content is known to hold. */
  readonly from: bigint;
  /** The last version at which it is known to hold; undefined: up to the next segment (or now). */
  readonly until: bigint | undefined;
  readonly content: SourceContent | undefined;
}

export type History = readonly Segment[];

/** Segments kept per object: older ones are forgotten (their versions become unknown). */
export const MAX_SEGMENTS = 8;

/** The history after a watch event at `version` showed `content` (a content change, or a deletion). */
export function changedAt(history: History | undefined, version: bigint, content: SourceContent | undefined): History {
  return trim([...(history ?? []), Object.freeze({ from: version, until: undefined, content })]);
}

/**
 * The history after a list (a relist included) showed `content` as of the object's own last
 * write `writtenAt` (for an object absent from the list: the list's version). `seenUntil`: the
 * last version this process's view of the kind had reached before the list; undefined before
 * the first list. `same`: the content equals the last segment's.
 */
export function listedAt(
  history: History | undefined, writtenAt: bigint, content: SourceContent | undefined, seenUntil: bigint | undefined, same: boolean,
): History {
  const last = history?.at(-1);
  // Not written since the view last saw it: the segment simply goes on.
  if (last && same && seenUntil !== undefined && writtenAt <= seenUntil) return history!;
  const closed = last && last.until === undefined && seenUntil !== undefined
    ? [...history!.slice(0, -1), Object.freeze({ ...last, until: seenUntil < last.from ? last.from : seenUntil })]
    : [...(history ?? [])];
  return trim([...closed, Object.freeze({ from: writtenAt, until: undefined, content })]);
}

/**
 * Every content the object may have had at some version in [lo, hi] (hi undefined: up to now),
 * or undefined when part of that range is not covered (before the history, or in a gap).
 */
export function contentsOver(history: History | undefined, lo: bigint, hi: bigint | undefined): Array<SourceContent | undefined> | undefined {
  if (!history || history.length === 0) return undefined;
  const out: Array<SourceContent | undefined> = [];
  // The range is covered from `covered` on; walk the segments in order.
  let covered = lo;
  for (let i = 0; i < history.length; i++) {
    const s = history[i]!;
    const end = s.until ?? (i + 1 < history.length ? history[i + 1]!.from - 1n : undefined);
    if (end !== undefined && end < covered) continue;
    if (s.from > covered) return undefined;
    out.push(s.content);
    if (end === undefined || (hi !== undefined && end >= hi)) return out;
    covered = end + 1n;
  }
  return undefined;
}

/** The version since which the current content holds, as far as known (undefined: no history). */
export function currentSince(history: History | undefined): bigint | undefined {
  return history?.at(-1)?.from;
}

function trim(history: Segment[]): History {
  return Object.freeze(history.length > MAX_SEGMENTS ? history.slice(history.length - MAX_SEGMENTS) : history);
}
