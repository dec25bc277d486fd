// "Should we act?" for one workload: a chain of small checks, each of which either settles the
// decision with a reason or passes. The first that settles wins, so the order is the policy.
import { quoteValue } from './annotations.ts';
import { DIGEST_FORMAT, digestFormat, digestKeyId } from './digest.ts';
import type { Decision, OptIn, SourceKind } from './types.ts';

/** A consumed config object, named for a reason. */
export interface SourceName {
  kind: SourceKind;
  name: string;
}

export interface DecisionInput {
  optIn: OptIn;
  /** The workload's metadata config-hash annotation: what the operator last accounted for. */
  recordedDigest: string | undefined;
  /** workloadDigest over the current index. */
  desiredDigest: string;
  /** Required (non-optional) consumed config objects that do not exist. */
  missingRequired: SourceName[];
  /** The id of the installation's digest key, which desiredDigest was made with. */
  keyId?: string;
  /**
   * Kinds of config object the workload consumes that the operator cannot watch now (the Secret
   * watch is forbidden): their absence is not known to be real, so nothing is decided.
   */
  unavailable?: SourceKind[];
  /**
   * Config objects ("Kind name") whose content changed since the digest was last accounted for
   * — for a workload not adopted yet, since the operator first saw it. Named in the reason; for
   * a workload not adopted yet, a change is also what makes its adoption a roll.
   */
  changed?: string[];
  /**
   * The current pod template was written after the last change of every consumed ConfigMap
   * (src/core/ordering.ts). Its rollout started pods that read the current configuration, so a
   * second roll would only repeat it. False when the order is unknown.
   */
  templateCarriesConfig?: boolean;
  /** Not adopted yet: the desired digest when the operator first saw it (a change back to it is no change). */
  firstSeenDigest?: string | undefined;
  /** Someone else changed the pod template after the recorded digest was accounted for (its pods read the configuration of that moment). */
  templateChangedSinceRecord?: boolean;
}

type Check = (input: DecisionInput) => Decision | undefined;

function list(names: readonly string[]): string {
  return [...names].sort().join(', ');
}

function isCurrentFormat(digest: string): boolean {
  return digestFormat(digest) === DIGEST_FORMAT;
}

/** Comparable with the desired digest: this format, made with this key. */
function isComparable(digest: string, keyId: string | undefined): boolean {
  return isCurrentFormat(digest) && (keyId === undefined || digestKeyId(digest) === keyId);
}

function names(sources: readonly SourceName[]): string {
  const kinds = [...new Set(sources.map((s) => s.kind))].sort();
  return kinds.map((kind) => {
    const of = sources.filter((s) => s.kind === kind).map((s) => s.name);
    return `${kind}${of.length > 1 ? 's' : ''} ${list(of)}`;
  }).join(' and ');
}

const notOptedIn: Check = ({ optIn }) =>
  optIn.kind === 'out' ? { action: 'none', code: 'not_opted_in', reason: 'not opted in' } : undefined;

const malformedAnnotation: Check = ({ optIn }) =>
  optIn.kind === 'malformed'
    ? {
        action: 'none',
        code: 'malformed_annotation',
        reason: `annotation ${optIn.annotation}=${quoteValue(optIn.value)} is malformed: ${optIn.reason}; ignoring the workload`,
        warning: 'MalformedAnnotation',
      }
    : undefined;

// A kind the operator cannot watch (RBAC forbids the Secret watch) would look absent: deciding
// on that could record absence and roll every consumer once the watch is allowed again.
const sourceUnavailable: Check = ({ unavailable }) =>
  unavailable !== undefined && unavailable.length > 0
    ? {
        action: 'none',
        code: 'source_unavailable',
        reason: `consumes ${list(unavailable)}s, which the operator cannot watch now (see its log): nothing decided until it can`,
        warning: 'SourceUnavailable',
      }
    : undefined;

