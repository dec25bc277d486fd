// Keys are types: a workload key and a config-object key are built here and nowhere else, and
// nothing ever splits one back into its parts — entries carry their kind, namespace and name.
import type { WorkloadKind } from './kinds.ts';
import type { SourceKind } from './types.ts';

declare const brand: unique symbol;

/** The kinds are data: src/core/kinds.ts. */
export type { WorkloadKind } from './kinds.ts';

/** `Kind/namespace/name`: the work-queue key of a workload. */
export type WorkloadKey = string & { readonly [brand]: 'WorkloadKey' };

/** `Kind/namespace/name` of a ConfigMap or Secret. */
export type SourceKey = string & { readonly [brand]: 'SourceKey' };

export function workloadKey(kind: WorkloadKind, namespace: string, name: string): WorkloadKey {
  return `${kind}/${namespace}/${name}` as WorkloadKey;
}

export function sourceKey(kind: SourceKind, namespace: string, name: string): SourceKey {
  return `${kind}/${namespace}/${name}` as SourceKey;
}

export interface NamedObject {
  metadata?: { namespace?: string; name?: string };
}

export function sourceKeyOf(kind: SourceKind, obj: NamedObject): SourceKey {
  return sourceKey(kind, obj.metadata?.namespace ?? '', obj.metadata?.name ?? '');
}
