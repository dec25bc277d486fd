// The only writes the operator makes: a JSON merge patch of its own annotation. Adoption
// records the digest on the workload's metadata; a roll also writes it into the pod template,
// which is what makes the Deployment controller start a rolling update. Nothing else is sent,
// so fields this client does not model (or that others own) cannot be dropped.
//
// The patch carries metadata.resourceVersion and metadata.uid as preconditions: the apiserver
// refuses it when the workload changed since the snapshot the decision was made on (409
// Conflict), which includes a workload deleted and recreated under the same name (its version
// differs too; the uid alone would be refused as an invalid change, 422, should a version ever
// match). A decision is never applied to a
// state it did not see; the conflict re-queues the workload, which is evaluated again once the
// watch has caught up.
import { HASH_ANNOTATION, RESTART_ANNOTATION } from '../core/annotations.ts';

export interface HashPatch {
  metadata: { uid: string; resourceVersion: string; annotations: Record<string, string> };
  spec?: { template: { metadata: { annotations: Record<string, string> } } };
}

export interface PatchTarget {
  uid: string;
  resourceVersion: string;
  /** The pod template's config-hash annotation now. */
  templateDigest?: string | undefined;
}

export function hashPatch(action: 'adopt' | 'roll', digest: string, target: PatchTarget): HashPatch {
  const metadata = { uid: target.uid, resourceVersion: target.resourceVersion, annotations: { [HASH_ANNOTATION]: digest } };
  if (action === 'adopt') return { metadata };
  const template: Record<string, string> = { [HASH_ANNOTATION]: digest };
  // A roll to the digest the template already carries would change nothing, and start no pod:
  // the restart annotation, set to the version decided on, makes it a template change.
  if (target.templateDigest === digest) template[RESTART_ANNOTATION] = target.resourceVersion;
  return { metadata, spec: { template: { metadata: { annotations: template } } } };
}