// Rolling while a required config object is missing would replace running pods with pods that
// cannot start. The digest, which hashes the object as absent, is recorded only when nothing
// comparable was: then the object's creation changes the digest and rolls the workload. An
// existing record is kept for the same reason.
const requiredSourceMissing: Check = ({ recordedDigest, desiredDigest, missingRequired, keyId }) => {
  if (missingRequired.length === 0) return undefined;
  const secret = missingRequired.some((s) => s.kind === 'Secret');
  const code = secret ? 'secret_missing' : 'configmap_missing';
  const warning = secret ? 'SecretMissing' : 'ConfigMapMissing';
  const missing = `required ${names(missingRequired)} missing`;
  if (recordedDigest === undefined || !isComparable(recordedDigest, keyId)) {
    return {
      action: 'adopt', code, warning, digest: desiredDigest,
      reason: `${missing}: recorded digest without rolling; the workload rolls once ${missingRequired.length > 1 ? 'they appear' : 'it appears'}`,
    };
  }
  return { action: 'none', code, warning, reason: `${missing}: not rolling, the new pods could not start` };
};

// Adoption does not roll: a workload seen for the first time was started with whatever
// configuration existed when the operator first saw it, as far as anyone can tell. Adoptions
// wait behind rolls at their own pace (the housekeeping lane, "Work queue" in
// docs/architecture.md), so a consumed object may change between that first sight and the
// adoption: that change is one the workload's pods have not seen, and it rolls — unless a
// template change written after it already carried it.
const firstSeen: Check = ({ recordedDigest, desiredDigest, changed, firstSeenDigest, templateCarriesConfig: carries }) => {
  if (recordedDigest !== undefined) return undefined;
  if (changed !== undefined && changed.length > 0 && !carries && desiredDigest !== firstSeenDigest) {
    return {
      action: 'roll',
      code: 'changed_before_adoption',
      reason: `${list(changed)} changed after the operator first saw the workload, before it was adopted: rolling`,
      digest: desiredDigest,
    };
  }
  return { action: 'adopt', code: 'first_seen', reason: 'first seen; recorded digest, no roll', digest: desiredDigest };
};

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

// A digest made with another key (the key Secret was deleted and made anew) cannot be compared:
// re-recording it is the only safe step. What changed while the operator was down is lost.
const otherKey: Check = ({ recordedDigest, desiredDigest, keyId }) =>
  recordedDigest !== undefined && keyId !== undefined && isCurrentFormat(recordedDigest) && digestKeyId(recordedDigest) !== keyId
    ? {
        action: 'adopt',
        code: 'key_changed',
        reason: 'the recorded digest was made with another digest key: re-recorded without rolling',
        digest: desiredDigest,
      }
    : undefined;

// Any pod-template change (an image, a reference, a restart annotation, the operator's own roll)
// written after the configuration changed rolled the workload onto the new configuration already.
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

// The digest is back where it was recorded, but the pod template was changed in between while a
// consumed object was changing, and not after its last change: the pods that change started may
// have read a version that is neither (a helm upgrade and its rollback within one debounce).
const templateBetweenChanges: Check = ({ recordedDigest, desiredDigest, changed, templateChangedSinceRecord, templateCarriesConfig: carries }) =>
  recordedDigest === desiredDigest && templateChangedSinceRecord === true && changed !== undefined && changed.length > 0 && !carries
    ? {
        action: 'roll',
        code: 'template_between_changes',
        reason: `the pod template changed while ${list(changed)} changed and changed back: its pods may run neither version; rolling`,
        digest: desiredDigest,
      }
    : undefined;

const configurationChanged: Check = ({ desiredDigest, changed }) => ({
  action: 'roll',
  code: 'config_changed',
  reason:
    changed !== undefined && changed.length > 0
      ? `${list(changed)} changed: rolling`
      : 'consumed configuration changed: rolling',
  digest: desiredDigest,
});

const CHECKS: readonly Check[] = [
  notOptedIn,
  malformedAnnotation,
  sourceUnavailable,
  requiredSourceMissing,
  firstSeen,
  otherFormat,
  otherKey,
  templateBetweenChanges,
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
