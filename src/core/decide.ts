// "Should we act?" for one workload: a chain of small checks, each of which either settles the
// decision with a reason or passes. The first that settles wins, so the order is the policy.
import { quoteValue } from './annotations.ts';
import { DIGEST_FORMAT, digestFormat, digestKeyId } from './digest.ts';
import type { Decision, OptIn, SourceKind } from './types.ts';
import { UNKNOWN_PART } from './record.ts';

/** A consumed config object, named for a reason. */
export interface SourceName {
  kind: SourceKind;
  name: string;
}

/** One consumed object: what the workload reads of it now, and what its pods run (src/reconcile/pods.ts). */
export interface PartInput {
  kind: SourceKind;
  name: string;
  /** "Kind/name", as the record names it. */
  id: string;
  current: string;
  /** Undefined when it cannot be established: an unknown falls on the side of a roll. */
  running: string | undefined;
  /** config-reload.dev/ignore: a difference in it rolls nothing. */
  ignored: boolean;
  /** What it held when the pods started is not known yet: its watch has not shown that version. */
  behind?: boolean;
}

export interface DecisionInput {
  optIn: OptIn;
  /** The workload's metadata config-hash annotation (or our unconfirmed write's). */
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
  /** Consumed config objects over the key budget (src/core/digest.ts): their content is one whole-object digest. */
  overBudget?: Array<SourceName & { keys: number; maxKeys: number }>;
  /** Per consumed object, what the workload reads now and what its pods run. */
  parts?: PartInput[];
  /** The operator's record (src/core/record.ts) exists and is comparable (this format and key). */
  hasRecord?: boolean;
  /** The record describes the pods as they run: its template is the current one, its parts what they run. */
  recordCurrent?: boolean;
  /** Someone wrote the pod template after the record. */
  templateMoved?: boolean;
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
        cause: `annotation ${optIn.annotation}=${quoteValue(optIn.value)} is malformed`,
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
        cause: `cannot watch ${list(unavailable)}s`,
      }
    : undefined;

// An object over the key budget is digested whole, not key by key: what a consumer reads of it
// cannot be told apart from the rest, and a tenant rewriting it would roll its consumers at will.
// Nothing is decided until it holds fewer keys; then the usual chain decides from what the pods
// run (a difference rolls once, as after any hold).
const sourceOverBudget: Check = ({ overBudget }) => {
  if (overBudget === undefined || overBudget.length === 0) return undefined;
  const what = [...overBudget].sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name))
    .map((s) => `${s.kind} ${s.name} holds ${s.keys.toLocaleString('en-US')} keys`).join(', ');
  const max = (overBudget[0] as { maxKeys: number }).maxKeys.toLocaleString('en-US');
  return {
    action: 'none',
    code: 'source_over_budget',
    reason: `${what}, more than the ${max} the operator digests one by one (--max-keys-per-object): nothing decided until ${overBudget.length > 1 ? 'they hold' : 'it holds'} fewer`,
    warning: 'ConfigOverBudget',
    cause: `${names(overBudget)} over the key budget`,
  };
};

// Rolling while a required config object is missing would replace running pods with pods that
// cannot start. The digest, which hashes the object as absent, is recorded only when nothing
// comparable was: then the object's creation changes the digest and rolls the workload. An
// existing record is kept for the same reason.
const requiredSourceMissing: Check = ({ recordedDigest, desiredDigest, missingRequired, keyId, parts }) => {
  if (missingRequired.length === 0) return undefined;
  const secret = missingRequired.some((s) => s.kind === 'Secret');
  const code = secret ? 'secret_missing' : 'configmap_missing';
  const warning = secret ? 'SecretMissing' : 'ConfigMapMissing';
  const missing = `required ${names(missingRequired)} missing`;
  if (recordedDigest === undefined || !isComparable(recordedDigest, keyId)) {
    return {
      action: 'adopt', code, warning, cause: missing, digest: desiredDigest, parts: recordOf(parts, false),
      reason: `${missing}: recorded digest without rolling; the workload rolls once ${missingRequired.length > 1 ? 'they appear' : 'it appears'}`,
    };
  }
  return { action: 'none', code, warning, cause: missing, reason: `${missing}: not rolling, the new pods could not start` };
};

