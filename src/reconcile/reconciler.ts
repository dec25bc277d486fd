// reconcile(workload key): level-based. It reads the workload's current entry (a snapshot),
// recomputes the desired digest from the current index (never from the event that queued it),
// asks the pure decision function what to do, sends at most one merge patch — or, in dry-run,
// logs the patch it would send — and reports the outcome through the store's named transitions
// and its result. It never writes into the snapshot it read.
import type { Logger } from 'winston';
import type { DigestKey } from '../core/digest.ts';
import type { WorkloadKey, WorkloadKind } from '../core/keys.ts';
import type { TemplateOrder } from '../core/ordering.ts';
import type { Decision, EventFacts, InvolvedObject } from '../core/types.ts';
import { describeError, httpStatus, isRetryable, isUidMismatch, retryAfterMs } from '../kube/api-error.ts';
import { apiVersionOf } from '../core/kinds.ts';
import { type ClusterApi, FIELD_MANAGER, workloadType } from '../kube/cluster-api.ts';
import { recordView, type WorkloadState, type WorkloadStore } from '../state/workload-store.ts';
import type { Clock } from '../time/clock.ts';
import { SaidOnce } from '../time/said-once.ts';
import type { DigestMemo } from './digest-memo.ts';
import { evaluateWorkload, type SourceView, type WaveGate } from './evaluate.ts';
import { hashPatch } from './patch.ts';

export type { SourceView } from './evaluate.ts';

export { FIELD_MANAGER };

/** After a 409: long enough for the watch to deliver the write that conflicted. */
const CONFLICT_REQUEUE_MS = 250;
/** After a refusal (403, 422): someone has to change RBAC or a policy first. */
const REFUSED_REQUEUE_MS = 60_000;
/** The shortest wait after a Retry-After, whatever it said (0 included): never a hot loop. */
const MIN_RETRY_AFTER_MS = 1000;

/** `facts`: what the message was made from, for listeners besides the Event recorder (src/notify/). */
export interface EventSink {
  normal(target: InvolvedObject, reason: string, message: string, facts?: EventFacts): Promise<void>;
  warning(target: InvolvedObject, reason: string, message: string, facts?: EventFacts): Promise<void>;
}

export interface ReconcileObserver {
  decided(decision: Decision, namespace: string, dryRun: boolean): void;
  apiError(verb: string, status: number | undefined): void;
}


export interface ReconcilerDeps {
  api: ClusterApi;
  sources: SourceView;
  digestKey: DigestKey;
  /** The controller's digests already computed (shared with its waves). */
  memo: DigestMemo;
  workloads: WorkloadStore;
  clock: Clock;
  log: Logger;
  dryRun: boolean;
  /** 'off': the order of template and configuration changes is never trusted (always roll). */
  templateOrder: TemplateOrder;
  events?: EventSink | undefined;
  observer?: ReconcileObserver | undefined;
  /** The waves of shared config objects; absent: every roll goes at once. */
  waves?: WaveGate | undefined;
  /** Workloads that waited long enough for a watch to catch up (src/controller.ts). */
  caughtUp?: ((w: WorkloadState) => boolean) | undefined;
}

/**
 * What the worker does next with the key (controller-runtime's Result):
 * - done: nothing until the next event;
 * - requeueAfter: look again after delayMs, not counted as a failure (a write conflict, a
 *   refusal that someone has to fix first);
 * - retry: a failure worth retrying, after the key's exponential backoff;
 * - terminal: a failure a retry cannot fix; nothing until the next event.
 */
export type ReconcileResult =
  | { kind: 'done'; decision?: Decision | undefined; written: boolean }
  | { kind: 'requeueAfter'; delayMs: number; reason: string; refused?: Decision; conflictAt?: string }
  | { kind: 'retry'; error: string }
  | { kind: 'terminal'; error: string };

