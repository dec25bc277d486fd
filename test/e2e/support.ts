// Helpers shared by e2e tests: namespaces per test, polling, and small object builders.
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../scratch-dir.ts';
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

// ---- operator fixtures -------------------------------------------------------------------

export const HASH = 'config-reload.dev/config-hash';
export const ENABLED = { 'config-reload.dev/enabled': 'true' };

export async function createConfigMap(namespace: string, name: string, data: Record<string, string>): Promise<void> {
  await clients().core.createNamespacedConfigMap({ namespace, body: { metadata: { name }, data } });
}

/** A full rewrite (PUT) of the data, as `kubectl replace` or a controller would do. */
export async function rewriteConfigMap(namespace: string, name: string, data: Record<string, string>): Promise<void> {
  const { core } = clients();
  const cm = await core.readNamespacedConfigMap({ namespace, name });
  cm.data = data;
  await core.replaceNamespacedConfigMap({ namespace, name, body: cm });
}

export async function deleteConfigMap(namespace: string, name: string): Promise<void> {
  await clients().core.deleteNamespacedConfigMap({ namespace, name });
}

export async function createDeployment(namespace: string, d: V1Deployment): Promise<void> {
  await clients().apps.createNamespacedDeployment({ namespace, body: d });
}

export async function readDeployment(namespace: string, name: string): Promise<V1Deployment> {
  return clients().apps.readNamespacedDeployment({ namespace, name });
}

export function podSpecWithVolume(configMap: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    containers: [{ name: 'app', image: 'registry.example/app:1', volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }] }],
    volumes: [{ name: 'cfg', configMap: { name: configMap, ...extra } }],
  };
}

/** Waits until the metadata annotation is written (adoption or roll). */
export async function recordedHash(namespace: string, name: string, timeoutMs = 30_000): Promise<string> {
  return waitFor(`config-hash on ${namespace}/${name}`, async () => (await readDeployment(namespace, name)).metadata?.annotations?.[HASH], timeoutMs);
}

/** Waits until the Deployment has `count` ReplicaSets and its rollout is complete. */
export async function waitForReplicaSets(namespace: string, name: string, count: number, timeoutMs = 60_000): Promise<V1Deployment> {
  await waitFor(`${count} ReplicaSet(s) of ${name}`, async () => ((await replicaSetsOf(namespace, name)).length === count ? true : undefined), timeoutMs);
  return waitFor(`rollout of ${name}`, () => rolloutComplete(namespace, name), timeoutMs);
}

/** The digest a correct operator must write, computed here from the data the test wrote. */
export { configMapContent, workloadDigest } from '../../src/core/digest.ts';

export function kubectl(...args: string[]): string {
  return execFileSync(testbed().controlPlane?.bins.kubectl ?? 'kubectl', ['--kubeconfig', testbed().kubeconfigPath, ...args], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** GET on the operator's HTTP port: status and body. */
export async function httpGet(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`);
  return { status: res.status, body: await res.text() };
}

/** One sample of a Prometheus counter/gauge with exactly these labels (0 when absent). */
export function metricValue(exposition: string, name: string, labels: Record<string, string>): number {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`) && line.split(' ')[0] !== name) continue;
    const m = /^[^{\s]+(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const got = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v) && Object.keys(got).length === Object.keys(labels).length) return Number(m[2]);
  }
  return 0;
}

/**
 * A kubeconfig that authenticates with a TokenRequest token of a ServiceAccount: the operator
 * run with it has exactly that ServiceAccount's RBAC.
 */
export async function serviceAccountKubeconfig(namespace: string, name: string): Promise<string> {
  const tr = await clients().core.createNamespacedServiceAccountToken({
    namespace, name, body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = tr.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  const admin = readFileSync(testbed().kubeconfigPath, 'utf8');
  const server = /server: (\S+)/.exec(admin)?.[1];
  const ca = /certificate-authority-data: (\S+)/.exec(admin)?.[1];
  if (!server || !ca) throw new Error('the admin kubeconfig has no server or certificate-authority-data');
  const file = path.join(scratchDir('sa'), 'kubeconfig');
  writeFileSync(file, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: ${server}, certificate-authority-data: ${ca}}}]
users: [{name: sa, user: {token: ${token}}}]
contexts: [{name: c, context: {cluster: c, user: sa}}]
current-context: c
`);
  return file;
}

/** `kubectl auth can-i VERB RESOURCE --as USER`: "yes" or "no". */
export function canI(user: string, verb: string, resource: string, namespace?: string): string {
  const args = ['auth', 'can-i', verb, resource, '--as', user, ...(namespace ? ['-n', namespace] : ['--all-namespaces'])];
  try {
    return kubectl(...args).trim();
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? '').trim();
  }
}
