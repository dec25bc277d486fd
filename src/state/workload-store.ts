// What is retained per workload (Deployment, StatefulSet, DaemonSet): identity, opt-in, the
// config objects it consumes (kind, name, keys, optional), a fingerprint of its pod template,
// how it rolls, the digest it records — never the object.
//
// The store owns its entries. An entry is an immutable value that only the store replaces;
// every change is a named transition applied to the entry that is current at the moment it
// happens (an observation from the watch or a list, "a ConfigMap it consumes changed", "our
// write was acknowledged", "a dry-run write was simulated"), checked against the workload's
// uid so that nothing lands on a workload that was deleted and recreated under the same name.
// A reconcile reads a snapshot and reports what it did through these transitions; it never
// writes into the snapshot (docs/architecture.md, "Who owns which state").
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { CANARY_ANNOTATION, HASH_ANNOTATION, parseOptIn } from '../core/annotations.ts';
import { type WorkloadStatus, workloadHealth } from '../core/health.ts';
import { type WorkloadKey, type WorkloadKind, workloadKey } from '../core/keys.ts';
import { atOrAfter, parseResourceVersion } from '../core/ordering.ts';
import { consumedSources } from '../core/references.ts';
import type { ConsumedSource, OptIn, SourceKind } from '../core/types.ts';
import type { Health } from '../core/waves.ts';
import type { Clock } from '../time/clock.ts';

/** A Deployment, StatefulSet or DaemonSet (apps/v1), as the API sends it (only what is read). */
export interface WorkloadLike {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    annotations?: Record<string, string>;
  };
  spec?: {
    replicas?: number;
    template?: { metadata?: { annotations?: Record<string, string> }; spec?: unknown };
    /** StatefulSet and DaemonSet. */
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
  };
  /** Read for the rollout's health only (src/core/health.ts); never retained. */
  status?: WorkloadStatus;
}

/**
 * How a template change reaches the pods. OnDelete (StatefulSet, DaemonSet): not at all until
 * someone deletes a pod. A StatefulSet partition: only pods with an ordinal at or above it.
 */
export interface RolloutStrategy {
  readonly onDelete: boolean;
  readonly partition: number;
}

/** A write of ours that the watch has not shown yet; it stands for the recorded digest until then. */
export interface PendingWrite {
  readonly digest: string;
  readonly resourceVersion: string;
  /** Monotonic deadline: a write the watch never confirms (another writer won) stops masking then. */
  readonly expiresAt: number;
}

export interface WorkloadState {
  readonly key: WorkloadKey;
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly generation: number;
  readonly optIn: OptIn;
  readonly consumed: readonly ConsumedSource[];
  readonly rollout: RolloutStrategy;
  /** Digest of the pod template (the operator's own annotation included: its roll is a template write). */
  readonly templateFingerprint: string;
  /**
   * The earliest resourceVersion the current pod template's write can have: exact when the
   * watch delivered the change, a lower bound when a relist found it, undefined when the
   * template was written before the operator watched (nothing is known of its order).
   */
  readonly templateWrittenAtLeast: bigint | undefined;
  /** The metadata config-hash annotation as last observed. */
  readonly recordedDigest: string | undefined;
  /** The pod template's config-hash annotation: what the current pods were started with, as far as the operator wrote it. */
  readonly templateDigest: string | undefined;
  /**
   * Someone else changed the pod template after the digest was last accounted for (our write
   * acknowledged, or first sight): the pods it started read the configuration of that moment,
   * which the recorded digest does not describe if a consumed object was changing then.
   */
  readonly templateSinceRecord: boolean;
  readonly pendingWrite: PendingWrite | undefined;
  /** Dry-run only: the digest it would have recorded, so that a would-be roll is reported once. */
  readonly simulatedDigest: string | undefined;
  /** Config objects ("Kind name") whose content changed since the digest was last accounted for (for reasons only). */
  readonly changed: ReadonlySet<string>;
  /** The version of the first of those changes (undefined when there is none, or it is unknown). */
  readonly changedSince: bigint | undefined;
  /** Not adopted yet: the digest of what it consumed when this process first evaluated it. */
  readonly firstSeenDigest: string | undefined;
  /** The rollout's health from the last status seen (the waves wait for it, src/core/waves.ts). */
  readonly health: Health;
  /** Monotonic time since which it has been progressing, as this process saw it (the wave timeout). */
  readonly progressingSince: number | undefined;
  /** Annotated config-reload.dev/canary: "true": in the canary wave of the config objects it shares. */
  readonly canary: boolean;
}

