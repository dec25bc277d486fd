// A workload's rollout health from its status, as `kubectl rollout status` reads it (its
// DeploymentStatusViewer, StatefulSetStatusViewer, DaemonSetStatusViewer). The waves read it
// (src/waves/plan.ts): an earlier wave must be healthy before the next one rolls.
import type { WorkloadKind } from './keys.ts';

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
  observedGeneration?: number;
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

export function workloadHealth(kind: WorkloadKind, w: HealthInput): Health {
  const s = w.status ?? {};
  // A spec the controller has not looked at yet says nothing about the rollout it starts.
  const observed = (s.observedGeneration ?? 0) >= (w.generation ?? 1);
  switch (kind) {
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
  }
}
