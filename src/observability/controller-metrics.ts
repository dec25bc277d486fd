// Feeds the controller's hooks into the Prometheus metrics.
import type { ControllerObserver } from '../controller/observer.ts';
import type { OperatorMetrics } from './metrics.ts';

export function metricsObserver(m: OperatorMetrics): ControllerObserver {
  /** Held workloads per Secret (its series is per namespace: see waveHeld). */
  const heldSecrets = new Map<string, { namespace: string; held: number }>();
  return {
    decided(decision, namespace, dryRun) {
      m.decisions.inc({ action: decision.action, reason: decision.code });
      const labels = { namespace, dry_run: String(dryRun) };
      if (decision.action === 'roll') m.rolls.inc(labels);
      if (decision.action === 'adopt') m.adoptions.inc(labels);
    },
    apiError: (verb, status) => m.apiErrors.inc({ verb, code: String(status ?? 0) }),
    relist: (resource, reason) => m.relists.inc({ resource, reason }),
    watchRestart: (resource, reason) => m.watchRestarts.inc({ resource, reason }),
    synced(resource, objects) {
      m.lastSync.set({ resource }, Date.now() / 1000);
      m.watchedObjects.set({ resource }, objects);
    },
    sourceAvailable: (resource, available) => m.watchAvailable.set({ resource }, available ? 1 : 0),
    workloadKindAvailable: (kind, available) => m.workloadKindAvailable.set({ kind }, available ? 1 : 0),
    sourcesOverBudget: (resource, count) => m.sourcesOverBudget.set({ resource }, count),
    reconciled(seconds, result) {
      m.reconcileDuration.observe({ result }, seconds);
      if (result === 'error') m.reconcileErrors.inc();
    },
    queueWait: (seconds) => m.queueWait.observe(seconds),
    waveHeld(source, held) {
      if (source.kind === 'Secret') {
        // No Secret name in a label: a Secret's name can itself tell what it guards (and every
        // scrape, dashboard and remote store would keep it). Its series is per namespace, the
        // sum over its held Secrets, with name=""; the WaveHeld Event names the Secret.
        const key = `${source.namespace}/${source.name}`;
        if (held > 0) heldSecrets.set(key, { namespace: source.namespace, held });
        else heldSecrets.delete(key);
        const labels = { namespace: source.namespace, kind: 'Secret', name: '' };
        const total = [...heldSecrets.values()].filter((s) => s.namespace === source.namespace).reduce((sum, s) => sum + s.held, 0);
        if (total > 0) m.waveHeld.set(labels, total);
        else m.waveHeld.remove(labels);
        return;
      }
      const labels = { namespace: source.namespace, kind: source.kind, name: source.name };
      // A series per held object only while it is held: nothing accumulates for objects that recovered.
      if (held > 0) m.waveHeld.set(labels, held);
      else m.waveHeld.remove(labels);
    },
    // A namespace no longer watched keeps no series: selected again, its counters start afresh.
    namespaceClosed(namespace) {
      for (const dryRun of ['true', 'false']) {
        m.rolls.remove({ namespace, dry_run: dryRun });
        m.adoptions.remove({ namespace, dry_run: dryRun });
      }
    },
    queueDepth(ready, waiting) {
      m.queueDepth.set(ready);
      m.queueWaiting.set(waiting);
    },
  };
}
