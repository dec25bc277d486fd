// Bad input that needs the API (docs/troubleshooting.md, the bad-input table): big and many
// config objects, hand-edited digests, a paused Deployment, a patch an admission policy refuses,
// a quota that stops the new pods, workloads and a namespace deleted while queued. One operator
// serves every case (two namespaces: the second is deleted by its case); "nothing more
// happened" is proven by a sentinel roll, rolls are counted by ReplicaSets.
import {
  AdmissionregistrationV1Api, PatchStrategy, setHeaderOptions, type V1Deployment,
} from '@kubernetes/client-node';
import { expect } from 'chai';
import { OperatorProcess } from './operator-process.ts';
import {
  clients, configMapContent, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH,
  httpGet, metricValue, podSpecWithVolume, readDeployment, recordedHash, replicaSetsOf, rewriteConfigMap, sentinelRoll,
  waitFor, waitForReplicaSets, workloadDigest,
} from './support.ts';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function patchDeployment(namespace: string, name: string, body: object, dryRun = false): Promise<V1Deployment> {
  return clients().apps.patchNamespacedDeployment({ namespace, name, body, ...(dryRun ? { dryRun: 'All' } : {}) }, mergePatch);
}

/** The operator's log lines about one workload with this message. */
function linesAbout(op: OperatorProcess, ns: string, name: string, message: string) {
  return op.logs.filter((l) => l.workload === `Deployment/${ns}/${name}` && l.message === message);
}

