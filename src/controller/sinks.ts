// The sinks between a reflector and its store: what each list and watch event does to the
// store and what it tells triage. Guarded (a closed scope takes nothing) and gated (a scope's
// workloads wait, in order, until its config objects are listed) wrap them.
import type { Logger } from 'winston';
import { HASH_ANNOTATION } from '../core/annotations.ts';
import type { WorkloadKind } from '../core/keys.ts';
import { type Peer, unacceptedOptIn } from '../core/peer-annotations.ts';
import type { SourceLike, SourceStore } from '../state/source-store.ts';
import type { WorkloadLike, WorkloadStore } from '../state/workload-store.ts';
import type { SaidOnce } from '../time/said-once.ts';
import type { ReflectorSink } from '../watch/reflector.ts';
import type { Triage } from './triage.ts';

/** A sink that takes nothing while `open()` is false. */
export function guarded<T>(sink: ReflectorSink<T>, open: () => boolean): ReflectorSink<T> {
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


export function sourceSink(store: SourceStore, scope: string, triage: Triage): ReflectorSink<SourceLike> {
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

/**
 * Says once per workload that one the operator recorded is opted in only by annotations of a
 * peer that --accept-annotations does not accept now (the flag dropped at a restart): it is not
 * watched, nothing is written to it, and its changes roll nothing until the flag is back.
 */
export function unacceptedNotice(
  seen: SaidOnce, log: Logger, acceptAnnotations: readonly Peer[] | undefined,
): (d: WorkloadLike, kind: WorkloadKind) => void {
  const accept = new Set(acceptAnnotations ?? []);
  return (d, kind) => {
    const meta = d.metadata?.annotations;
    const uid = d.metadata?.uid ?? '';
    if (meta?.[HASH_ANNOTATION] === undefined || seen.said(uid)) return;
    const peers = unacceptedOptIn(meta, d.spec?.template?.metadata?.annotations, accept, d.metadata?.namespace ?? '');
    if (peers.length === 0) return;
    seen.first(uid);
    log.warn('workload opted in only by annotations of a peer not accepted: not watched, nothing written, its changes roll nothing', {
      workload: `${kind}/${d.metadata?.namespace ?? ''}/${d.metadata?.name ?? ''}`, peers, toHonour: `--accept-annotations ${[...accept, ...peers].join(',')}`,
    });
  };
}

export function workloadSink(
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
