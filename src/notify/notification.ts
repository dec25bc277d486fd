// What a notification says (docs/notifications.md): the facts of one rolled change, held wave or
// refused write, as names and counts. Nothing here can hold a value, a digest or a URL: the
// aggregator (./aggregator.ts) builds these from Events' facts, the renderers (./formats.ts)
// turn them into each webhook's body.

/** A config object or a workload, by name. */
export interface ObjectRef {
  kind: string;
  namespace: string;
  name: string;
}

/** The generic JSON's `schema` (bumped, with a new name, on any incompatible change). */
export const SCHEMA = 'config-reload.dev/notification/v1';

export type Notification =
  /**
   * Workloads rolled for one change of `object` (undefined: for configuration the operator could
   * not attribute to one object), gathered over the aggregation window; `wave` when in waves.
   */
  | {
    type: 'rolled'; at: number; namespace: string; object: ObjectRef | undefined; wave: string | undefined;
    /** The first MAX_LISTED, in the order they rolled. */
    workloads: ObjectRef[];
    /** All of them, listed or not. */
    workloadCount: number;
  }
  /** A change of `object` is held: its wave failed; `releaseCommand` rolls the rest anyway. */
  | { type: 'wave_held'; at: number; object: ObjectRef; failing: ObjectRef[]; heldCount: number; releaseCommand: string }
  /** The apiserver refused the operator's roll of `workload` (403: RBAC, 422: an admission policy). */
  | { type: 'write_refused'; at: number; workload: ObjectRef; status: number | undefined; objects: ObjectRef[] };

/** At most this many workloads are listed in one message (the count says how many in all). */
export const MAX_LISTED = 1000;

/** "ConfigMap app-config" (a decision's `for`) in `namespace`; undefined when it is not that shape. */
export function objectOf(display: string, namespace: string): ObjectRef | undefined {
  const m = /^(\S+) (\S+)$/.exec(display);
  return m ? { kind: m[1]!, namespace, name: m[2]! } : undefined;
}

/** "Deployment/shop/web" (a workload key, as waves list failing workloads). */
export function workloadOf(key: string): ObjectRef | undefined {
  const m = /^([^/]+)\/([^/]+)\/(.+)$/.exec(key);
  return m ? { kind: m[1]!, namespace: m[2]!, name: m[3]! } : undefined;
}
