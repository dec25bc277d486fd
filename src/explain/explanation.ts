// `explain`, the pure part: from what one read of the cluster returned — the workload, each
// consumed ConfigMap or Secret (or its absence, or why it could not be read), the operator's
// digest key (or why it could not be read) — build the explanation of what the operator would
// do now and why. No I/O here (src/explain/main.ts reads), no formatting (render.ts prints).
//
// The decision is the operator's own: the objects read are fed through the stores' own
// transitions (WorkloadStore.observe, SourceStore.observe) and the resulting state through
// evaluateWorkload (src/reconcile/evaluate.ts), the function the reconciler calls, so the two
// cannot disagree. What a one-time read cannot know is said, never guessed:
//  - when the pod template was last written and what the config objects held then (a running
//    operator knows both from its watch): evaluated from the operator's record on the workload
//    alone, as an operator starting now does;
//  - without the digest key (the caller may not read it) no digest can be computed (they are
//    keyed HMACs): every decision that compares digests is "unknown";
//  - a consumed object the caller may not read: the decision is "unknown".
//
// Never a value: of a ConfigMap or Secret the explanation keeps key names, which keys count,
// whether it exists, and digests; of the key, its public id.
//
// The shape of the answer is schema.ts; each consumed object's section is sources.ts; the
// workload's opt-in, rollout and hold sections are workload-sections.ts.
import { HASH_ANNOTATION, IGNORE_ANNOTATION } from '../core/annotations.ts';
import { DEFAULT_MAX_KEYS_PER_OBJECT, DIGEST_FORMAT, digestFormat, digestKey, digestKeyId } from '../core/digest.ts';
import type { WorkloadKind } from '../core/keys.ts';
import type { Peer } from '../core/peer-annotations.ts';
import type { ConsumedSource, SourceKind } from '../core/types.ts';
import type { NamespaceWatch } from './namespace-scope.ts';
import { DigestMemo } from '../reconcile/digest-memo.ts';
import { decisionInput, evaluateWorkload, type EvaluationContext } from '../reconcile/evaluate.ts';
import { SourceStore } from '../state/source-store.ts';
import { entryOf } from '../state/workload-entry.ts';
import type { WorkloadLike, WorkloadState } from '../state/workload-store.ts';

export type {
  ReadResult, KeyRead, ExplainInput, SourceObject, Explanation, ExplainedHold, ExplainedSource,
} from './schema.ts';
export { EXPLANATION_VERSION, sourceId } from './schema.ts';
export { missingGetPermission } from './sources.ts';
import { comparison, explainSource, missingGetPermission, notWatchedBy, RESOURCE_OF, unwatchedReferences } from './sources.ts';
import { holdOf, optInOf, rolloutOf } from './workload-sections.ts';
import { EXPLANATION_VERSION, type ExplainedSource, type ExplainInput, type Explanation, type KeyRead, sourceId } from './schema.ts';


/**
 * Without the installation's key no digest can be made; the decision chain still runs (its
 * first checks do not compare digests) on this stand-in, and every outcome that depends on a
 * digest or on the key's id is reported as unknown. Nothing made with it is ever shown.
 */
const STAND_IN_KEY = digestKey(Buffer.alloc(32, 0));

/** The workload's state as the operator's store builds it from one observation (opted in or not). */
function observeWorkload(kind: WorkloadKind, workload: WorkloadLike, sourceKinds: readonly SourceKind[], accept: readonly Peer[] = []): WorkloadState {
  // As a list finds it: a one-time read does not date the template (see the file comment).
  return entryOf(kind, workload, new Set(sourceKinds), new Set(accept));
}

/** The config objects to read for this workload: what the operator's store says it consumes. */
export function sourcesToRead(kind: WorkloadKind, workload: WorkloadLike, sourceKinds: readonly SourceKind[], accept: readonly Peer[] = []): ConsumedSource[] {
  return [...observeWorkload(kind, workload, sourceKinds, accept).consumed];
}

/** Whether the digest key is needed: only an opted-in workload is digested. */
export function needsDigestKey(kind: WorkloadKind, workload: WorkloadLike, sourceKinds: readonly SourceKind[], accept: readonly Peer[] = []): boolean {
  return observeWorkload(kind, workload, sourceKinds, accept)?.optIn.kind === 'in';
}

