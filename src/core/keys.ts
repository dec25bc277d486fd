// Keys are types: a workload key and a ConfigMap key are built here and nowhere else, and
// nothing ever splits one back into its parts — entries carry their namespace and name.
declare const brand: unique symbol;

export type WorkloadKind = 'Deployment';

/** `Kind/namespace/name`: the work-queue key of a workload. */
export type WorkloadKey = string & { readonly [brand]: 'WorkloadKey' };

/** `namespace/name` of a ConfigMap. */
export type ConfigMapKey = string & { readonly [brand]: 'ConfigMapKey' };

export function workloadKey(kind: WorkloadKind, namespace: string, name: string): WorkloadKey {
  return `${kind}/${namespace}/${name}` as WorkloadKey;
}

export function configMapKey(namespace: string, name: string): ConfigMapKey {
  return `${namespace}/${name}` as ConfigMapKey;
}

export interface NamedObject {
  metadata?: { namespace?: string; name?: string };
}

export function configMapKeyOf(obj: NamedObject): ConfigMapKey {
  return configMapKey(obj.metadata?.namespace ?? '', obj.metadata?.name ?? '');
}
