// The informers: one reflector per watched kind and namespace (or one for all), each feeding its
// store through a sink, and telling triage what moved. Scoping happens at the watch — one
// watch per namespace, selectors applied by the apiserver — so that what is not watched costs
// neither memory nor bandwidth. Which watches are refused (403) now is kept in one place,
// WatchAvailability: decisions read it, and it says each refusal and each recovery once.
import type { Logger } from 'winston';
import type { WorkloadKind } from '../core/keys.ts';
import type { SourceKind } from '../core/types.ts';
import { type ClusterApi, CONFIGMAPS, type ResourceType, SECRETS, workloadType } from '../kube/cluster-api.ts';
import { LRUCache } from 'lru-cache';
import { HASH_ANNOTATION } from '../core/annotations.ts';
import { type Peer, unacceptedOptIn } from '../core/peer-annotations.ts';
import type { SourceLike, SourceStore } from '../state/source-store.ts';
import type { WorkloadLike, WorkloadStore } from '../state/workload-store.ts';
import type { Clock } from '../time/clock.ts';
import { Reflector, type ReflectorSink } from '../watch/reflector.ts';
import type { ControllerObserver } from './observer.ts';
import type { Triage } from './triage.ts';

// A ConfigMap or Secret may hold up to 1 MiB: smaller pages bound what one page costs in transit.
const SOURCE_PAGE_SIZE = 100;
const WORKLOAD_PAGE_SIZE = 500;

export const SOURCE_TYPES: Record<SourceKind, ResourceType> = { ConfigMap: CONFIGMAPS, Secret: SECRETS };

/** Which watches are refused (403) now, per resource and scope (a namespace, '' for all). */
export class WatchAvailability {
  readonly #log: Logger;
  readonly #refused = new Map<string, Set<string>>();
  #revision = 0;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Moves whenever a resource becomes watchable in every scope, or stops being (decisions read it). */
  get revision(): number {
    return this.#revision;
  }

  /** Whether every scope of the resource can be watched. */
  available(plural: string): boolean {
    return !this.#refused.has(plural);
  }

  /**
   * A watch of `plural` in `scope` works (synced) or is refused: said once each way, naming the
   * permission and the flag that drops it. Returns whether the resource's availability changed.
   */
  set(plural: string, scope: string, usable: boolean, error?: string, flag?: string): boolean {
    const scopes = this.#refused.get(plural) ?? new Set<string>();
    const was = scopes.size === 0;
    const said = scopes.has(scope);
    if (usable) scopes.delete(scope);
    else scopes.add(scope);
    if (scopes.size === 0) this.#refused.delete(plural);
    else this.#refused.set(plural, scopes);
    if (!usable && !said) {
      this.#log.error(`cannot watch ${plural}: serving everything else, retrying with backoff`, {
        error,
        missingPermission: `list and watch on ${plural} (${scope ? `namespace ${scope}` : 'all namespaces'})`,
        ...(flag ? { toTurnOff: flag } : {}),
      });
    } else if (usable && said) {
      this.#log.info(`${plural} can be watched again`, { scope: scope || '(all namespaces)' });
    }
    const changed = (scopes.size === 0) !== was;
    if (changed) this.#revision++;
    return changed;
  }

  /** A namespace no longer watched: its refusals go with it, unsaid. Returns the resources that became available. */
  forget(scope: string): string[] {
    const recovered: string[] = [];
    for (const [plural, scopes] of this.#refused) {
      if (!scopes.delete(scope) || scopes.size > 0) continue;
      this.#refused.delete(plural);
      recovered.push(plural);
    }
    if (recovered.length > 0) this.#revision++;
    return recovered;
  }
}

