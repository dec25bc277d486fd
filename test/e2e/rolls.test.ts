// The operator rolls a Deployment when a ConfigMap it consumes changes — through every kind
// of reference — exactly once per change, and once per burst.
import { expect } from 'chai';
import { namespaceWithOperator } from './operator-process.ts';
import {
  clients, configMapContent, createConfigMap, createDeployment, deployment, ENABLED,
  HASH, podSpecWithVolume, readDeployment, recordedHash, replicaSetsOf, rewriteConfigMap, sentinelRoll, waitForReplicaSets, workloadDigest,
} from './support.ts';

describe('operator: rolls on change', function () {
  const s = namespaceWithOperator('rolls');

  it('1. a ConfigMap mounted as a volume: one new ReplicaSet, rollout complete, template annotation = new digest', async () => {
    await createConfigMap(s.ns, 'vol-cm', { 'app.yaml': 'level: info' });
    await createDeployment(s.ns, deployment('vol', { annotations: ENABLED, podSpec: podSpecWithVolume('vol-cm') }));
    const adopted = await recordedHash(s.ns, 'vol');
    await waitForReplicaSets(s.ns, 'vol', 1);

    await rewriteConfigMap(s.ns, 'vol-cm', { 'app.yaml': 'level: debug' });
    const rolled = await waitForReplicaSets(s.ns, 'vol', 2);
    const expected = workloadDigest([{ name: 'vol-cm', optional: false, keys: null }], () => configMapContent({ data: { 'app.yaml': 'level: debug' } }));
    expect(rolled.spec?.template?.metadata?.annotations?.[HASH]).to.equal(expected);
    expect(rolled.metadata?.annotations?.[HASH]).to.equal(expected);
    expect(expected).to.not.equal(adopted);
    // No second roll follows: the sentinel comes after the watch event of the operator's own
    // write, which queued 'vol' once more.
    await sentinelRoll(s.ns);
    expect(await replicaSetsOf(s.ns, 'vol')).to.have.length(2);
    expect((await readDeployment(s.ns, 'vol')).spec?.template?.metadata?.annotations?.[HASH]).to.equal(expected);
  });

  const paths: Array<[string, (cm: string) => Record<string, unknown>]> = [
    ['envFrom', (cm) => ({ containers: [{ name: 'app', image: 'x', envFrom: [{ configMapRef: { name: cm } }] }] })],
    ['env configMapKeyRef', (cm) => ({ containers: [{ name: 'app', image: 'x', env: [{ name: 'K', valueFrom: { configMapKeyRef: { name: cm, key: 'k' } } }] }] })],
    ['a projected volume', (cm) => ({
      containers: [{ name: 'app', image: 'x' }],
      volumes: [{ name: 'p', projected: { sources: [{ configMap: { name: cm } }] } }],
    })],
    ['an initContainer', (cm) => ({
      initContainers: [{ name: 'init', image: 'x', envFrom: [{ configMapRef: { name: cm } }] }],
      containers: [{ name: 'app', image: 'x' }],
    })],
  ];
  for (const [i, [label, podSpec]] of paths.entries()) {
    it(`2.${i + 1} rolls through ${label}`, async () => {
      const name = `path${i}`;
      await createConfigMap(s.ns, `${name}-cm`, { k: 'one' });
      await createDeployment(s.ns, deployment(name, { annotations: ENABLED, podSpec: podSpec(`${name}-cm`) }));
      await recordedHash(s.ns, name);
      await rewriteConfigMap(s.ns, `${name}-cm`, { k: 'two' });
      const rolled = await waitForReplicaSets(s.ns, name, 2);
      expect(rolled.spec?.template?.metadata?.annotations?.[HASH]).to.match(/^v2-[0-9a-f]{8}-[0-9a-f]{64}$/);
    });
  }

  it('2.5 a configMapKeyRef does not roll when only another key of the ConfigMap changes', async () => {
    await createConfigMap(s.ns, 'keyed-cm', { k: 'one', other: 'x' });
    const podSpec = { containers: [{ name: 'app', image: 'x', env: [{ name: 'K', valueFrom: { configMapKeyRef: { name: 'keyed-cm', key: 'k' } } }] }] };
    await createDeployment(s.ns, deployment('keyed', { annotations: ENABLED, podSpec }));
    // A sentinel that consumes the whole map proves the operator processed the edit.
    await createDeployment(s.ns, deployment('keyed-sentinel', { annotations: ENABLED, podSpec: podSpecWithVolume('keyed-cm') }));
    const before = await recordedHash(s.ns, 'keyed');
    await recordedHash(s.ns, 'keyed-sentinel');
    await rewriteConfigMap(s.ns, 'keyed-cm', { k: 'one', other: 'y' });
    await waitForReplicaSets(s.ns, 'keyed-sentinel', 2);
    // keyed-sentinel was queued by the same event as keyed, so its roll does not prove that
    // keyed was processed; a sentinel that comes after the edit does.
    await sentinelRoll(s.ns);
    const d = await readDeployment(s.ns, 'keyed');
    expect(d.metadata?.annotations?.[HASH]).to.equal(before);
    expect(await replicaSetsOf(s.ns, 'keyed')).to.have.length(1);
  });

  it('6. three ConfigMaps of one Deployment changed at once (well inside the 1 s debounce): exactly one rollout', async () => {
    for (const c of ['b1', 'b2', 'b3']) await createConfigMap(s.ns, c, { v: '1' });
    const podSpec = {
      containers: [{ name: 'app', image: 'x', envFrom: [{ configMapRef: { name: 'b1' } }, { configMapRef: { name: 'b2' } }] }],
      volumes: [{ name: 'b3', configMap: { name: 'b3' } }],
    };
    await createDeployment(s.ns, deployment('burst', { annotations: ENABLED, podSpec }));
    await recordedHash(s.ns, 'burst');
    const t0 = Date.now();
    await Promise.all(['b1', 'b2', 'b3'].map((c) => rewriteConfigMap(s.ns, c, { v: '2' })));
    // The burst is one only if all three land inside the debounce window (1 s from the first).
    expect(Date.now() - t0).to.be.below(700);
    await waitForReplicaSets(s.ns, 'burst', 2);
    // After all three ConfigMap events and the watch event of the operator's write.
    await sentinelRoll(s.ns);
    expect(await replicaSetsOf(s.ns, 'burst')).to.have.length(2);
    const d = await readDeployment(s.ns, 'burst');
    expect(d.metadata?.annotations?.['deployment.kubernetes.io/revision']).to.equal('2');
  });

  it('9. config-reload.dev/configmaps naming a ConfigMap the spec does not reference rolls on its change', async () => {
    await createConfigMap(s.ns, 'api-read', { feature: 'off' });
    await createDeployment(s.ns, deployment('named', { annotations: { 'config-reload.dev/configmaps': 'api-read' } }));
    await recordedHash(s.ns, 'named');
    await rewriteConfigMap(s.ns, 'api-read', { feature: 'on' });
    await waitForReplicaSets(s.ns, 'named', 2);
  });

  it('11. one ConfigMap consumed by 50 Deployments: each rolls exactly once', async function () {
    this.timeout(300_000);
    await createConfigMap(s.ns, 'shared', { v: '1' });
    const names = Array.from({ length: 50 }, (_, i) => `fan-${i}`);
    for (const n of names) await createDeployment(s.ns, deployment(n, { annotations: ENABLED, podSpec: podSpecWithVolume('shared') }));
    for (const n of names) await recordedHash(s.ns, n, 60_000);
    await rewriteConfigMap(s.ns, 'shared', { v: '2' });
    for (const n of names) await waitForReplicaSets(s.ns, n, 2, 120_000);
    // After the watch events of all 50 writes.
    await sentinelRoll(s.ns);
    const { apps } = clients();
    const all = await apps.listNamespacedReplicaSet({ namespace: s.ns });
    for (const n of names) {
      const owned = all.items.filter((rs) => rs.metadata?.ownerReferences?.[0]?.name === n);
      expect(owned, n).to.have.length(2);
    }
  });
});
