// Shapes shared by the pure core (references, digest, decision). They hold only what
// decisions need: never a whole Kubernetes object, never a ConfigMap or Secret value.
import type { WorkloadKind } from './kinds.ts';

/** The kinds of object whose content a workload consumes. */
export type SourceKind = 'ConfigMap' | 'Secret';

/** One config object a workload consumes, merged over every place the pod template names it. */
export interface ConsumedSource {
  kind: SourceKind;
  name: string;
  /** true only when every reference to it is `optional: true` (or it was named by annotation). */
  optional: boolean;
  /**
   * The keys the workload reads, sorted and unique, or null when it reads the whole object
   * (a volume without `items`, envFrom, or an annotation naming it). A change to a key no
   * reference reads does not roll the workload.
   */
  keys: string[] | null;
}

/**
 * What is retained per config object: one keyed digest per key (for a ConfigMap, data and
 * binaryData kept apart), so memory grows with the number of keys, not with their values.
 */
export interface SourceContent {
  /** key -> HMAC of (section, key, value) under the installation's digest key. */
  keyDigests: ReadonlyMap<string, string>;
  /**
   * Set when the object holds more keys than the operator digests one by one
   * (--max-keys-per-object): keyDigests then holds one whole-object digest (src/core/digest.ts).
   */
  overBudget?: { keys: number; maxKeys: number };
}

/**
 * An opt-in read from a peer's annotations (src/core/peer-annotations.ts, --accept-annotations):
 * which references of the pod spec it follows, per kind: all, only objects carrying Reloader's
 * match switch, or none.
 */
export interface PeerOptIn {
  from: Array<'reloader' | 'wave'>;
  follow: Record<SourceKind, 'all' | 'matched' | 'none'>;
  /** Names never followed (Reloader's exclude annotations). */
  excluded: Record<SourceKind, string[]>;
  /** Names the annotations name (followed even when not referenced, as extraConfigMaps/extraSecrets). */
  named: Record<SourceKind, string[]>;
  /** What could not be honoured exactly, a sentence each: logged and sent as an Event once. */
  notes: string[];
}

/** A roll window (config-reload.dev/window, src/core/roll-window.ts). */
export interface RollWindow {
  /** The annotation's text, as written. */
  readonly text: string;
  /** Days a range may open on, 0 = Sunday; sorted, unique. */
  readonly days: readonly number[];
  /** [start, end) in minutes of the day; end <= start crosses midnight. */
  readonly ranges: ReadonlyArray<readonly [number, number]>;
  /** The IANA zone as Intl resolves it. */
  readonly zone: string;
}

/** When a workload may roll, from its annotations (src/core/hold.ts); absent fields hold nothing. */
export interface Hold {
  paused?: true;
  window?: RollWindow;
  /** config-reload.dev/debounce: this workload's own debounce, instead of --debounce. */
  debounceMs?: number;
}

/** Result of reading the opt-in annotations of a workload. */
export type OptIn =
  | { kind: 'out' }
  | {
      kind: 'in'; referenced: boolean; extraConfigMaps: string[]; extraSecrets: string[]; peer?: PeerOptIn;
      /** Its pause, roll window and debounce (src/core/hold.ts); absent when none is set. */
      hold?: Hold;
    }
  | { kind: 'malformed'; annotation: string; value: string; reason: string };

export type Action = 'none' | 'adopt' | 'roll';

export type DecisionCode =
  | 'not_opted_in'
  | 'malformed_annotation'
  | 'configmap_missing'
  | 'secret_missing'
  | 'first_seen'
  | 'changed_before_adoption'
  | 'format_upgrade'
  | 'record_upgrade'
  | 're_recorded'
  | 'waiting_for_watch'
  | 'key_changed'
  | 'source_unavailable'
  | 'source_over_budget'
  | 'template_changed'
  | 'template_between_changes'
  | 'up_to_date'
  | 'config_changed'
  | 'wave_waiting'
  | 'wave_held'
  | 'paused'
  | 'outside_window';

export interface Decision {
  action: Action;
  /** A short fixed code for metrics (bounded cardinality), e.g. up_to_date, rolled. */
  code: DecisionCode;
  /** One sentence a person reads in the log and in an Event. */
  reason: string;
  /** Digest to record (adopt, roll); absent for none. */
  digest?: string;
  /** Set when the situation deserves a Warning (malformed annotation, missing required ConfigMap). */
  warning?: 'MalformedAnnotation' | 'ConfigMapMissing' | 'SecretMissing' | 'SourceUnavailable' | 'ConfigOverBudget' | 'WaveHeld';
  /**
   * With a warning: the situation alone ("required Secret db missing"), without what was done
   * about it (which changes once the digest is recorded): a warning is said once per cause.
   */
  cause?: string;
  /** What to record as the pods' parts (src/core/record.ts): with adopt and roll. */
  parts?: ReadonlyMap<string, string>;
  /** The config objects ("Kind name") a roll is for: those whose difference it carries. */
  for?: readonly string[];
  /** A roll held by the workload's pause or roll window (src/core/hold.ts): a Normal Event, said once per cause. */
  notice?: 'RollPaused' | 'RollOutsideWindow';
  /** outside_window: when the window opens (wall-clock milliseconds since the epoch); the workload is looked at again then. */
  until?: number;
  /** A roll gated by the waves of a shared config object (src/waves/plan.ts): which wave it is in. */
  wave?: { source: string; position: string; token: string };
}

/** The object an Event is about (the Event's involvedObject field). */
export interface InvolvedObject {
  /** A workload kind (src/core/kinds.ts), or a config object's. */
  kind: WorkloadKind | SourceKind;
  /** The workload kind's group/version (apiVersionOf), v1 for a ConfigMap or Secret. */
  apiVersion: string;
  namespace: string;
  name: string;
  uid: string;
  resourceVersion?: string;
}

/**
 * What an Event's message was made from, for whoever else listens to Events (notifications,
 * src/notify/): names and counts only. `change` identifies a refused write among its repeats
 * (the digest refused): compared in memory, never shown.
 */
export type EventFacts =
  /** ConfigChanged: the workload rolled for these config objects ("ConfigMap app-config"; none: not known which). */
  | { kind: 'rolled'; changed: readonly string[]; wave?: { source: string; position: string } | undefined }
  /** PatchRejected: the apiserver refused the write (403, 422). */
  | { kind: 'refused'; action: 'adopt' | 'roll'; status: number | undefined; changed: readonly string[]; change: string }
  /** WaveHeld on a config object: its change is held. */
  | { kind: 'held'; failing: readonly string[]; held: number; release: string };