export interface InformersOptions {
  api: ClusterApi;
  clock: Clock;
  log: Logger;
  sources: ReadonlyMap<SourceKind, SourceStore>;
  workloads: WorkloadStore;
  workloadKinds: readonly WorkloadKind[];
  availability: WatchAvailability;
  triage: Triage;
  namespaces?: readonly string[] | undefined;
  /** Left out of a watch of every namespace by a field selector (with a list or a Namespace selector they are never opened). */
  excludeNamespaces?: readonly string[] | undefined;
  configMapSelector?: string | undefined;
  secretSelector?: string | undefined;
  secretFieldSelector?: string | undefined;
  pageSize?: number | undefined;
  watchdogMs?: number | undefined;
  observer?: ControllerObserver | undefined;
  /** A kind of config object became watchable again in every scope: the workloads it held are decided now. */
  sourceRecovered(): void;
  /** --accept-annotations: the peers whose opt-in annotations are honoured. */
  acceptAnnotations?: readonly Peer[] | undefined;
}

export interface Informer {
  name: string;
  reflector: Reflector<SourceLike> | Reflector<WorkloadLike>;
  /** Resolves once it has synced, or been refused. */
  settled: Promise<void>;
}

/** One reflector per kind and watched namespace, each with its sink. */
export function informers(opts: InformersOptions): Informer[] {
  const scopes: Array<string | undefined> = opts.namespaces && opts.namespaces.length > 0 ? [...opts.namespaces] : [undefined];
  return scopes.flatMap((namespace) => {
    const { sources, workloads } = scopeInformers(opts, namespace);
    return [...sources, ...workloads];
  });
}

/**
 * The reflectors of one scope (a namespace, or undefined for all), config objects and workloads
 * apart: a namespace opened while the operator runs decides none of its workloads before its
 * config objects are listed (src/controller/namespaces.ts). `open`: while false, their sinks take nothing (a
 * namespace closed while an event was on its way). `held`: the workloads' sinks wait for it.
 */
export function scopeInformers(
  opts: InformersOptions, namespace: string | undefined, open: () => boolean = () => true, held?: SinkGate,
): { sources: Informer[]; workloads: Informer[] } {
  const { observer, availability } = opts;
  const common = { api: opts.api, clock: opts.clock, log: opts.log, ...(opts.watchdogMs ? { watchdogMs: opts.watchdogMs } : {}) };
  const labelSelectors: Record<SourceKind, string | undefined> = { ConfigMap: opts.configMapSelector, Secret: opts.secretSelector };
  // Excluded namespaces cost nothing on a watch of every namespace either: the apiserver leaves them out.
  const excluded = namespace === undefined ? (opts.excludeNamespaces ?? []).map((ns) => `metadata.namespace!=${ns}`) : [];
  const fieldSelector = (...more: Array<string | undefined>) => [...more.filter((f) => f !== undefined), ...excluded].join(',') || undefined;
  const scope = namespace ?? '';
  const suffix = namespace ? ` (${namespace})` : '';
  const sources: Informer[] = [];
  const workloads: Informer[] = [];
  for (const [kind, store] of opts.sources) {
    const type = SOURCE_TYPES[kind];
    const { settled, settle } = signal();
    const sourceUsable = (usable: boolean, error?: string) => {
      const flag = kind === 'Secret' ? '--config-sources configmaps' : '--config-sources';
      const changed = availability.set(type.plural, scope, usable, error, flag);
      observer?.sourceAvailable?.(type.plural, availability.available(type.plural));
      if (changed && usable) opts.sourceRecovered();
    };
    // Helm keeps every release in a Secret of up to 1 MiB that no pod mounts: excluded by
    // the apiserver, they cost neither memory nor bandwidth.
    const selected = fieldSelector(kind === 'Secret' ? opts.secretFieldSelector : undefined);
    sources.push({ name: `${kind} reflector${suffix}`, settled, reflector: new Reflector<SourceLike>({
      ...common, type, namespace, pageSize: opts.pageSize ?? SOURCE_PAGE_SIZE,
      labelSelector: labelSelectors[kind],
      ...(selected ? { fieldSelector: selected } : {}),
      hooks: {
        onRelist: (reason) => observer?.relist?.(type.plural, reason),
        onWatchRestart: (reason) => observer?.watchRestart?.(type.plural, reason),
        onSynced: () => {
          if (!open()) return settle();
          observer?.synced?.(type.plural, store.size);
          settle();
          sourceUsable(true);
        },
        onForbidden: (error) => {
          settle();
          if (open()) sourceUsable(false, error);
        },
      },
    }, guarded(sourceSink(store, scope, opts.triage), open)) });
  }
  for (const kind of opts.workloadKinds) {
    const type = workloadType(kind);
    const { settled, settle } = signal();
    const selected = fieldSelector();
    workloads.push({ name: `${kind} reflector${suffix}`, settled, reflector: new Reflector<WorkloadLike>({
      ...common, type, namespace, pageSize: opts.pageSize ?? WORKLOAD_PAGE_SIZE,
      ...(selected ? { fieldSelector: selected } : {}),
      hooks: {
        onRelist: (reason) => observer?.relist?.(type.plural, reason),
        onWatchRestart: (reason) => observer?.watchRestart?.(type.plural, reason),
        onSynced: () => {
          settle();
          if (!open()) return;
          observer?.synced?.(type.plural, opts.workloads.countOf(kind));
          availability.set(type.plural, scope, true);
        },
        // A kind it may not watch holds nothing back: the other kinds are served.
        onForbidden: (error) => {
          settle();
          if (open()) availability.set(type.plural, scope, false, error, '--workload-kinds');
        },
      },
    }, gated(guarded(workloadSink(opts.workloads, kind, namespace, opts.triage, unacceptedNotice(opts)), open), held)) });
  }
  return { sources, workloads };
}