/** The digest a decision compares with: our unexpired unconfirmed write, else the dry-run memory, else the annotation. */
export function effectiveRecordedDigest(w: WorkloadState, now: number): string | undefined {
  const pending = w.pendingWrite !== undefined && w.pendingWrite.expiresAt > now ? w.pendingWrite.digest : undefined;
  return pending ?? w.simulatedDigest ?? w.recordedDigest;
}

export interface WorkloadObservation {
  key: WorkloadKey;
  /** The entry now; undefined when the workload is not retained (not opted in). */
  state: WorkloadState | undefined;
  /** Whether anything a decision reads changed (a status-only update changes nothing). */
  relevant: boolean;
  /** Whether what the waves read of it changed (health, canary): the waves of what it consumes may move. */
  waveChanged: boolean;
  /** The entry it replaced (same uid), for what it consumed before. */
  previous?: WorkloadState | undefined;
}

export interface WorkloadReplacement {
  add(d: WorkloadLike): void;
  /** Swaps the store for the list's contents; returns what changed against the old contents. */
  commit(): { observed: WorkloadObservation[]; removed: WorkloadState[] };
}

/** client-go's expectations wait five minutes for the watch to confirm a write. */
export const PENDING_WRITE_TTL_MS = 5 * 60_000;

const EMPTY: ReadonlySet<string> = new Set();

/**
 * What is kept of a workload not opted in: when its template was last written, valid while its
 * generation (which every spec change moves) is the one noted (see #optedOut).
 */
interface OptedOut {
  readonly uid: string;
  readonly generation: number;
  readonly templateWrittenAtLeast: bigint;
}

/** Opted-out workloads remembered at most (a few dozen bytes each). */
const MAX_OPTED_OUT = 10_000;

export class WorkloadStore {
  #entries = new Map<WorkloadKey, WorkloadState>();
  /**
   * The template date of workloads not opted in: those that opted out, and those created while
   * watched. Opting in arrives as a MODIFIED event, which dates nothing: without this, a
   * workload whose template had not changed was undated on its (re)turn, and any difference of
   * digest (a name added by the configmaps annotation, even one of an absent ConfigMap) rolled
   * it (found by the model test, seeds 626371353 and 395248942). Bounded: one forgotten is
   * merely undated, the safe side.
   */
  readonly #optedOut = new LRUCache<WorkloadKey, OptedOut>({ max: MAX_OPTED_OUT });
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
   * A watch event: its resourceVersion is the write it shows, so a template change is dated
   * exactly. `created`: an ADDED event, the workload's creation — the one case where a workload
   * new to the store has a known template date (a MODIFIED one is an opt-in of a workload written
   * at some unknown time before).
   */
  observe(kind: WorkloadKind, d: WorkloadLike, created = false): WorkloadObservation {
    const key = keyOf(kind, d);
    const built = build(kind, d, this.#entries.get(key), created ? 'created' : 'event', this.#sources, this.#clock.now(), this.#optedOut.get(key));
    this.#revision++;
    this.#track(built, d, created);
    if (built.state) this.#entries.set(key, built.state);
    else this.#entries.delete(key);
    return built;
  }

  /**
   * Keeps the template date of a workload not opted in: from its entry when it opts out, from
   * its ADDED event when created opted out; forgotten when its spec moves (a template change
   * while not watched is undated) or once it is opted in again.
   */
  #track(built: WorkloadObservation, d: WorkloadLike, created: boolean): void {
    if (built.state) {
      this.#optedOut.delete(built.key);
      return;
    }
    const uid = d.metadata?.uid ?? '';
    const generation = d.metadata?.generation ?? 0;
    const previous = built.previous;
    const noted = this.#optedOut.peek(built.key);
    const at = previous !== undefined && previous.uid === uid && previous.generation === generation ? previous.templateWrittenAtLeast
      : created ? parseResourceVersion(d.metadata?.resourceVersion)
        : noted !== undefined && noted.uid === uid && noted.generation === generation ? noted.templateWrittenAtLeast
          : undefined;
    if (at === undefined) this.#optedOut.delete(built.key);
    else if (noted?.templateWrittenAtLeast !== at || noted.uid !== uid || noted.generation !== generation) {
      this.#optedOut.set(built.key, { uid, generation, templateWrittenAtLeast: at });
    }
  }

