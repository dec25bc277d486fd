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
import { type DigestKey, sourcePart } from '../core/digest.ts';
import { sourceKey } from '../core/keys.ts';
import { partName, type WorkloadRecord } from '../core/record.ts';
import type { ConsumedSource, SourceContent, SourceKind } from '../core/types.ts';
import type { SourceStore } from '../state/source-store.ts';
import type { RecordView, VersionRange, WorkloadState } from '../state/workload-store.ts';

export type Basis = 'template' | 'record' | 'unchanged' | 'adopted';

export interface ConsumedPart {
  readonly kind: SourceKind;
  readonly name: string;
  /** "Kind/name", as the record names it. */
  readonly id: string;
  /** What the workload reads of it now (src/core/digest.ts, sourcePart). */
  readonly current: string;
  /** What its pods run; undefined when that cannot be established. */
  readonly running: string | undefined;
  readonly basis: Basis | undefined;
  /** config-reload.dev/ignore: a difference in it rolls nothing. */
  readonly ignored: boolean;
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
  /** 'off': versions of workloads and config objects are not comparable (src/core/ordering.ts). */
  ordered: boolean;
}

export function consumedParts({ w, view, record, sources, key, ordered }: PodsInput): ConsumedPart[] {
  const reference = ordered && !view.simulated ? referenceOf(w, view, record) : undefined;
  return w.consumed.map((c) => {
    const store = sources.store(c.kind);
    const skey = sourceKey(c.kind, w.namespace, c.name);
    const entry = store?.get(skey);
    const id = partName(c.kind, c.name);
    const current = partOf(c, entry?.content, key);
    const ignored = entry?.ignored ?? false;
    const at = (range: VersionRange | undefined, clampTo?: bigint): string | undefined => {
      if (range === undefined || store === undefined) return undefined;
      const lo = clampTo !== undefined && range.lo < clampTo ? clampTo : range.lo;
      const hi = clampTo !== undefined && range.hi < clampTo ? clampTo : range.hi;
      return single(store.contentsOver(skey, w.namespace, lo, hi)?.map((content) => partOf(c, content, key)));
    };
    const known = (running: string | undefined, basis: Basis | undefined): ConsumedPart => ({ kind: c.kind, name: c.name, id, current, running, basis, ignored });
    if (reference) {
      // Without a record, a kind first listed after the adoption point counts from its list.
      const running = at(reference.range, reference.adoption ? store?.startedAt(w.namespace) : undefined);
      if (running !== undefined) return known(running, 'template');
      // No record, and the workload appeared (or opted in) somewhere in a relist's gap while the
      // object was changing: its pods may run either.
      if (reference.adoption && reference.range.lo < reference.range.hi) return known(undefined, 'template');
    }
    if (record) {
      const recorded = record.parts.get(id);
      if (view.template === record.template || !ordered) return known(recorded ?? current, recorded === undefined ? 'adopted' : 'record');
      // Rolled by someone after the record, so after `at`: an object not written since then ran as it is.
      if (record.at !== undefined && store !== undefined) {
        const since = single(store.contentsOver(skey, w.namespace, record.at + 1n, undefined)?.map((content) => partOf(c, content, key)));
        if (since === current) return known(current, 'unchanged');
      }
      return known(undefined, undefined);
    }
    if (view.recordedDigest !== undefined && isDigest(view.recordedDigest)) return known(undefined, undefined);
    return known(current, 'adopted');
  });
}

/**
 * The version whose content the pods are taken to run: the last template write when known;
 * without a record, the later of that and the moment this process first saw the workload.
 */
function referenceOf(w: WorkloadState, view: RecordView, record: WorkloadRecord | undefined): { range: VersionRange; adoption: boolean } | undefined {
  const written = view.templateWritten;
  if (record !== undefined || (view.recordedDigest !== undefined && isDigest(view.recordedDigest))) {
    return written ? { range: written, adoption: false } : undefined;
  }
  const seen = w.firstSeen;
  if (written === undefined) return seen ? { range: seen, adoption: true } : undefined;
  if (seen === undefined || written.lo >= seen.lo) return { range: written, adoption: true };
  return { range: seen, adoption: true };
}

/** A well-formed digest of any format: a record made before records existed (its parts are unknown). */
function isDigest(value: string): boolean {
  return /^v[0-9]+-[0-9a-f][0-9a-f-]*$/.test(value);
}

function single(parts: readonly string[] | undefined): string | undefined {
  if (parts === undefined || parts.length === 0) return undefined;
  return parts.every((p) => p === parts[0]) ? parts[0] : undefined;
}

/**
 * One part per (content, consumer shape): a shared ConfigMap's change evaluates each of its
 * consumers several times in one pass (fan-out, waves), and contents are immutable values the
 * stores replace on change, so the content object is the key.
 */
const parts = new WeakMap<DigestKey, WeakMap<SourceContent, Map<string, string>>>();
const absentParts = new WeakMap<DigestKey, Map<string, string>>();

function partOf(c: ConsumedSource, content: SourceContent | undefined, key: DigestKey): string {
  const shape = `${c.kind}/${c.name}/${c.keys === null ? '*' : c.keys.join('\u0000')}`;
  let byShape: Map<string, string> | undefined;
  if (content === undefined) {
    byShape = absentParts.get(key);
    if (!byShape) absentParts.set(key, (byShape = new Map()));
  } else {
    let byContent = parts.get(key);
    if (!byContent) parts.set(key, (byContent = new WeakMap()));
    byShape = byContent.get(content);
    if (!byShape) byContent.set(content, (byShape = new Map()));
  }
  let part = byShape.get(shape);
  if (part === undefined) {
    part = sourcePart(c, content, key);
    if (byShape.size > 10_000) byShape.clear();
    byShape.set(shape, part);
  }
  return part;
}
