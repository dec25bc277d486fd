// Helpers shared by e2e tests: namespaces per test, polling, and small object builders.
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { testbed } from './hooks.ts';

export interface Clients {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
}

export function clients(): Clients {
  const kc = testbed().kubeConfig();
  return { kc, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
}

export async function createNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await clients().core.createNamespace({ body: { metadata: { name } } });
  return name;
}

export async function deleteNamespace(name: string): Promise<void> {
  await clients().core.deleteNamespace({ name }).catch(() => undefined);
}

/** Polls `probe` until it returns a value other than undefined; fails with `what` on timeout. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `; last error: ${String(lastError)}` : ''}`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function deployment(name: string, opts: { replicas?: number; annotations?: Record<string, string>; podSpec?: Record<string, unknown> } = {}): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, annotations: opts.annotations ?? {} },
    spec: {
      replicas: opts.replicas ?? 1,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: name } },
        spec: (opts.podSpec as never) ?? { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
      },
    },
  };
}

/** A rollout is complete when every replica is updated, available, and no old pod remains. */
export async function rolloutComplete(namespace: string, name: string): Promise<V1Deployment | undefined> {
  const d = await clients().apps.readNamespacedDeployment({ name, namespace });
  const want = d.spec?.replicas ?? 1;
  const s = d.status;
  const done = s && (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0)
    && (s.updatedReplicas ?? 0) === want && (s.replicas ?? 0) === want && (s.availableReplicas ?? 0) === want;
  return done ? d : undefined;
}

export async function replicaSetsOf(namespace: string, app: string) {
  const list = await clients().apps.listNamespacedReplicaSet({ namespace, labelSelector: `app=${app}` });
  return list.items;
}