function differing(parts: readonly PartInput[] | undefined, unknown: boolean): PartInput[] {
  return (parts ?? []).filter((p) => !p.ignored && (unknown ? p.running === undefined : p.running !== undefined && p.running !== p.current));
}

/**
 * What to record: what the pods will run after this write. An ignored object whose part the
 * pods run is not known is recorded as unknown, so that unsetting the switch rolls.
 */
function recordOf(parts: readonly PartInput[] | undefined, rolled: boolean): ReadonlyMap<string, string> {
  return new Map((parts ?? []).map((p) => [p.id, rolled ? p.current : p.running ?? (p.ignored ? UNKNOWN_PART : p.current)]));
}

// A watch of another kind showed the template write first (or the workload's list came after
// the config objects'): what the object held then is not known yet, and a record written now
// could be wrong. Nothing is written until its watch shows that version (an event, a bookmark)
// or the wait runs out (then the view is read as it is).
const viewBehind: Check = ({ parts }) => {
  const behind = (parts ?? []).filter((p) => p.behind);
  return behind.length === 0 ? undefined : {
    action: 'none', code: 'waiting_for_watch',
    reason: `waiting for the watch of ${list(display(behind))} to show the version the pod template was written at`,
  };
};

function display(parts: readonly PartInput[]): string[] {
  return parts.map((p) => `${p.kind} ${p.name}`);
}

function isLegacy({ recordedDigest, keyId, hasRecord }: DecisionInput): boolean {
  return !hasRecord && recordedDigest !== undefined && isComparable(recordedDigest, keyId);
}

// The pods run other configuration than the current one: roll. Before adoption too — a
// workload seen created, or changed before its adoption came up, runs what existed then.
const podsBehind: Check = (input) => {
  const behind = differing(input.parts, false);
  if (behind.length === 0) return undefined;
  const names = display(behind);
  const adopted = input.hasRecord === true || input.recordedDigest !== undefined;
  return {
    action: 'roll',
    code: adopted ? 'config_changed' : 'changed_before_adoption',
    reason: adopted ? `${list(names)} changed: rolling`
      : `${list(names)} changed after the workload's pods started, before it was adopted: rolling`,
    digest: input.desiredDigest, parts: recordOf(input.parts, true), for: names,
  };
};

// What the pods run cannot be established for some object. A record made before records
// carried parts is compared whole; otherwise the pod template was written at a moment this
// process did not see (before it ran, or in a relist's gap) while the object changed, and the
// pods may run a version that is neither: never a miss, so roll.
const podsUnknown: Check = (input) => {
  const unknown = differing(input.parts, true);
  if (unknown.length === 0) return undefined;
  const { recordedDigest, desiredDigest } = input;
  if (!input.hasRecord && recordedDigest !== undefined && !isComparable(recordedDigest, input.keyId)) return undefined; // re-recorded below
  const names = display(unknown);
  if (isLegacy(input)) {
    if (recordedDigest === desiredDigest) return undefined; // completed below
    return { action: 'roll', code: 'config_changed', reason: 'consumed configuration changed: rolling', digest: desiredDigest, parts: recordOf(input.parts, true), for: names };
  }
  return {
    action: 'roll',
    code: 'template_between_changes',
    reason: `the pod template was written at a moment the operator did not see while ${list(names)} changed: its pods may run an older version; rolling`,
    digest: desiredDigest, parts: recordOf(input.parts, true), for: names,
  };
};

