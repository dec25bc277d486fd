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
// Longer than 300 lines: one answer in sections (workload, objects, digests, decision, notes);
// the sections share the one read. To be split by section (noted in issue 20).
import { CONFIGMAPS_ANNOTATION, ENABLED_ANNOTATION, HASH_ANNOTATION, IGNORE_ANNOTATION, SECRETS_ANNOTATION } from '../core/annotations.ts';
import { DEFAULT_MAX_KEYS_PER_OBJECT, DIGEST_FORMAT, type DigestKey, digestFormat, digestKey, digestKeyId } from '../core/digest.ts';
import type { WorkloadKind } from '../core/keys.ts';
import { isMatched, type Peer, readIgnore, unmatched } from '../core/peer-annotations.ts';
import { referencesOf } from '../core/references.ts';
import { describeInZone, nextOpening } from '../core/roll-window.ts';
import type { Action, ConsumedSource, Decision, DecisionCode, PeerOptIn, SourceKind } from '../core/types.ts';
import type { NamespaceWatch } from './namespace-scope.ts';
import { DigestMemo } from '../reconcile/digest-memo.ts';
import { decisionInput, evaluateWorkload, type EvaluationContext } from '../reconcile/evaluate.ts';
import { type SourceLike, SourceStore } from '../state/source-store.ts';
import { entryOf } from '../state/workload-entry.ts';
import type { WorkloadLike, WorkloadState } from '../state/workload-store.ts';
import type { WatchFilters } from './args.ts';
import { matchesLabelSelector, parseLabelSelector } from '../core/label-selector.ts';

/** What a GET returned: the object, a 404, or another failure (its HTTP status when there was one). */
export type ReadResult<T> =
  | { state: 'found'; object: T }
  | { state: 'absent' }
  | { state: 'unreadable'; status: number | undefined; error: string };

/** The digest key as read: loaded, not read at all (nothing to digest), or why it could not be. */
export type KeyRead =
  | { state: 'loaded'; key: DigestKey }
  | { state: 'skipped' }
  | { state: 'unreadable'; status: number | undefined; error: string };

export interface ExplainInput {
  kind: WorkloadKind;
  /** The workload as read (plain JSON of the apiserver). */
  workload: WorkloadLike;
  /** One entry per consumed object (sourcesToRead), keyed by sourceId(kind, name). */
  sources: ReadonlyMap<string, ReadResult<SourceObject>>;
  key: KeyRead;
  /** Where the key was read from: namespace and name of the Secret. */
  keySecret: { namespace: string; name: string };
  /** The operator's --config-sources. */
  sourceKinds: readonly SourceKind[];
  /** The operator's watch filters (selectors, excluded Secret types); none when absent. */
  watchFilters?: WatchFilters;
  /** The operator's --accept-annotations: peers whose opt-in annotations it honours. */
  acceptAnnotations?: readonly Peer[];
  /** Whether the operator watches the namespace (--namespace-selector, --exclude-namespaces); null: not asked. */
  namespaceWatch?: NamespaceWatch | null;
  /** The operator's --max-keys-per-object; absent: its default. */
  maxKeysPerObject?: number;
  /** Wall-clock now (ms since the epoch) for roll windows; absent: the host's clock. */
  wallNow?: number;
}

/** A ConfigMap or Secret as read: what the decisions read, plus what the watch filters look at. */
export type SourceObject = SourceLike & { metadata?: { labels?: Record<string, string> }; type?: string };

export const EXPLANATION_VERSION = 1;

