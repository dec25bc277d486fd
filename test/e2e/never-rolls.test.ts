// What must never roll: a Deployment that did not opt in, a metadata-only ConfigMap edit, a
// rewrite with identical data, a malformed annotation. Each test ends with a sentinel roll in
// the same namespace, which proves the operator processed the events before the assertions:
// sentinelRoll, after the change that must roll a Deployment of the test (queued by the same
// event as the ones that must not roll, so its roll alone proves less: see sentinelRoll).
import { expect } from 'chai';
import { namespaceWithOperator } from './operator-process.ts';
import {
  clients, createConfigMap, createDeployment, deployment, deploymentSettled, ENABLED, HASH,
  podSpecWithVolume, readDeployment, recordedHash, replicaSetsOf, rewriteConfigMap, sentinelRoll, waitForReplicaSets,
} from './support.ts';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

describe('operator: never rolls when it must not', () => {
  const s = namespaceWithOperator('never');

  it('3. a Deployment that did not opt in is never written to', async () => {
    await createConfigMap(s.ns, 'plain-cm', { v: '1' });
    await createDeployment(s.ns, deployment('plain', { podSpec: podSpecWithVolume('plain-cm') }));
    await createDeployment(s.ns, deployment('plain-off', {
      annotations: { 'config-reload.dev/enabled': 'false' }, podSpec: podSpecWithVolume('plain-cm'),
    }));
    await createDeployment(s.ns, deployment('plain-sentinel', { annotations: ENABLED, podSpec: podSpecWithVolume('plain-cm') }));
    await recordedHash(s.ns, 'plain-sentinel');
    const before = await readDeployment(s.ns, 'plain');
    const beforeOff = await readDeployment(s.ns, 'plain-off');
    await rewriteConfigMap(s.ns, 'plain-cm', { v: '2' });
    await waitForReplicaSets(s.ns, 'plain-sentinel', 2);
    await sentinelRoll(s.ns);
    for (const [name, was] of [['plain', before], ['plain-off', beforeOff]] as const) {
      const after = await readDeployment(s.ns, name);
      const ours = (after.metadata?.managedFields ?? []).filter((f) => f.manager === 'config-reload-operator');
      expect(ours, `${name} managedFields`).to.have.length(0);
      expect(after.metadata?.annotations?.[HASH], name).to.equal(undefined);
      // Its pod template untouched (rolls themselves are counted by ReplicaSets below).
      expect(after.spec?.template, name).to.deep.equal(was.spec?.template);
      expect(await replicaSetsOf(s.ns, name)).to.have.length(1);
    }
  });

  it('7. a label-only edit and a rewrite with identical data roll nothing', async () => {
    await createConfigMap(s.ns, 'stable-cm', { 'app.conf': 'x=1' });
    await createConfigMap(s.ns, 'stable-sentinel-cm', { v: '1' });
    await createDeployment(s.ns, deployment('stable', { annotations: ENABLED, podSpec: podSpecWithVolume('stable-cm') }));
    await createDeployment(s.ns, deployment('stable-sentinel', { annotations: ENABLED, podSpec: podSpecWithVolume('stable-sentinel-cm') }));
    const hash = await recordedHash(s.ns, 'stable');
    await recordedHash(s.ns, 'stable-sentinel');
    // After the Deployment controller's last status write: from here only the operator could write.
    const rvBefore = (await deploymentSettled(s.ns, 'stable')).metadata?.resourceVersion;

    await clients().core.patchNamespacedConfigMap(
      { namespace: s.ns, name: 'stable-cm', body: { metadata: { labels: { team: 'a' }, annotations: { note: 'edited' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await rewriteConfigMap(s.ns, 'stable-cm', { 'app.conf': 'x=1' });
    await rewriteConfigMap(s.ns, 'stable-sentinel-cm', { v: '2' });
    await waitForReplicaSets(s.ns, 'stable-sentinel', 2);
    await sentinelRoll(s.ns);

    const after = await readDeployment(s.ns, 'stable');
    expect(after.metadata?.resourceVersion).to.equal(rvBefore);
    expect(after.metadata?.annotations?.[HASH]).to.equal(hash);
    expect(await replicaSetsOf(s.ns, 'stable')).to.have.length(1);
  });

  it('13. a malformed annotation: no write, a clear log line, every other Deployment served', async () => {
    await createConfigMap(s.ns, 'bad-cm', { v: '1' });
    await createDeployment(s.ns, deployment('bad', {
      annotations: { 'config-reload.dev/enabled': 'yes please' }, podSpec: podSpecWithVolume('bad-cm'),
    }));
    await createDeployment(s.ns, deployment('bad-names', {
      annotations: { 'config-reload.dev/configmaps': 'ok-name, Not_A_Name' }, podSpec: podSpecWithVolume('bad-cm'),
    }));
    await createDeployment(s.ns, deployment('good', { annotations: ENABLED, podSpec: podSpecWithVolume('bad-cm') }));
    await recordedHash(s.ns, 'good');
    const line = await s.op.waitForLog('malformed annotation on bad', (l) => l.message === 'malformed annotation' && l.workload === `Deployment/${s.ns}/bad`);
    expect(String(line.reason)).to.contain('config-reload.dev/enabled');
    expect(line.level).to.equal('warn');
    const line2 = await s.op.waitForLog('malformed annotation on bad-names', (l) => l.message === 'malformed annotation' && l.workload === `Deployment/${s.ns}/bad-names`);
    expect(String(line2.reason)).to.contain('Not_A_Name');

    await rewriteConfigMap(s.ns, 'bad-cm', { v: '2' });
    await waitForReplicaSets(s.ns, 'good', 2);
    await sentinelRoll(s.ns);
    for (const name of ['bad', 'bad-names']) {
      const d = await readDeployment(s.ns, name);
      expect(d.metadata?.annotations?.[HASH], name).to.equal(undefined);
      expect(await replicaSetsOf(s.ns, name)).to.have.length(1);
    }
  });
});
