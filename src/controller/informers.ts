// The informers: one reflector per watched kind and namespace (or one for all), each feeding its
// store through a sink, and telling triage what moved. Scoping happens at the watch — one
// watch per namespace, selectors applied by the apiserver — so that what is not watched costs
// neither memory nor bandwidth. Which watches are refused (403) now is kept in one place,
// WatchAvailability: decisions read it, and it says each refusal and each recovery once.
import type { Logger } from 'winston';
import type { WorkloadKind } from '../core/keys.ts';
import type { SourceKind } from '../core/types.ts';
import { type ClusterApi, CONFIGMAPS, type ResourceType, SECRETS, workloadType } from '../kube/cluster-api.ts';
import type { Peer } from '../core/peer-annotations.ts';
import type { SaidOnce } from '../time/said-once.ts';
import type { SourceLike, SourceStore } from '../state/source-store.ts';
import type { WorkloadLike, WorkloadStore } from '../state/workload-store.ts';
import type { Clock } from '../time/clock.ts';
import { Reflector } from '../watch/reflector.ts';
import type { ControllerObserver } from './observer.ts';
import { gated, guarded, type SinkGate, sourceSink, unacceptedNotice, workloadSink } from './sinks.ts';
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
  /** The workloads said to be opted in only by a peer not accepted: one memory for every scope's informers. */
  unacceptedSaid: SaidOnce;
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
    }, gated(guarded(workloadSink(opts.workloads, kind, namespace, opts.triage, unacceptedNotice(opts.unacceptedSaid, opts.log, opts.acceptAnnotations)), open), held)) });
  }
  return { sources, workloads };
}

function signal(): { settled: Promise<void>; settle: () => void } {
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  return { settled, settle };
}