/** The explanation: the `--output json` document (README, "explain"), and what the text shows. */
export interface Explanation {
  explanationVersion: typeof EXPLANATION_VERSION;
  workload: {
    kind: WorkloadKind;
    namespace: string;
    name: string;
    uid: string;
    resourceVersion: string;
    generation: number;
    /** `RollingUpdate`, `OnDelete`, or `RollingUpdate, partition N` (StatefulSet). */
    rollout: string;
  };
  optIn: {
    /** in: served; out: not opted in; malformed: an annotation cannot be read, the workload is left alone. */
    state: 'in' | 'out' | 'malformed';
    /** The opt-in annotations as written (null when absent). */
    annotations: { enabled: string | null; configmaps: string | null; secrets: string | null };
    /** in: whether the ConfigMaps and Secrets the pod template references count (enabled: "true"). */
    referenced: boolean;
    /** in: the objects named by the configmaps/secrets annotations. */
    namedConfigMaps: string[];
    namedSecrets: string[];
    malformed: { annotation: string; value: string; problem: string } | null;
    summary: string;
  };
  /** Every consumed config object, sorted by kind and name. */
  sources: ExplainedSource[];
  /** References the operator does not follow (a Secret under --config-sources configmaps). */
  unwatchedReferences: Array<{ kind: SourceKind; name: string; via: string; why: string }>;
  digests: {
    /** The workload's metadata config-hash: what the operator last accounted for. */
    recorded: string | null;
    recordedFormat: string | null;
    recordedKeyId: string | null;
    /** The pod template's config-hash: the digest of the operator's last roll. */
    template: string | null;
    /** The digest of the consumed configuration now; null when it cannot be computed. */
    current: string | null;
    key: {
      secret: string;
      /** loaded, skipped (not needed: not opted in), or unreadable. */
      state: KeyRead['state'];
      id: string | null;
      error: string | null;
      missingPermission: string | null;
    };
    /**
     * equal, different, none_recorded, other_format, other_key (made with another digest key),
     * unknown (no digest key, or a consumed object could not be read), not_applicable (not opted in).
     */
    comparison: 'equal' | 'different' | 'none_recorded' | 'other_format' | 'other_key' | 'unknown' | 'not_applicable';
  };
  decision: {
    /** False when what explain could read does not settle it (the reason says what is missing). */
    known: boolean;
    action: Action | null;
    code: DecisionCode | null;
    reason: string;
    /** The digest the operator would record (adopt, roll), when known. */
    digest: string | null;
    /** The Event the operator emits with this decision (Warning), if any. */
    warning: string | null;
  };
  /** What a one-time read cannot know, and what explain assumed for it. */
  assumptions: string[];
  /** Whether the operator watches the workload's namespace; null when neither namespace flag was given. */
  namespace: NamespaceWatch | null;  /** The workload's pause, roll window and debounce (src/core/hold.ts); null when it sets none (or is not opted in). */
  hold: ExplainedHold | null;
}

export interface ExplainedHold {
  /** config-reload.dev/paused: "true": every roll is held until it is unset. */
  paused: boolean;
  /** config-reload.dev/window, and whether it is open now. */
  window: { text: string; zone: string; open: boolean; nextOpening: string | null; nextOpeningLocal: string | null } | null;
  /** config-reload.dev/debounce, in milliseconds; null: the operator's --debounce. */
  debounceMs: number | null;
  /** Whether the decision is a held roll (paused, outside_window). */
  held: boolean;
  /** outside_window: when the roll is looked at again (the window's next opening), ISO 8601. */
  heldUntil: string | null;
}


export interface ExplainedSource {
  kind: SourceKind;
  name: string;
  /** true only when every reference is optional (or it was named by annotation). */
  optional: boolean;
  /** Where the workload names it: `volume "cfg"`, `env LEVEL (container app)`, an annotation. */
  references: Array<{ via: string; keys: string[] | null; optional: boolean }>;
  /** The keys the workload reads; null: every key of the object. */
  selectedKeys: string[] | null;
  /** true, false (404), or null when it could not be read. */
  exists: boolean | null;
  /**
   * Whether the operator's watches let it see the object: false when its --configmap-selector,
   * --secret-selector or --exclude-secret-types filter it out, and it counts as absent.
   */
  watched: boolean;
  notWatchedBecause: string | null;
  /** config-reload.dev/ignore: its changes roll nothing (a malformed value ignores it too). */
  ignored: boolean;
  malformedIgnore: { value: string; problem: string } | null;
  resourceVersion: string | null;
  /** The key names the object holds (data, and a ConfigMap's binaryData); null unless read. */
  keys: string[] | null;
  /** The keys that go into the digest (present and read by the workload); null unless read. */
  countedKeys: string[] | null;
  /** Keys the workload reads that the object does not hold (they count as absent). */
  missingKeys: string[];
  /** Keys the object holds that the workload does not read: a change to them rolls nothing. */
  uncountedKeys: string[];
  /** More keys than the operator's --max-keys-per-object: digested whole, and the workload held (source_over_budget). */
  overBudget: { keys: number; maxKeys: number } | null;
  error: string | null;
  missingPermission: string | null;
}

export function sourceId(kind: SourceKind, name: string): string {
  return `${kind}/${name}`;
}

const RESOURCE_OF: Record<SourceKind, string> = { ConfigMap: 'configmaps', Secret: 'secrets' };

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

