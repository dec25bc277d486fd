// The objects the model test's operations write (./model-ops.ts): config objects, workloads of
// every kind whose pod templates name config objects in every shape, their opt-in annotations
// and the status their controllers would write.
import { deploymentStatus } from './fake-cluster.ts';
import type { ConfigKind, OptInSpec, RefSpec, WorkloadType } from './model-ops.ts';

export const NS = 'ns';

/** A Secret's values are base64 in `data`, as the apiserver stores them. */
export function encode(kind: ConfigKind, value: string): string {
  return kind === 'secret' ? Buffer.from(value).toString('base64') : value;
}

export function optInAnnotations(spec: OptInSpec): Record<string, string> {
  switch (spec) {
    case 'true': return { 'config-reload.dev/enabled': 'true' };
    case ' True ': return { 'config-reload.dev/enabled': ' True ' };
    case 'false': return { 'config-reload.dev/enabled': 'false' };
    case 'yes': return { 'config-reload.dev/enabled': 'yes' };
    case 'named': return { 'config-reload.dev/configmaps': 'three' };
    case 'namedSecret': return { 'config-reload.dev/secrets': 'three' };
    case 'falseNamed': return { 'config-reload.dev/enabled': 'false', 'config-reload.dev/configmaps': 'one, three' };
  }
}

/** A pod spec naming each config object of `refs` in its shape (one volume or env entry each). */
export function podSpec(refs: readonly RefSpec[], image: number) {
  const volumes: unknown[] = [];
  const envFrom: unknown[] = [];
  const env: unknown[] = [];
  refs.forEach((r, i) => {
    // `optional: false` written out half the time: absent and false mean the same.
    const opt = r.optional ? { optional: true } : i % 2 === 0 ? { optional: false } : {};
    const items = r.shape === 'volumeItems' || r.shape === 'projectedItems' ? { items: [{ key: 'a', path: 'a.conf' }] } : {};
    const cm = r.kind === 'cm';
    switch (r.shape) {
      case 'volume':
      case 'volumeItems':
        volumes.push({ name: `v${i}`, ...(cm ? { configMap: { name: r.name, ...items, ...opt } } : { secret: { secretName: r.name, ...items, ...opt } }) });
        break;
      case 'projected':
      case 'projectedItems':
        volumes.push({ name: `v${i}`, projected: { sources: [cm ? { configMap: { name: r.name, ...items, ...opt } } : { secret: { name: r.name, ...items, ...opt } }] } });
        break;
      case 'envFrom':
        envFrom.push(cm ? { configMapRef: { name: r.name, ...opt } } : { secretRef: { name: r.name, ...opt } });
        break;
      case 'keyRef':
        env.push({ name: `K${i}`, valueFrom: cm ? { configMapKeyRef: { name: r.name, key: 'a', ...opt } } : { secretKeyRef: { name: r.name, key: 'a', ...opt } } });
        break;
    }
  });
  return { volumes, containers: [{ name: 'app', image: `registry.example/app:${image}`, envFrom, env }] };
}

export function workloadObject(name: string, type: WorkloadType, refs: readonly RefSpec[], optIn: OptInSpec, image = 1) {
  const template = { metadata: { labels: { app: name } }, spec: podSpec(refs, image) };
  const selector = { matchLabels: { app: name } };
  const spec = type === 'ds'
    ? { selector, template }
    : type === 'deploy'
      ? { replicas: 1, selector, template }
      : { replicas: 1, selector, serviceName: name, updateStrategy: { type: type === 'sts' ? 'RollingUpdate' : 'OnDelete' }, template };
  return { metadata: { name, namespace: NS, annotations: optInAnnotations(optIn) }, spec };
}

/** What the workload's controller writes once it has seen `generation`: the rollout done, or failed. */
export function rolloutStatus(type: WorkloadType, generation: number, failed: boolean, at: number): Record<string, unknown> {
  switch (type) {
    case 'deploy':
      return { ...deploymentStatus(failed ? 'failed' : 'healthy', generation), at };
    case 'sts':
    case 'stsOnDelete':
      // A failed StatefulSet rollout is one whose pods never become ready: it times out.
      return failed
        ? { observedGeneration: generation, replicas: 1, readyReplicas: 0, updatedReplicas: 1, currentRevision: 'r0', updateRevision: `r${generation}`, at }
        : { observedGeneration: generation, replicas: 1, readyReplicas: 1, updatedReplicas: 1, currentRevision: `r${generation}`, updateRevision: `r${generation}`, at };
    case 'ds':
      return { observedGeneration: generation, desiredNumberScheduled: 1, updatedNumberScheduled: 1, numberAvailable: failed ? 0 : 1, at };
  }
}
