// The three API calls the controller makes — one page of a LIST, a WATCH, a JSON merge patch —
// as an interface, so that the composition root chooses the implementation (HTTP against a
// real apiserver, src/kube/http-cluster-api.ts) and unit tests an in-memory stand-in.
// Objects travel as plain JSON, exactly as the apiserver sends them: list pages and watch
// events have the same shape, and nothing is built that the operator does not read.
import { kindSpec, type WorkloadKind } from '../core/kinds.ts';

/** A namespaced resource type of the API. */
export interface ResourceType {
  /** The Kind, for messages and Events. */
  kind: string;
  /** '/api/v1' or '/apis/<group>/<version>'. */
  apiPath: string;
  plural: string;
}

/** The field manager of everything the operator writes (server-side apply's managedFields name it). */
export const FIELD_MANAGER = 'config-reload-operator';

export const CONFIGMAPS: ResourceType = { kind: 'ConfigMap', apiPath: '/api/v1', plural: 'configmaps' };
export const SECRETS: ResourceType = { kind: 'Secret', apiPath: '/api/v1', plural: 'secrets' };
export const DEPLOYMENTS: ResourceType = { kind: 'Deployment', apiPath: '/apis/apps/v1', plural: 'deployments' };
export const STATEFULSETS: ResourceType = { kind: 'StatefulSet', apiPath: '/apis/apps/v1', plural: 'statefulsets' };
export const DAEMONSETS: ResourceType = { kind: 'DaemonSet', apiPath: '/apis/apps/v1', plural: 'daemonsets' };

/** The resource of a workload kind, at the version the operator reads (src/core/kinds.ts). */
export function workloadType(kind: WorkloadKind): ResourceType {
  const s = kindSpec(kind);
  return { kind: s.kind, apiPath: s.group === '' ? `/api/${s.version}` : `/apis/${s.group}/${s.version}`, plural: s.plural };
}

/** Cluster-scoped: listed and watched with namespace undefined (--namespace-selector). */
export const NAMESPACES: ResourceType = { kind: 'Namespace', apiPath: '/api/v1', plural: 'namespaces' };

/** Filters the apiserver applies before anything is sent: what they exclude costs nothing here. */
export interface Selectors {
  fieldSelector?: string | undefined;
  labelSelector?: string | undefined;
}

/** The metadata every object the operator reads carries. */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface KubeObject {
  metadata?: ObjectMeta;
}

export interface ListRequest extends Selectors {
  /** undefined: every namespace. */
  namespace: string | undefined;
  limit: number;
  continueToken: string | undefined;
  signal?: AbortSignal;
}

/** What a page says once all its items were handed over (its items are not kept: see listPage). */
export interface ListPage {
  /** The list's resourceVersion: a watch from it misses nothing and repeats nothing. */
  resourceVersion: string;
  continueToken: string | undefined;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T> {
  type: WatchEventType;
  /** The object; for ERROR, a Status (with `code`, 410 when the resourceVersion is too old). */
  object: T & { code?: number; message?: string };
}

export interface WatchRequest extends Selectors {
  namespace: string | undefined;
  resourceVersion: string;
  /** Server-side timeout: the apiserver ends the watch cleanly after this long. */
  timeoutSeconds: number;
}

export interface WatchStream {
  /**
   * Settles when the watch ends: resolves when the server closed it (or abort() was called),
   * rejects with the failure otherwise (an HTTP status, a reset connection).
   */
  readonly ended: Promise<void>;
  abort(): void;
}

export interface MergePatchRequest {
  namespace: string;
  name: string;
  body: object;
  fieldManager: string;
  signal?: AbortSignal;
}

export interface ClusterApi {
  /**
   * One page of a list: each item is handed to `onItem`, in order, as it is read, and not kept
   * (a page of large objects is never held whole: docs/architecture.md, "Memory"). Resolves when
   * the page is complete; a page that fails part-way may have handed over some of its items.
   */
  listPage<T extends KubeObject>(type: ResourceType, request: ListRequest, onItem: (item: T) => void): Promise<ListPage>;
  /** Starts a watch; events are delivered in order, synchronously, to `onEvent`. */
  watch<T extends KubeObject>(type: ResourceType, request: WatchRequest, onEvent: (event: WatchEvent<T>) => void): WatchStream;
  /** application/merge-patch+json; resolves with the object as written. */
  mergePatch(type: ResourceType, request: MergePatchRequest): Promise<KubeObject>;
}

/**
 * Discovery, beside ClusterApi (the in-memory stand-in serves it too): which versions of a group
 * serve a resource. Readable by every authenticated user (system:discovery): no RBAC rule.
 */
export interface DiscoveryApi {
  /**
   * The versions of `group` that serve `plural`, the group's preferred version first; [] when
   * the group or the resource is not served (its CRD is not installed).
   */
  servedVersions(group: string, plural: string, signal?: AbortSignal): Promise<string[]>;
}

export function selectorQuery(selectors: Selectors): Record<string, string> {
  const query: Record<string, string> = {};
  if (selectors.fieldSelector) query['fieldSelector'] = selectors.fieldSelector;
  if (selectors.labelSelector) query['labelSelector'] = selectors.labelSelector;
  return query;
}

export function collectionPath(type: ResourceType, namespace: string | undefined): string {
  // '' is no namespace either: a cluster-scoped object (a Namespace) is read with it.
  return namespace === undefined || namespace === ''
    ? `${type.apiPath}/${type.plural}`
    : `${type.apiPath}/namespaces/${encodeURIComponent(namespace)}/${type.plural}`;
}
