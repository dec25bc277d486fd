// What must never roll: a Deployment that did not opt in, a metadata-only ConfigMap edit, a
// rewrite with identical data, a malformed annotation. Each test ends with a sentinel roll in
// the same namespace, which proves the operator processed the events before the assertions.
import { expect } from 'chai';
import { OperatorProcess } from './operator-process.ts';
import {
  clients, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH,
  podSpecWithVolume, readDeployment, recordedHash, replicaSetsOf, rewriteConfigMap, waitForReplicaSets,
} from './support.ts';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

describe('operator: never rolls when it must not', () => {
  let ns: string;
  let op: OperatorProcess;

  before(async () => {
    ns = await createNamespace('never');
    op = await OperatorProcess.start({ args: ['--namespace', ns] });
  });
  after(async () => {
    await op?.stop();
    await deleteNamespace(ns);
  });

  it('3. a Deployment that did not opt in is never written to', async () => {
    await createConfigMap(ns, 'plain-cm', { v: '1' });
    await createDeployment(ns, deployment('plain', { podSpec: podSpecWithVolume('plain-cm') }));
    await createDeployment(ns, deployment('plain-off', {
      annotations: { 'config-reload.dev/enabled': 'false' }, podSpec: podSpecWithVolume('plain-cm'),
    }));
    await createDeployment(ns, deployment('plain-sentinel', { annotations: ENABLED, podSpec: podSpecWithVolume('plain-cm') }));
    await recordedHash(ns, 'plain-sentinel');
    const before = await readDeployment(ns, 'plain');
    const beforeOff = await readDeployment(ns, 'plain-off');
    await rewriteConfigMap(ns, 'plain-cm', { v: '2' });
    await waitForReplicaSets(ns, 'plain-sentinel', 2);
    for (const [name, was] of [['plain', before], ['plain-off', beforeOff]] as const) {
      const after = await readDeployment(ns, name);
      const ours = (after.metadata?.managedFields ?? []).filter((f) => f.manager === 'config-reload-operator');
      expect(ours, `${name} managedFields`).to.have.length(0);
      expect(after.metadata?.annotations?.[HASH], name).to.equal(undefined);
      expect(after.metadata?.generation, name).to.equal(was.metadata?.generation);
      expect(await replicaSetsOf(ns, name)).to.have.length(1);
    }
  });

  it('7. a label-only edit and a rewrite with identical data roll nothing', async () => {
    await createConfigMap(ns, 'stable-cm', { 'app.conf': 'x=1' });
    await createConfigMap(ns, 'stable-sentinel-cm', { v: '1' });
    await createDeployment(ns, deployment('stable', { annotations: ENABLED, podSpec: podSpecWithVolume('stable-cm') }));
    await createDeployment(ns, deployment('stable-sentinel', { annotations: ENABLED, podSpec: podSpecWithVolume('stable-sentinel-cm') }));
    const hash = await recordedHash(ns, 'stable');
    await recordedHash(ns, 'stable-sentinel');
    const rvBefore = (await readDeployment(ns, 'stable')).metadata?.resourceVersion;

    await clients().core.patchNamespacedConfigMap(
      { namespace: ns, name: 'stable-cm', body: { metadata: { labels: { team: 'a' }, annotations: { note: 'edited' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await rewriteConfigMap(ns, 'stable-cm', { 'app.conf': 'x=1' });
    await rewriteConfigMap(ns, 'stable-sentinel-cm', { v: '2' });
    await waitForReplicaSets(ns, 'stable-sentinel', 2);

    const after = await readDeployment(ns, 'stable');
    expect(after.metadata?.resourceVersion).to.equal(rvBefore);
    expect(after.metadata?.annotations?.[HASH]).to.equal(hash);
    expect(await replicaSetsOf(ns, 'stable')).to.have.length(1);
  });

  it('13. a malformed annotation: no write, a clear log line, every other Deployment served', async () => {
    await createConfigMap(ns, 'bad-cm', { v: '1' });
    await createDeployment(ns, deployment('bad', {
      annotations: { 'config-reload.dev/enabled': 'yes please' }, podSpec: podSpecWithVolume('bad-cm'),
    }));
    await createDeployment(ns, deployment('bad-names', {
      annotations: { 'config-reload.dev/configmaps': 'ok-name, Not_A_Name' }, podSpec: podSpecWithVolume('bad-cm'),
    }));
    await createDeployment(ns, deployment('good', { annotations: ENABLED, podSpec: podSpecWithVolume('bad-cm') }));
    await recordedHash(ns, 'good');
    const line = await op.waitForLog('malformed annotation on bad', (l) => l.message === 'malformed annotation' && l.workload === `Deployment/${ns}/bad`);
    expect(String(line.reason)).to.contain('config-reload.dev/enabled');
    expect(line.level).to.equal('warn');
    const line2 = await op.waitForLog('malformed annotation on bad-names', (l) => l.message === 'malformed annotation' && l.workload === `Deployment/${ns}/bad-names`);
    expect(String(line2.reason)).to.contain('Not_A_Name');

    await rewriteConfigMap(ns, 'bad-cm', { v: '2' });
    await waitForReplicaSets(ns, 'good', 2);
    for (const name of ['bad', 'bad-names']) {
      const d = await readDeployment(ns, name);
      expect(d.metadata?.annotations?.[HASH], name).to.equal(undefined);
      expect(await replicaSetsOf(ns, name)).to.have.length(1);
    }
  });
});
