// The only writes the operator makes: a JSON merge patch of its own annotations. Adoption
// records the digest and the record (src/core/record.ts) on the workload's metadata; a roll also
// writes the digest into the pod template, which is what makes the workload's controller start
// a rolling update. Nothing else is sent, so fields this client does not model (or that others
// own) cannot be dropped.
//
// The patch carries metadata.resourceVersion and metadata.uid as preconditions: the apiserver
// refuses it when the workload changed since the snapshot the decision was made on (409
// Conflict), which includes a workload deleted and recreated under the same name (its version
// differs too; the uid alone would be refused as an invalid change, 422, should a version ever
// match). A decision is never applied to a state it did not see; the conflict re-queues the
// workload, which is evaluated again once the watch has caught up.
import { HASH_ANNOTATION, RESTART_ANNOTATION } from '../core/annotations.ts';
import { parseResourceVersion } from '../core/ordering.ts';
import { formatRecord, RECORD_ANNOTATION, type WorkloadRecord } from '../core/record.ts';
import { templateFingerprint } from '../state/template.ts';

export interface HashPatch {
  metadata: { uid: string; resourceVersion: string; annotations: Record<string, string> };
  spec?: { template: { metadata: { annotations: Record<string, string> } } };
}

export interface PatchTarget {
  uid: string;
  resourceVersion: string;
  /** The fingerprint of the pod template now, and what it is computed from (src/state/template.ts). */
  template: string;
  templateBase: string;
  templateDigest?: string | undefined;
  templateRestart?: string | undefined;
}

export interface PlannedWrite {
  patch: HashPatch;
  /** The record the patch writes. */
  record: WorkloadRecord;
  /** The fingerprint the pod template has once the patch is applied. */
  template: string;
}

export function hashPatch(action: 'adopt' | 'roll', digest: string, parts: ReadonlyMap<string, string>, target: PatchTarget): PlannedWrite {
  let template = target.template;
  let templateAnnotations: Record<string, string> | undefined;
  if (action === 'roll') {
    templateAnnotations = { [HASH_ANNOTATION]: digest };
    // A roll to the digest the template already carries would change nothing, and start no pod:
    // the restart annotation, set to the version decided on, makes it a template change.
    if (target.templateDigest === digest) templateAnnotations[RESTART_ANNOTATION] = target.resourceVersion;
    template = templateFingerprint(target.templateBase, digest, templateAnnotations[RESTART_ANNOTATION] ?? target.templateRestart);
  }
  const record: WorkloadRecord = { template, at: parseResourceVersion(target.resourceVersion), parts };
  const metadata = {
    uid: target.uid, resourceVersion: target.resourceVersion,
    annotations: { [HASH_ANNOTATION]: digest, [RECORD_ANNOTATION]: formatRecord(record) },
  };
  const patch: HashPatch = templateAnnotations ? { metadata, spec: { template: { metadata: { annotations: templateAnnotations } } } } : { metadata };
  return { patch, record, template };
}
