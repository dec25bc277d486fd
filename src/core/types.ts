// Shapes shared by the pure core (references, digest, decision). They hold only what
// decisions need: never a whole Kubernetes object, never a ConfigMap value.

/** One ConfigMap a workload consumes, merged over every place the pod template names it. */
export interface ConsumedConfigMap {
  name: string;
  /** true only when every reference to it is `optional: true` (or it was named by annotation). */
  optional: boolean;
  /**
   * The keys the workload reads, sorted and unique, or null when it reads the whole ConfigMap
   * (a volume without `items`, envFrom, or the configmaps annotation). A change to a key no
   * reference reads does not roll the workload.
   */
  keys: string[] | null;
}

/**
 * What is retained per ConfigMap: one digest per key (data and binaryData, kept apart), so
 * memory grows with the number of keys, not with the size of the values.
 */
export interface ConfigMapContent {
  /** key -> digest of (section, key, value); section is "data" or "binaryData". */
  keyDigests: ReadonlyMap<string, string>;
}

/** Result of reading the opt-in annotations of a workload. */
export type OptIn =
  | { kind: 'out' }
  | { kind: 'in'; referenced: boolean; extraConfigMaps: string[] }
  | { kind: 'malformed'; annotation: string; value: string; reason: string };

export type Action = 'none' | 'adopt' | 'roll';

export type DecisionCode =
  | 'not_opted_in'
  | 'malformed_annotation'
  | 'configmap_missing'
  | 'first_seen'
  | 'format_upgrade'
  | 'template_changed'
  | 'up_to_date'
  | 'config_changed';

export interface Decision {
  action: Action;
  /** A short fixed code for metrics (bounded cardinality), e.g. up_to_date, rolled. */
  code: DecisionCode;
  /** One sentence a person reads in the log and in an Event. */
  reason: string;
  /** Digest to record (adopt, roll); absent for none. */
  digest?: string;
  /** Set when the situation deserves a Warning (malformed annotation, missing required ConfigMap). */
  warning?: 'MalformedAnnotation' | 'ConfigMapMissing';
}
