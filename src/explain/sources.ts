// `explain`, one consumed ConfigMap or Secret: how the workload references it, which keys
// count, whether the operator's watches show it, and how the recorded digest compares. Key
// names only, never a value.
import { DIGEST_FORMAT, type DigestKey, digestFormat, digestKeyId } from '../core/digest.ts';
import { matchesLabelSelector, parseLabelSelector } from '../core/label-selector.ts';
import { isMatched, type Peer, readIgnore, unmatched } from '../core/peer-annotations.ts';
import { referencesOf } from '../core/references.ts';
import type { ConsumedSource, SourceKind } from '../core/types.ts';
import type { WorkloadLike, WorkloadState } from '../state/workload-store.ts';
import type { WatchFilters } from './args.ts';
import type { ExplainedSource, Explanation, ReadResult, SourceObject } from './schema.ts';

export const RESOURCE_OF: Record<SourceKind, string> = { ConfigMap: 'configmaps', Secret: 'secrets' };

/** The permission a 403 on GET of one named object lacks. */
export function missingGetPermission(resource: string, namespace: string, name: string): string {
  return `get on ${resource}/${name} in namespace ${namespace}`;
}

export function comparison(
  optedIn: boolean, recorded: string | null, current: string | null, key: DigestKey | undefined,
): Explanation['digests']['comparison'] {
  if (!optedIn) return 'not_applicable';
  if (recorded === null) return 'none_recorded';
  if (digestFormat(recorded) !== DIGEST_FORMAT) return 'other_format';
  if (key === undefined) return 'unknown';
  if (digestKeyId(recorded) !== key.id) return 'other_key';
  if (current === null) return 'unknown';
  return recorded === current ? 'equal' : 'different';
}

export function explainSource(
  c: ConsumedSource, read: ReadResult<SourceObject>, workload: WorkloadLike, state: WorkloadState,
  sourceKinds: readonly SourceKind[], namespace: string, filtered: (kind: SourceKind, obj: SourceObject) => string | null, accept: readonly Peer[],
  maxKeys: number,
): ExplainedSource {
  const references = state.optIn.kind === 'in'
    ? referencesOf(workload.spec?.template?.spec, state.optIn, new Set(sourceKinds))
      .filter((r) => r.kind === c.kind && r.name === c.name)
      .map((r) => ({ via: r.via, keys: r.keys, optional: r.optional }))
    : [];
  const base = {
    kind: c.kind, name: c.name, optional: c.optional, references, selectedKeys: c.keys,
  };
  const unknownFilters = { watched: true, notWatchedBecause: null, ignored: false, malformedIgnore: null, overBudget: null };
  if (read.state === 'unreadable') {
    return {
      ...base, exists: null, ...unknownFilters, resourceVersion: null, keys: null, countedKeys: null, missingKeys: [], uncountedKeys: [],
      error: read.error,
      missingPermission: read.status === 403 ? missingGetPermission(RESOURCE_OF[c.kind], namespace, c.name) : null,
    };
  }
  if (read.state === 'absent') {
    return {
      ...base, exists: false, ...unknownFilters, resourceVersion: null, keys: null, countedKeys: null,
      missingKeys: c.keys ?? [], uncountedKeys: [], error: null, missingPermission: null,
    };
  }
  const obj = read.object;
  // Key names only, the same sections the digest reads (a Secret's binaryData does not exist).
  const held = [...new Set([...Object.keys(obj.data ?? {}), ...(c.kind === 'ConfigMap' ? Object.keys(obj.binaryData ?? {}) : [])])].sort();
  const selected = c.keys;
  const notWatchedBecause = filtered(c.kind, obj);
  const ignore = readIgnore(obj.metadata?.annotations, new Set(accept));
  // Counted as the digest counts them (src/core/digest.ts, sourceContent): every key of each section read.
  const keyCount = Object.keys(obj.data ?? {}).length + (c.kind === 'ConfigMap' ? Object.keys(obj.binaryData ?? {}).length : 0);
  return {
    ...base,
    exists: true,
    watched: notWatchedBecause === null,
    notWatchedBecause,
    // Reloader's search (--accept-annotations) leaves out an object without its match switch, as if ignored.
    ignored: ignore.ignored || unmatched(state.optIn, c.kind, c.name, isMatched(obj.metadata?.annotations)),
    malformedIgnore: ignore.malformed ? { value: ignore.malformed.value, problem: ignore.malformed.reason } : null,
    resourceVersion: obj.metadata?.resourceVersion ?? null,
    keys: held,
    countedKeys: selected === null ? held : selected.filter((k) => held.includes(k)),
    missingKeys: selected === null ? [] : selected.filter((k) => !held.includes(k)),
    uncountedKeys: selected === null ? [] : held.filter((k) => !selected.includes(k)),
    overBudget: keyCount > maxKeys ? { keys: keyCount, maxKeys } : null,
    error: null,
    missingPermission: null,
  };
}

/**
 * Why the operator's watches do not show it `obj` (it is absent to the operator), or null when
 * they do: the label selector of its kind, or a Secret type it excludes.
 */
export function notWatchedBy(filters: WatchFilters | undefined): (kind: SourceKind, obj: SourceObject) => string | null {
  const selectors = {
    ConfigMap: filters?.configMapSelector === undefined ? undefined : { flag: '--configmap-selector', text: filters.configMapSelector, parsed: parseLabelSelector(filters.configMapSelector) },
    Secret: filters?.secretSelector === undefined ? undefined : { flag: '--secret-selector', text: filters.secretSelector, parsed: parseLabelSelector(filters.secretSelector) },
  };
  const excluded = filters?.excludedSecretTypes ?? [];
  return (kind, obj) => {
    const selector = selectors[kind];
    if (selector && !matchesLabelSelector(selector.parsed, obj.metadata?.labels)) {
      return `outside the operator's ${selector.flag} ${JSON.stringify(selector.text)}`;
    }
    if (kind === 'Secret' && obj.type !== undefined && excluded.includes(obj.type)) {
      return `of type ${obj.type}, which the operator's --exclude-secret-types leaves out`;
    }
    return null;
  };
}

export function unwatchedReferences(workload: WorkloadLike, state: WorkloadState, sourceKinds: readonly SourceKind[]): Explanation['unwatchedReferences'] {
  if (state.optIn.kind !== 'in') return [];
  const off = (['ConfigMap', 'Secret'] as const).filter((k) => !sourceKinds.includes(k));
  if (off.length === 0) return [];
  return referencesOf(workload.spec?.template?.spec, state.optIn, new Set(off)).map((r) => ({
    kind: r.kind, name: r.name, via: r.via,
    why: `the operator does not watch ${RESOURCE_OF[r.kind]} (--config-sources ${sourceKinds.map((k) => RESOURCE_OF[k]).join(',')})`,
  }));
}