export class Reconciler {
  readonly #deps: ReconcilerDeps;
  // Warnings repeat on every resync while the cause stands; say each once per cause (an hour).
  readonly #said: SaidOnce;

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
    this.#said = new SaidOnce({ ttlMs: 60 * 60_000, clock: deps.clock });
  }

  /** Pure with respect to the API: what reconcile would do for this workload now. */
  evaluate(w: WorkloadState): Decision {
    const { sources, digestKey, memo, clock, templateOrder, waves, caughtUp } = this.#deps;
    return evaluateWorkload(w, { sources, digestKey, memo, now: clock.now(), wallNow: clock.wallNow(), templateOrder, waves, caughtUp });
  }

  /**
   * `leadership`, when given, is aborted the moment this replica stops leading: no write
   * starts after that, and one in flight is cancelled.
   */
  async reconcile(key: WorkloadKey, leadership?: AbortSignal): Promise<ReconcileResult> {
    const { workloads, log, dryRun, clock } = this.#deps;
    // A replica that stopped leading says and writes nothing more: the new leader decides.
    if (leadership?.aborted) return { kind: 'done', written: false };
    const w = workloads.get(key);
    if (!w) return { kind: 'done', written: false }; // deleted (or opted out) since it was queued
    const decision = this.evaluate(w);
    // Counted once it took effect: a failed patch is retried and counted when it succeeds.
    const counted = () => this.#deps.observer?.decided(decision, w.namespace, dryRun);
    const fields = { workload: key, action: decision.action, reason: decision.reason, ...(decision.wave ? { wave: decision.wave.position, waveOf: decision.wave.source } : {}) };

    // An Event must never hold up the reconcile: the recorder resolves within its own deadline.
    if (decision.warning) void this.#warnOnce(w, decision);
    if (decision.notice) void this.#noticeOnce(w, decision);
    if (w.optIn.kind === 'in' && w.optIn.peer !== undefined && w.optIn.peer.notes.length > 0) void this.#notHonouredOnce(w, w.optIn.peer.notes);
    if (decision.action === 'none') {
      counted();
      if (!decision.warning) log.debug('skipped', fields);
      return { kind: 'done', decision, written: false };
    }

    const digest = decision.digest as string;
    const planned = hashPatch(decision.action, digest, decision.parts ?? new Map(), w);
    const patch = planned.patch;
    const changed = [...decision.for ?? []].sort();
    const detail = {
      ...fields, changed, oldDigest: recordView(w, clock.now()).recordedDigest ?? null, newDigest: digest, ...this.#views(w),
    };
    const outcome = { digest, record: planned.record, template: planned.template, rolled: decision.action === 'roll' };
    if (dryRun) {
      workloads.writeSimulated(key, w.uid, { ...outcome, resourceVersion: w.resourceVersion });
      counted();
      log.info(decision.action === 'roll' ? 'would roll' : 'would adopt', { ...detail, dryRun: true, patch });
      return { kind: 'done', decision, written: false };
    }
    // Our previous write is not confirmed by the watch yet: the snapshot predates it, so a patch
    // now could only be refused (409). The event that confirms it queues the workload again.
    if (w.pendingWrite !== undefined && w.pendingWrite.expiresAt > clock.now()) {
      log.debug('waiting for the watch to confirm the previous write', fields);
      return { kind: 'done', decision, written: false };
    }

    let writtenAt: string;
    try {
      const written = await this.#deps.api.mergePatch(workloadType(w.kind), {
        namespace: w.namespace, name: w.name, body: patch, fieldManager: FIELD_MANAGER, ...(leadership ? { signal: leadership } : {}),
      });
      writtenAt = written.metadata?.resourceVersion ?? '';
    } catch (err) {
      return this.#patchFailed(w, fields, err, leadership, decision);
    }
    workloads.writeAcknowledged(key, w.uid, { ...outcome, resourceVersion: writtenAt });
    counted();
    log.info(decision.action === 'roll' ? 'rolled' : 'adopted', { ...detail, resourceVersion: writtenAt });
    if (decision.action === 'roll') {
      const which = detail.changed.length > 0 ? `${detail.changed.join(', ')} changed` : 'consumed configuration changed';
      const wave = decision.wave ? `, ${decision.wave.position} of ${decision.wave.source}` : '';
      void this.#deps.events?.normal(involvedObject(w), 'ConfigChanged', `${which}: rolling (config-hash ${digest}${wave})`, {
        kind: 'rolled', changed: detail.changed, wave: decision.wave ? { source: decision.wave.source, position: decision.wave.position } : undefined,
      });
      this.#saySlowRollout(w, digest);
    }
    // The watch confirms the write; should it never (the pending write expires), the periodic
    // resync evaluates the workload again.
    return { kind: 'done', decision, written: true };
  }

  #patchFailed(w: WorkloadState, fields: Record<string, unknown>, err: unknown, leadership: AbortSignal | undefined, decision: Decision): ReconcileResult {
    const status = httpStatus(err);
    const error = describeError(err);
    this.#deps.observer?.apiError('patch', status);
    if (leadership?.aborted) {
      this.#deps.log.info('no longer the leader: patch abandoned', { ...fields, error });
      return { kind: 'done', written: false };
    }
    if (status === 404) {
      this.#deps.log.info('workload vanished before it could be patched', { ...fields, error });
      return { kind: 'done', written: false };
    }
    // The workload changed (409) or was recreated (the uid precondition) since the snapshot, and
    // the watch has not shown it yet. Not a failure: look again shortly, on the state the watch
    // will have delivered by then.
    // The delay is the fallback: the watch event of the newer version looks again at once (Triage.conflicted).
    if (status === 409 || isUidMismatch(err)) return { kind: 'requeueAfter', delayMs: CONFLICT_REQUEUE_MS, reason: error, conflictAt: w.resourceVersion };
    // The apiserver said when to come back (429 from priority and fairness, 503 while it
    // starts): that is the wait, not the key's backoff, which would ask again sooner and add to
    // the overload. Throttling is not the workload's failure, so its backoff is not counted.
    const after = retryAfterMs(err);
    if (after !== undefined && isRetryable(status)) {
      const delayMs = Math.max(after, MIN_RETRY_AFTER_MS);
      this.#deps.log.warn('patch throttled by the API server: retrying after its Retry-After', { ...fields, error, retryInMs: delayMs });
      return { kind: 'requeueAfter', delayMs, reason: error };
    }
    if (isRetryable(status)) return { kind: 'retry', error };
    // 403 (RBAC), 422 (validation, an admission webhook or policy): retrying soon will not help,
    // but the cause may be fixed, so it is looked at again after a long, fixed delay (the Event
    // is counted, not repeated).
    this.#deps.log.error('patch refused by the API server', { ...fields, error, retryInMs: REFUSED_REQUEUE_MS });
    void this.#deps.events?.warning(involvedObject(w), 'PatchRejected', `config-hash patch refused: ${error}`, {
      kind: 'refused', action: decision.action === 'roll' ? 'roll' : 'adopt', status, changed: [...decision.for ?? []].sort(), change: decision.digest ?? '',
    });
    // A roll that cannot be written is a failed rollout to the waves it belongs to (src/waves/gates.ts).
    if (decision.action === 'roll' && decision.digest) this.#deps.workloads.writeRefused(w.key, w.uid, decision.digest);
    return { kind: 'requeueAfter', delayMs: REFUSED_REQUEUE_MS, reason: error, refused: decision };
  }

  /**
   * A StatefulSet or DaemonSet with OnDelete does not replace its pods on a template change, and
   * a StatefulSet partition holds the pods below it: the digest is in the template (a deleted
   * pod comes back with it), but nothing restarts by itself. The operator never deletes pods;
   * it says so.
   */
  #saySlowRollout(w: WorkloadState, digest: string): void {
    if (!w.rollout.onDelete && w.rollout.partition === 0) return;
    const message = w.rollout.onDelete
      ? `updateStrategy OnDelete: the new config-hash ${digest} is in the pod template; pods pick it up only when they are deleted (the operator deletes none)`
      : `updateStrategy partition ${w.rollout.partition}: only pods with an ordinal of ${w.rollout.partition} or more roll to config-hash ${digest}`;
    this.#deps.log.info('rollout left to the update strategy', { workload: w.key, onDelete: w.rollout.onDelete, partition: w.rollout.partition });
    void this.#deps.events?.normal(involvedObject(w), w.rollout.onDelete ? 'RolloutOnDelete' : 'RolloutPartitioned', message);
  }

  /**
   * The versions the decision's views had reached (`views`: per resource, for the workload's
   * namespace): what it could know when it wrote. Only where they are resourceVersions.
   */
  #views(w: WorkloadState): { views?: Record<string, string> } {
    if (this.#deps.templateOrder !== 'resource-version') return {};
    const views: Record<string, string> = {};
    for (const [kind, plural] of [['ConfigMap', 'configmaps'], ['Secret', 'secrets']] as const) {
      const at = this.#deps.sources.store(kind)?.viewAt(w.namespace);
      if (at !== undefined) views[plural] = String(at);
    }
    const own = this.#deps.workloads.viewAt(w.kind, w.namespace);
    if (own !== undefined) views[workloadType(w.kind).plural] = String(own);
    return { views };
  }

  async #warnOnce(w: WorkloadState, decision: Decision): Promise<void> {
    if (!this.#said.first(`${w.uid}|${decision.warning}|${decision.cause ?? decision.reason}`)) return;
    // A held wave says it once for the config object (the controller); per workload it is detail.
    this.#deps.log.log(decision.warning === 'WaveHeld' ? 'debug' : 'warn', WARNING_MESSAGE[decision.warning as NonNullable<Decision['warning']>], {
      workload: w.key, action: decision.action, reason: decision.reason,
    });
    await this.#deps.events?.warning(involvedObject(w), decision.warning as string, decision.reason);
  }

  /** A roll held by a pause or a window: said once per cause (one pause, one closed window), as a Normal Event. */
  async #noticeOnce(w: WorkloadState, decision: Decision): Promise<void> {
    if (!this.#said.first(`${w.uid}|${decision.notice}|${decision.cause ?? decision.reason}`)) return;
    this.#deps.log.info('roll held', {
      workload: w.key, code: decision.code, reason: decision.reason, ...(decision.until !== undefined ? { until: new Date(decision.until).toISOString() } : {}),
    });
    await this.#deps.events?.normal(involvedObject(w), decision.notice as string, decision.reason);
  }

  async #notHonouredOnce(w: WorkloadState, notes: readonly string[]): Promise<void> {
    // A peer's list annotation may hold thousands of items: the first three are said, the rest counted.
    const reason = notes.slice(0, 3).join('; ') + (notes.length > 3 ? `; and ${notes.length - 3} more` : '');
    if (!this.#said.first(`${w.uid}|${NOT_HONOURED}|${reason}`)) return;
    this.#deps.log.warn('peer annotation not honoured exactly', { workload: w.key, reason });
    await this.#deps.events?.warning(involvedObject(w), NOT_HONOURED, reason);
  }
}

/** Why a peer's annotation (--accept-annotations) is not honoured exactly: said once per workload and set of notes. */
const NOT_HONOURED = 'PeerAnnotationNotHonoured';

const WARNING_MESSAGE: Record<NonNullable<Decision['warning']>, string> = {
  MalformedAnnotation: 'malformed annotation',
  ConfigMapMissing: 'required ConfigMap missing',
  SecretMissing: 'required Secret missing',
  SourceUnavailable: 'consumed config objects cannot be watched',
  ConfigOverBudget: 'consumed config object over the key budget: not decided',
  WaveHeld: 'roll held: an earlier wave of a shared config object failed',
};

export function involvedObject(w: WorkloadState): InvolvedObject {
  return { kind: w.kind, apiVersion: apiVersionOf(w.kind), namespace: w.namespace, name: w.name, uid: w.uid, resourceVersion: w.resourceVersion };
}
