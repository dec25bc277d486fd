// What is retained per workload (Deployment, StatefulSet, DaemonSet, the kinds of src/core/kinds.ts), and how one observation of
// it becomes an entry: identity, opt-in, the config objects it consumes, the fingerprint of its
// pod template, the operator's record read back from it — never the object. Two facts come from
// events rather than the object, and docs/architecture.md ("What the pods run") says what a
// relist, a restart and a failover do to each: when the current template was written, and when
// this process first saw the workload opted in.
//
// The costly part, reading the object, is src/state/workload-reading.ts: a list reads each item
// as it arrives, and only settle() — comparisons with the entry it replaces — runs at its commit.
//
// Longer than 300 lines: the entry's fields and the one builder that fills them belong
// together (each field is documented where it is built).
import type { WorkloadKey, WorkloadKind } from '../core/keys.ts';
import { atOrAfter, parseResourceVersion } from '../core/ordering.ts';
import type { WorkloadRecord } from '../core/record.ts';
import { type AcceptedPeers, NO_PEERS } from '../core/peer-annotations.ts';
import type { ConsumedSource, SourceKind } from '../core/types.ts';
import type { Health } from '../core/health.ts';
import { readWorkload, type RolloutStrategy, type WorkloadIdentity, type WorkloadLike, type WorkloadReading } from './workload-reading.ts';

export type { RolloutStrategy, WorkloadLike, WorkloadReading } from './workload-reading.ts';

/** Versions between which something happened, both included; equal when it is known exactly. */
export interface VersionRange {
  readonly lo: bigint;
  readonly hi: bigint;
}

/** A write of ours: what it recorded, and for a roll the template it left. */
export interface OwnWrite {
  readonly digest: string;
  readonly record: WorkloadRecord;
  /** The template fingerprint after the write (unchanged for an adoption). */
  readonly template: string;
  readonly rolled: boolean;
  readonly resourceVersion: string;
  /** Its date (src/core/ordering.ts, Dater): for a roll, when the template was written. */
  readonly writtenAt: bigint | undefined;
  /** Monotonic deadline: a write the watch never confirms (another writer won) stops standing in then. */
  readonly expiresAt: number;
}

export interface WorkloadState extends WorkloadIdentity {
  readonly consumed: readonly ConsumedSource[];
  readonly rollout: RolloutStrategy;
  /** Fingerprint of the pod template (src/state/template.ts), the operator's annotations included. */
  readonly template: string;
  /** The template without the operator's annotations: what a roll's fingerprint is computed from. */
  readonly templateBase: string;
  /** The pod template's config-hash annotation (the digest of the last roll). */
  readonly templateDigest: string | undefined;
  /** The pod template's restart annotation (src/reconcile/patch.ts). */
  readonly templateRestart: string | undefined;
  /** The metadata config-hash annotation as observed. */
  readonly recordedDigest: string | undefined;
  /** The record annotation as observed (src/core/record.ts); undefined when absent or malformed. */
  readonly record: WorkloadRecord | undefined;
  /** Its text, so that an unchanged record is not parsed again. */
  readonly recordValue: string | undefined;
  /**
   * When the current pod template was written: exact from a watch event (the event is the
   * write) or our roll's answer, a range from a relist that found it changed; undefined when
   * this process did not see it written.
   */
  readonly templateWritten: VersionRange | undefined;
  /** When this process first saw it opted in (its creation, an opt-in event, a list): the adoption point. */
  readonly firstSeen: VersionRange | undefined;
  /** First seen in the first list of its kind: the adoption point is the config objects' own first list. */
  readonly firstListed: boolean;
  /** Its own resourceVersion when first seen opted in: a record written before it predates this sight. */
  readonly firstSeenVersion: bigint | undefined;
  /**
   * The record (its text) of this process's last acknowledged write: a record that is ours was
   * read off this process's own views, which it may read again once they caught up.
   */
  readonly ownRecord: string | undefined;
  /** Our write the watch has not shown yet: it stands for the observed record until then. */
  readonly pendingWrite: OwnWrite | undefined;
  /** Dry-run only: the write it would have sent, so that it is reported once. */
  readonly simulated: OwnWrite | undefined;
  /** The digest of a roll the apiserver refused (403, 422): its wave counts it failed until a write goes through. */
  readonly refusedRoll: string | undefined;
  /** The rollout's health from the last status seen (the waves wait for it, src/waves/plan.ts). */
  readonly health: Health;
  /** Monotonic time since which it has been progressing, as this process saw it (the wave timeout). */
  readonly progressingSince: number | undefined;
  /** Annotated config-reload.dev/canary: "true": in the canary wave of the config objects it shares. */
  readonly canary: boolean;
  /** Its resourceVersion when this process first saw it paused (config-reload.dev/paused), while it is: a held roll is said once per pause. */
  readonly pausedSince: string | undefined;
}

/** What a decision reads of the operator's record and the template: our own unconfirmed write standing in for the observed object. */
export interface RecordView {
  readonly recordedDigest: string | undefined;
  readonly record: WorkloadRecord | undefined;
  readonly template: string;
  readonly templateWritten: VersionRange | undefined;
  /** A dry-run's would-be write stands in: nothing is known from the template's history. */
  readonly simulated: boolean;
}