  remove(key: WorkloadKey): WorkloadState | undefined {
    const previous = this.#entries.get(key);
    this.#optedOut.delete(key);
    this.#revision++;
    this.#entries.delete(key);
    return previous;
  }

  /**
   * A complete list of one kind, page by page; the store changes only at commit. `namespace`:
   * the list covers that namespace only (one watch per namespace); entries of others are kept.
   */
  beginReplace(kind: WorkloadKind, namespace?: string): WorkloadReplacement {
    const listed = new Map<WorkloadKey, WorkloadState>();
    const observed: WorkloadObservation[] = [];
    return {
      add: (d) => {
        const key = keyOf(kind, d);
        const built = build(kind, d, this.#entries.get(key), 'list', this.#sources, this.#clock.now(), this.#optedOut.get(key));
        if (built.state) listed.set(key, built.state);
        this.#track(built, d, false);
        observed.push(built);
      },
      commit: () => {
        const next = new Map<WorkloadKey, WorkloadState>();
        const removed: WorkloadState[] = [];
        for (const [key, entry] of this.#entries) {
          if (entry.kind !== kind || (namespace !== undefined && entry.namespace !== namespace)) next.set(key, entry);
          else if (!listed.has(key)) removed.push(entry);
        }
        // Transitions applied while the list ran (an acknowledged write, a config change) landed
        // on the entries of the time; they carry over to the listed ones, or they would be lost.
        for (const [key, entry] of listed) next.set(key, carryOver(entry, this.#entries.get(key)));
        this.#entries = next;
        this.#revision++;
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

  /** The first evaluation of a workload not adopted yet: what it consumes now is what its pods run. */
  firstSeen(key: WorkloadKey, uid: string, digest: string): void {
    const current = this.#entries.get(key);
    if (!current || current.uid !== uid || current.firstSeenDigest !== undefined) return;
    this.#replace(current, { firstSeenDigest: digest });
  }

  /**
   * A config object the workload consumes changed what it reads (named in the reason of the next
   * roll), at version `at` (the change's, as the source store dates it).
   */
  configChanged(key: WorkloadKey, configMap: string, at?: bigint): void {
    const current = this.#entries.get(key);
    if (!current || current.changed.has(configMap)) return;
    this.#replace(current, {
      changed: new Set([...current.changed, configMap]),
      changedSince: current.changed.size === 0 ? at : current.changedSince,
    });
  }

  /**
   * Our merge patch of `digest` was acknowledged at `resourceVersion`. Until the watch shows
   * that version (or a later one), the write stands for the recorded digest, so a reconcile in
   * between cannot roll the same change twice. `accounted` are the changes the write covered.
   */
  writeAcknowledged(
    key: WorkloadKey, uid: string, write: { digest: string; resourceVersion: string; rolled: boolean }, accounted: ReadonlySet<string>,
  ): void {
    const current = this.#entries.get(key);
    if (!current || current.uid !== uid) return;
    const { digest, resourceVersion } = write;
    const alreadySeen = current.recordedDigest === digest || current.resourceVersion === resourceVersion
      || atOrAfter(current.resourceVersion, resourceVersion) === true;
    // A roll is a template write at exactly this version, known before the watch shows it.
    const rolledAt = write.rolled ? parseResourceVersion(resourceVersion) : undefined;
    const templateWrittenAtLeast = rolledAt !== undefined && (current.templateWrittenAtLeast === undefined || rolledAt > current.templateWrittenAtLeast)
      ? rolledAt
      : current.templateWrittenAtLeast;
    this.#replace(current, {
      pendingWrite: alreadySeen ? undefined : { digest, resourceVersion, expiresAt: this.#clock.now() + PENDING_WRITE_TTL_MS },
      templateWrittenAtLeast,
      templateSinceRecord: false,
      ...remaining(current, accounted),
    });
  }

  /** Dry-run: the write that would have been sent, so that it is reported once. */
  writeSimulated(key: WorkloadKey, uid: string, digest: string, accounted: ReadonlySet<string>): void {
    const current = this.#entries.get(key);
    if (!current || current.uid !== uid) return;
    this.#replace(current, { simulatedDigest: digest, ...remaining(current, accounted) });
  }

  #replace(current: WorkloadState, patch: Partial<WorkloadState>): void {
    this.#revision++;
    this.#entries.set(current.key, Object.freeze({ ...current, ...patch }));
  }
}

/** `listed`, with what transitions since its page added to the entry that is current now. */
function carryOver(listed: WorkloadState, current: WorkloadState | undefined): WorkloadState {
  if (current === undefined || current.uid !== listed.uid || current === listed) return listed;
  const pending = listed.pendingWrite ?? current.pendingWrite;
  const confirmed = pending !== undefined && (pending.digest === listed.recordedDigest
    || atOrAfter(listed.resourceVersion, pending.resourceVersion) === true);
  const later = (a: bigint | undefined, b: bigint | undefined) => (a === undefined ? b : b === undefined ? a : a > b ? a : b);
  return Object.freeze({
    ...listed,
    pendingWrite: confirmed ? undefined : pending,
    simulatedDigest: current.simulatedDigest ?? listed.simulatedDigest,
    changed: current.changed.size === 0 ? listed.changed : new Set([...listed.changed, ...current.changed]),
    changedSince: earlier(listed.changedSince, current.changedSince),
    firstSeenDigest: listed.firstSeenDigest ?? current.firstSeenDigest,
    templateWrittenAtLeast: later(listed.templateWrittenAtLeast, current.templateWrittenAtLeast),
    // Either may know of a template change the other does not; assuming one is the safe side (a roll).
    templateSinceRecord: listed.templateSinceRecord || current.templateSinceRecord,
  });
}

function keyOf(kind: WorkloadKind, d: WorkloadLike): WorkloadKey {
  return workloadKey(kind, d.metadata?.namespace ?? '', d.metadata?.name ?? '');
}

function rolloutStrategy(kind: WorkloadKind, d: WorkloadLike): RolloutStrategy {
  if (kind === 'Deployment') return ROLLING;
  const strategy = d.spec?.updateStrategy;
  const partition = kind === 'StatefulSet' ? strategy?.rollingUpdate?.partition ?? 0 : 0;
  const onDelete = strategy?.type === 'OnDelete';
  return !onDelete && partition === 0 ? ROLLING : Object.freeze({ onDelete, partition });
}

const ROLLING: RolloutStrategy = Object.freeze({ onDelete: false, partition: 0 });

/** The entry for an observation of `d`, given the entry it replaces. */
function build(
  kind: WorkloadKind, d: WorkloadLike, previous: WorkloadState | undefined, source: 'created' | 'event' | 'list', sources: ReadonlySet<SourceKind>,
  now: number, optedOut?: OptedOut,
): WorkloadObservation {
  const namespace = d.metadata?.namespace ?? '';
  const name = d.metadata?.name ?? '';
  const key = workloadKey(kind, namespace, name);
  const annotations = d.metadata?.annotations ?? {};
  const optIn = parseOptIn(annotations);
  // Deployments that did not opt in are not retained at all: most of a cluster's workloads
  // cost no memory here. Opting in later arrives as an update, which adds the entry.
  if (optIn.kind === 'out') return { key, state: undefined, relevant: false, waveChanged: previous !== undefined, previous };

  const uid = d.metadata?.uid ?? '';
  const resourceVersion = d.metadata?.resourceVersion ?? '';
  const generation = d.metadata?.generation ?? 0;
  const recordedDigest = annotations[HASH_ANNOTATION];
  const prior = previous !== undefined && previous.uid === uid ? previous : undefined;
  const sameOptIn = prior !== undefined && JSON.stringify(prior.optIn) === JSON.stringify(optIn);
  // The template lives in the spec, and a spec edit bumps the generation: the status updates
  // that make up most Deployment events reuse what was extracted before.
  const sameSpec = prior !== undefined && prior.generation === generation;
  const templateFingerprint = sameSpec ? prior.templateFingerprint : fingerprint(d.spec?.template);
  const templateChanged = prior !== undefined && prior.templateFingerprint !== templateFingerprint;
  const consumed = sameSpec && sameOptIn ? prior.consumed
    : optIn.kind === 'in' ? consumedSources(d.spec?.template?.spec, optIn, sources) : [];
  const rollout = sameSpec ? prior.rollout : rolloutStrategy(kind, d);
  const consumedChanged = prior === undefined || JSON.stringify(prior.consumed) !== JSON.stringify(consumed);

  let templateWrittenAtLeast = prior?.templateWrittenAtLeast;
  // Our own roll is not someone else's template change. Its watch echo is at the version its
  // acknowledgement dated exactly (writeAcknowledged); a relist knows no version for it, but
  // sees the template's digest move to the one we wrote.
  const templateDigest = d.spec?.template?.metadata?.annotations?.[HASH_ANNOTATION];
  const ownRoll = prior !== undefined && (source !== 'list'
    ? parseResourceVersion(resourceVersion) === prior.templateWrittenAtLeast
    : templateDigest !== undefined && templateDigest !== prior.templateDigest
      && (templateDigest === prior.pendingWrite?.digest || templateDigest === recordedDigest));
  const templateSinceRecord = prior !== undefined && ((templateChanged && !ownRoll) || prior.templateSinceRecord);
  if (prior === undefined) {
    // A workload created while we watch is dated by its ADDED event; one found by a list, or
    // opting in by a MODIFIED event, was written at some unknown time before.
    // Opting in with the spec it had when its template was dated (a change of spec meanwhile
    // would have moved the generation): dated as it was then.
    const returning = optedOut !== undefined && optedOut.uid === uid && optedOut.generation === generation;
    templateWrittenAtLeast = source === 'created' ? parseResourceVersion(resourceVersion) : returning ? optedOut.templateWrittenAtLeast : undefined;
  } else if (templateChanged) {
    if (source !== 'list') templateWrittenAtLeast = parseResourceVersion(resourceVersion);
    else {
      const after = parseResourceVersion(prior.resourceVersion);
      templateWrittenAtLeast = after === undefined ? undefined : after + 1n;
    }
  }

  let pendingWrite = prior?.pendingWrite;
  // Our write is confirmed once the watch shows its version or a later one (whatever digest that
  // carries: a later writer's value is the truth from then on), or anything carrying its digest.
  if (pendingWrite && (pendingWrite.digest === recordedDigest || pendingWrite.resourceVersion === resourceVersion
    || atOrAfter(resourceVersion, pendingWrite.resourceVersion) === true)) {
    pendingWrite = undefined;
  }

  const health = workloadHealth(kind, {
    generation, replicas: d.spec?.replicas, updateStrategyType: d.spec?.updateStrategy?.type,
    partition: d.spec?.updateStrategy?.rollingUpdate?.partition, status: d.status,
  });
  // A new rollout (the spec changed) starts its own clock: time spent on an earlier one is not its.
  const progressingSince = health !== 'progressing' ? undefined
    : prior?.health === 'progressing' && prior.progressingSince !== undefined && prior.generation === generation ? prior.progressingSince : now;
  const canary = annotations[CANARY_ANNOTATION]?.trim().toLowerCase() === 'true';

  const state: WorkloadState = Object.freeze({
    key, kind, namespace, name, uid, resourceVersion, generation, optIn, consumed, rollout,
    templateFingerprint, templateWrittenAtLeast, recordedDigest, pendingWrite, templateSinceRecord,
    templateDigest,
    simulatedDigest: prior?.simulatedDigest,
    changed: prior?.changed ?? EMPTY,
    changedSince: prior?.changedSince,
    firstSeenDigest: prior?.firstSeenDigest,
    health, progressingSince, canary,
  });
  const waveChanged = prior === undefined || prior.health !== health || prior.canary !== canary;
  // Health alone changes no decision of its own: the controller moves the waves on waveChanged.
  const relevant = prior === undefined || !sameOptIn || consumedChanged || templateChanged
    || prior.recordedDigest !== recordedDigest || prior.pendingWrite !== pendingWrite;
  return { key, state, relevant, waveChanged, previous: prior };
}

/**
 * A digest of the pod template, whatever the order of its object keys (list and watch may
 * differ). The operator's own annotation counts: its roll is a template write like any other,
 * and the pods it starts read the configuration of that moment — so a configuration change
 * written before it, seen only after it, needs no second roll.
 */
export function fingerprint(template: unknown): string {
  return createHash('sha256').update(canonicalJson(template ?? {})).digest('hex').slice(0, 32);
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The changes a write did not account for, and when the first of them was (unknown once some are dropped). */
function remaining(current: WorkloadState, accounted: ReadonlySet<string>): Pick<WorkloadState, 'changed' | 'changedSince'> {
  const changed = without(current.changed, accounted);
  if (changed.size === 0) return { changed, changedSince: undefined };
  // Some remain: the first of them is no earlier than the first of all (a bound on the safe side).
  return { changed, changedSince: current.changedSince };
}

function earlier(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  return a === undefined ? b : b === undefined ? a : a < b ? a : b;
}

function without(set: ReadonlySet<string>, remove: ReadonlySet<string>): ReadonlySet<string> {
  if (remove.size === 0 || set.size === 0) return set;
  const left = [...set].filter((x) => !remove.has(x));
  return left.length === 0 ? EMPTY : new Set(left);
}
