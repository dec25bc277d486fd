// What the oracle reads of the API objects it watches, parsed here from plain JSON. Written for
// the soak from the README's Annotations section, sharing no code with src/: a reading of the
// contract that disagrees with the operator's is what the soak is there to find.

export const HASH = 'config-reload.dev/config-hash';
export const ENABLED = 'config-reload.dev/enabled';
export const NAMED = 'config-reload.dev/configmaps';
export const REVISION = 'deployment.kubernetes.io/revision';

export interface Meta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  ownerReferences?: Array<{ uid?: string; kind?: string }>;
}

export interface KubeObject {
  metadata?: Meta;
}

export interface ConfigMapObject extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

interface PodTemplate {
  metadata?: { annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: PodSpec;
}

interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  volumes?: Array<{
    configMap?: { name?: string; optional?: boolean; items?: Array<{ key?: string }> };
    projected?: { sources?: Array<{ configMap?: { name?: string; optional?: boolean; items?: Array<{ key?: string }> } }> };
  }>;
}

interface Container {
  envFrom?: Array<{ configMapRef?: { name?: string; optional?: boolean } }>;
  env?: Array<{ valueFrom?: { configMapKeyRef?: { name?: string; key?: string; optional?: boolean } } }>;
}

export interface DeploymentObject extends KubeObject {
  spec?: { replicas?: number; paused?: boolean; template?: PodTemplate };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number };
}

export interface ReplicaSetObject extends KubeObject {
  spec?: { replicas?: number; template?: PodTemplate };
}

/** One consumed ConfigMap: the keys read (null: all of them), and whether it may be absent. */
export interface Ref {
  name: string;
  keys: string[] | null;
  optional: boolean;
}

export interface OptIn {
  optedIn: boolean;
  /** A value the contract calls malformed: the workload is left alone. */
  malformed: boolean;
  refs: Ref[];
}

export const rvOf = (o: KubeObject | undefined): number => Number(o?.metadata?.resourceVersion ?? NaN);

/** The opt-in and what it makes the workload consume (README, Annotations). */
export function optInOf(d: DeploymentObject): OptIn {
  const a = d.metadata?.annotations ?? {};
  const enabled = a[ENABLED];
  const named = a[NAMED];
  if (enabled !== undefined && enabled !== 'true' && enabled !== 'false') return { optedIn: false, malformed: true, refs: [] };
  const names = (named ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const refs: Ref[] = [
    ...(enabled === 'true' ? templateRefs(d.spec?.template) : []),
    // Objects named by the annotation count as optional (the pods start without them).
    ...names.map((name): Ref => ({ name, keys: null, optional: true })),
  ];
  return { optedIn: enabled === 'true' || names.length > 0, malformed: false, refs };
}

function templateRefs(t: PodTemplate | undefined): Ref[] {
  const refs: Ref[] = [];
  const spec = t?.spec ?? {};
  const keysOf = (items?: Array<{ key?: string }>) => (items && items.length > 0 ? items.map((i) => i.key ?? '') : null);
  for (const v of spec.volumes ?? []) {
    if (v.configMap?.name) refs.push({ name: v.configMap.name, keys: keysOf(v.configMap.items), optional: v.configMap.optional === true });
    for (const s of v.projected?.sources ?? []) {
      if (s.configMap?.name) refs.push({ name: s.configMap.name, keys: keysOf(s.configMap.items), optional: s.configMap.optional === true });
    }
  }
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    for (const e of c.envFrom ?? []) if (e.configMapRef?.name) refs.push({ name: e.configMapRef.name, keys: null, optional: e.configMapRef.optional === true });
    for (const e of c.env ?? []) {
      const r = e.valueFrom?.configMapKeyRef;
      if (r?.name) refs.push({ name: r.name, keys: [r.key ?? ''], optional: r.optional === true });
    }
  }
  return refs;
}

/** The pod template without the operator's annotation: what changes only when someone else edits it. */
export function templateFingerprint(t: PodTemplate | undefined): string {
  const annotations = { ...(t?.metadata?.annotations ?? {}) };
  delete annotations[HASH];
  return canonical({ ...t, metadata: { ...t?.metadata, annotations } });
}

/** A ConfigMap's content, canonically (key order does not matter): data and binaryData only. */
export function contentOf(cm: ConfigMapObject): string {
  return canonical({ d: cm.data ?? {}, b: cm.binaryData ?? {} });
}

export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