export function recordView(w: WorkloadState, now: number): RecordView {
  const p = w.pendingWrite !== undefined && w.pendingWrite.expiresAt > now ? w.pendingWrite : undefined;
  if (p) {
    const at = p.writtenAt;
    const written = p.rolled && at !== undefined ? { lo: at, hi: at } : p.rolled ? undefined : w.templateWritten;
    return { recordedDigest: p.digest, record: p.record, template: p.template, templateWritten: written, simulated: false };
  }
  const s = w.simulated !== undefined && w.simulated.template === w.template ? w.simulated : undefined;
  if (s) return { recordedDigest: s.digest, record: s.record, template: s.template, templateWritten: undefined, simulated: true };
  return { recordedDigest: w.recordedDigest, record: w.record, template: w.template, templateWritten: w.templateWritten, simulated: false };
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

/**
 * How it was observed: `created` an ADDED event (its creation: the template's write), `event` any
 * other watch event (its version is the write it shows), `list` a list; `gap` the versions a
 * relist could not see (after the last version the watch showed), undefined for a first list.
 */
export interface Observed {
  source: 'created' | 'event' | 'list';
  /** An event's date (src/core/ordering.ts, Dater). */
  at?: bigint | undefined;
  gap?: VersionRange | undefined;
  /** What the store remembers of it from while it was not opted in (src/state/workload-store.ts). */
  remembered?: Remembered | undefined;
  /** A state even when it did not opt in (it then consumes nothing): explain's one read. */
  keepOptedOut?: boolean | undefined;
  /**
   * A first list: the adoption point of what it finds first seen at no known version (the
   * start-up's lists are one moment, firstListed; a kind watched only later counts from its own list).
   */
  adoptedAt?: { readonly firstSeen: VersionRange; readonly firstListed: boolean } | undefined;
}

/** A workload not opted in, as the store remembers it: when its template was last written. */
export interface Remembered {
  readonly uid: string;
  readonly generation: number;
  readonly template: string;
  readonly templateWritten: VersionRange | undefined;
  /** The sight that adopted it when it was last opted in (see AdoptionSight). */
  readonly sight?: AdoptionSight | undefined;
}

/** When this process first saw a workload opted in: the point its adoption counts from. */
export interface AdoptionSight {
  readonly firstSeen: VersionRange | undefined;
  readonly firstListed: boolean;
  readonly firstSeenVersion: bigint | undefined;
  /** The record (its text) of this process's last acknowledged write to it. */
  readonly ownRecord: string | undefined;
}

/** The entry for an observation of `d`, given the entry it replaces; `accept`: the peers' annotations honoured (--accept-annotations). */
export function build(
  kind: WorkloadKind, d: WorkloadLike, previous: WorkloadState | undefined, how: Observed, sources: ReadonlySet<SourceKind>, now: number,
  accept: AcceptedPeers = NO_PEERS,
): WorkloadObservation {
  return settle(readWorkload(kind, d, sources, accept, { entry: previous, remembered: how.remembered }, how.keepOptedOut), previous, how, now);
}

/**
 * The entry for a reading (src/state/workload-reading.ts), given the entry it replaces: no
 * parsing or hashing, only comparisons, so that a list's commit stays cheap per item.
 */
export function settle(r: WorkloadReading, previous: WorkloadState | undefined, how: Observed, now: number): WorkloadObservation {
  const { key, kind, namespace, name, uid, resourceVersion, generation, optIn, template, detail } = r;
  // Workloads that did not opt in are not retained at all: most of a cluster's workloads cost
  // no memory here. Opting in later arrives as an update, which adds the entry.
  if (detail === undefined) return { key, state: undefined, relevant: false, waveChanged: previous !== undefined, previous };
  const { templateDigest, templateRestart, recordedDigest, recordValue, health, canary } = detail;
  const prior = previous !== undefined && previous.uid === uid ? previous : undefined;
  // Listed at the very version its entry was made from: the same object, so the same entry (a
  // relist of a quiet cluster replaces nothing).
  if (how.source === 'list' && how.adoptedAt === undefined && prior !== undefined && resourceVersion !== '' && prior.resourceVersion === resourceVersion) {
    return { key, state: prior, relevant: false, waveChanged: false, previous: prior };
  }
  const sameOptIn = prior !== undefined && (prior.optIn === optIn || JSON.stringify(prior.optIn) === JSON.stringify(optIn));
  // The same spec (generation): what was extracted before is kept, shared rather than doubled.
  const sameSpec = prior !== undefined && prior.generation === generation;
  const base = sameSpec ? prior.templateBase : detail.templateBase;
  const templateChanged = prior !== undefined && prior.template !== template;
  const consumed = sameSpec && sameOptIn ? prior.consumed : detail.consumed;
  const rollout = sameSpec ? prior.rollout : detail.rollout;
  const consumedChanged = prior === undefined || (prior.consumed !== consumed && JSON.stringify(prior.consumed) !== JSON.stringify(consumed));
  const exact = how.at === undefined ? undefined : { lo: how.at, hi: how.at };
  const remembered = how.remembered !== undefined && how.remembered.uid === uid ? how.remembered : undefined;

  // An unchanged record is the same value (a decision compares records by identity).
  const record = prior !== undefined && prior.record !== undefined && recordValue !== undefined && recordValue === prior.recordValue
    ? prior.record : detail.record;

  let templateWritten = prior?.templateWritten;
  // Seen opted in for the first time (or again, or with its malformed opt-in fixed).
  const fresh = prior === undefined || (prior.optIn.kind !== 'in' && optIn.kind === 'in');
  let sight: AdoptionSight = prior ?? { firstSeen: undefined, firstListed: false, firstSeenVersion: undefined, ownRecord: undefined };
  if (fresh) {
    // Opted in again after this process adopted it (an opt-out, a malformed value between): the
    // record that adoption made still says what the pods run, so the adoption point stays.
    const earlier = prior ?? remembered?.sight;
    const adoptedBy = earlier?.firstSeenVersion !== undefined && record?.at !== undefined && record.at >= earlier.firstSeenVersion;
    sight = adoptedBy ? earlier : {
      firstSeen: how.source === 'list' ? how.gap : exact, firstListed: false, firstSeenVersion: parseResourceVersion(resourceVersion), ownRecord: undefined,
    };
  }
  if (sight.firstSeen === undefined && how.adoptedAt !== undefined) {
    sight = { ...how.adoptedAt, firstSeenVersion: sight.firstSeenVersion, ownRecord: sight.ownRecord };
  }
  if (prior === undefined) {
    // Its creation is a template write this process can date, and so is one it saw while the
    // workload was not opted in (the store remembers it). First seen: the event, or what a
    // relist could not see (created or opted in then); for a first list, the list (commit).
    templateWritten = how.source === 'created' ? exact
      : remembered !== undefined && remembered.template === template ? remembered.templateWritten
        // Re-created under the same name (another uid) where a relist could not see it.
        : how.source === 'list' && previous !== undefined ? how.gap : undefined;
  }
  if (prior !== undefined && templateChanged) {
    const ours = prior.pendingWrite;
    templateWritten = how.source !== 'list' ? exact
      // A relist cannot date it, unless it is the roll we wrote.
      : ours?.rolled && ours.template === template && ours.writtenAt !== undefined ? { lo: ours.writtenAt, hi: ours.writtenAt }
        : how.gap ?? undefined;
  }

  let pendingWrite = prior?.pendingWrite;
  // Our write is confirmed once the watch shows its version or a later one (whatever that carries:
  // a later writer's value is the truth from then on).
  if (pendingWrite && (pendingWrite.resourceVersion === resourceVersion || atOrAfter(resourceVersion, pendingWrite.resourceVersion) === true)) {
    pendingWrite = undefined;
  }

  // A new rollout (the spec changed) starts its own clock: time spent on an earlier one is not its.
  const progressingSince = health !== 'progressing' ? undefined
    : prior?.health === 'progressing' && prior.progressingSince !== undefined && prior.generation === generation ? prior.progressingSince : now;
  const pausedSince = detail.paused ? prior?.pausedSince ?? resourceVersion : undefined;

  const state: WorkloadState = Object.freeze({
    key, kind, namespace, name, uid, resourceVersion, generation, optIn, consumed, rollout,
    template, templateBase: base, templateDigest, templateRestart, recordedDigest, record, recordValue, templateWritten,
    firstSeen: sight.firstSeen, firstListed: sight.firstListed, firstSeenVersion: sight.firstSeenVersion,
    ownRecord: sight.ownRecord, pendingWrite,
    simulated: prior?.simulated,
    refusedRoll: prior?.refusedRoll,
    health, progressingSince, canary, pausedSince,
  });
  // The waves count our unconfirmed write as progressing: its confirmation moves them too.
  // And a consumer that stops (or starts) reading a shared object changes that object's waves.
  const waveChanged = prior === undefined || prior.health !== health || prior.canary !== canary || consumedChanged
    || (prior.pendingWrite !== undefined && pendingWrite === undefined);
  // Health alone changes no decision of its own: the controller moves the waves on waveChanged.
  const relevant = prior === undefined || !sameOptIn || consumedChanged || templateChanged
    || prior.recordedDigest !== recordedDigest || prior.record !== record || prior.pendingWrite !== pendingWrite;
  return { key, state, relevant, waveChanged, previous: prior };
}

/**
 * What one read of `d` would be as a store entry, as a list finds it (no history: the template
 * undated, nothing pending), opted in or not: `explain` evaluates this, as an operator starting now does.
 */
export function entryOf(kind: WorkloadKind, d: WorkloadLike, sources: ReadonlySet<SourceKind>, accept: AcceptedPeers = NO_PEERS): WorkloadState {
  return build(kind, d, undefined, { source: 'list', keepOptedOut: true }, sources, 0, accept).state!;
}
