// Secrets beside ConfigMaps, and StatefulSets and DaemonSets beside Deployments.
//
// Secrets: every reference path rolls a Deployment once per change, with the digest computed
// here from the data the test wrote (key-level precision included); a key no reference reads,
// a Secret named only in imagePullSecrets, and a change of labels, annotations or type with
// identical data roll nothing; `config-reload.dev/secrets` names Secrets read through the API.
//
// Kinds: a StatefulSet and a DaemonSet roll exactly once per ConfigMap change and not on
// adoption; OnDelete and a partition leave the pods to the update strategy and say so.
//
// Rolls are counted by ReplicaSets for Deployments and by ControllerRevisions owned by the
// workload for StatefulSets and DaemonSets (with the pods' revision labels and UIDs), never by
// metadata.generation. "Nothing happened" is proven with sentinels, never with a sleep:
//  - sentinelRoll (support.ts) orders the operator's processing after every Deployment and
//    ConfigMap event it had received;
//  - secretSentinel (below) does the same through the Secret watch: a Deployment that requires
//    a Secret that does not exist yet rolls once it is created, and the Secret watch delivers
//    that creation after every earlier Secret event;
//  - workloadWitness (below) does it for the StatefulSet or DaemonSet watch: an opted-in
//    workload of that kind with no pods, whose adoption comes after every earlier event of
//    that watch.
import {
  PatchStrategy, setHeaderOptions, type V1ControllerRevision, type V1DaemonSet, type V1Pod, type V1StatefulSet,
} from '@kubernetes/client-node';
import { expect } from 'chai';
import type { SourceKind } from '../../src/core/types.ts';
import { namespaceWithOperator, type OperatorProcess } from './operator-process.ts';
import {
  clients, configMapContent, createConfigMap, createDeployment, deployment, ENABLED, HASH, readDeployment,
  recordedHash, replicaSetsOf, rewriteConfigMap, secretContent, SENTINEL_PREFIX, sentinelRoll, waitFor,
  waitForReplicaSets, workloadDigest,
} from './support.ts';

type Plain = Record<string, string>;

interface Suite {
  ns: string;
  op: OperatorProcess;
}

// ---- Secrets and digests ----------------------------------------------------------------

const b64 = (value: string) => Buffer.from(value, 'utf8').toString('base64');
const encoded = (plain: Plain): Plain => Object.fromEntries(Object.entries(plain).map(([k, v]) => [k, b64(v)]));

async function createSecret(ns: string, name: string, plain: Plain, meta: { type?: string; labels?: Plain } = {}): Promise<void> {
  await clients().core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name, ...(meta.labels ? { labels: meta.labels } : {}) }, type: meta.type ?? 'Opaque', data: encoded(plain) },
  });
}

/** A full rewrite (PUT) of the Secret's data, as `kubectl replace` would do. */
async function rewriteSecret(ns: string, name: string, plain: Plain): Promise<void> {
  const { core } = clients();
  const secret = await core.readNamespacedSecret({ namespace: ns, name });
  secret.data = encoded(plain);
  await core.replaceNamespacedSecret({ namespace: ns, name, body: secret });
}

/** One consumed object, as the digest sees it; kind defaults to Secret here. */
interface Ref {
  kind?: SourceKind;
  name: string;
  optional?: boolean;
  keys?: string[] | null;
}

/** What the test wrote, per kind and name; absent means the object does not exist. */
interface Written {
  secrets?: Record<string, Plain>;
  configMaps?: Record<string, Plain>;
}

/** The digest a correct operator writes, computed from the data the test wrote. */
function digestOf(refs: Ref[], written: Written): string {
  return workloadDigest(
    refs.map((r) => ({ kind: r.kind ?? 'Secret', name: r.name, optional: r.optional ?? false, keys: r.keys ?? null })),
    (name, kind) => {
      if (kind === 'Secret') {
        const plain = written.secrets?.[name];
        return plain === undefined ? undefined : secretContent(encoded(plain));
      }
      const data = written.configMaps?.[name];
      return data === undefined ? undefined : configMapContent({ data });
    },
  );
}

const templateHash = (o: { spec?: { template?: { metadata?: { annotations?: Plain } } } }) => o.spec?.template?.metadata?.annotations?.[HASH];
const metadataHash = (o: { metadata?: { annotations?: Plain } }) => o.metadata?.annotations?.[HASH];