/** A sink that takes nothing while `open()` is false. */
function guarded<T>(sink: ReflectorSink<T>, open: () => boolean): ReflectorSink<T> {
  return {
    upsert: (obj, created) => void (open() && sink.upsert(obj, created)),
    remove: (obj) => void (open() && sink.remove(obj)),
    progress: (rv) => void (open() && sink.progress?.(rv)),
    beginList: () => {
      const list = sink.beginList();
      return { add: (obj) => list.add(obj), commit: (rv) => void (open() && list.commit(rv)) };
    },
  };
}

/**
 * Holds a sink's calls, in order, until released: a namespace opened while the operator runs
 * watches its workloads from the moment it opens (a workload created while its config objects
 * are listed is an event, dated), but none is observed before what it reads is known.
 */
export class SinkGate {
  #held: Array<() => void> | undefined = [];

  get released(): boolean {
    return this.#held === undefined;
  }

  run(call: () => void): void {
    if (this.#held) this.#held.push(call);
    else call();
  }

  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const call of held) call();
  }
}

/**
 * A sink whose calls wait for `gate` (none: as it is); a list begun while held is replayed whole
 * at its commit. While held, an update that leaves the spec as it was (the same generation: a
 * status or metadata update, most of a workload's events) replaces the update of the same
 * workload held before it, so that what is held grows with spec changes, not with time (a
 * namespace whose config objects take long to list). Creations and deletions are kept as they
 * are: a creation dates the template's write.
 */
