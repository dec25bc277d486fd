// "Should we act?" for one workload: a chain of small checks, each of which either settles the
// decision with a reason or passes. The first that settles wins, so the order is the policy.
import { DIGEST_FORMAT, digestFormat } from './digest.ts';
import type { Decision, OptIn } from './types.ts';

export interface DecisionInput {
  optIn: OptIn;
  /** The workload's metadata config-hash annotation: what the operator last accounted for. */
  recordedDigest: string | undefined;
  /** workloadDigest over the current index. */
  desiredDigest: string;
  /** Required (non-optional) consumed ConfigMaps that do not exist. */
  missingRequired: string[];
  /** ConfigMaps whose content differs from what was recorded, when known; only for the reason. */
  changed?: string[];
  /**
   * The current pod template was written after the last change of every consumed ConfigMap
   * (src/core/ordering.ts). Its rollout started pods that read the current configuration, so a
   * second roll would only repeat it. False when the order is unknown.
   */
  templateCarriesConfig?: boolean;
}

type Check = (input: DecisionInput) => Decision | undefined;

function list(names: readonly string[]): string {
  return [...names].sort().join(', ');
}

function isCurrentFormat(digest: string): boolean {
  return digestFormat(digest) === DIGEST_FORMAT;
}

const notOptedIn: Check = ({ optIn }) =>
  optIn.kind === 'out' ? { action: 'none', code: 'not_opted_in', reason: 'not opted in' } : undefined;

const malformedAnnotation: Check = ({ optIn }) =>
  optIn.kind === 'malformed'
    ? {
        action: 'none',
        code: 'malformed_annotation',
        reason: `annotation ${optIn.annotation}=${JSON.stringify(optIn.value)} is malformed: ${optIn.reason}; ignoring the workload`,
        warning: 'MalformedAnnotation',
      }
    : undefined;

// Rolling while a required ConfigMap is missing would replace running pods with pods that cannot
// start. The digest, which hashes the ConfigMap as absent, is recorded only when nothing (of the
// current format) was: then the ConfigMap's creation changes the digest and rolls the workload.
// An existing record is kept for the same reason.
const requiredConfigMapMissing: Check = ({ recordedDigest, desiredDigest, missingRequired }) => {
  if (missingRequired.length === 0) return undefined;
  const missing = `required ConfigMap${missingRequired.length > 1 ? 's' : ''} ${list(missingRequired)} missing`;
  if (recordedDigest === undefined || !isCurrentFormat(recordedDigest)) {
    return {
      action: 'adopt',
      code: 'configmap_missing',
      reason: `${missing}: recorded digest without rolling; the workload rolls once ${missingRequired.length > 1 ? 'they appear' : 'it appears'}`,
      digest: desiredDigest,
      warning: 'ConfigMapMissing',
    };
  }
  return {
    action: 'none',
    code: 'configmap_missing',
    reason: `${missing}: not rolling, the new pods could not start`,
    warning: 'ConfigMapMissing',
  };
};

// Adoption never rolls: a workload seen for the first time was started with whatever
// configuration exists now, as far as anyone can tell.
const firstSeen: Check = ({ recordedDigest, desiredDigest }) =>
  recordedDigest === undefined
    ? { action: 'adopt', code: 'first_seen', reason: 'first seen; recorded digest, no roll', digest: desiredDigest }
    : undefined;

// A digest of another format cannot be compared with this one; re-recording it is what lets the
// format change without rolling every workload.
const otherFormat: Check = ({ recordedDigest, desiredDigest }) => {
  if (recordedDigest === undefined || isCurrentFormat(recordedDigest)) return undefined;
  const from = digestFormat(recordedDigest) ?? 'unknown';
  return {
    action: 'adopt',
    code: 'format_upgrade',
    reason: `digest format ${from} → ${DIGEST_FORMAT}: re-recorded without rolling`,
    digest: desiredDigest,
  };
};

// Any pod-template change (an image, a reference, a restart annotation) written after the
// configuration changed rolled the workload onto the new configuration already.
const templateCarriesConfig: Check = ({ desiredDigest, templateCarriesConfig: carries }) =>
  carries
    ? {
        action: 'adopt',
        code: 'template_changed',
        reason: 'the pod template changed after the configuration did, and that rollout carries it: re-recorded without a second roll',
        digest: desiredDigest,
      }
    : undefined;

const upToDate: Check = ({ recordedDigest, desiredDigest }) =>
  recordedDigest === desiredDigest ? { action: 'none', code: 'up_to_date', reason: 'up to date' } : undefined;

const configurationChanged: Check = ({ desiredDigest, changed }) => ({
  action: 'roll',
  code: 'config_changed',
  reason:
    changed !== undefined && changed.length > 0
      ? `ConfigMap${changed.length > 1 ? 's' : ''} ${list(changed)} changed: rolling`
      : 'consumed configuration changed: rolling',
  digest: desiredDigest,
});

const CHECKS: readonly Check[] = [
  notOptedIn,
  malformedAnnotation,
  requiredConfigMapMissing,
  firstSeen,
  otherFormat,
  upToDate,
  templateCarriesConfig,
  configurationChanged,
];

/** Decides, from state alone, whether a workload is left alone, adopted, or rolled, and why. */
export function decide(input: DecisionInput): Decision {
  for (const check of CHECKS) {
    const decision = check(input);
    if (decision !== undefined) return decision;
  }
  // configurationChanged always settles; this only satisfies the type checker.
  throw new Error('decide: no check settled the decision');
}