async function eventsOn(ns: string, kind: string, name: string) {
  const list = await clients().core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` });
  return list.items.filter((e) => e.involvedObject.kind === kind);
}

async function waitForEvent(ns: string, kind: string, name: string, reason: string, timeoutMs = 30_000) {
  return waitFor(`Event ${reason} on ${kind} ${ns}/${name}`, async () => (await eventsOn(ns, kind, name)).find((e) => e.reason === reason), timeoutMs);
}

let secretSentinels = 0;

/**
 * sentinelRoll through the Secret watch: a Deployment requiring a Secret that does not exist yet
 * (carrying the digest recorded for that state, so the operator writes nothing to it) is
 * created; once the operator said SecretMissing, the Secret is created, and the roll it causes
 * is awaited. The Secret watch delivers that creation after every earlier Secret event, and the
 * sentinel's key becomes due after every key those events queued (see sentinelRoll).
 */
async function secretSentinel(ns: string): Promise<void> {
  const name = `${SENTINEL_PREFIX}secret-${++secretSentinels}`;
  const secret = `${name}-s`;
  const refs: Ref[] = [{ name: secret }];
  await createDeployment(ns, deployment(name, {
    annotations: { ...ENABLED, [HASH]: digestOf(refs, {}) },
    podSpec: { containers: [{ name: 'app', image: 'registry.example/app:1', envFrom: [{ secretRef: { name: secret } }] }] },
  }));
  await waitForEvent(ns, 'Deployment', name, 'SecretMissing');
  const plain = { sentinel: name };
  await createSecret(ns, secret, plain);
  const rolled = await waitForReplicaSets(ns, name, 2);
  const expected = digestOf(refs, { secrets: { [secret]: plain } });
  if (templateHash(rolled) !== expected) throw new Error(`secret sentinel ${name}: template digest ${String(templateHash(rolled))}, expected ${expected}`);
}

/** Every Secret and ConfigMap event, and every Deployment event, received so far was processed. */
async function settleSecrets(ns: string): Promise<void> {
  await secretSentinel(ns);
  await sentinelRoll(ns);
}

// ---- StatefulSets and DaemonSets --------------------------------------------------------

type Kind = 'StatefulSet' | 'DaemonSet';
type Workload = V1StatefulSet | V1DaemonSet;
type Strategy = { type: 'RollingUpdate'; partition?: number } | { type: 'OnDelete' };
const REVISION_LABEL = 'controller-revision-hash';

function podTemplate(name: string, podSpec: Record<string, unknown>) {
  return { metadata: { labels: { app: name } }, spec: podSpec as never };
}

function statefulSet(name: string, opts: { replicas?: number; annotations?: Plain; podSpec: Record<string, unknown>; strategy?: Strategy }): V1StatefulSet {
  const strategy = opts.strategy ?? { type: 'RollingUpdate' };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, annotations: opts.annotations ?? {} },
    spec: {
      replicas: opts.replicas ?? 2,
      serviceName: name,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: name } },
      updateStrategy: strategy.type === 'OnDelete'
        ? { type: 'OnDelete' }
        : { type: 'RollingUpdate', rollingUpdate: { partition: strategy.partition ?? 0 } },
      template: podTemplate(name, opts.podSpec),
    },
  };
}

function daemonSet(name: string, opts: { annotations?: Plain; podSpec: Record<string, unknown>; strategy?: Strategy }): V1DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, annotations: opts.annotations ?? {} },
    spec: {
      selector: { matchLabels: { app: name } },
      updateStrategy: opts.strategy?.type === 'OnDelete' ? { type: 'OnDelete' } : { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: podTemplate(name, opts.podSpec),
    },
  };
}

async function createWorkload(ns: string, w: Workload): Promise<void> {
  const { apps } = clients();
  if (w.kind === 'StatefulSet') await apps.createNamespacedStatefulSet({ namespace: ns, body: w as V1StatefulSet });
  else await apps.createNamespacedDaemonSet({ namespace: ns, body: w as V1DaemonSet });
}

async function readWorkload(ns: string, kind: Kind, name: string): Promise<Workload> {
  const { apps } = clients();
  return kind === 'StatefulSet'
    ? apps.readNamespacedStatefulSet({ namespace: ns, name })
    : apps.readNamespacedDaemonSet({ namespace: ns, name });
}

/** The ControllerRevisions the workload controls, oldest first. */
async function revisionsOf(ns: string, w: Workload): Promise<V1ControllerRevision[]> {
  const uid = w.metadata?.uid;
  const list = await clients().apps.listNamespacedControllerRevision({ namespace: ns });
  return list.items
    .filter((r) => r.metadata?.ownerReferences?.some((o) => o.uid === uid && o.controller === true))
    .sort((a, b) => a.revision - b.revision);
}

async function podsOf(ns: string, app: string): Promise<V1Pod[]> {
  return (await clients().core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` })).items;
}

const uids = (pods: V1Pod[]) => Object.fromEntries(pods.map((p) => [p.metadata?.name ?? '?', p.metadata?.uid ?? '?']));
const running = (p: V1Pod) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp
  && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

async function kwokNodes(): Promise<string[]> {
  const list = await clients().core.listNode({ labelSelector: 'type=kwok' });
  return list.items.map((n) => n.metadata?.name ?? '?').sort();
}

/** What a failed wait prints: revisions, both hashes, status, pods, and the operator's log. */
async function explain(s: Suite, kind: Kind, name: string): Promise<string> {
  const w = await readWorkload(s.ns, kind, name);
  const revs = (await revisionsOf(s.ns, w)).map((r) => `${r.revision}:${r.metadata?.name ?? '?'}`);
  const pods = (await podsOf(s.ns, name)).map((p) =>
    `${p.metadata?.name ?? '?'}(${p.metadata?.labels?.[REVISION_LABEL] ?? '?'},${p.status?.phase ?? '?'}${p.metadata?.deletionTimestamp ? ',terminating' : ''})`);
  const said = s.op.decisions(`${kind}/${s.ns}/${name}`).map((l) => `${l.message} (${String(l.reason ?? '')})`);
  return `${kind} ${name}: revisions [${revs.join(', ')}], metadata hash ${String(metadataHash(w)).slice(0, 16)}, `
    + `template hash ${String(templateHash(w)).slice(0, 16)}, status ${JSON.stringify(w.status)}, pods [${pods.join(', ')}]; `
    + `operator: ${said.join(' | ') || 'nothing'}`;
}

