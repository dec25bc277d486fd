// The store of workloads: one entry per opted-in Deployment, StatefulSet or DaemonSet
// (src/state/workload-entry.ts says what an entry holds).
//
// The store owns its entries. An entry is an immutable value that only the store replaces;
// every change is a named transition applied to the entry that is current at the moment it
// happens (an observation from the watch or a list, "our write was acknowledged", "a dry-run
// write was simulated"), checked against the workload's uid so that nothing lands on a
// workload that was deleted and recreated under the same name. A reconcile reads a snapshot and
// reports what it did through these transitions; it never writes into the snapshot
// (docs/architecture.md, "Who owns which state").
//
// Longer than 300 lines: its transitions (observe, list, writes acknowledged, simulated or
// refused, views, namespaces dropped) act on one map and must stay together.
import type { WorkloadKey, WorkloadKind } from '../core/keys.ts';
import { ALL_KINDS } from '../core/kinds.ts';
import { sourceKey, workloadKey } from '../core/keys.ts';
import { ReferenceIndex } from './reference-index.ts';
import { LRUCache } from 'lru-cache';
import { atOrAfter, BY_RESOURCE_VERSION, type Dater } from '../core/ordering.ts';
import { formatRecord, type WorkloadRecord } from '../core/record.ts';
import type { SourceKind } from '../core/types.ts';
import { type AcceptedPeers, NO_PEERS } from '../core/peer-annotations.ts';
import type { Clock } from '../time/clock.ts';
import {
  type OwnWrite, type Remembered, settle, type VersionRange, type WorkloadLike, type WorkloadObservation, type WorkloadState,
} from './workload-entry.ts';
import { readWorkload, type WorkloadReading } from './workload-reading.ts';

export {
  type OwnWrite, recordView, type RecordView, type RolloutStrategy, type VersionRange, type WorkloadLike, type WorkloadObservation,
  type WorkloadState,
} from './workload-entry.ts';

export interface WorkloadReplacement {
  add(d: WorkloadLike): void;
  /** Swaps the store for the list's contents (made at `resourceVersion`); returns what changed against the old contents. */
  commit(resourceVersion?: string): { observed: WorkloadObservation[]; removed: WorkloadState[] };
}

/** client-go's expectations wait five minutes for the watch to confirm a write. */
export const PENDING_WRITE_TTL_MS = 5 * 60_000;

/** What the reconciler wrote (or, in dry-run, would have written). */
export interface WriteOutcome {
  digest: string;
  record: WorkloadRecord;
  /** The template fingerprint after the write. */
  template: string;
  rolled: boolean;
  /** The answer's resourceVersion (dry-run: the snapshot's). */
  resourceVersion: string;
}

/** Workloads not opted in whose template date is remembered (a few dozen bytes each). */
const MAX_REMEMBERED = 10_000;

export class WorkloadStore {
  #entries = new Map<WorkloadKey, WorkloadState>();
  readonly #late = new Set<WorkloadKind>();
  /** Which config objects each entry consumes, and the reverse: kept by this store's own transitions. */
  readonly index = new ReferenceIndex();
  /** Per watch (kind and scope: a namespace, '' for all): the last version it showed. */
  readonly #seen = new Map<string, bigint>();
  /**
   * When the template of a workload not opted in was last written, as far as seen: opting in
   * arrives as an update, which dates nothing, and a workload that opts in again after someone
   * rolled it while it was out would otherwise look rolled at an unknown time. Bounded: one
   * forgotten is merely undated.
   */
  readonly #remembered = new LRUCache<WorkloadKey, Remembered>({ max: MAX_REMEMBERED });
  #revision = 0;
  readonly #clock: Clock;
  readonly #sources: ReadonlySet<SourceKind>;
  readonly #dater: Dater;
  readonly #accept: AcceptedPeers;

