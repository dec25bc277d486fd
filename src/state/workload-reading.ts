// What one read of a workload object gives, before it is compared with the entry it replaces
// (src/state/workload-entry.ts does that): its opt-in, the config objects it consumes, its pod
// template's fingerprint, the operator's record, its health. This is the costly part of an
// observation (the template's canonical JSON and hash, the opt-in and reference parsing), and a
// pure function of the object: a list reads each item as it arrives, so that its commit only
// compares and swaps (bench/synthetic: the commit of 100,000 workloads was one 4-5 s turn).
import { CANARY_ANNOTATION, HASH_ANNOTATION, RESTART_ANNOTATION } from '../core/annotations.ts';
import { type Health, type WorkloadStatus, workloadHealth } from '../core/health.ts';
import { type WorkloadKey, type WorkloadKind, workloadKey } from '../core/keys.ts';
import { kindSpec, templateElsewhere } from '../core/kinds.ts';
import { type AcceptedPeers, NO_PEERS, readOptIn } from '../core/peer-annotations.ts';
import { parseRecord, RECORD_ANNOTATION, type WorkloadRecord } from '../core/record.ts';
import { consumedSources } from '../core/references.ts';
import type { ConsumedSource, OptIn, SourceKind } from '../core/types.ts';
import { templateBase, templateFingerprint } from './template.ts';

/** A workload (src/core/kinds.ts: its pod template at spec.template), as the API sends it (only what is read). */
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
    /** StatefulSet and DaemonSet; a CloneSet's partition (a count or a percentage) is on updateStrategy itself. */
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number }; partition?: number | string };
    /** An Argo Rollout that takes its template from another object (src/core/kinds.ts). */
    workloadRef?: unknown;
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

/** What a read of a retained workload (opted in, malformed, or kept for explain) gives besides its identity. */
export interface WorkloadDetail {
  readonly consumed: readonly ConsumedSource[];
  readonly rollout: RolloutStrategy;
  readonly templateBase: string;
  readonly templateDigest: string | undefined;
  readonly templateRestart: string | undefined;
  readonly recordedDigest: string | undefined;
  readonly recordValue: string | undefined;
  readonly record: WorkloadRecord | undefined;
  readonly health: Health;
  readonly canary: boolean;
  /** config-reload.dev/paused (or a peer's) holds its rolls now. */
  readonly paused: boolean;
}

/** Which workload, at which version, and whether it opted in: what a reading and an entry both carry. */
export interface WorkloadIdentity {
  readonly key: WorkloadKey;
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly generation: number;
  readonly optIn: OptIn;
}

export interface WorkloadReading extends WorkloadIdentity {
  /** The pod template's fingerprint (src/state/template.ts): also for one not opted in, whose template date the store remembers. */
  readonly template: string;
  /** Undefined for a workload not opted in: nothing more of it is read. */
  readonly detail: WorkloadDetail | undefined;
}

/**
 * What was read of the same workload before (its entry, or what the store remembers of it while
 * not opted in): with the same uid and generation its spec is the same, and is not read again.
 */
export interface Known {
  entry?: {
    readonly uid: string; readonly generation: number; readonly optIn: OptIn; readonly consumed: readonly ConsumedSource[];
    readonly rollout: RolloutStrategy; readonly template: string; readonly templateBase: string;
    readonly templateDigest: string | undefined; readonly templateRestart: string | undefined;
    readonly record: WorkloadRecord | undefined; readonly recordValue: string | undefined;
  } | undefined;
  remembered?: { readonly uid: string; readonly generation: number; readonly template: string } | undefined;
}

/**
 * Reads `d`; `accept`: the peers' annotations honoured (--accept-annotations); `keepOptedOut`:
 * read it whole even when it did not opt in (explain's one read).
 */
