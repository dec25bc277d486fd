// The explanation's shape: what `explain` reads (ExplainInput), and the `--output json`
// document it answers with (Explanation; its schema is docs/explain.md's). Types only, besides
// the version and the id of a consumed object, so that render.ts and the tests need no logic.
import type { DigestKey } from '../core/digest.ts';
import type { WorkloadKind } from '../core/keys.ts';
import type { Peer } from '../core/peer-annotations.ts';
import type { Action, DecisionCode, SourceKind } from '../core/types.ts';
import type { SourceLike } from '../state/source-store.ts';
import type { WorkloadLike } from '../state/workload-store.ts';
import type { WatchFilters } from './args.ts';
import type { NamespaceWatch } from './namespace-scope.ts';

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
