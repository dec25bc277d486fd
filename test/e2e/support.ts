// Helpers shared by e2e tests: namespaces per test, polling, and small object builders.
import {
  AppsV1Api, CoreV1Api, type KubeConfig, RbacAuthorizationV1Api, type V1Deployment, type V1PolicyRule, type V1Secret,
} from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type DigestKey, digestKey, sourceContent, workloadDigest as keyedWorkloadDigest } from '../../src/core/digest.ts';
import type { ConsumedSource, SourceContent, SourceKind } from '../../src/core/types.ts';
import { scratchDir } from '../scratch-dir.ts';
import { configMapContent, E2E_KEY_SECRET, secretContent, workloadDigest } from './digest-key.ts';
import { testbed } from './hooks.ts';
import type { OperatorProcess } from './operator-process.ts';

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
/**
 * Waits for the Deployment controller's last status write of a rollout (Progressing:
 * NewReplicaSetAvailable, every replica updated and available): a resourceVersion read after it
 * moves only when someone else writes.
 */
export async function deploymentSettled(namespace: string, name: string, timeoutMs = 60_000): Promise<V1Deployment> {
  return waitFor(`Deployment ${name}: its rollout settled`, async () => {
    const d = await readDeployment(namespace, name);
    const s = d.status;
    const replicas = d.spec?.replicas ?? 1;
    if (!s || (s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return undefined;
    if ((s.updatedReplicas ?? 0) !== replicas || (s.availableReplicas ?? 0) !== replicas) return undefined;
    return s.conditions?.find((c) => c.type === 'Progressing')?.reason === 'NewReplicaSetAvailable' ? d : undefined;
  }, timeoutMs);
}

export async function waitForReplicaSets(namespace: string, name: string, count: number, timeoutMs = 60_000): Promise<V1Deployment> {
  await waitFor(`${count} ReplicaSet(s) of ${name}`, async () => ((await replicaSetsOf(namespace, name)).length === count ? true : undefined), timeoutMs);
  return waitFor(`rollout of ${name}`, () => rolloutComplete(namespace, name), timeoutMs);
}

/** The digest a correct operator must write, computed here from the data the test wrote. */
export { configMapContent, secretContent, workloadDigest };

// ---- sentinel: proving that nothing happened -------------------------------------------

/** Names of sentinel Deployments start with this; see isSentinel. */
export const SENTINEL_PREFIX = 'sentinel-';
let sentinelCount = 0;

/** True for an operator log line about a sentinel Deployment (tests that count log lines leave those out). */
export function isSentinel(line: Record<string, unknown>): boolean {
  return typeof line.workload === 'string' && line.workload.split('/')[2]?.startsWith(SENTINEL_PREFIX) === true;
}

/**
 * Proves that the operator has processed every event it had received before this call: the way
 * an e2e test shows that something did NOT happen, without sleeping. Call it after the action
 * whose absence of effect is asserted, then assert.
 *
 * It makes the operator roll a fresh sentinel Deployment (in `namespace`, which the operator
 * must watch), going through both of the operator's watches in turn:
 *  1. The sentinel Deployment is created, opted in, requiring a ConfigMap that does not exist
 *     yet, and carrying the digest the operator records for that state (as if it had been
 *     adopted while the ConfigMap was missing). The operator decides "required ConfigMap
 *     missing, no roll" and says so with a ConfigMapMissing Event, which is awaited. It writes
 *     nothing to the Deployment, so no event of its own write is left queued for this key.
 *  2. Only then is the ConfigMap created. Its creation changes the digest: the operator rolls
 *     the sentinel, which is awaited (a second ReplicaSet, rollout complete, template digest).
 *
 * Why that roll implies the earlier events were processed:
 *  - Each watch delivers its events in order, so the sentinel Deployment's creation reaches the
 *    operator after every Deployment event before it, and the ConfigMap's creation after every
 *    ConfigMap event before it — whichever of the two watches the earlier events came through.
 *  - The work queue makes a key due one debounce after its first add, and hands keys to the
 *    workers in the order they became due (the rate limit keeps that order). The sentinel's key
 *    is new in step 1 and idle before step 2 (step 1 wrote nothing, and the Deployment
 *    controller's status and revision updates queue nothing), so each step starts its own
 *    debounce window, which ends after the windows of every key queued by an earlier event.
 *    Step 1 is therefore taken after every key queued by an earlier Deployment event; step 2
 *    after every key queued by an earlier ConfigMap event, and after step 1.
 *  - A reconcile decides synchronously and sends its one patch at once when taken (several
 *    workers may run side by side, but the earlier key starts first). So a roll written for an
 *    earlier key was sent no later than the sentinel's own patch; the Deployment controller gets
 *    it first and creates its ReplicaSet in one sync, well before the sentinel's rollout can
 *    complete (new ReplicaSet, pod scheduled, Running and available): counting ReplicaSets or
 *    reading the Deployments after this call is sound.
 * Not covered: a key that failed and waits on its retry backoff (retries are not "earlier events").
 *
 * With `dryRun`, step 2 awaits the operator's "would roll" log line for the sentinel instead.
 * `name` (it must start with SENTINEL_PREFIX) is for a test whose RBAC has to name it.
 * Returns the sentinel's name.
 */
export async function sentinelRoll(namespace: string, opts: { name?: string; dryRun?: OperatorProcess } = {}): Promise<string> {
  const name = opts.name ?? `${SENTINEL_PREFIX}${++sentinelCount}`;
  if (!name.startsWith(SENTINEL_PREFIX)) throw new Error(`sentinel name ${name} must start with ${SENTINEL_PREFIX}`);
  const cm = `${name}-cm`;
  const consumed = [{ name: cm, optional: false, keys: null }];
  const data = { sentinel: name };
  const podSpec = { containers: [{ name: 'app', image: 'registry.example/app:1', envFrom: [{ configMapRef: { name: cm } }] }] };
  await createDeployment(namespace, deployment(name, {
    annotations: { ...ENABLED, [HASH]: workloadDigest(consumed, () => undefined) },
    podSpec,
  }));
  await waitFor(`ConfigMapMissing Event on sentinel ${namespace}/${name}`, async () => {
    const list = await clients().core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
    return list.items.find((e) => e.reason === 'ConfigMapMissing');
  });
  await createConfigMap(namespace, cm, data);
  const expected = workloadDigest(consumed, () => configMapContent({ data }));
  if (opts.dryRun) {
    const line = await opts.dryRun.waitForLog(`would roll sentinel ${name}`,
      (l) => l.message === 'would roll' && l.workload === `Deployment/${namespace}/${name}`);
    if (line.newDigest !== expected) throw new Error(`sentinel ${name}: would roll to ${String(line.newDigest)}, expected ${expected}`);
    return name;
  }
  const rolled = await waitForReplicaSets(namespace, name, 2);
  const got = rolled.spec?.template?.metadata?.annotations?.[HASH];
  if (got !== expected) throw new Error(`sentinel ${name}: template digest ${String(got)}, expected ${expected}`);
  return name;
}

export function kubectl(...args: string[]): string {
  return execFileSync(testbed().kubectl, ['--kubeconfig', testbed().kubeconfigPath, ...args], {
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

// ---- operators with a digest key of their own, and narrow credentials -----------------------

/** The digest key a key Secret holds (one the operator made): its bytes, and the key over them. */
export async function readDigestKeySecret(namespace: string, name = E2E_KEY_SECRET): Promise<{ secret: V1Secret; bytes: Buffer; key: DigestKey }> {
  const secret = await clients().core.readNamespacedSecret({ namespace, name });
  const bytes = Buffer.from(secret.data?.key ?? '', 'base64');
  return { secret, bytes, key: digestKey(bytes) };
}

/** configMapContent, secretContent and workloadDigest (as above) under `key` instead of the e2e key. */
export function digestsUnder(key: DigestKey) {
  return {
    configMapContent: (cm: { data?: Record<string, string>; binaryData?: Record<string, string> }): SourceContent => sourceContent('ConfigMap', cm, key),
    secretContent: (data: Record<string, string>): SourceContent => sourceContent('Secret', { data }, key),
    workloadDigest: (
      consumed: ReadonlyArray<Omit<ConsumedSource, 'kind'> & { kind?: SourceKind }>,
      lookup: (name: string, kind: SourceKind) => SourceContent | undefined,
    ): string => keyedWorkloadDigest(consumed.map((c) => ({ ...c, kind: c.kind ?? 'ConfigMap' })), (kind, name) => lookup(name, kind), key),
  };
}

/**
 * sentinelRoll for an operator whose digest key is `key` (one it made itself) rather than the e2e
 * key: the same two steps, with the digests computed under that key.
 */
export async function sentinelRollUnder(key: DigestKey, namespace: string): Promise<string> {
  const digests = digestsUnder(key);
  const name = `${SENTINEL_PREFIX}${++sentinelCount}`;
  const cm = `${name}-cm`;
  const consumed = [{ name: cm, optional: false, keys: null }];
  const data = { sentinel: name };
  const podSpec = { containers: [{ name: 'app', image: 'registry.example/app:1', envFrom: [{ configMapRef: { name: cm } }] }] };
  await createDeployment(namespace, deployment(name, {
    annotations: { ...ENABLED, [HASH]: digests.workloadDigest(consumed, () => undefined) },
    podSpec,
  }));
  await waitFor(`ConfigMapMissing Event on sentinel ${namespace}/${name}`, async () => {
    const list = await clients().core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
    return list.items.find((e) => e.reason === 'ConfigMapMissing');
  });
  await createConfigMap(namespace, cm, data);
  const expected = digests.workloadDigest(consumed, () => digests.configMapContent({ data }));
  const rolled = await waitForReplicaSets(namespace, name, 2);
  const got = rolled.spec?.template?.metadata?.annotations?.[HASH];
  if (got !== expected) throw new Error(`sentinel ${name}: template digest ${String(got)}, expected ${expected}`);
  return name;
}

export type PolicyRule = V1PolicyRule;

/** Grants the ServiceAccount `subject` these rules in `namespace` (a Role and its RoleBinding named `name`). */
export async function grantRole(namespace: string, name: string, subject: { namespace: string; name: string }, rules: PolicyRule[]): Promise<void> {
  const rbac = clients().kc.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
  await rbac.createNamespacedRoleBinding({ namespace, body: {
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name: subject.name, namespace: subject.namespace }],
  } });
}

/**
 * A ServiceAccount `name` in `namespace` with these rules there, and a kubeconfig that
 * authenticates as it (for an operator that may do only that): returns the kubeconfig's path.
 */
export async function narrowServiceAccountKubeconfig(namespace: string, name: string, rules: PolicyRule[]): Promise<string> {
  const { core } = clients();
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await grantRole(namespace, name, { namespace, name }, rules);
  const tr = await core.createNamespacedServiceAccountToken({ namespace, name, body: { spec: { audiences: [] } } });
  const admin = readFileSync(testbed().kubeconfigPath, 'utf8');
  const kubeconfig = path.join(scratchDir(name), 'kubeconfig');
  writeFileSync(kubeconfig, admin.replace(/users:[\s\S]*?contexts:/, `users:\n- name: testbed-admin\n  user:\n    token: ${tr.status?.token}\ncontexts:`));
  return kubeconfig;
}
