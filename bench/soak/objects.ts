// The plain-JSON shapes the soak's watches read, and what tells the operator's writes apart from
// everyone else's. Which config objects a Deployment opts in to and reads is not read here: the
// soak judges with the model test's oracle (test/support/pods-oracle.ts and its reading of the
// docs/annotations.md, test/support/pods-reading.ts), which shares no code with src/.

export const HASH = 'config-reload.dev/config-hash';
export const RECORD = 'config-reload.dev/record';
export const RESTART = 'config-reload.dev/restart';
export const REVISION = 'deployment.kubernetes.io/revision';
/** The annotations only the operator writes (metadata and pod template): a write that changes one is the operator's. */
export const OPERATOR_ANNOTATIONS = [HASH, RECORD, RESTART];

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
  spec?: Record<string, unknown>;
}

export interface DeploymentObject extends KubeObject {
  spec?: { replicas?: number; paused?: boolean; template?: PodTemplate };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number };
}

export interface ReplicaSetObject extends KubeObject {
  spec?: { replicas?: number; template?: PodTemplate };
}

export interface LeaseObject extends KubeObject {
  spec?: { holderIdentity?: string };
}

export const rvOf = (o: KubeObject | undefined): number => Number(o?.metadata?.resourceVersion ?? NaN);

/** The operator's annotations on a Deployment (metadata and template), canonically. */
export function operatorMarks(d: DeploymentObject | undefined): string {
  const pick = (a: Record<string, string> | undefined) => OPERATOR_ANNOTATIONS.map((k) => a?.[k] ?? null);
  return canonical([pick(d?.metadata?.annotations), pick(d?.spec?.template?.metadata?.annotations)]);
}

/** The pod template without the operator's annotations: what changes only when someone else edits it. */
export function templateFingerprint(t: PodTemplate | undefined): string {
  const annotations = { ...(t?.metadata?.annotations ?? {}) };
  for (const k of OPERATOR_ANNOTATIONS) delete annotations[k];
  return canonical({ ...t, metadata: { ...t?.metadata, annotations } });
}

export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
