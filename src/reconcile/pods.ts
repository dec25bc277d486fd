// What a workload's pods run, per consumed config object: the question behind every decision
// (docs/architecture.md, "What the pods run"). Pods run the consumed content as it was at the
// last write of the pod template, by anyone. Established, in this order:
//
// 1. template: the version of that write is known (a watch event, our roll's answer, a relist's
//    range) and the object's history says what it held then;
// 2. record: the operator's record still describes the template (nobody rolled it since), so
//    the pods run what it recorded; or someone rolled it after the record, and the object was
//    not written since the record was made, so they run it as it is;
// 3. adopted: nothing is recorded and nothing known: adoption accepts what exists at the
//    moment the operator first saw the workload (the contract: adoption never rolls).
// Anything else is unknown, and an unknown falls on the side of a roll.
import type { DigestKey } from '../core/digest.ts';
import { sourceKey } from '../core/keys.ts';
import { unmatched } from '../core/peer-annotations.ts';
import { partName, type WorkloadRecord } from '../core/record.ts';
import type { SourceKind } from '../core/types.ts';
import { type SourceStore, VIEW_BEHIND } from '../state/source-store.ts';
import { parseResourceVersion } from '../core/ordering.ts';
import type { DigestMemo } from './digest-memo.ts';
import type { RecordView, VersionRange, WorkloadState } from '../state/workload-store.ts';

export interface ConsumedPart {
  readonly kind: SourceKind;
  readonly name: string;
  /** "Kind/name", as the record names it. */
  readonly id: string;
  /** What the workload reads of it now (src/core/digest.ts, sourcePart). */
  readonly current: string;
  /** What its pods run; undefined when that cannot be established (or not yet: `behind`). */
  readonly running: string | undefined;
  /** config-reload.dev/ignore: a difference in it rolls nothing. */
  readonly ignored: boolean;
  /** The watch of its kind has not shown the version asked about yet: wait for it, decide nothing. */
  readonly behind: boolean;
}

/** The stores a decision reads, one per kind of config object watched. */
export interface SourceStores {
  store(kind: SourceKind): SourceStore | undefined;
}

export interface PodsInput {
  w: WorkloadState;
  view: RecordView;
  /** The record, when it can be compared (this digest format and key); else undefined. */
  record: WorkloadRecord | undefined;
  sources: SourceStores;
  key: DigestKey;
  memo: DigestMemo;
  /**
   * 'off': resourceVersions of workloads and config objects are not comparable: the stores date
   * by arrival (src/core/ordering.ts), which holds only within this process.
   */
  ordered: boolean;
  /** Read the views as they are, even behind the version asked about (waited long enough). */
  assumeCaughtUp?: boolean;
}