// Adoption does not roll: a workload seen for the first time runs, as far as anyone can tell,
// what existed when the operator first saw it.
const firstSeen: Check = ({ recordedDigest, desiredDigest, hasRecord, parts }) =>
  hasRecord || recordedDigest !== undefined ? undefined
    : { action: 'adopt', code: 'first_seen', reason: 'first seen; recorded digest, no roll', digest: desiredDigest, parts: recordOf(parts, false) };

// A digest of another format cannot be compared with this one; re-recording it is what lets the
// format change without rolling every workload.
const otherFormat: Check = ({ recordedDigest, desiredDigest, hasRecord, parts }) => {
  if (hasRecord || recordedDigest === undefined || isCurrentFormat(recordedDigest)) return undefined;
  const from = digestFormat(recordedDigest) ?? 'unknown';
  return {
    action: 'adopt', code: 'format_upgrade',
    reason: `digest format ${from} → ${DIGEST_FORMAT}: re-recorded without rolling`,
    digest: desiredDigest, parts: recordOf(parts, false),
  };
};

// A digest made with another key (the key Secret was deleted and made anew) cannot be compared:
// re-recording it is the only safe step. What changed while the operator was down is lost.
const otherKey: Check = ({ recordedDigest, desiredDigest, keyId, hasRecord, parts }) =>
  !hasRecord && recordedDigest !== undefined && keyId !== undefined && isCurrentFormat(recordedDigest) && digestKeyId(recordedDigest) !== keyId
    ? {
        action: 'adopt', code: 'key_changed',
        reason: 'the recorded digest was made with another digest key: re-recorded without rolling',
        digest: desiredDigest, parts: recordOf(parts, false),
      }
    : undefined;

// A digest recorded by a version that wrote no record, equal to the current one: the record is
// completed, once, without rolling.
const legacyRecord: Check = (input) =>
  isLegacy(input)
    ? {
        action: 'adopt', code: 'record_upgrade',
        reason: 'digest recorded by an earlier version: record completed without rolling',
        digest: input.desiredDigest, parts: recordOf(input.parts, false),
      }
    : undefined;

const upToDate: Check = ({ recordCurrent }) =>
  recordCurrent ? { action: 'none', code: 'up_to_date', reason: 'up to date' } : undefined;

// The pods run the current configuration but the record does not say so: someone rolled the
// workload after the configuration changed (that rollout carried it), or it reads an object
// the record does not name yet. Re-recorded, without a second roll.
const reRecord: Check = ({ desiredDigest, recordedDigest, templateMoved, parts }) => templateMoved
  ? {
      action: 'adopt', code: 'template_changed',
      reason: 'the pod template was rewritten, and its pods run the current configuration: re-recorded without a roll',
      digest: desiredDigest, parts: recordOf(parts, false),
    }
  : {
      action: 'adopt', code: 're_recorded',
      reason: recordedDigest !== desiredDigest && differing(parts, false).length === 0 && (parts ?? []).every((p) => p.running !== undefined)
        ? 'the recorded digest is not that of the configuration the pods run: re-recorded, no roll'
        : 'what the workload reads changed without a change of what its pods run: re-recorded, no roll',
      digest: desiredDigest, parts: recordOf(parts, false),
    };

const CHECKS: readonly Check[] = [
  notOptedIn,
  malformedAnnotation,
  sourceUnavailable,
  sourceOverBudget,
  requiredSourceMissing,
  podsBehind,
  viewBehind,
  podsUnknown,
  firstSeen,
  otherFormat,
  otherKey,
  legacyRecord,
  upToDate,
  reRecord,
];

/** Decides, from state alone, whether a workload is left alone, adopted, or rolled, and why. */
export function decide(input: DecisionInput): Decision {
  for (const check of CHECKS) {
    const decision = check(input);
    if (decision !== undefined) return decision;
  }
  // reRecord always settles; this only satisfies the type checker.
  throw new Error('decide: no check settled the decision');
}