export function gated<T extends WorkloadLike>(sink: ReflectorSink<T>, gate: SinkGate | undefined): ReflectorSink<T> {
  if (gate === undefined) return sink;
  /** Per workload: its update held last since the last list or creation, which a later one of the same generation replaces. */
  const latest = new Map<string, { obj: T; generation: number }>();
  const keyOf = (obj: T) => `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
  return {
    upsert: (obj, created) => {
      if (gate.released) return sink.upsert(obj, created);
      const key = keyOf(obj);
      const generation = obj.metadata?.generation;
      const held = created ? undefined : latest.get(key);
      if (held !== undefined && held.generation === generation) {
        held.obj = obj;
        return;
      }
      if (created || typeof generation !== 'number') {
        latest.delete(key);
        gate.run(() => sink.upsert(obj, created));
        return;
      }
      const slot = { obj, generation };
      latest.set(key, slot);
      gate.run(() => sink.upsert(slot.obj, false));
    },
    remove: (obj) => {
      latest.delete(keyOf(obj));
      gate.run(() => sink.remove(obj));
    },
    progress: (rv) => gate.run(() => sink.progress?.(rv)),
    beginList: () => {
      if (gate.released) return sink.beginList();
      const items: T[] = [];
      return {
        add: (obj) => void items.push(obj),
        commit: (rv) => {
          // What follows the list is not to be moved in front of it.
          latest.clear();
          gate.run(() => {
            const list = sink.beginList();
            for (const obj of items) list.add(obj);
            list.commit(rv);
          });
        },
      };
    },
  };
}

function signal(): { settled: Promise<void>; settle: () => void } {
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  return { settled, settle };
}

function sourceSink(store: SourceStore, scope: string, triage: Triage): ReflectorSink<SourceLike> {
  return {
    upsert: (obj) => {
      const change = store.observe(obj, scope);
      if (change) triage.configChanged(change);
      triage.viewMoved();
    },
    remove: (obj) => {
      const change = store.observeDeleted(obj, scope);
      if (change) triage.configChanged(change);
      triage.viewMoved();
    },
    progress: (rv) => {
      store.progress(rv, scope);
      triage.viewMoved();
    },
    beginList: () => {
      const replacement = store.beginReplace(scope === '' ? undefined : scope);
      return {
        add: (obj) => replacement.add(obj),
        commit: (rv) => {
          for (const change of replacement.commit(rv)) triage.configChanged(change);
          triage.viewMoved();
        },
      };
    },
  };
}

/** Per workload store: the workloads (by uid) said to be opted in only by a peer not accepted. */
const unacceptedSaid = new WeakMap<WorkloadStore, LRUCache<string, true>>();

/**
 * Says once per workload that one the operator recorded is opted in only by annotations of a
 * peer that --accept-annotations does not accept now (the flag dropped at a restart): it is not
 * watched, nothing is written to it, and its changes roll nothing until the flag is back.
 */
function unacceptedNotice(opts: InformersOptions): (d: WorkloadLike, kind: WorkloadKind) => void {
  const accept = new Set(opts.acceptAnnotations ?? []);
  let said = unacceptedSaid.get(opts.workloads);
  if (said === undefined) unacceptedSaid.set(opts.workloads, (said = new LRUCache<string, true>({ max: 10_000 })));
  const seen = said;
  return (d, kind) => {
    const meta = d.metadata?.annotations;
    const uid = d.metadata?.uid ?? '';
    if (meta?.[HASH_ANNOTATION] === undefined || seen.has(uid)) return;
    const peers = unacceptedOptIn(meta, d.spec?.template?.metadata?.annotations, accept, d.metadata?.namespace ?? '');
    if (peers.length === 0) return;
    seen.set(uid, true);
    opts.log.warn('workload opted in only by annotations of a peer not accepted: not watched, nothing written, its changes roll nothing', {
      workload: `${kind}/${d.metadata?.namespace ?? ''}/${d.metadata?.name ?? ''}`, peers, toHonour: `--accept-annotations ${[...accept, ...peers].join(',')}`,
    });
  };
}

function workloadSink(
  workloads: WorkloadStore, kind: WorkloadKind, namespace: string | undefined, triage: Triage, unaccepted: (d: WorkloadLike, kind: WorkloadKind) => void,
): ReflectorSink<WorkloadLike> {
  return {
    upsert: (d, created) => {
      const observed = workloads.observe(kind, d, created, namespace ?? '');
      if (!observed.state) unaccepted(d, kind);
      triage.workloadObserved(observed);
    },
    progress: (rv) => workloads.progress(kind, rv, namespace ?? ''),
    remove: (d) => {
      const removed = workloads.remove(workloads.keyOf(kind, d));
      if (removed) triage.workloadRemoved(removed);
    },
    beginList: () => {
      const replacement = workloads.beginReplace(kind, namespace);
      return {
        add: (d) => {
          replacement.add(d);
          unaccepted(d, kind);
        },
        commit: (rv) => {
          const { observed, removed } = replacement.commit(rv);
          for (const gone of removed) triage.workloadRemoved(gone);
          for (const o of observed) triage.workloadObserved(o);
        },
      };
    },
  };
}
