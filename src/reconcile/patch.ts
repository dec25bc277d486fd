// The only writes the operator makes: a JSON merge patch of its own annotation. Adoption
// records the digest on the workload's metadata; a roll also writes it into the pod template,
// which is what makes the Deployment controller start a rolling update. Nothing else is sent,
// so fields this client does not model (or that others own) cannot be dropped.
import { HASH_ANNOTATION } from '../core/annotations.ts';

export interface HashPatch {
  metadata: { annotations: Record<string, string> };
  spec?: { template: { metadata: { annotations: Record<string, string> } } };
}

export function hashPatch(action: 'adopt' | 'roll', digest: string): HashPatch {
  const annotations = { [HASH_ANNOTATION]: digest };
  if (action === 'adopt') return { metadata: { annotations } };
  return { metadata: { annotations }, spec: { template: { metadata: { annotations: { ...annotations } } } } };
}
