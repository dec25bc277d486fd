// The digests one controller computes over and over, kept per immutable value: a change of a
// ConfigMap read by N workloads evaluates each of them several times in one synchronous pass
// (the change's fan-out, the waves' plan, the verdicts when a wave moves). Entries and contents
// are values their stores replace on any change (an unchanged content keeps its object), so
// identity is the key, and weak maps let a replaced value's digests go with it. One memo per
// controller (a field, never a module global), shared by its reconciler and its waves.
import { type DigestKey, sourcePart, workloadDigest } from '../core/digest.ts';
import type { ConsumedSource, SourceContent, SourceKind } from '../core/types.ts';
import type { WorkloadState } from '../state/workload-store.ts';

/** Parts kept per content before the map of one content is cleared (a content read in that many shapes is unusual). */
const MAX_SHAPES = 10_000;

export class DigestMemo {
  readonly #desired = new WeakMap<WorkloadState, { key: DigestKey; contents: ReadonlyArray<SourceContent | undefined>; digest: string }>();
  readonly #parts = new WeakMap<DigestKey, WeakMap<SourceContent, Map<string, string>>>();
  readonly #absentParts = new WeakMap<DigestKey, Map<string, string>>();

  /** The desired digest of `w` over `contents` (one per consumed object, in order). */
  desiredDigest(w: WorkloadState, contents: ReadonlyArray<SourceContent | undefined>, key: DigestKey): string {
    const last = this.#desired.get(w);
    if (last && last.key === key && last.contents.every((c, i) => c === contents[i])) return last.digest;
    const byName = (kind: SourceKind, name: string) => contents[w.consumed.findIndex((c) => c.kind === kind && c.name === name)];
    const digest = workloadDigest(w.consumed, byName, key);
    this.#desired.set(w, { key, contents, digest });
    return digest;
  }

  /** What a consumer of shape `c` reads of `content` (src/core/digest.ts, sourcePart): one per (content, shape). */
  part(c: ConsumedSource, content: SourceContent | undefined, key: DigestKey): string {
    const shape = `${c.kind}/${c.name}/${c.keys === null ? '*' : c.keys.join('\u0000')}`;
    let byShape: Map<string, string> | undefined;
    if (content === undefined) {
      byShape = this.#absentParts.get(key);
      if (!byShape) this.#absentParts.set(key, (byShape = new Map()));
    } else {
      let byContent = this.#parts.get(key);
      if (!byContent) this.#parts.set(key, (byContent = new WeakMap()));
      byShape = byContent.get(content);
      if (!byShape) byContent.set(content, (byShape = new Map()));
    }
    let part = byShape.get(shape);
    if (part === undefined) {
      part = sourcePart(c, content, key);
      if (byShape.size > MAX_SHAPES) byShape.clear();
      byShape.set(shape, part);
    }
    return part;
  }
}