  /**
   * `sources`: the kinds of config object watched (references to others are not retained);
   * `dater`: how observations are dated (src/core/ordering.ts); `accept`: the peers' annotations honoured.
   */
  constructor(
    clock: Clock, sources: ReadonlySet<SourceKind> = new Set<SourceKind>(['ConfigMap', 'Secret']), dater: Dater = BY_RESOURCE_VERSION, accept: AcceptedPeers = NO_PEERS,
  ) {
    this.#clock = clock;
    this.#sources = sources;
    this.#dater = dater;
    this.#accept = accept;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Moves on every transition: what was computed from the entries is stale once it moved (the wave plans). */
  get revision(): number {
    return this.#revision;
  }

  get(key: WorkloadKey): WorkloadState | undefined {
    return this.#entries.get(key);
  }

  values(): IterableIterator<WorkloadState> {
    return this.#entries.values();
  }

  /**
   * A watch event from the watch of `scope`: its resourceVersion is the write it shows, so a
   * template change is dated exactly. `created`: an ADDED event, the workload's creation.
   */
  observe(kind: WorkloadKind, d: WorkloadLike, created = false, scope = ''): WorkloadObservation {
    const key = keyOf(kind, d);
    const at = this.#dater.event(d.metadata?.resourceVersion);
    this.#saw(kind, scope, at);
    const previous = this.#entries.get(key);
    const remembered = this.#remembered.get(key);
    const read = this.#read(kind, d, previous, remembered);
    const built = settle(read, previous, { source: created ? 'created' : 'event', at, remembered }, this.#clock.now());
    this.#remember(key, read, previous, built.state, at === undefined ? undefined : { lo: at, hi: at }, created);
    this.#revision++;
    if (built.state) this.#entries.set(key, built.state);
    else this.#entries.delete(key);
    this.#indexed(key, built.state);
    return built;
  }

  /**
   * Keeps the template date of a workload that is not opted in: from its entry when it opts out,
   * from its events while out (a template change is dated by the event that shows it; `written`
   * is that event's date, or a relist's gap); forgotten once it is opted in again.
   */
  #remember(
    key: WorkloadKey, read: WorkloadReading, previous: WorkloadState | undefined, now: WorkloadState | undefined, written: VersionRange | undefined, created: boolean,
  ): void {
    if (now !== undefined) {
      this.#remembered.delete(key);
      return;
    }
    const { uid, generation, template } = read;
    const noted = this.#remembered.peek(key);
    if (previous !== undefined && previous.uid === uid) {
      const { firstSeen, firstListed, firstSeenVersion, ownRecord } = previous;
      this.#remembered.set(key, {
        uid, generation: previous.generation, template: previous.template, templateWritten: previous.templateWritten,
        sight: { firstSeen, firstListed, firstSeenVersion, ownRecord },
      });
    }
    const last = this.#remembered.peek(key) ?? noted;
    if (last !== undefined && last.uid === uid && last.generation === generation) return;
    // A spec change (or one unseen): its template was read (hashed) only then, never on status updates.
    const same = last !== undefined && last.uid === uid && last.template === template;
    const templateWritten = same ? last.templateWritten : created || last !== undefined && last.uid === uid ? written : undefined;
    this.#remembered.set(key, { uid, generation, template, templateWritten, sight: last?.uid === uid ? last.sight : undefined });
  }

  remove(key: WorkloadKey): WorkloadState | undefined {
    const previous = this.#entries.get(key);
    this.#remembered.delete(key);
    this.#revision++;
    this.#entries.delete(key);
    this.index.delete(key);
    return previous;
  }

  /**
   * A complete list of one kind, page by page; the store changes only at commit. `namespace`:
   * the list covers that namespace only (one watch per namespace); entries of others are kept.
   */
  beginReplace(kind: WorkloadKind, namespace?: string): WorkloadReplacement {
    const scope = namespace ?? '';
    const seenUntil = this.#seen.get(`${kind}|${scope}`);
    // Each item is read as it arrives (a page at a time, between reads): the commit only compares
    // and swaps. It was one turn of the event loop that parsed and hashed every template, about
    // 50 µs per workload (bench/synthetic: 5 s at 100,000), while the Lease and every change waited.
    const listed = new Map<WorkloadKey, WorkloadReading>();
    return {
      add: (d) => {
        const key = keyOf(kind, d);
        listed.set(key, this.#read(kind, d, this.#entries.get(key), this.#remembered.peek(key)));
      },
      commit: (resourceVersion) => {
        const listedAt = this.#dater.list(resourceVersion);
        // What a relist could not see: from after the last version the watch showed to the list.
        const gap = seenUntil !== undefined && listedAt !== undefined ? { lo: seenUntil + 1n, hi: listedAt } : undefined;
        // First seen in a first list: the list is the adoption point.
        const adoptedAt = gap === undefined && listedAt !== undefined
          ? { firstSeen: { lo: listedAt, hi: listedAt }, firstListed: !this.#late.has(kind) } : undefined;
        const observed: WorkloadObservation[] = [];
        const next = new Map<WorkloadKey, WorkloadState>();
        const removed: WorkloadState[] = [];
        for (const [key, entry] of this.#entries) {
          if (entry.kind !== kind || (namespace !== undefined && entry.namespace !== namespace)) next.set(key, entry);
          else if (!listed.has(key)) removed.push(entry);
        }
        const now = this.#clock.now();
        for (const [key, read] of listed) {
          const previous = this.#entries.get(key);
          // Its last write is its own version: nothing of it happened after that.
          const writtenBy = this.#dater.item(read.resourceVersion, listedAt);
          const itsGap = gap && writtenBy !== undefined && writtenBy < gap.hi ? { lo: gap.lo, hi: writtenBy < gap.lo ? gap.lo : writtenBy } : gap;
          const built = settle(read, previous, { source: 'list', gap: itsGap, remembered: this.#remembered.get(key), adoptedAt }, now);
          this.#remember(key, read, previous, built.state, itsGap, false);
          observed.push(built);
          if (built.state) next.set(key, built.state);
        }
        this.#entries = next;
        this.#revision++;
        for (const gone of removed) this.index.delete(gone.key);
        // An entry kept as it was (listed at its own version) is indexed as it was.
        for (const o of observed) if (o.state === undefined || o.state !== o.previous) this.#indexed(o.key, o.state);
        this.#saw(kind, scope, listedAt);
        return { observed, removed };
      },
    };
  }

  /**
   * The namespace is no longer watched (it left --namespace-selector): its entries, what is
   * remembered of its workloads and its watches' views go; returns the entries dropped. Watched
   * again, its first list is a first list (its workloads adopted, none seen in a relist's gap).
   */
  dropNamespace(namespace: string): WorkloadState[] {
    const dropped: WorkloadState[] = [];
    for (const entry of this.#entries.values()) if (entry.namespace === namespace) dropped.push(entry);
    for (const entry of dropped) {
      this.#entries.delete(entry.key);
      this.index.delete(entry.key);
    }
    for (const kind of ALL_KINDS) {
      const prefix = workloadKey(kind, namespace, '');
      for (const key of [...this.#remembered.keys()]) if (key.startsWith(prefix)) this.#remembered.delete(key);
      this.#seen.delete(`${kind}|${namespace}`);
    }
    this.#revision++;
    return dropped;
  }

  /** A kind watched after start-up (src/controller/workload-kinds.ts): its first list is each workload's own adoption point. */
  listsLate(kind: WorkloadKind): void {
    this.#late.add(kind);
  }

  /** Opted-in workloads of one kind (the watched_objects metric). */
  countOf(kind: WorkloadKind): number {
    let n = 0;
    for (const entry of this.#entries.values()) if (entry.kind === kind) n++;
    return n;
  }

  /** The key of a workload object of `kind` (for a watch DELETED event). */
  keyOf(kind: WorkloadKind, d: WorkloadLike): WorkloadKey {
    return keyOf(kind, d);
  }

  /**
   * Our merge patch was acknowledged at `write.resourceVersion`. Until the watch shows that
   * version (or a later one), the write stands for the observed record, so a reconcile in
   * between cannot roll the same change twice.
   */
  writeAcknowledged(key: WorkloadKey, uid: string, write: WriteOutcome): void {
    const current = this.#entries.get(key);
    if (!current || current.uid !== uid) return;
    const alreadySeen = current.resourceVersion === write.resourceVersion || atOrAfter(current.resourceVersion, write.resourceVersion) === true;
    const written = own({ ...write, writtenAt: this.#dater.answer(write.resourceVersion) }, this.#clock.now() + PENDING_WRITE_TTL_MS);
    this.#replace(current, { pendingWrite: alreadySeen ? current.pendingWrite : written, refusedRoll: undefined, ownRecord: formatRecord(write.record) });
  }

  /** The apiserver refused our roll to `digest` (a policy, RBAC): no retry soon will pass. */
  writeRefused(key: WorkloadKey, uid: string, digest: string): void {
    const current = this.#entries.get(key);
    if (!current || current.uid !== uid || current.refusedRoll === digest) return;
    this.#replace(current, { refusedRoll: digest });
  }

  /** Dry-run: the write that would have been sent, so that it is reported once. */
  writeSimulated(key: WorkloadKey, uid: string, write: WriteOutcome): void {
    const current = this.#entries.get(key);
    if (!current || current.uid !== uid) return;
    // Nothing was written: the template stays as it is, and the would-be record describes it.
    const record = { ...write.record, template: current.template };
    this.#replace(current, { simulated: own({ ...write, record, template: current.template, writtenAt: undefined }, Infinity) });
  }

  /** A bookmark of the watch of `kind` in `scope`. */
  progress(kind: WorkloadKind, resourceVersion: string, scope = ''): void {
    this.#saw(kind, scope, this.#dater.event(resourceVersion));
  }

  /** The last version the watch of `kind` covering `namespace` reached, as dated. */
  viewAt(kind: WorkloadKind, namespace: string): bigint | undefined {
    return this.#seen.get(`${kind}|${namespace}`) ?? this.#seen.get(`${kind}|`);
  }

  #saw(kind: WorkloadKind, scope: string, version: bigint | undefined): void {
    const id = `${kind}|${scope}`;
    const seen = this.#seen.get(id);
    if (version !== undefined && (seen === undefined || version > seen)) this.#seen.set(id, version);
  }

  /** Reads `d`, reusing what its entry or the remembered template date already read of the same spec. */
  #read(kind: WorkloadKind, d: WorkloadLike, entry: WorkloadState | undefined, remembered: Remembered | undefined): WorkloadReading {
    return readWorkload(kind, d, this.#sources, this.#accept, { entry, remembered });
  }

  #indexed(key: WorkloadKey, state: WorkloadState | undefined): void {
    if (state) this.index.set(key, state.consumed.map((c) => sourceKey(c.kind, state.namespace, c.name)));
    else this.index.delete(key);
  }

  #replace(current: WorkloadState, patch: Partial<WorkloadState>): void {
    this.#revision++;
    this.#entries.set(current.key, Object.freeze({ ...current, ...patch }));
  }
}

function own(write: WriteOutcome & { writtenAt: bigint | undefined }, expiresAt: number): OwnWrite {
  return Object.freeze({ ...write, expiresAt });
}

function keyOf(kind: WorkloadKind, d: WorkloadLike): WorkloadKey {
  return workloadKey(kind, d.metadata?.namespace ?? '', d.metadata?.name ?? '');
}