describe('operator: bad input', () => {
  let ns: string;
  let doomed: string;
  let op: OperatorProcess;

  before(async () => {
    ns = await createNamespace('bad');
    doomed = await createNamespace('bad-doomed');
    // The budget raised for the 10,000-key test: past the default (2,000) the readers are held (docs/security.md, "Tenant limits").
    op = await OperatorProcess.start({ args: ['--namespace', `${ns},${doomed}`, '--max-keys-per-object', '10000'] });
  });
  after(async () => {
    await op?.stop();
    await deleteNamespace(ns);
    await deleteNamespace(doomed);
  });

  it('a Deployment referencing 200 ConfigMaps: adopted with all 200 in its digest; one of them changed rolls it once', async () => {
    const names = Array.from({ length: 200 }, (_, i) => `many-${String(i).padStart(3, '0')}`);
    const data = new Map(names.map((n) => [n, { v: n }]));
    for (let i = 0; i < names.length; i += 25) await Promise.all(names.slice(i, i + 25).map((n) => createConfigMap(ns, n, data.get(n)!)));
    await createDeployment(ns, deployment('many', {
      annotations: ENABLED,
      podSpec: { containers: [{ name: 'app', image: 'registry.example/app:1', envFrom: names.map((name) => ({ configMapRef: { name } })) }] },
    }));
    const consumed = names.map((name) => ({ name, optional: false, keys: null }));
    const digest = () => workloadDigest(consumed, (name) => configMapContent({ data: data.get(name)! }));
    expect(await recordedHash(ns, 'many')).to.equal(digest());

    data.set('many-137', { v: 'changed' });
    await rewriteConfigMap(ns, 'many-137', data.get('many-137')!);
    const rolled = await waitForReplicaSets(ns, 'many', 2);
    expect(rolled.spec?.template?.metadata?.annotations?.[HASH]).to.equal(digest());
    await sentinelRoll(ns);
    expect(await replicaSetsOf(ns, 'many')).to.have.length(2);
  });

  it('a ConfigMap with 10,000 keys (--max-keys-per-object 10000): a change to one key rolls whoever reads it, once; a key reader of another key is left alone', async () => {
    const data: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) data[`k${String(i).padStart(5, '0')}`] = `value-${i}`;
    await createConfigMap(ns, 'wide', data);
    await createDeployment(ns, deployment('wide-all', { annotations: ENABLED, podSpec: podSpecWithVolume('wide') }));
    await createDeployment(ns, deployment('wide-one', {
      annotations: ENABLED,
      podSpec: { containers: [{ name: 'app', image: 'registry.example/app:1', env: [{ name: 'K', valueFrom: { configMapKeyRef: { name: 'wide', key: 'k00042' } } }] }] },
    }));
    expect(await recordedHash(ns, 'wide-all')).to.equal(workloadDigest([{ name: 'wide', optional: false, keys: null }], () => configMapContent({ data }, 10_000)));
    await recordedHash(ns, 'wide-one');

    data['k09999'] = 'changed';
    await rewriteConfigMap(ns, 'wide', data);
    await waitForReplicaSets(ns, 'wide-all', 2);
    await sentinelRoll(ns);
    expect(await replicaSetsOf(ns, 'wide-all')).to.have.length(2);
    expect(await replicaSetsOf(ns, 'wide-one'), 'k00042 did not change').to.have.length(1);

    data['k00042'] = 'changed';
    await rewriteConfigMap(ns, 'wide', data);
    await waitForReplicaSets(ns, 'wide-one', 2);
    await waitForReplicaSets(ns, 'wide-all', 3);
  });

  it('a 1 MiB ConfigMap rolls on a one-byte change; one byte more is refused by the apiserver, not by the operator', async () => {
    // The apiserver's limit is on the values: 1 MiB of them is the most a ConfigMap can hold.
    const LIMIT = 1024 * 1024;
    const big = 'x'.repeat(LIMIT);
    await createConfigMap(ns, 'big', { blob: big });
    await createDeployment(ns, deployment('big', { annotations: ENABLED, podSpec: podSpecWithVolume('big') }));
    await recordedHash(ns, 'big');
    const changed = `${big.slice(0, -1)}y`;
    await rewriteConfigMap(ns, 'big', { blob: changed });
    const rolled = await waitForReplicaSets(ns, 'big', 2);
    expect(rolled.spec?.template?.metadata?.annotations?.[HASH])
      .to.equal(workloadDigest([{ name: 'big', optional: false, keys: null }], () => configMapContent({ data: { blob: changed } })));
    const refused = await createConfigMap(ns, 'too-big', { blob: `${big}z` }).then(() => undefined, (err: unknown) => err as { code?: number; body?: string });
    expect(refused?.code).to.equal(422);
    expect(String(refused?.body)).to.match(/Too long.*1048576 bytes/);
  });

  it('a hand-edited metadata config-hash: a foreign format, or a well-formed foreign digest, is re-recorded without a roll', async () => {
    await createConfigMap(ns, 'edited-cm', { v: '1' });
    await createDeployment(ns, deployment('edited', { annotations: ENABLED, podSpec: podSpecWithVolume('edited-cm') }));
    const good = await recordedHash(ns, 'edited');
    for (const value of ['edited-by-hand', '', 'sha256:0123']) {
      await patchDeployment(ns, 'edited', { metadata: { annotations: { [HASH]: value } } });
      await waitFor(`config-hash ${JSON.stringify(value)} re-recorded`, async () => ((await readDeployment(ns, 'edited')).metadata?.annotations?.[HASH] === good ? true : undefined));
    }
    await sentinelRoll(ns);
    expect(await replicaSetsOf(ns, 'edited')).to.have.length(1);
    expect(linesAbout(op, ns, 'edited', 'adopted').map((l) => l.reason)).to.include('digest format unknown → v2: re-recorded without rolling');

    // A well-formed digest under the same key (copied from another workload): the operator's
    // record beside it still says what the pods run — the current configuration — so the digest
    // is put back, not rolled. (Without a record, it is compared whole: test/unit/bad-input.test.ts.)
    const foreign = workloadDigest([{ name: 'elsewhere', optional: true, keys: null }], () => undefined);
    await patchDeployment(ns, 'edited', { metadata: { annotations: { [HASH]: foreign } } });
    const line = await op.waitForLog('foreign digest re-recorded', (l) => l.workload === `Deployment/${ns}/edited` && l.oldDigest === foreign);
    expect(line).to.include({ message: 'adopted', newDigest: good });
    expect(String(line.reason)).to.contain('the recorded digest is not that of the configuration the pods run');
    await sentinelRoll(ns);
    expect(await replicaSetsOf(ns, 'edited')).to.have.length(1);
    expect((await readDeployment(ns, 'edited')).metadata?.annotations?.[HASH]).to.equal(good);
  });

  it('a hand-edited pod-template config-hash: the Deployment controller rolls that edit; the operator neither undoes nor repeats it', async () => {
    await createConfigMap(ns, 'tampered-cm', { v: '1' });
    await createDeployment(ns, deployment('tampered', { annotations: ENABLED, podSpec: podSpecWithVolume('tampered-cm') }));
    const recorded = await recordedHash(ns, 'tampered');
    await patchDeployment(ns, 'tampered', { spec: { template: { metadata: { annotations: { [HASH]: 'tampered' } } } } });
    await waitForReplicaSets(ns, 'tampered', 2);
    await sentinelRoll(ns);
    const d = await readDeployment(ns, 'tampered');
    expect(d.spec?.template?.metadata?.annotations?.[HASH]).to.equal('tampered');
    expect(d.metadata?.annotations?.[HASH]).to.equal(recorded);
    expect(await replicaSetsOf(ns, 'tampered')).to.have.length(2);

    await rewriteConfigMap(ns, 'tampered-cm', { v: '2' });
    const rolled = await waitForReplicaSets(ns, 'tampered', 3);
    expect(rolled.spec?.template?.metadata?.annotations?.[HASH]).to.equal(rolled.metadata?.annotations?.[HASH]);
  });

  it('a paused Deployment: the roll is written once and waits; resumed, exactly one new ReplicaSet', async () => {
    await createConfigMap(ns, 'paused-cm', { v: '1' });
    await createDeployment(ns, deployment('paused', { annotations: ENABLED, podSpec: podSpecWithVolume('paused-cm') }));
    await recordedHash(ns, 'paused');
    await waitForReplicaSets(ns, 'paused', 1);
    await patchDeployment(ns, 'paused', { spec: { paused: true } });
    await rewriteConfigMap(ns, 'paused-cm', { v: '2' });
    const expected = workloadDigest([{ name: 'paused-cm', optional: false, keys: null }], () => configMapContent({ data: { v: '2' } }));
    await waitFor('the roll written', async () => ((await readDeployment(ns, 'paused')).spec?.template?.metadata?.annotations?.[HASH] === expected ? true : undefined));
    await sentinelRoll(ns);
    expect(await replicaSetsOf(ns, 'paused'), 'paused: no new ReplicaSet').to.have.length(1);
    expect(linesAbout(op, ns, 'paused', 'rolled')).to.have.length(1);

    await patchDeployment(ns, 'paused', { spec: { paused: false } });
    await waitForReplicaSets(ns, 'paused', 2);
    await sentinelRoll(ns);
    expect(await replicaSetsOf(ns, 'paused')).to.have.length(2);
    expect(linesAbout(op, ns, 'paused', 'rolled')).to.have.length(1);
  });

  it('a roll refused by a ValidatingAdmissionPolicy: one error line, one Event, no hot loop; allowed again, it rolls once', async () => {
    const admission = clients().kc.makeApiClient(AdmissionregistrationV1Api);
    const policy = `${ns}-freeze`;
    await createConfigMap(ns, 'vap-cm', { v: '1' });
    await createDeployment(ns, { ...deployment('vap', { annotations: ENABLED, podSpec: podSpecWithVolume('vap-cm') }) });
    await recordedHash(ns, 'vap');
    await admission.createValidatingAdmissionPolicy({ body: {
      metadata: { name: policy },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['deployments'] }] },
        validations: [{
          expression: `object.metadata.name != 'vap' || object.spec.template.metadata.?annotations[?'${HASH}'] == oldObject.spec.template.metadata.?annotations[?'${HASH}']`,
          message: 'rollouts of vap are frozen',
        }],
      },
    } });
    await admission.createValidatingAdmissionPolicyBinding({ body: {
      metadata: { name: policy },
      spec: {
        policyName: policy, validationActions: ['Deny'],
        matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } },
      },
    } });
    const probe = { spec: { template: { metadata: { annotations: { [HASH]: 'probe' } } } } };
    const refusedNow = () => patchDeployment(ns, 'vap', probe, true).then(() => false, () => true);
    try {
      await waitFor('the policy in force', async () => ((await refusedNow()) ? true : undefined));
      const port = await op.httpPort();
      const refusals = async () => {
        const metrics = (await httpGet(port, '/metrics')).body;
        return metricValue(metrics, 'config_reload_api_errors_total', { verb: 'patch', code: '422' });
      };
      const before = await refusals();

      await rewriteConfigMap(ns, 'vap-cm', { v: '2' });
      const line = await op.waitForLog('patch refused', (l) => l.message === 'patch refused by the API server' && l.workload === `Deployment/${ns}/vap`);
      const refusedAt = Date.now();
      expect(line.level).to.equal('error');
      expect(String(line.error)).to.match(/^HTTP 422: .*rollouts of vap are frozen/);
      await sentinelRoll(ns);
      // No hot loop: one attempt, plus one per minute (the requeue after a refusal) at most.
      const allowed = 1 + Math.floor((Date.now() - refusedAt) / 60_000);
      expect(await refusals() - before).to.be.within(1, allowed);
      const events = (await clients().core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=vap' }))
        .items.filter((e) => e.reason === 'PatchRejected');
      expect(events, 'one Event').to.have.length(1);
      expect(events[0]?.type).to.equal('Warning');
      expect(events[0]?.count ?? 1).to.be.at.most(allowed);
      expect(await replicaSetsOf(ns, 'vap')).to.have.length(1);
    } finally {
      await admission.deleteValidatingAdmissionPolicyBinding({ name: policy }).catch(() => undefined);
      await admission.deleteValidatingAdmissionPolicy({ name: policy }).catch(() => undefined);
    }
    await waitFor('the policy lifted', async () => ((await refusedNow()) ? undefined : true));
    await rewriteConfigMap(ns, 'vap-cm', { v: '3' });
    const rolled = await waitForReplicaSets(ns, 'vap', 2);
    expect(rolled.spec?.template?.metadata?.annotations?.[HASH])
      .to.equal(workloadDigest([{ name: 'vap-cm', optional: false, keys: null }], () => configMapContent({ data: { v: '3' } })));
  });

  it('a ResourceQuota that stops the new ReplicaSet\'s pods: the roll is written once, never retried nor repeated', async () => {
    const { core } = clients();
    await createConfigMap(ns, 'quota-cm', { v: '1' });
    // Requests make its pods NotBestEffort, the quota's scope: the sentinels' pods are not counted.
    const podSpec = podSpecWithVolume('quota-cm');
    (podSpec['containers'] as Array<Record<string, unknown>>)[0]!['resources'] = { requests: { cpu: '10m' } };
    await createDeployment(ns, deployment('quota', { annotations: ENABLED, podSpec }));
    await recordedHash(ns, 'quota');
    await waitForReplicaSets(ns, 'quota', 1);
    await core.createNamespacedResourceQuota({ namespace: ns, body: { metadata: { name: 'one-pod' }, spec: { hard: { pods: '1' }, scopes: ['NotBestEffort'] } } });
    try {
      // The testbed runs no resource-quota controller: the usage it would compute (one pod) is set
      // by hand, which is what admission reads.
      await core.replaceNamespacedResourceQuotaStatus({ namespace: ns, name: 'one-pod', body: {
        ...(await core.readNamespacedResourceQuota({ namespace: ns, name: 'one-pod' })),
        status: { hard: { pods: '1' }, used: { pods: '1' } },
      } });
      await rewriteConfigMap(ns, 'quota-cm', { v: '2' });
      await waitFor('the new ReplicaSet refused its pod by the quota', async () => {
        const sets = await replicaSetsOf(ns, 'quota');
        return sets.some((rs) => rs.status?.conditions?.some((c) => c.type === 'ReplicaFailure' && /exceeded quota/.test(c.message ?? ''))) ? true : undefined;
      });
      await sentinelRoll(ns);
      expect(await replicaSetsOf(ns, 'quota')).to.have.length(2);
      expect(linesAbout(op, ns, 'quota', 'rolled')).to.have.length(1);
      expect(op.logs.filter((l) => l.workload === `Deployment/${ns}/quota` && (l.level === 'error' || l.level === 'warn'))).to.deep.equal([]);
      const d = await readDeployment(ns, 'quota');
      expect(d.spec?.template?.metadata?.annotations?.[HASH]).to.equal(d.metadata?.annotations?.[HASH]);
    } finally {
      await core.deleteNamespacedResourceQuota({ namespace: ns, name: 'one-pod' }).catch(() => undefined);
    }
    // Once the quota is gone the Deployment controller finishes the same rollout: still two.
    await waitForReplicaSets(ns, 'quota', 2, 90_000);
  });

  it('a workload deleted right after a change (inside the debounce window): nothing written, nothing retried, no warning', async () => {
    await createConfigMap(ns, 'gone-cm', { v: '1' });
    await createDeployment(ns, deployment('gone', { annotations: ENABLED, podSpec: podSpecWithVolume('gone-cm') }));
    await recordedHash(ns, 'gone');
    await rewriteConfigMap(ns, 'gone-cm', { v: '2' });
    await clients().apps.deleteNamespacedDeployment({ namespace: ns, name: 'gone' });
    await sentinelRoll(ns);
    const about = op.logs.filter((l) => l.workload === `Deployment/${ns}/gone`);
    expect(about.filter((l) => l.level === 'warn' || l.level === 'error')).to.deep.equal([]);
    expect(about.filter((l) => l.message === 'reconcile failed: retrying with backoff')).to.deep.equal([]);
  });

  it('a namespace deleted while its workloads are queued: no error, no retry, the rest is served', async () => {
    const mark = op.logs.length;
    await createConfigMap(doomed, 'shared', { v: '1' });
    const names = Array.from({ length: 10 }, (_, i) => `doomed-${i}`);
    await Promise.all(names.map((n) => createDeployment(doomed, deployment(n, { annotations: ENABLED, podSpec: podSpecWithVolume('shared') }))));
    await Promise.all(names.map((n) => recordedHash(doomed, n)));
    await rewriteConfigMap(doomed, 'shared', { v: '2' });
    await clients().core.deleteNamespace({ name: doomed });
    await waitFor(`namespace ${doomed} gone`, async () => clients().core.readNamespace({ name: doomed }).then(() => undefined, () => true), 120_000);
    await sentinelRoll(ns);
    const about = op.logs.filter((l) => typeof l.workload === 'string' && l.workload.includes(`/${doomed}/`));
    expect(about.filter((l) => l.level === 'error')).to.deep.equal([]);
    expect(about.filter((l) => l.message === 'reconcile failed: retrying with backoff')).to.deep.equal([]);
    expect(op.logs.slice(mark).filter((l) => l.level === 'error')).to.deep.equal([]);
  });
});