/** The permission a 403 on GET of one named object lacks. */
export function missingGetPermission(resource: string, namespace: string, name: string): string {
  return `get on ${resource}/${name} in namespace ${namespace}`;
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

function holdOf(state: WorkloadState, decision: Decision, now: number): ExplainedHold | null {
  const hold = state.optIn.kind === 'in' ? state.optIn.hold : undefined;
  if (hold === undefined) return null;
  const w = hold.window;
  const opens = w === undefined ? undefined : nextOpening(w, now);
  return {
    paused: hold.paused === true,
    window: w === undefined ? null : {
      text: w.text, zone: w.zone, open: opens === now,
      nextOpening: opens === undefined ? null : new Date(opens).toISOString(),
      nextOpeningLocal: opens === undefined ? null : describeInZone(w.zone, opens),
    },
    debounceMs: hold.debounceMs ?? null,
    held: decision.code === 'paused' || decision.code === 'outside_window',
    heldUntil: decision.until === undefined ? null : new Date(decision.until).toISOString(),
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

function comparison(
  optedIn: boolean, recorded: string | null, current: string | null, key: DigestKey | undefined,
): Explanation['digests']['comparison'] {
  if (!optedIn) return 'not_applicable';
  if (recorded === null) return 'none_recorded';
  if (digestFormat(recorded) !== DIGEST_FORMAT) return 'other_format';
  if (key === undefined) return 'unknown';
  if (digestKeyId(recorded) !== key.id) return 'other_key';
  if (current === null) return 'unknown';
  return recorded === current ? 'equal' : 'different';
}

function explainSource(
  c: ConsumedSource, read: ReadResult<SourceObject>, workload: WorkloadLike, state: WorkloadState,
  sourceKinds: readonly SourceKind[], namespace: string, filtered: (kind: SourceKind, obj: SourceObject) => string | null, accept: readonly Peer[],
  maxKeys: number,
): ExplainedSource {
  const references = state.optIn.kind === 'in'
    ? referencesOf(workload.spec?.template?.spec, state.optIn, new Set(sourceKinds))
      .filter((r) => r.kind === c.kind && r.name === c.name)
      .map((r) => ({ via: r.via, keys: r.keys, optional: r.optional }))
    : [];
  const base = {
    kind: c.kind, name: c.name, optional: c.optional, references, selectedKeys: c.keys,
  };
  const unknownFilters = { watched: true, notWatchedBecause: null, ignored: false, malformedIgnore: null, overBudget: null };
  if (read.state === 'unreadable') {
    return {
      ...base, exists: null, ...unknownFilters, resourceVersion: null, keys: null, countedKeys: null, missingKeys: [], uncountedKeys: [],
      error: read.error,
      missingPermission: read.status === 403 ? missingGetPermission(RESOURCE_OF[c.kind], namespace, c.name) : null,
    };
  }
  if (read.state === 'absent') {
    return {
      ...base, exists: false, ...unknownFilters, resourceVersion: null, keys: null, countedKeys: null,
      missingKeys: c.keys ?? [], uncountedKeys: [], error: null, missingPermission: null,
    };
  }
  const obj = read.object;
  // Key names only, the same sections the digest reads (a Secret's binaryData does not exist).
  const held = [...new Set([...Object.keys(obj.data ?? {}), ...(c.kind === 'ConfigMap' ? Object.keys(obj.binaryData ?? {}) : [])])].sort();
  const selected = c.keys;
  const notWatchedBecause = filtered(c.kind, obj);
  const ignore = readIgnore(obj.metadata?.annotations, new Set(accept));
  // Counted as the digest counts them (src/core/digest.ts, sourceContent): every key of each section read.
  const keyCount = Object.keys(obj.data ?? {}).length + (c.kind === 'ConfigMap' ? Object.keys(obj.binaryData ?? {}).length : 0);
  return {
    ...base,
    exists: true,
    watched: notWatchedBecause === null,
    notWatchedBecause,
    // Reloader's search (--accept-annotations) leaves out an object without its match switch, as if ignored.
    ignored: ignore.ignored || unmatched(state.optIn, c.kind, c.name, isMatched(obj.metadata?.annotations)),
    malformedIgnore: ignore.malformed ? { value: ignore.malformed.value, problem: ignore.malformed.reason } : null,
    resourceVersion: obj.metadata?.resourceVersion ?? null,
    keys: held,
    countedKeys: selected === null ? held : selected.filter((k) => held.includes(k)),
    missingKeys: selected === null ? [] : selected.filter((k) => !held.includes(k)),
    uncountedKeys: selected === null ? [] : held.filter((k) => !selected.includes(k)),
    overBudget: keyCount > maxKeys ? { keys: keyCount, maxKeys } : null,
    error: null,
    missingPermission: null,
  };
}

/**
 * Why the operator's watches do not show it `obj` (it is absent to the operator), or null when
 * they do: the label selector of its kind, or a Secret type it excludes.
 */
function notWatchedBy(filters: WatchFilters | undefined): (kind: SourceKind, obj: SourceObject) => string | null {
  const selectors = {
    ConfigMap: filters?.configMapSelector === undefined ? undefined : { flag: '--configmap-selector', text: filters.configMapSelector, parsed: parseLabelSelector(filters.configMapSelector) },
    Secret: filters?.secretSelector === undefined ? undefined : { flag: '--secret-selector', text: filters.secretSelector, parsed: parseLabelSelector(filters.secretSelector) },
  };
  const excluded = filters?.excludedSecretTypes ?? [];
  return (kind, obj) => {
    const selector = selectors[kind];
    if (selector && !matchesLabelSelector(selector.parsed, obj.metadata?.labels)) {
      return `outside the operator's ${selector.flag} ${JSON.stringify(selector.text)}`;
    }
    if (kind === 'Secret' && obj.type !== undefined && excluded.includes(obj.type)) {
      return `of type ${obj.type}, which the operator's --exclude-secret-types leaves out`;
    }
    return null;
  };
}

function unwatchedReferences(workload: WorkloadLike, state: WorkloadState, sourceKinds: readonly SourceKind[]): Explanation['unwatchedReferences'] {
  if (state.optIn.kind !== 'in') return [];
  const off = (['ConfigMap', 'Secret'] as const).filter((k) => !sourceKinds.includes(k));
  if (off.length === 0) return [];
  return referencesOf(workload.spec?.template?.spec, state.optIn, new Set(off)).map((r) => ({
    kind: r.kind, name: r.name, via: r.via,
    why: `the operator does not watch ${RESOURCE_OF[r.kind]} (--config-sources ${sourceKinds.map((k) => RESOURCE_OF[k]).join(',')})`,
  }));
}

function optInOf(state: WorkloadState, annotations: Record<string, string>): Explanation['optIn'] {
  const raw = {
    enabled: annotations[ENABLED_ANNOTATION] ?? null,
    configmaps: annotations[CONFIGMAPS_ANNOTATION] ?? null,
    secrets: annotations[SECRETS_ANNOTATION] ?? null,
  };
  const optIn = state.optIn;
  if (optIn.kind === 'out') {
    return {
      state: 'out', annotations: raw, referenced: false, namedConfigMaps: [], namedSecrets: [], malformed: null,
      summary: `not opted in: set ${ENABLED_ANNOTATION}: "true", or name objects in ${CONFIGMAPS_ANNOTATION} / ${SECRETS_ANNOTATION}, on the workload's metadata`,
    };
  }
  if (optIn.kind === 'malformed') {
    return {
      state: 'malformed', annotations: raw, referenced: false, namedConfigMaps: [], namedSecrets: [],
      malformed: { annotation: optIn.annotation, value: optIn.value, problem: optIn.reason },
      summary: `annotation ${optIn.annotation} is malformed (${optIn.reason}): the operator leaves the workload alone until it is fixed`,
    };
  }
  const named = [
    ...(optIn.extraConfigMaps.length > 0 ? [`ConfigMaps named by ${CONFIGMAPS_ANNOTATION}`] : []),
    ...(optIn.extraSecrets.length > 0 ? [`Secrets named by ${SECRETS_ANNOTATION}`] : []),
  ];
  const what = [
    ...(optIn.referenced ? ['every ConfigMap and Secret the pod template references'] : []),
    ...named,
  ].join(', and ');
  const base = { state: 'in' as const, annotations: raw, referenced: optIn.referenced, namedConfigMaps: [...optIn.extraConfigMaps], namedSecrets: [...optIn.extraSecrets], malformed: null };
  if (optIn.peer !== undefined) return { ...base, summary: peerSummary(optIn.peer, optIn.extraConfigMaps, optIn.extraSecrets) };
  return { ...base, summary: `opted in: the digest covers ${what}${optIn.referenced ? '' : ' (only those: not the pod template\'s references)'}` };
}

/** A workload opted in by a peer's annotations (--accept-annotations): what they were read as. */
function peerSummary(peer: PeerOptIn, configMaps: readonly string[], secrets: readonly string[]): string {
  const covers = (['ConfigMap', 'Secret'] as const).flatMap((kind) => {
    const follow = peer.follow[kind];
    const excluded = peer.excluded[kind].length > 0 ? ` but ${peer.excluded[kind].join(', ')}` : '';
    return follow === 'all' ? [`every ${kind} the pod template references${excluded}`]
      : follow === 'matched' ? [`the ${kind}s the pod template references that carry reloader.stakater.com/match: "true"${excluded}`] : [];
  });
  if (configMaps.length > 0) covers.push(`ConfigMaps ${configMaps.join(', ')}`);
  if (secrets.length > 0) covers.push(`Secrets ${secrets.join(', ')}`);
  const notes = peer.notes.length > 0 ? `; not honoured exactly: ${peer.notes.join('; ')}` : '';
  return `opted in by ${peer.from.join(' and ')} annotations (--accept-annotations): the digest covers ${covers.join(', and ')}${notes}`;
}

function rolloutOf(state: WorkloadState): string {
  if (state.rollout.onDelete) return 'OnDelete';
  return state.rollout.partition > 0 ? `RollingUpdate, partition ${state.rollout.partition}` : 'RollingUpdate';
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
