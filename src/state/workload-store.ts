// What is retained per Deployment: identity, opt-in, the ConfigMaps it consumes (names, keys,
// optional) and the digest it records — never the object itself.
import { HASH_ANNOTATION, parseOptIn } from '../core/annotations.ts';
import { consumedConfigMaps } from '../core/references.ts';
import type { ConsumedConfigMap, OptIn } from '../core/types.ts';

export interface DeploymentLike {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    annotations?: Record<string, string>;
  };
  spec?: { template?: { metadata?: { annotations?: Record<string, string> }; spec?: unknown } };
}

export interface WorkloadState {
  kind: 'Deployment';
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  generation: number;
  optIn: OptIn;
  consumed: ConsumedConfigMap[];
  /** metadata annotation config-hash as last observed. */
  recordedDigest: string | undefined;
  /**
   * A write of ours whose watch event has not arrived yet. Until it does, it stands for the
   * recorded digest, so a reconcile in between cannot roll the same change twice.
   */
  pendingWrite: { digest: string; resourceVersion: string } | undefined;
  /** Dry-run only: the digest we would have recorded, so a would-be roll is reported once. */
  simulatedDigest: string | undefined;
  /** ConfigMaps whose content changed since the last adopt/roll (for the log and Event only). */
  changedSinceRecorded: Set<string>;
  /** The pod template's references changed (a spec edit) since the last adopt/roll. */
  referencesChanged: boolean;
}

export function workloadKey(namespace: string, name: string): string {
  return `Deployment/${namespace}/${name}`;
}

/** The digest decisions compare against: our unconfirmed write, else the dry-run memory, else the annotation. */
export function effectiveRecordedDigest(w: WorkloadState): string | undefined {
  return w.pendingWrite?.digest ?? w.simulatedDigest ?? w.recordedDigest;
}

export class WorkloadStore {
  readonly #entries = new Map<string, WorkloadState>();

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): WorkloadState | undefined {
    return this.#entries.get(key);
  }

  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  values(): IterableIterator<WorkloadState> {
    return this.#entries.values();
  }

  /**
   * Records the Deployment; returns its key and whether anything a decision reads changed
   * (a status-only update — most events during a rollout — changes nothing and needs no work).
   */
  upsert(d: DeploymentLike): { key: string; relevant: boolean; state: WorkloadState | undefined } {
    const namespace = d.metadata?.namespace ?? '';
    const name = d.metadata?.name ?? '';
    const key = workloadKey(namespace, name);
    const previous = this.#entries.get(key);
    const annotations = d.metadata?.annotations ?? {};
    const optIn = parseOptIn(annotations);
    // Deployments that did not opt in are not retained at all: most of a cluster's workloads
    // cost no memory here. Opting in later arrives as an update, which adds the entry.
    if (optIn.kind === 'out') {
      this.#entries.delete(key);
      return { key, relevant: false, state: undefined };
    }
    const uid = d.metadata?.uid ?? '';
    const resourceVersion = d.metadata?.resourceVersion ?? '';
    const recordedDigest = annotations[HASH_ANNOTATION];
    const generation = d.metadata?.generation ?? 0;
    const sameObject = previous !== undefined && previous.uid === uid;
    const sameOptIn = sameObject && JSON.stringify(previous.optIn) === JSON.stringify(optIn);
    // The references live in the pod template, and a template edit bumps the generation: the
    // status updates that make up most Deployment events reuse what was extracted before.
    const sameSpec = sameObject && sameOptIn && previous.generation === generation;
    const consumed = sameSpec ? previous.consumed : optIn.kind === 'in' ? consumedConfigMaps(d.spec?.template?.spec, optIn) : [];
    const consumedChanged = sameObject && !sameSpec && JSON.stringify(previous.consumed) !== JSON.stringify(consumed);
    // A spec edit that also changed the references rolls by itself.
    const referencesEdited = consumedChanged && previous.generation !== generation;
    let pendingWrite = sameObject ? previous.pendingWrite : undefined;
    // Our write is confirmed once the watch shows it (or anything after it carrying the digest).
    if (pendingWrite && (pendingWrite.resourceVersion === resourceVersion || pendingWrite.digest === recordedDigest)) {
      pendingWrite = undefined;
    }
    const state: WorkloadState = {
      kind: 'Deployment', namespace, name, uid, resourceVersion, generation, optIn, consumed, recordedDigest, pendingWrite,
      simulatedDigest: sameObject ? previous.simulatedDigest : undefined,
      changedSinceRecorded: sameObject ? previous.changedSinceRecorded : new Set(),
      referencesChanged: referencesEdited || (sameObject && previous.referencesChanged),
    };
    this.#entries.set(key, state);
    const relevant = !sameObject || !sameOptIn || consumedChanged || previous.recordedDigest !== recordedDigest;
    return { key, relevant, state };
  }

  remove(key: string): WorkloadState | undefined {
    const previous = this.#entries.get(key);
    this.#entries.delete(key);
    return previous;
  }
}