export function buildExplanation(input: ExplainInput): Explanation {
  const { kind, workload, sourceKinds } = input;
  const namespace = workload.metadata?.namespace ?? '';
  const name = workload.metadata?.name ?? '';
  const annotations = workload.metadata?.annotations ?? {};
  // A workload that has not opted in is not retained by the store; the decision still comes
  // from the same function, on the state the store would hold for it.
  const accept = input.acceptAnnotations ?? [];
  const state = observeWorkload(kind, workload, sourceKinds, accept);

  const keyLoaded = input.key.state === 'loaded' ? input.key.key : undefined;
  const key = keyLoaded ?? STAND_IN_KEY;
  const stores = new Map(sourceKinds.map((k) => [k, new SourceStore(k, key, undefined, undefined, new Set(accept), { maxKeys: input.maxKeysPerObject })] as const));
  const unreadable: Array<{ kind: SourceKind; name: string; status: number | undefined; error: string }> = [];
  const filtered = notWatchedBy(input.watchFilters);
  for (const c of state.consumed) {
    const read = input.sources.get(sourceId(c.kind, c.name));
    if (read === undefined) throw new Error(`explain: ${c.kind} ${c.name} was not read`);
    // An object the operator's watches filter out is absent to it: it is not observed.
    if (read.state === 'found' && filtered(c.kind, read.object) === null) stores.get(c.kind)?.observe(read.object);
    else if (read.state === 'unreadable') unreadable.push({ kind: c.kind, name: c.name, status: read.status, error: read.error });
  }
  const unreadableKinds = new Set(unreadable.map((u) => u.kind));
  const ctx: EvaluationContext = {
    sources: { store: (k) => stores.get(k), available: (k) => !unreadableKinds.has(k) },
    digestKey: key,
    memo: new DigestMemo(),
    now: 0,
    // As an operator starting now: what one read shows, no event history.
    templateOrder: 'resource-version',
    // One read has no watch to wait for: the objects are read as they are now.
    caughtUp: () => true,
    wallNow: input.wallNow,
  };
  const operatorDecision = evaluateWorkload(state, ctx);
  const desired = decisionInput(state, ctx).desiredDigest;

  const recorded = annotations[HASH_ANNOTATION] ?? null;
  const optedIn = state.optIn.kind === 'in';
  const current = optedIn && keyLoaded !== undefined && unreadable.length === 0 ? desired : null;

  const keySecret = `${input.keySecret.namespace}/${input.keySecret.name}`;
  const keyMissingPermission = input.key.state === 'unreadable' && input.key.status === 403
    ? missingGetPermission('secrets', input.keySecret.namespace, input.keySecret.name)
    : null;

  // The decision, with what explain could not read taken out of it.
  let decision: Explanation['decision'] = {
    known: true,
    action: operatorDecision.action,
    code: operatorDecision.code,
    reason: operatorDecision.reason,
    digest: operatorDecision.digest ?? null,
    warning: operatorDecision.warning ?? null,
  };
  if (operatorDecision.code === 'source_unavailable' && unreadable.length > 0) {
    const what = unreadable.map((u) => `${u.kind} ${u.name} (${u.status === 403
      ? `you need ${missingGetPermission(RESOURCE_OF[u.kind], namespace, u.name)}`
      : u.error})`).join(', ');
    decision = {
      known: false, action: null, code: null, digest: null, warning: null,
      reason: `unknown: explain cannot read ${what}, and the decision depends on ${unreadable.length > 1 ? 'them' : 'it'}`,
    };
  } else if (keyLoaded === undefined && optedIn) {
    decision = withoutKey(decision, operatorDecision.cause, recorded, keySecret, input.key, keyMissingPermission);
  }

  const sources = state.consumed.map((c) => explainSource(c, input.sources.get(sourceId(c.kind, c.name))!, workload, state, sourceKinds, namespace, filtered, accept,
    input.maxKeysPerObject ?? DEFAULT_MAX_KEYS_PER_OBJECT));

  return {
    explanationVersion: EXPLANATION_VERSION,
    workload: {
      kind, namespace, name,
      uid: workload.metadata?.uid ?? '',
      resourceVersion: workload.metadata?.resourceVersion ?? '',
      generation: workload.metadata?.generation ?? 0,
      rollout: rolloutOf(state),
    },
    optIn: optInOf(state, annotations),
    sources,
    unwatchedReferences: unwatchedReferences(workload, state, sourceKinds),
    digests: {
      recorded,
      recordedFormat: recorded === null ? null : digestFormat(recorded) ?? null,
      recordedKeyId: recorded === null ? null : digestKeyId(recorded) ?? null,
      template: workload.spec?.template?.metadata?.annotations?.[HASH_ANNOTATION] ?? null,
      current,
      key: {
        secret: keySecret,
        state: input.key.state,
        id: keyLoaded?.id ?? null,
        error: input.key.state === 'unreadable' ? input.key.error : null,
        missingPermission: keyMissingPermission,
      },
      comparison: comparison(optedIn, recorded, current, keyLoaded),
    },
    decision: notWatched(decision, input.namespaceWatch),
    assumptions: assumptions(decision, optedIn, sources),
    namespace: input.namespaceWatch ?? null,
    hold: holdOf(state, operatorDecision, input.wallNow ?? Date.now()),
  };
}