export function readWorkload(
  kind: WorkloadKind, d: WorkloadLike, sources: ReadonlySet<SourceKind>, accept: AcceptedPeers = NO_PEERS, known: Known = {}, keepOptedOut = false,
): WorkloadReading {
  const namespace = d.metadata?.namespace ?? '';
  const name = d.metadata?.name ?? '';
  const uid = d.metadata?.uid ?? '';
  const generation = d.metadata?.generation ?? 0;
  const identity = { key: workloadKey(kind, namespace, name), kind, namespace, name, uid, resourceVersion: d.metadata?.resourceVersion ?? '', generation };
  const annotations = d.metadata?.annotations ?? {};
  const templateAnnotations = d.spec?.template?.metadata?.annotations;
  // A Rollout with a workloadRef has no template to write: the object it refers to is the workload.
  const read: OptIn = templateElsewhere(kind, d.spec) ? OUT : readOptIn(annotations, templateAnnotations, accept, namespace);
  const prior = known.entry?.uid === uid ? known.entry : undefined;
  // The template lives in the spec, and a spec edit bumps the generation: the status updates
  // that make up most workload events reuse what was extracted before.
  const sameSpec = prior !== undefined && prior.generation === generation ? prior : undefined;
  const templateDigest = templateAnnotations?.[HASH_ANNOTATION];
  const templateRestart = templateAnnotations?.[RESTART_ANNOTATION];
  const sameTemplate = sameSpec?.templateDigest === templateDigest && sameSpec?.templateRestart === templateRestart ? sameSpec : undefined;
  if (read.kind === 'out' && !keepOptedOut) {
    // Not retained: only its template's fingerprint, for the date the store remembers.
    const remembered = known.remembered?.uid === uid && known.remembered.generation === generation ? known.remembered : undefined;
    const template = sameTemplate?.template ?? remembered?.template ?? templateFingerprint(templateBase(d.spec?.template), templateDigest, templateRestart);
    return { ...identity, optIn: read, template, detail: undefined };
  }
  // An opt-in read as before is shared with the entry (and so is what it consumes).
  const optIn = prior !== undefined && JSON.stringify(prior.optIn) === JSON.stringify(read) ? prior.optIn : read;
  const base = sameSpec?.templateBase ?? templateBase(d.spec?.template);
  const recordValue = annotations[RECORD_ANNOTATION];
  return {
    ...identity,
    optIn,
    template: sameTemplate?.template ?? templateFingerprint(base, templateDigest, templateRestart),
    detail: {
      consumed: sameSpec !== undefined && sameSpec.optIn === optIn ? sameSpec.consumed
        : optIn.kind === 'in' ? consumedSources(d.spec?.template?.spec, optIn, sources) : [],
      rollout: sameSpec?.rollout ?? rolloutStrategy(kind, d),
      templateBase: base, templateDigest, templateRestart,
      recordedDigest: annotations[HASH_ANNOTATION],
      recordValue,
      record: prior?.record !== undefined && recordValue !== undefined && recordValue === prior.recordValue ? prior.record : parseRecord(recordValue),
      health: workloadHealth(kindSpec(kind).health, {
        generation, replicas: d.spec?.replicas, updateStrategyType: d.spec?.updateStrategy?.type, partition: partitionOf(kind, d), status: d.status,
      }),
      canary: annotations[CANARY_ANNOTATION]?.trim().toLowerCase() === 'true',
      paused: optIn.kind === 'in' && optIn.hold?.paused === true,
    },
  };
}

function rolloutStrategy(kind: WorkloadKind, d: WorkloadLike): RolloutStrategy {
  // A Deployment, a Rollout, a Knative Service roll every pod; a CloneSet may keep a partition.
  if (kind !== 'StatefulSet' && kind !== 'DaemonSet' && kind !== 'CloneSet') return ROLLING;
  const strategy = d.spec?.updateStrategy;
  const partition = partitionOf(kind, d) ?? 0;
  const onDelete = kind !== 'CloneSet' && strategy?.type === 'OnDelete';
  return !onDelete && partition === 0 ? ROLLING : Object.freeze({ onDelete, partition });
}

const ROLLING: RolloutStrategy = Object.freeze({ onDelete: false, partition: 0 });

const OUT: OptIn = Object.freeze({ kind: 'out' });

/** The pods left on the old template: a StatefulSet's partition, a CloneSet's when it is a count (a percentage is read as none). */
function partitionOf(kind: WorkloadKind, d: WorkloadLike): number | undefined {
  const strategy = d.spec?.updateStrategy;
  if (kind === 'StatefulSet') return strategy?.rollingUpdate?.partition;
  if (kind === 'CloneSet') return typeof strategy?.partition === 'number' ? strategy.partition : undefined;
  return undefined;
}