export function consumedParts({ w, view, record, sources, key, memo, ordered, assumeCaughtUp = false }: PodsInput): ConsumedPart[] {
  const reference = !view.simulated ? referenceOf(w, view, record) : undefined;
  const adoptedAt = record?.at !== undefined && w.firstSeenVersion !== undefined && record.at >= w.firstSeenVersion ? w.firstSeen : undefined;
  const observedAt = parseResourceVersion(w.resourceVersion);
  const ownCurrent = record !== undefined && isOwn(w, record) && record.template === view.template;
  return w.consumed.map((c) => {
    const store = sources.store(c.kind);
    const skey = sourceKey(c.kind, w.namespace, c.name);
    const entry = store?.get(skey);
    const id = partName(c.kind, c.name);
    const current = memo.part(c, entry?.content, key);
    // Reloader's search (--accept-annotations): an object without its match switch is left out like an ignored one.
    const ignored = (entry?.ignored ?? false) || unmatched(w.optIn, c.kind, c.name, entry?.matched ?? false);
    let behind = false;
    /** The last over() asked about versions the object's history no longer reaches back to (trimmed). */
    let trimmed = false;
    /**
     * The one part the object had over [lo, hi]; undefined when not known (or not one). `wait`:
     * a watch that has not shown `hi` yet is waited for; else its view is read as it is.
     */
    const over = (lo: bigint, hi: bigint, wait: boolean): string | undefined => {
      const contents = store?.contentsOver(skey, w.namespace, lo, hi, !wait || assumeCaughtUp);
      const first = contents === undefined ? store?.history(skey)?.[0] : undefined;
      trimmed = first !== undefined && lo < first.from;
      if (contents === VIEW_BEHIND) {
        behind = true;
        return undefined;
      }
      return single(contents?.map((content) => memo.part(c, content, key)));
    };
    const known = (running: string | undefined): ConsumedPart =>
      ({ kind: c.kind, name: c.name, id, current, running, ignored, behind: running === undefined && behind });
    const started = store?.startedAt(w.namespace);
    if (reference) {
      // Without a record, a kind first listed after the adoption point counts from its list; a
      // workload of the operator's first lists is adopted with what the config objects' first
      // lists showed (the lists of one start-up are one moment to the contract).
      const from = reference.adoption ? started : undefined;
      const { lo, hi } = reference.firstList && from !== undefined ? { lo: from, hi: from } : reference.range;
      // The template write is known to this process, which looks again at every later event of
      // the object: a view behind it is read as it is, and corrected when the event arrives.
      const running = over(from !== undefined && lo < from ? from : lo, from !== undefined && hi < from ? from : hi, false);
      if (running !== undefined) return known(running);
      // A record of ours describing this template was read off this same history, and read
      // again while the history reached back (every event of the object looks again): once a
      // busy object's history no longer does (it keeps a few segments), the record speaks. (A
      // relist's gap is not forgetting: what the object held there was never known.)
      const forgotten = trimmed && ownCurrent;
      // The pods started while this process watched the object, in a relist's gap (or while the
      // object was changing there): they may run either version.
      if (!forgotten && started !== undefined && lo >= started) return known(undefined);
    }
    if (record) {
      // An object named since the record was made by this process's adoption: what the pods read
      // of it counts from that adoption's point, as for every other object then.
      const recorded = record.parts.get(id) ?? (adoptedAt !== undefined ? over(adoptedAt.lo, adoptedAt.hi, false) : undefined);
      // Unordered, a template write this process did not see cannot be placed: taken to carry
      // what the record says (`--template-order off`, README).
      // An object the record does not name (named since by annotation) was read by the pods
      // when their template was written, which this process did not see: unknown.
      if (view.template === record.template || !ordered) return known(recorded);
      // Rolled by someone after the record, so after `at` and by the version observed: an object
      // with one content over that range ran as it is.
      if (ordered && record.at !== undefined && observedAt !== undefined && observedAt > record.at) {
        // Nothing in memory dates the template write: a re-record now would be final, so the
        // watch of the object must have shown the whole range first.
        if (over(record.at + 1n, observedAt, true) === current) return known(current);
      }
      return known(undefined);
    }
    if (view.recordedDigest !== undefined && isDigest(view.recordedDigest)) return known(undefined);
    return known(current);
  });
}

/**
 * The version whose content the pods are taken to run: the last template write when known;
 * without a record, the later of that and the moment this process first saw the workload.
 */
function referenceOf(
  w: WorkloadState, view: RecordView, record: WorkloadRecord | undefined,
): { range: VersionRange; adoption: boolean; firstList: boolean } | undefined {
  const written = view.templateWritten;
  const recorded = record !== undefined || (view.recordedDigest !== undefined && isDigest(view.recordedDigest));
  // A record older than this process's first sight (an earlier opt-in, an earlier process) was
  // not made by that sight's adoption: the sight says nothing of what the pods run.
  const seen = record?.at !== undefined && w.firstSeenVersion !== undefined && record.at < w.firstSeenVersion ? undefined : w.firstSeen;
  // The record is this sight's own when this process wrote it (its adoption, or a re-record of
  // it): what it recorded was read off views that may have been behind, and is read again.
  const bySight = seen !== undefined && (!recorded || (record !== undefined && isOwn(w, record)));
  // With a record and no template write seen, the record speaks (a restart: the first list is
  // no evidence of what the pods run), unless it is this sight's. Otherwise the later of the
  // template write and the first sight: a workload seen opting in after its template was
  // written was adopted with what it read then, and that adoption's record says so.
  if (written === undefined) return bySight ? { range: seen, adoption: true, firstList: w.firstListed } : undefined;
  if (seen === undefined || written.lo >= seen.lo) return { range: written, adoption: !recorded, firstList: false };
  return { range: seen, adoption: bySight, firstList: w.firstListed };
}

/** The record is this process's own: its pending write, or the last write it made (ownRecord). */
function isOwn(w: WorkloadState, record: WorkloadRecord): boolean {
  return record === w.pendingWrite?.record || (w.ownRecord !== undefined && w.recordValue === w.ownRecord);
}

/** A well-formed digest of any format: a record made before records existed (its parts are unknown). */
function isDigest(value: string): boolean {
  return /^v[0-9]+-[0-9a-f][0-9a-f-]*$/.test(value);
}

function single(parts: readonly string[] | undefined): string | undefined {
  if (parts === undefined || parts.length === 0) return undefined;
  return parts.every((p) => p === parts[0]) ? parts[0] : undefined;
}
