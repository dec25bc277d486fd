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
import type { WorkloadKey, WorkloadKind } from '../core/keys.ts';
import { workloadKey } from '../core/keys.ts';
import { atOrAfter, parseResourceVersion } from '../core/ordering.ts';
import type { WorkloadRecord } from '../core/record.ts';
import type { SourceKind } from '../core/types.ts';
import type { Clock } from '../time/clock.ts';
import { build, type OwnWrite, type WorkloadLike, type WorkloadObservation, type WorkloadState } from './workload-entry.ts';

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

export class WorkloadStore {
  #entries = new Map<WorkloadKey, WorkloadState>();
  /** Per watch scope (a namespace, '' for all): the last version its view reached. */
  readonly #seen = new Map<string, bigint>();
  #revision = 0;
  readonly #clock: Clock;
  readonly #sources: ReadonlySet<SourceKind>;

  /** `sources`: the kinds of config object watched; references to others are not retained. */
  constructor(clock: Clock, sources: ReadonlySet<SourceKind> = new Set<SourceKind>(['ConfigMap', 'Secret'])) {
    this.#clock = clock;
    this.#sources = sources;
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
    this.#saw(scope, parseResourceVersion(d.metadata?.resourceVersion));
    const built = build(kind, d, this.#entries.get(key), { source: created ? 'created' : 'event' }, this.#sources, this.#clock.now());
    this.#revision++;
    if (built.state) this.#entries.set(key, built.state);
    else this.#entries.delete(key);
    return built;
  }

  remove(key: WorkloadKey): WorkloadState | undefined {
    const previous = this.#entries.get(key);
    this.#revision++;
    this.#entries.delete(key);
    return previous;
  }

  /** What a single object would be as an entry of this store (explain: one read, no history). */
  static entryOf(kind: WorkloadKind, d: WorkloadLike, sources: ReadonlySet<SourceKind>): WorkloadState | undefined {
    return build(kind, d, undefined, { source: 'list' }, sources, 0).state;
  }

  /**
   * A complete list of one kind, page by page; the store changes only at commit. `namespace`:
   * the list covers that namespace only (one watch per namespace); entries of others are kept.
   */
  beginReplace(kind: WorkloadKind, namespace?: string): WorkloadReplacement {
    const scope = namespace ?? '';
    const seenUntil = this.#seen.get(scope);
    const listed = new Map<WorkloadKey, WorkloadLike>();
    return {
      add: (d) => void listed.set(keyOf(kind, d), d),
      commit: (resourceVersion) => {
        const listedAt = parseResourceVersion(resourceVersion);
        // What a relist could not see: from after the last version the watch showed to the list.
        const gap = seenUntil !== undefined && listedAt !== undefined ? { lo: seenUntil + 1n, hi: listedAt } : undefined;
        const firstList = listedAt === undefined ? undefined : { lo: listedAt, hi: listedAt };
        const observed: WorkloadObservation[] = [];
        const next = new Map<WorkloadKey, WorkloadState>();
        const removed: WorkloadState[] = [];
        for (const [key, entry] of this.#entries) {
          if (entry.kind !== kind || (namespace !== undefined && entry.namespace !== namespace)) next.set(key, entry);
          else if (!listed.has(key)) removed.push(entry);
        }
        for (const [key, d] of listed) {
          const built = build(kind, d, this.#entries.get(key), { source: 'list', gap }, this.#sources, this.#clock.now());
          observed.push(built);
          if (!built.state) continue;
          // First seen in a first list: the list is the adoption point.
          const state = built.state.firstSeen === undefined && gap === undefined && firstList
            ? Object.freeze({ ...built.state, firstSeen: firstList }) : built.state;
          built.state = state;
          next.set(key, state);
        }
        this.#entries = next;
        this.#revision++;
        this.#saw(scope, listedAt);
        return { observed, removed };
      },
    };
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
    this.#replace(current, { pendingWrite: alreadySeen ? current.pendingWrite : own(write, this.#clock.now() + PENDING_WRITE_TTL_MS), refusedRoll: undefined });
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
    this.#replace(current, { simulated: own({ ...write, template: current.template }, Infinity) });
  }

  #saw(scope: string, version: bigint | undefined): void {
    const seen = this.#seen.get(scope);
    if (version !== undefined && (seen === undefined || version > seen)) this.#seen.set(scope, version);
  }

  #replace(current: WorkloadState, patch: Partial<WorkloadState>): void {
    this.#revision++;
    this.#entries.set(current.key, Object.freeze({ ...current, ...patch }));
  }
}

function own(write: WriteOutcome, expiresAt: number): OwnWrite {
  return Object.freeze({ ...write, expiresAt });
}

function keyOf(kind: WorkloadKind, d: WorkloadLike): WorkloadKey {
  return workloadKey(kind, d.metadata?.namespace ?? '', d.metadata?.name ?? '');
}
