// A workload's rollout health from its status, as `kubectl rollout status` reads it (its
// DeploymentStatusViewer, StatefulSetStatusViewer, DaemonSetStatusViewer), and for the custom
// kinds (src/core/kinds.ts) as their own tools read it. The waves read it (src/waves/plan.ts): an
// earlier wave must be healthy before the next one rolls.

/** How a kind's status says healthy (src/core/kinds.ts names one per kind). */
export type HealthRule = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Rollout' | 'CloneSet' | 'ReadyCondition';

/** A workload's rollout health as `kubectl rollout status` reads it. */
export type Health = 'healthy' | 'progressing' | 'failed';

/** What is read of a workload to judge its health (never retained: only the result is). */
export interface HealthInput {
  generation?: number | undefined;
  replicas?: number | undefined;
  updateStrategyType?: string | undefined;
  partition?: number | undefined;
  status?: WorkloadStatus | undefined;
}

export interface WorkloadStatus {
  /** A string on an Argo Rollout (the generation, written out). */
  observedGeneration?: number | string;
  /** Argo Rollouts: Healthy, Progressing, Paused, Degraded. */
  phase?: string;
  /** OpenKruise CloneSet. */
  updatedReadyReplicas?: number;
  replicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  readyReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  desiredNumberScheduled?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  conditions?: Array<{ type?: string; status?: string; reason?: string }>;
}

/** Health by `rule`; no rule (a kind whose status says nothing known): healthy — the waves count our unconfirmed write as progressing. */
export function workloadHealth(rule: HealthRule | undefined, w: HealthInput): Health {
  const s = w.status ?? {};
  // A spec the controller has not looked at yet says nothing about the rollout it starts.
  const observed = Number(s.observedGeneration ?? 0) >= (w.generation ?? 1);
  switch (rule) {
    case undefined:
      return 'healthy';
    case 'Deployment': {
      if (!observed) return 'progressing';
      // The deployment controller gave up after progressDeadlineSeconds: a failure at once.
      // (Read only once the current spec is observed: an older rollout's condition says nothing.)
      if (s.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded')) return 'failed';
      const want = w.replicas ?? 1;
      const updated = s.updatedReplicas ?? 0;
      if (updated < want) return 'progressing';
      // Old replicas still terminating, or new ones not available yet.
      if ((s.replicas ?? 0) > updated) return 'progressing';
      if ((s.availableReplicas ?? 0) < updated) return 'progressing';
      return 'healthy';
    }
    case 'StatefulSet': {
      // kubectl can tell nothing of OnDelete: nothing rolls by itself, so nothing is waited for.
      if (w.updateStrategyType === 'OnDelete') return 'healthy';
      if (!observed) return 'progressing';
      const want = w.replicas ?? 1;
      if ((s.readyReplicas ?? 0) < want) return 'progressing';
      if ((w.partition ?? 0) > 0) return (s.updatedReplicas ?? 0) < want - (w.partition ?? 0) ? 'progressing' : 'healthy';
      return s.updateRevision !== s.currentRevision ? 'progressing' : 'healthy';
    }
    case 'DaemonSet': {
      if (w.updateStrategyType === 'OnDelete') return 'healthy';
      if (!observed) return 'progressing';
      const want = s.desiredNumberScheduled ?? 0;
      if ((s.updatedNumberScheduled ?? 0) < want) return 'progressing';
      if ((s.numberAvailable ?? 0) < want) return 'progressing';
      return 'healthy';
    }
    // `kubectl argo rollouts status`: the spec observed (a string) and the phase the Rollout
    // controller computes (utils/rollout/rolloututil.go, CalculateRolloutPhase). Paused (a canary
    // step, a manual pause) is still on its way: the wave timeout holds it.
    case 'Rollout': {
      if (String(s.observedGeneration ?? '') !== String(w.generation ?? 1)) return 'progressing';
      if (s.phase === 'Degraded') return 'failed';
      return s.phase === 'Healthy' ? 'healthy' : 'progressing';
    }
    // A CloneSet's status is a Deployment's, with the partition (a count here; a percentage is
    // read as none) leaving that many pods on the old revision.
    case 'CloneSet': {
      if (!observed) return 'progressing';
      const want = w.replicas ?? 1;
      const target = Math.max(0, want - (w.partition ?? 0));
      if ((s.updatedReadyReplicas ?? s.updatedReplicas ?? 0) < target) return 'progressing';
      if ((s.replicas ?? 0) > want) return 'progressing';
      return 'healthy';
    }
    // Knative: the Ready condition of the current generation; False is a failed revision.
    case 'ReadyCondition': {
      if (!observed) return 'progressing';
      const ready = s.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status === 'False') return 'failed';
      return ready?.status === 'True' ? 'healthy' : 'progressing';
    }
  }
}