async function waitOrExplain<T>(s: Suite, kind: Kind, name: string, what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  try {
    return await waitFor(what, probe, timeoutMs);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n      ${await explain(s, kind, name)}`);
  }
}

/**
 * Waits for a complete rollout of the StatefulSet — its latest spec observed, every pod on the
 * update revision, Running and Ready, none terminating — then expects exactly `revisions`
 * ControllerRevisions (a roll too many fails here, not on a timeout).
 */
async function statefulSetRolledOut(s: Suite, name: string, revisions: number): Promise<{ sts: V1StatefulSet; pods: V1Pod[]; revs: V1ControllerRevision[] }> {
  const done = await waitOrExplain(s, 'StatefulSet', name, `${name}: at least ${revisions} revision(s), rollout complete`, async () => {
    const sts = await clients().apps.readNamespacedStatefulSet({ namespace: s.ns, name });
    const want = sts.spec?.replicas ?? 1;
    const st = sts.status;
    if (!st || (st.observedGeneration ?? 0) < (sts.metadata?.generation ?? 1)) return undefined;
    if (st.updateRevision === undefined || st.currentRevision !== st.updateRevision) return undefined;
    if (st.replicas !== want || st.readyReplicas !== want || st.updatedReplicas !== want) return undefined;
    const revs = await revisionsOf(s.ns, sts);
    if (revs.length < revisions || revs.at(-1)?.metadata?.name !== st.updateRevision) return undefined;
    const pods = await podsOf(s.ns, name);
    const ok = pods.length === want && pods.every((p) => running(p) && p.metadata?.labels?.[REVISION_LABEL] === st.updateRevision);
    return ok ? { sts, pods, revs } : undefined;
  });
  expect(done.revs.length, `ControllerRevisions of StatefulSet ${name}; ${await explain(s, 'StatefulSet', name)}`).to.equal(revisions);
  return done;
}

/**
 * Waits for a complete rollout of the DaemonSet — its latest spec observed, one Running, Ready
 * pod on the newest revision per kwok node — then expects exactly `revisions` ControllerRevisions.
 */
async function daemonSetRolledOut(s: Suite, name: string, revisions: number): Promise<{ ds: V1DaemonSet; pods: V1Pod[]; revs: V1ControllerRevision[] }> {
  const nodes = await kwokNodes();
  const done = await waitOrExplain(s, 'DaemonSet', name, `${name}: at least ${revisions} revision(s), rollout complete on ${nodes.length} nodes`, async () => {
    const ds = await clients().apps.readNamespacedDaemonSet({ namespace: s.ns, name });
    const st = ds.status;
    if (!st || (st.observedGeneration ?? 0) < (ds.metadata?.generation ?? 1)) return undefined;
    const n = nodes.length;
    if (st.desiredNumberScheduled !== n || st.currentNumberScheduled !== n || st.updatedNumberScheduled !== n
      || st.numberReady !== n || st.numberAvailable !== n || (st.numberUnavailable ?? 0) !== 0) return undefined;
    const revs = await revisionsOf(s.ns, ds);
    const newest = revs.at(-1)?.metadata?.labels?.[REVISION_LABEL];
    if (revs.length < revisions || newest === undefined) return undefined;
    const pods = await podsOf(s.ns, name);
    const onNodes = pods.map((p) => p.spec?.nodeName ?? '').sort();
    const ok = pods.length === n && JSON.stringify(onNodes) === JSON.stringify(nodes)
      && pods.every((p) => running(p) && p.metadata?.labels?.[REVISION_LABEL] === newest);
    return ok ? { ds, pods, revs } : undefined;
  });
  expect(done.revs.length, `ControllerRevisions of DaemonSet ${name}; ${await explain(s, 'DaemonSet', name)}`).to.equal(revisions);
  return done;
}

/** Waits until the operator recorded `digest` on the workload's metadata. */
async function waitForRecorded(s: Suite, kind: Kind, name: string, digest: string, timeoutMs = 30_000): Promise<Workload> {
  return waitOrExplain(s, kind, name, `metadata config-hash ${digest.slice(0, 16)} on ${kind} ${name}`, async () => {
    const w = await readWorkload(s.ns, kind, name);
    return metadataHash(w) === digest ? w : undefined;
  }, timeoutMs);
}

/** The pod template the newest ControllerRevision holds carries `digest`. */
function revisionDigest(rev: V1ControllerRevision | undefined): string | undefined {
  const data = rev?.data as { spec?: { template?: { metadata?: { annotations?: Plain } } } } | undefined;
  return data?.spec?.template?.metadata?.annotations?.[HASH];
}

let witnesses = 0;

/**
 * Orders the operator's processing after every event of the StatefulSet or DaemonSet watch it
 * had received: a new opted-in workload of that kind that reads nothing and runs no pod
 * (0 replicas; a node selector no node matches) is created, and its adoption awaited. Its
 * creation is delivered after every earlier event of that watch, and its key becomes due after
 * theirs. Follow it with sentinelRoll, whose rollout outlasts any patch sent before.
 */
async function workloadWitness(s: Suite, kind: Kind): Promise<void> {
  const name = `${SENTINEL_PREFIX}${kind.toLowerCase()}-${++witnesses}`;
  const podSpec = { containers: [{ name: 'app', image: 'registry.example/app:1' }], nodeSelector: { 'config-reload.dev/no-such-node': 'true' } };
  await createWorkload(s.ns, kind === 'StatefulSet'
    ? statefulSet(name, { replicas: 0, annotations: ENABLED, podSpec })
    : daemonSet(name, { annotations: ENABLED, podSpec }));
  await waitForRecorded(s, kind, name, digestOf([], {}));
}

// ---- Secrets ----------------------------------------------------------------------------

describe('operator: Secrets', function () {
  const s = namespaceWithOperator('secrets');

  // Each path reads Secret `<name>-s` = {a, b}; `keys` is what it reads (null: the whole Secret).
  const paths: Array<[string, (secret: string) => Record<string, unknown>, string[] | null]> = [
    ['a secret volume (secretName)', (secret) => ({
      containers: [{ name: 'app', image: 'x', volumeMounts: [{ name: 's', mountPath: '/s' }] }],
      volumes: [{ name: 's', secret: { secretName: secret } }],
    }), null],
    ['a secret volume with items', (secret) => ({
      containers: [{ name: 'app', image: 'x', volumeMounts: [{ name: 's', mountPath: '/s' }] }],
      volumes: [{ name: 's', secret: { secretName: secret, items: [{ key: 'a', path: 'a.txt' }] } }],
    }), ['a']],
    ['a projected volume secret source', (secret) => ({
      containers: [{ name: 'app', image: 'x', volumeMounts: [{ name: 'p', mountPath: '/p' }] }],
      volumes: [{ name: 'p', projected: { sources: [{ secret: { name: secret } }] } }],
    }), null],
    ['envFrom secretRef', (secret) => ({
      containers: [{ name: 'app', image: 'x', envFrom: [{ secretRef: { name: secret } }] }],
    }), null],
    ['env secretKeyRef', (secret) => ({
      containers: [{ name: 'app', image: 'x', env: [{ name: 'A', valueFrom: { secretKeyRef: { name: secret, key: 'a' } } }] }],
    }), ['a']],
    ['an initContainer envFrom secretRef', (secret) => ({
      initContainers: [{ name: 'init', image: 'x', envFrom: [{ secretRef: { name: secret } }] }],
      containers: [{ name: 'app', image: 'x' }],
    }), null],
  ];
  for (const [i, [label, podSpec, keys]] of paths.entries()) {
    it(`1.${i + 1} ${label}: adoption records the Secret's digest; one change, one roll, to the digest of the data written`, async () => {
      const name = `spath${i}`;
      const secret = `${name}-s`;
      const refs: Ref[] = [{ name: secret, keys }];
      const before = { a: 'one', b: 'x' };
      await createSecret(s.ns, secret, before);
      await createDeployment(s.ns, deployment(name, { annotations: ENABLED, podSpec: podSpec(secret) }));
      expect(await recordedHash(s.ns, name), 'adopted digest').to.equal(digestOf(refs, { secrets: { [secret]: before } }));
      const adopted = await waitForReplicaSets(s.ns, name, 1);
      expect(templateHash(adopted), 'adoption writes no template config-hash').to.equal(undefined);

      const after = { a: 'two', b: 'x' };
      await rewriteSecret(s.ns, secret, after);
      const expected = digestOf(refs, { secrets: { [secret]: after } });
      const rolled = await waitForReplicaSets(s.ns, name, 2);
      expect(templateHash(rolled), 'template config-hash').to.equal(expected);
      expect(metadataHash(rolled), 'metadata config-hash').to.equal(expected);
      // No second roll: after the Secret event and the watch event of the operator's write.
      await settleSecrets(s.ns);
      expect(await replicaSetsOf(s.ns, name)).to.have.length(2);
      expect(templateHash(await readDeployment(s.ns, name))).to.equal(expected);
    });
  }

  it('1.7 an optional secretKeyRef to a missing Secret: adoption records its absence; its creation rolls once', async () => {
    const refs: Ref[] = [{ name: 'opt-s', optional: true, keys: ['a'] }];
    const podSpec = { containers: [{ name: 'app', image: 'x', env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'opt-s', key: 'a', optional: true } } }] }] };
    await createDeployment(s.ns, deployment('opt', { annotations: ENABLED, podSpec }));
    expect(await recordedHash(s.ns, 'opt'), 'adopted digest: the Secret absent').to.equal(digestOf(refs, {}));
    await waitForReplicaSets(s.ns, 'opt', 1);
    await createSecret(s.ns, 'opt-s', { a: '1' });
    const rolled = await waitForReplicaSets(s.ns, 'opt', 2);
    const expected = digestOf(refs, { secrets: { 'opt-s': { a: '1' } } });
    expect(templateHash(rolled)).to.equal(expected);
    await settleSecrets(s.ns);
    expect(await replicaSetsOf(s.ns, 'opt')).to.have.length(2);
  });

  it('1.8 a required secretRef to a missing Secret: a SecretMissing Warning and no roll; its creation rolls once', async () => {
    const refs: Ref[] = [{ name: 'req-s' }];
    const podSpec = { containers: [{ name: 'app', image: 'x', envFrom: [{ secretRef: { name: 'req-s' } }] }] };
    await createDeployment(s.ns, deployment('req', { annotations: ENABLED, podSpec }));
    const event = await waitForEvent(s.ns, 'Deployment', 'req', 'SecretMissing');
    expect(event.type).to.equal('Warning');
    expect(event.message).to.contain('req-s');
    expect(await recordedHash(s.ns, 'req'), 'recorded digest: the Secret absent').to.equal(digestOf(refs, {}));
    await settleSecrets(s.ns);
    expect(await replicaSetsOf(s.ns, 'req')).to.have.length(1);
    await createSecret(s.ns, 'req-s', { k: 'v' });
    const rolled = await waitForReplicaSets(s.ns, 'req', 2);
    expect(templateHash(rolled)).to.equal(digestOf(refs, { secrets: { 'req-s': { k: 'v' } } }));
    await settleSecrets(s.ns);
    expect(await replicaSetsOf(s.ns, 'req')).to.have.length(2);
  });

  it('2. a change to a key no reference reads (secretKeyRef and volume items on key a; key b changes) rolls nothing', async () => {
    const before = { a: 'same', b: 'one' };
    await createSecret(s.ns, 'keyed-s', before);
    const byEnv = { containers: [{ name: 'app', image: 'x', env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'keyed-s', key: 'a' } } }] }] };
    const byItems = {
      containers: [{ name: 'app', image: 'x', volumeMounts: [{ name: 's', mountPath: '/s' }] }],
      volumes: [{ name: 's', secret: { secretName: 'keyed-s', items: [{ key: 'a', path: 'a' }] } }],
    };
    await createDeployment(s.ns, deployment('keyed-env', { annotations: ENABLED, podSpec: byEnv }));
    await createDeployment(s.ns, deployment('keyed-items', { annotations: ENABLED, podSpec: byItems }));
    // A consumer of the whole Secret, which must roll: the change was seen.
    await createDeployment(s.ns, deployment('keyed-whole', { annotations: ENABLED, podSpec: { containers: [{ name: 'app', image: 'x', envFrom: [{ secretRef: { name: 'keyed-s' } }] }] } }));
    const keyedDigest = digestOf([{ name: 'keyed-s', keys: ['a'] }], { secrets: { 'keyed-s': before } });
    expect(await recordedHash(s.ns, 'keyed-env')).to.equal(keyedDigest);
    expect(await recordedHash(s.ns, 'keyed-items')).to.equal(keyedDigest);
    await recordedHash(s.ns, 'keyed-whole');

    const after = { a: 'same', b: 'two' };
    await rewriteSecret(s.ns, 'keyed-s', after);
    const whole = await waitForReplicaSets(s.ns, 'keyed-whole', 2);
    expect(templateHash(whole)).to.equal(digestOf([{ name: 'keyed-s' }], { secrets: { 'keyed-s': after } }));
    await settleSecrets(s.ns);
    for (const name of ['keyed-env', 'keyed-items']) {
      expect(await replicaSetsOf(s.ns, name), name).to.have.length(1);
      const d = await readDeployment(s.ns, name);
      expect(metadataHash(d), `${name} metadata config-hash`).to.equal(keyedDigest);
      expect(templateHash(d), `${name} template config-hash`).to.equal(undefined);
    }
  });

  it('3a. config-reload.dev/secrets "a, b" (Secrets read through the API): the creation of one and the change of the other each roll once', async () => {
    const refs: Ref[] = [{ name: 'api-a', optional: true }, { name: 'api-b', optional: true }];
    const written: Required<Written> = { secrets: { 'api-a': { token: '1' } }, configMaps: {} };
    await createSecret(s.ns, 'api-a', { token: '1' });
    await createDeployment(s.ns, deployment('named', { annotations: { 'config-reload.dev/secrets': 'api-a, api-b' } }));
    expect(await recordedHash(s.ns, 'named'), 'adopted: api-a present, api-b absent').to.equal(digestOf(refs, written));
    await waitForReplicaSets(s.ns, 'named', 1);

    written.secrets['api-b'] = { token: 'b' };
    await createSecret(s.ns, 'api-b', { token: 'b' });
    const first = await waitForReplicaSets(s.ns, 'named', 2);
    expect(templateHash(first), 'after api-b appeared').to.equal(digestOf(refs, written));

    written.secrets['api-a'] = { token: '2' };
    await rewriteSecret(s.ns, 'api-a', { token: '2' });
    const second = await waitForReplicaSets(s.ns, 'named', 3);
    expect(templateHash(second), 'after api-a changed').to.equal(digestOf(refs, written));
    await settleSecrets(s.ns);
    expect(await replicaSetsOf(s.ns, 'named')).to.have.length(3);
  });

  it('3b. a Secret named only in imagePullSecrets is not consumed: its change rolls nothing', async () => {
    const dockerConfig = (auth: string) => ({ '.dockerconfigjson': JSON.stringify({ auths: { 'registry.example': { auth } } }) });
    await createSecret(s.ns, 'pull-s', dockerConfig(b64('u:p1')), { type: 'kubernetes.io/dockerconfigjson' });
    await createConfigMap(s.ns, 'pull-cm', { v: '1' });
    const podSpec = {
      imagePullSecrets: [{ name: 'pull-s' }],
      containers: [{ name: 'app', image: 'registry.example/app:1', envFrom: [{ configMapRef: { name: 'pull-cm' } }] }],
    };
    await createDeployment(s.ns, deployment('pulls', { annotations: ENABLED, podSpec }));
    const adopted = digestOf([{ kind: 'ConfigMap', name: 'pull-cm' }], { configMaps: { 'pull-cm': { v: '1' } } });
    expect(await recordedHash(s.ns, 'pulls'), 'adopted digest: the ConfigMap alone').to.equal(adopted);
    await waitForReplicaSets(s.ns, 'pulls', 1);

    await rewriteSecret(s.ns, 'pull-s', dockerConfig(b64('u:p2')));
    await settleSecrets(s.ns);
    expect(await replicaSetsOf(s.ns, 'pulls')).to.have.length(1);
    const d = await readDeployment(s.ns, 'pulls');
    expect(metadataHash(d)).to.equal(adopted);
    expect(templateHash(d)).to.equal(undefined);
  });

  it('4. labels, annotations, a rewrite with identical data, and a re-creation with another type roll nothing', async () => {
    const plain = { password: 's3cret', user: 'app' };
    const refs: Ref[] = [{ name: 'meta-s' }];
    const digest = digestOf(refs, { secrets: { 'meta-s': plain } });
    await createSecret(s.ns, 'meta-s', plain, { labels: { tier: 'one' } });
    await createDeployment(s.ns, deployment('meta', { annotations: ENABLED, podSpec: { containers: [{ name: 'app', image: 'x', envFrom: [{ secretRef: { name: 'meta-s' } }] }] } }));
    expect(await recordedHash(s.ns, 'meta')).to.equal(digest);
    await waitForReplicaSets(s.ns, 'meta', 1);
    const { core } = clients();

    // Labels and annotations (a merge patch), then a full rewrite with identical data.
    await core.patchNamespacedSecret(
      { namespace: s.ns, name: 'meta-s', body: { metadata: { labels: { tier: 'two', extra: 'x' }, annotations: { note: 'edited' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await rewriteSecret(s.ns, 'meta-s', { user: 'app', password: 's3cret' });
    await settleSecrets(s.ns);
    expect(await replicaSetsOf(s.ns, 'meta'), 'after labels, annotations and an identical rewrite').to.have.length(1);
    expect(metadataHash(await readDeployment(s.ns, 'meta'))).to.equal(digest);

    // The apiserver refuses a type change in place (the field is immutable) ...
    const typed = await core.readNamespacedSecret({ namespace: s.ns, name: 'meta-s' });
    typed.type = 'example.com/other';
    const refused = await core.replaceNamespacedSecret({ namespace: s.ns, name: 'meta-s', body: typed }).then(() => undefined, (err: { code?: number }) => err.code);
    expect(refused, 'precondition: an in-place type change is refused').to.equal(422);
    // ... so: delete it (required and missing: a warning, no roll) and create it again with the
    // same data under another type. The digest is the recorded one: nothing rolls.
    await core.deleteNamespacedSecret({ namespace: s.ns, name: 'meta-s' });
    await s.op.waitForLog('SecretMissing for meta', (l) => l.message === 'required Secret missing' && l.workload === `Deployment/${s.ns}/meta`);
    await createSecret(s.ns, 'meta-s', plain, { type: 'example.com/other' });
    await settleSecrets(s.ns);
    expect(await replicaSetsOf(s.ns, 'meta'), 'after a re-creation with the same data and another type').to.have.length(1);
    const d = await readDeployment(s.ns, 'meta');
    expect(metadataHash(d)).to.equal(digest);
    expect(templateHash(d)).to.equal(undefined);
  });
});

// ---- StatefulSets and DaemonSets --------------------------------------------------------

describe('operator: StatefulSets and DaemonSets', function () {
  const s = namespaceWithOperator('kinds');

  const envFromSpec = (cm: string) => ({ containers: [{ name: 'app', image: 'registry.example/app:1', envFrom: [{ configMapRef: { name: cm } }] }] });

  it('5a. a StatefulSet (RollingUpdate): adoption rolls nothing; one ConfigMap change, one new ControllerRevision, every pod replaced', async () => {
    const name = 'sts';
    const cm = `${name}-cm`;
    const refs: Ref[] = [{ kind: 'ConfigMap', name: cm }];
    await createConfigMap(s.ns, cm, { v: '1' });
    await createWorkload(s.ns, statefulSet(name, { replicas: 2, annotations: ENABLED, podSpec: envFromSpec(cm) }));
    await waitForRecorded(s, 'StatefulSet', name, digestOf(refs, { configMaps: { [cm]: { v: '1' } } }));
    const initial = await statefulSetRolledOut(s, name, 1);
    expect(templateHash(initial.sts), 'adoption writes no template config-hash').to.equal(undefined);
    const initialPods = uids(initial.pods);

    // Adoption rolled nothing: after the watch event of the adoption patch.
    await workloadWitness(s, 'StatefulSet');
    await sentinelRoll(s.ns);
    const adopted = await statefulSetRolledOut(s, name, 1);
    expect(uids(adopted.pods), 'no pod replaced by adoption').to.deep.equal(initialPods);

    await rewriteConfigMap(s.ns, cm, { v: '2' });
    const expected = digestOf(refs, { configMaps: { [cm]: { v: '2' } } });
    await waitForRecorded(s, 'StatefulSet', name, expected);
    const rolled = await statefulSetRolledOut(s, name, 2);
    expect(templateHash(rolled.sts), 'template config-hash').to.equal(expected);
    expect(revisionDigest(rolled.revs.at(-1)), 'the new ControllerRevision carries the digest').to.equal(expected);
    for (const [pod, uid] of Object.entries(uids(rolled.pods))) expect(uid, `${pod} replaced`).to.not.equal(initialPods[pod]);

    await workloadWitness(s, 'StatefulSet');
    await sentinelRoll(s.ns);
    const settled = await statefulSetRolledOut(s, name, 2);
    expect(uids(settled.pods), 'no second roll').to.deep.equal(uids(rolled.pods));
    expect(templateHash(settled.sts)).to.equal(expected);
  });

  it('5b. a DaemonSet: adoption rolls nothing; one ConfigMap change, one new ControllerRevision, the pod on every kwok node replaced', async () => {
    const name = 'ds';
    const cm = `${name}-cm`;
    const refs: Ref[] = [{ kind: 'ConfigMap', name: cm }];
    await createConfigMap(s.ns, cm, { v: '1' });
    await createWorkload(s.ns, daemonSet(name, { annotations: ENABLED, podSpec: envFromSpec(cm) }));
    await waitForRecorded(s, 'DaemonSet', name, digestOf(refs, { configMaps: { [cm]: { v: '1' } } }));
    const initial = await daemonSetRolledOut(s, name, 1);
    expect(initial.pods.length, 'precondition: one pod per kwok node (2)').to.equal(2);
    expect(templateHash(initial.ds), 'adoption writes no template config-hash').to.equal(undefined);
    const initialPods = uids(initial.pods);

    await workloadWitness(s, 'DaemonSet');
    await sentinelRoll(s.ns);
    const adopted = await daemonSetRolledOut(s, name, 1);
    expect(uids(adopted.pods), 'no pod replaced by adoption').to.deep.equal(initialPods);

    await rewriteConfigMap(s.ns, cm, { v: '2' });
    const expected = digestOf(refs, { configMaps: { [cm]: { v: '2' } } });
    await waitForRecorded(s, 'DaemonSet', name, expected);
    const rolled = await daemonSetRolledOut(s, name, 2);
    expect(templateHash(rolled.ds), 'template config-hash').to.equal(expected);
    expect(revisionDigest(rolled.revs.at(-1)), 'the new ControllerRevision carries the digest').to.equal(expected);
    const before = new Set(Object.values(initialPods));
    for (const p of rolled.pods) expect(before.has(p.metadata?.uid ?? ''), `${p.metadata?.name ?? '?'} on ${p.spec?.nodeName ?? '?'} is new`).to.equal(false);

    await workloadWitness(s, 'DaemonSet');
    await sentinelRoll(s.ns);
    const settled = await daemonSetRolledOut(s, name, 2);
    expect(uids(settled.pods), 'no second roll').to.deep.equal(uids(rolled.pods));
    expect(templateHash(settled.ds)).to.equal(expected);
  });

  it('6a. an OnDelete StatefulSet: the change reaches the template and a RolloutOnDelete Event; no pod is deleted or replaced', async () => {
    const name = 'ondelete';
    const cm = `${name}-cm`;
    const refs: Ref[] = [{ kind: 'ConfigMap', name: cm }];
    await createConfigMap(s.ns, cm, { v: '1' });
    await createWorkload(s.ns, statefulSet(name, { replicas: 2, annotations: ENABLED, podSpec: envFromSpec(cm), strategy: { type: 'OnDelete' } }));
    await waitForRecorded(s, 'StatefulSet', name, digestOf(refs, { configMaps: { [cm]: { v: '1' } } }));
    const initial = await statefulSetRolledOut(s, name, 1);
    const oldRevision = initial.sts.status?.currentRevision;
    const initialPods = uids(initial.pods);

    await rewriteConfigMap(s.ns, cm, { v: '2' });
    const expected = digestOf(refs, { configMaps: { [cm]: { v: '2' } } });
    await waitForRecorded(s, 'StatefulSet', name, expected);
    const changed = await waitOrExplain(s, 'StatefulSet', name, `${name}: a second revision, not rolled out`, async () => {
      const sts = await clients().apps.readNamespacedStatefulSet({ namespace: s.ns, name });
      const st = sts.status;
      if (!st || (st.observedGeneration ?? 0) < (sts.metadata?.generation ?? 1)) return undefined;
      const revs = await revisionsOf(s.ns, sts);
      return revs.length >= 2 && st.updateRevision === revs.at(-1)?.metadata?.name ? { sts, revs } : undefined;
    });
    expect(changed.revs, 'one new revision').to.have.length(2);
    expect(templateHash(changed.sts), 'template config-hash').to.equal(expected);
    expect(revisionDigest(changed.revs[1])).to.equal(expected);
    const event = await waitForEvent(s.ns, 'StatefulSet', name, 'RolloutOnDelete');
    expect(event.type).to.equal('Normal');
    const line = await s.op.waitForLog('rollout left to the update strategy', (l) => l.message === 'rollout left to the update strategy' && l.workload === `StatefulSet/${s.ns}/${name}`);
    expect(line.onDelete).to.equal(true);

    await workloadWitness(s, 'StatefulSet');
    await sentinelRoll(s.ns);
    const sts = await clients().apps.readNamespacedStatefulSet({ namespace: s.ns, name });
    expect(sts.status?.currentRevision, 'the pods stay on the old revision').to.equal(oldRevision);
    expect(sts.status?.updateRevision).to.not.equal(oldRevision);
    expect(await revisionsOf(s.ns, sts), 'one new revision only').to.have.length(2);
    const pods = await podsOf(s.ns, name);
    expect(uids(pods), 'no pod deleted or replaced').to.deep.equal(initialPods);
    for (const p of pods) {
      expect(p.metadata?.deletionTimestamp, `${p.metadata?.name ?? '?'} not terminating`).to.equal(undefined);
      expect(p.metadata?.labels?.[REVISION_LABEL], `${p.metadata?.name ?? '?'} on the old revision`).to.equal(oldRevision);
    }
  });

  it('6b. an OnDelete DaemonSet: the change reaches the template and a RolloutOnDelete Event; no pod is deleted or replaced', async () => {
    const name = 'ds-ondelete';
    const cm = `${name}-cm`;
    const refs: Ref[] = [{ kind: 'ConfigMap', name: cm }];
    await createConfigMap(s.ns, cm, { v: '1' });
    await createWorkload(s.ns, daemonSet(name, { annotations: ENABLED, podSpec: envFromSpec(cm), strategy: { type: 'OnDelete' } }));
    await waitForRecorded(s, 'DaemonSet', name, digestOf(refs, { configMaps: { [cm]: { v: '1' } } }));
    const initial = await daemonSetRolledOut(s, name, 1);
    const initialPods = uids(initial.pods);

    await rewriteConfigMap(s.ns, cm, { v: '2' });
    const expected = digestOf(refs, { configMaps: { [cm]: { v: '2' } } });
    const ds = await waitForRecorded(s, 'DaemonSet', name, expected);
    expect(templateHash(ds), 'template config-hash').to.equal(expected);
    const revs = await waitOrExplain(s, 'DaemonSet', name, `${name}: a second revision`, async () => {
      const found = await revisionsOf(s.ns, ds);
      return found.length >= 2 ? found : undefined;
    });
    expect(revs, 'one new revision').to.have.length(2);
    expect(revisionDigest(revs[1])).to.equal(expected);
    expect((await waitForEvent(s.ns, 'DaemonSet', name, 'RolloutOnDelete')).type).to.equal('Normal');

    await workloadWitness(s, 'DaemonSet');
    await sentinelRoll(s.ns);
    expect(await revisionsOf(s.ns, ds), 'one new revision only').to.have.length(2);
    const pods = await podsOf(s.ns, name);
    expect(uids(pods), 'no pod deleted or replaced').to.deep.equal(initialPods);
    for (const p of pods) expect(p.metadata?.deletionTimestamp, `${p.metadata?.name ?? '?'} not terminating`).to.equal(undefined);
    const status = (await readWorkload(s.ns, 'DaemonSet', name)).status as V1DaemonSet['status'];
    expect(status?.updatedNumberScheduled ?? 0, 'no pod on the new revision').to.equal(0);
  });

  it('7. a partitioned StatefulSet: a RolloutPartitioned Event; only the pods at or above the partition roll', async () => {
    const name = 'parted';
    const cm = `${name}-cm`;
    const refs: Ref[] = [{ kind: 'ConfigMap', name: cm }];
    await createConfigMap(s.ns, cm, { v: '1' });
    await createWorkload(s.ns, statefulSet(name, { replicas: 2, annotations: ENABLED, podSpec: envFromSpec(cm), strategy: { type: 'RollingUpdate', partition: 1 } }));
    await waitForRecorded(s, 'StatefulSet', name, digestOf(refs, { configMaps: { [cm]: { v: '1' } } }));
    const initial = await statefulSetRolledOut(s, name, 1);
    const oldRevision = initial.sts.status?.currentRevision;
    const initialPods = uids(initial.pods);

    await rewriteConfigMap(s.ns, cm, { v: '2' });
    const expected = digestOf(refs, { configMaps: { [cm]: { v: '2' } } });
    await waitForRecorded(s, 'StatefulSet', name, expected);
    const event = await waitForEvent(s.ns, 'StatefulSet', name, 'RolloutPartitioned');
    expect(event.type).to.equal('Normal');
    const line = await s.op.waitForLog('rollout left to the update strategy', (l) => l.message === 'rollout left to the update strategy' && l.workload === `StatefulSet/${s.ns}/${name}`);
    expect(line.partition).to.equal(1);
    const rolled = await waitOrExplain(s, 'StatefulSet', name, `${name}-1 on the new revision, ${name}-0 untouched`, async () => {
      const sts = await clients().apps.readNamespacedStatefulSet({ namespace: s.ns, name });
      const st = sts.status;
      if (!st || (st.observedGeneration ?? 0) < (sts.metadata?.generation ?? 1) || st.updateRevision === oldRevision) return undefined;
      if (st.updatedReplicas !== 1 || st.readyReplicas !== 2) return undefined;
      const pods = await podsOf(s.ns, name);
      const one = pods.find((p) => p.metadata?.name === `${name}-1`);
      return pods.length === 2 && pods.every(running) && one?.metadata?.labels?.[REVISION_LABEL] === st.updateRevision ? { sts, pods } : undefined;
    });
    expect(templateHash(rolled.sts)).to.equal(expected);

    await workloadWitness(s, 'StatefulSet');
    await sentinelRoll(s.ns);
    const sts = await clients().apps.readNamespacedStatefulSet({ namespace: s.ns, name });
    expect(await revisionsOf(s.ns, sts), 'one new revision only').to.have.length(2);
    const pods = uids(await podsOf(s.ns, name));
    expect(pods[`${name}-0`], `${name}-0 (below the partition) kept`).to.equal(initialPods[`${name}-0`]);
    expect(pods[`${name}-1`], `${name}-1 replaced`).to.not.equal(initialPods[`${name}-1`]);
    expect(pods[`${name}-1`], `${name}-1 not replaced twice`).to.equal(uids(rolled.pods)[`${name}-1`]);
  });
});