/** In a namespace the operator does not watch nothing is decided: what it would decide there is moot. */
function notWatched(decision: Explanation['decision'], watch: NamespaceWatch | null | undefined): Explanation['decision'] {
  if (watch?.watched !== false) return decision;
  return { known: true, action: 'none', code: null, reason: `${watch.reason}: nothing here is adopted or rolled`, digest: null, warning: null };
}

/**
 * The decision as far as it holds without the digest key. The chain's first checks compare no
 * digest: not opted in, malformed, a kind not readable, a required object missing with nothing
 * comparable recorded, first seen, another format. Anything later compares digests or key ids.
 */
function withoutKey(
  decision: Explanation['decision'], cause: string | undefined, recorded: string | null, keySecret: string, key: KeyRead, missingPermission: string | null,
): Explanation['decision'] {
  // The full error is in the digests section; the reason says what to do about it.
  const why = `explain cannot read the digest key Secret ${keySecret}` +
    (missingPermission ? `: you need ${missingPermission}` : key.state === 'unreadable' ? ` (${key.error})` : '');
  const comparable = recorded !== null && digestFormat(recorded) === DIGEST_FORMAT;
  switch (decision.code) {
    case 'not_opted_in':
    case 'malformed_annotation':
    case 'source_unavailable':
    case 'source_over_budget':
    case 'first_seen':
    case 'format_upgrade':
      // Settled before any digest is compared; only the digest to record is unknown.
      return { ...decision, digest: null };
    case 'configmap_missing':
    case 'secret_missing':
      if (!comparable) return { ...decision, digest: null };
      // Never a roll; whether the digest is re-recorded depends on the key it was made with.
      return {
        ...decision, known: false, action: null, digest: null,
        reason: `${cause ?? decision.reason}: no roll, the new pods could not start; whether the operator also re-records the digest (made with key ${digestKeyId(recorded) ?? '?'}) depends on its digest key, and ${why}`,
      };
    default:
      return {
        known: false, action: null, code: null, digest: null, warning: null,
        reason: `unknown: the current digest cannot be computed to compare with the recorded one (digests are keyed HMACs) — ${why}`,
      };
  }
}

function assumptions(decision: Explanation['decision'], optedIn: boolean, sources: readonly ExplainedSource[]): string[] {
  if (!optedIn) return [];
  const ignored = sources.filter((s) => s.ignored && s.watched).map((s) => `${s.kind} ${s.name}`);
  const notes = [
    'When the pod template was last written, and what the consumed objects held then, is unknown to a one-time read ' +
      '(the operator knows both from its watch): evaluated from the operator\'s record on the workload alone ' +
      '(config-reload.dev/record), as an operator starting now does.',
  ];
  if (decision.code === 'config_changed' || decision.code === 'template_between_changes') {
    notes.push('A running operator that watched a pod-template change written after the last change of every consumed ' +
      'object (an image bump in the same helm upgrade, a rollout restart) records the digest without a second roll ' +
      '(template_changed) instead of rolling.');
    // Waves read every consumer of a shared object and their status: one read of one workload cannot.
    notes.push('Not evaluated here: waves. If a changed object is read by more opted-in workloads than the operator\'s ' +
      '--wave-threshold (default 5), a running operator rolls its canaries first and this one only once every earlier ' +
      'wave is healthy (wave_waiting), or holds it when an earlier wave failed (wave_held, Warning Event WaveHeld on the object).');
  }
  if (ignored.length > 0) {
    const many = ignored.length > 1;
    notes.push(`${ignored.join(', ')} ${many ? 'carry' : 'carries'} ${IGNORE_ANNOTATION}: ${many ? 'their' : 'its'} changes roll nothing by `
      + `themselves; a difference from what the pods run (the record's part) rolls once the switch is unset.`);
  }
  notes.push('Not visible here: whether an operator runs and watches this namespace and kind (--namespace, --workload-kinds), ' +
    'and whether it may watch the consumed kinds (a refused watch holds the workload: source_unavailable in its log).');
  return notes;
}
