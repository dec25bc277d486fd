// reconcile(workload key): level-based. It recomputes the desired digest from the current
// index (never from the event that queued it), asks the pure decision function what to do,
// and sends at most one merge patch — or, in dry-run, logs the patch it would send.
import { type AppsV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'winston';
import { decide } from '../core/decide.ts';
import { workloadDigest } from '../core/digest.ts';
import type { Decision } from '../core/types.ts';
import { describeError, httpStatus, isRetryable } from '../kube/api-error.ts';
import { requestTimeout } from '../kube/request-timeout.ts';
import type { ConfigMapStore } from '../state/configmap-store.ts';
import { effectiveRecordedDigest, workloadKey, type WorkloadState, type WorkloadStore } from '../state/workload-store.ts';
import type { InvolvedObject } from '../observability/events.ts';
import { hashPatch } from './patch.ts';

export const FIELD_MANAGER = 'config-reload-operator';
const PATCH_TIMEOUT_MS = 15_000;

export interface EventSink {
  normal(target: InvolvedObject, reason: string, message: string): Promise<void>;
  warning(target: InvolvedObject, reason: string, message: string): Promise<void>;
}

export interface ReconcileObserver {
  decided(decision: Decision, namespace: string, dryRun: boolean): void;
  apiError(verb: string, status: number | undefined): void;
}

export interface ReconcilerDeps {
  apps: AppsV1Api;
  configMaps: ConfigMapStore;
  workloads: WorkloadStore;
  log: Logger;
  dryRun: boolean;
  events?: EventSink;
  observer?: ReconcileObserver;
}

/** A failure worth retrying with backoff; anything else is logged and dropped. */
export class RetryableError extends Error {}

export type ReconcileOutcome = Decision & { written: boolean };

export class Reconciler {
  readonly #deps: ReconcilerDeps;
  // Warnings repeat on every resync while the cause stands; say each once per cause.
  readonly #warned = new LRUCache<string, true>({ max: 10_000, ttl: 60 * 60_000 });

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
  }

  /** Pure with respect to the API: what reconcile would do for this workload now. */
  evaluate(w: WorkloadState): Decision {
    const cms = this.#deps.configMaps;
    const ns = w.namespace;
    const desiredDigest = workloadDigest(w.consumed, (name) => cms.content(`${ns}/${name}`));
    const missingRequired = w.consumed.filter((c) => !c.optional && !cms.has(`${ns}/${c.name}`)).map((c) => c.name);
    return decide({
      optIn: w.optIn,
      recordedDigest: effectiveRecordedDigest(w),
      desiredDigest,
      missingRequired,
      changed: [...w.changedSinceRecorded],
      referencesChanged: w.referencesChanged,
    });
  }

  async reconcile(key: string): Promise<ReconcileOutcome | undefined> {
    const { workloads, log, dryRun } = this.#deps;
    const w = workloads.get(key);
    if (!w) return undefined; // deleted since it was queued: nothing to do
    const decision = this.evaluate(w);
    // Counted once it took effect: a failed patch is retried and counted when it succeeds.
    const counted = () => this.#deps.observer?.decided(decision, w.namespace, dryRun);
    const fields = { workload: key, action: decision.action, reason: decision.reason };

    // An Event must never hold up the reconcile: the recorder resolves within its own deadline.
    if (decision.warning) void this.#warnOnce(w, decision);
    if (decision.action === 'none') {
      counted();
      if (!decision.warning) log.debug('skipped', fields);
      return { ...decision, written: false };
    }

    const digest = decision.digest as string;
    const patch = hashPatch(decision.action, digest);
    const detail = {
      ...fields,
      changed: [...w.changedSinceRecorded].sort(),
      oldDigest: effectiveRecordedDigest(w) ?? null,
      newDigest: digest,
    };
    if (dryRun) {
      w.simulatedDigest = digest;
      w.changedSinceRecorded.clear();
      w.referencesChanged = false;
      counted();
      log.info(decision.action === 'roll' ? 'would roll' : 'would adopt', { ...detail, dryRun: true, patch });
      return { ...decision, written: false };
    }

    try {
      const updated = await this.#deps.apps.patchNamespacedDeployment(
        { namespace: w.namespace, name: w.name, body: patch, fieldManager: FIELD_MANAGER },
        // A deadline, so that an apiserver that stopped answering cannot hold a worker (or a
        // graceful shutdown) for the minutes TCP would take to notice.
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch, requestTimeout(PATCH_TIMEOUT_MS)),
      );
      // Stands for the recorded digest until the watch delivers this write (see WorkloadState).
      w.pendingWrite = { digest, resourceVersion: updated.metadata?.resourceVersion ?? '' };
    } catch (err) {
      const status = httpStatus(err);
      this.#deps.observer?.apiError('patch', status);
      if (status === 404) {
        log.info('workload vanished before it could be patched', { ...fields, error: describeError(err) });
        return { ...decision, written: false };
      }
      if (isRetryable(status)) throw new RetryableError(`patch ${key}: ${describeError(err)}`);
      // 403 (RBAC), 422 (rejected by validation or a webhook): retrying soon will not help, but
      // the cause may be fixed, so the caller still retries on its long backoff.
      log.error('patch refused by the API server', { ...fields, error: describeError(err) });
      void this.#deps.events?.warning(target(w), 'PatchRejected', `config-hash patch refused: ${describeError(err)}`);
      throw new RetryableError(`patch ${key}: ${describeError(err)}`);
    }
    w.changedSinceRecorded.clear();
    w.referencesChanged = false;
    counted();
    log.info(decision.action === 'roll' ? 'rolled' : 'adopted', detail);
    if (decision.action === 'roll') {
      const which = detail.changed.length > 0 ? `ConfigMap ${detail.changed.join(', ')} changed` : 'consumed configuration changed';
      void this.#deps.events?.normal(target(w), 'ConfigChanged', `${which}: rolling (config-hash ${digest})`);
    }
    return { ...decision, written: true };
  }

  async #warnOnce(w: WorkloadState, decision: Decision): Promise<void> {
    const id = `${w.uid}|${decision.warning}|${decision.reason}`;
    if (this.#warned.has(id)) return;
    this.#warned.set(id, true);
    this.#deps.log.warn(decision.warning === 'MalformedAnnotation' ? 'malformed annotation' : 'required ConfigMap missing', {
      workload: workloadKey(w.namespace, w.name), action: decision.action, reason: decision.reason,
    });
    await this.#deps.events?.warning(target(w), decision.warning as string, decision.reason);
  }
}

function target(w: WorkloadState): InvolvedObject {
  return { kind: 'Deployment', apiVersion: 'apps/v1', namespace: w.namespace, name: w.name, uid: w.uid, resourceVersion: w.resourceVersion };
}
