// /metrics counts a roll after it happens; /readyz is not ready before the caches sync and
// ready after; Events are recorded on a rolled Deployment and on a malformed one.
import { expect } from 'chai';
import { testbed } from './hooks.ts';
import { OperatorProcess } from './operator-process.ts';
import {
  clients, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, httpGet, metricValue,
  podSpecWithVolume, recordedHash, rewriteConfigMap, waitFor, waitForReplicaSets,
} from './support.ts';

describe('observability: metrics, readiness, Events', () => {
  let ns: string;
  let op: OperatorProcess | undefined;

  before(async () => {
    ns = await createNamespace('obs');
  });
  after(async () => {
    await op?.stop();
    await deleteNamespace(ns);
  });

  it('4a. /readyz is not ready before the caches sync and ready after; /healthz is alive throughout', async () => {
    const cp = testbed().controlPlane;
    if (!cp) throw new Error('this test stops the kube-apiserver: it needs the local control plane');
    await cp.stopApiServer();
    try {
      op = await OperatorProcess.start({ args: ['--namespace', ns], waitFor: 'spawned' });
      const port = await op.httpPort();
      expect((await httpGet(port, '/readyz')).status).to.equal(503);
      expect((await httpGet(port, '/healthz')).status).to.equal(200);
      // Its first call (the digest key) fails while the apiserver is down.
      await op.waitForLog('a failed call', (l) => l.message === 'cannot load the digest key: not ready, retrying' || l.message === 'list/watch failed: retrying');
      expect((await httpGet(port, '/readyz')).status).to.equal(503);
    } finally {
      await cp.startApiServer();
    }
    const port = await op.httpPort();
    await waitFor('/readyz 200', async () => ((await httpGet(port, '/readyz')).status === 200 ? true : undefined), 60_000);
    expect((await httpGet(port, '/healthz')).status).to.equal(200);
  });

  it('4b. /metrics counts a roll after it happens', async () => {
    const port = await op!.httpPort();
    await createConfigMap(ns, 'm-cm', { v: '1' });
    await createDeployment(ns, deployment('m', { annotations: ENABLED, podSpec: podSpecWithVolume('m-cm') }));
    await recordedHash(ns, 'm');
    const before = (await httpGet(port, '/metrics')).body;
    expect(metricValue(before, 'config_reload_rolls_total', { namespace: ns, dry_run: 'false' })).to.equal(0);
    expect(metricValue(before, 'config_reload_adoptions_total', { namespace: ns, dry_run: 'false' })).to.equal(1);
    await rewriteConfigMap(ns, 'm-cm', { v: '2' });
    await waitForReplicaSets(ns, 'm', 2);
    const after = (await httpGet(port, '/metrics')).body;
    expect(metricValue(after, 'config_reload_rolls_total', { namespace: ns, dry_run: 'false' })).to.equal(1);
    expect(metricValue(after, 'config_reload_relists_total', { resource: 'configmaps', reason: 'initial' })).to.be.at.least(1);
    expect(after).to.match(/config_reload_reconcile_duration_seconds_count\{result="success"\} [1-9]/);
  });

  it('5. Events: Normal on a rolled Deployment (naming the ConfigMap), Warning on a malformed annotation and on a missing required ConfigMap', async () => {
    const { core } = clients();
    const eventsOf = async (name: string) => (await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` })).items;
    const rolled = await waitFor('ConfigChanged event', async () => (await eventsOf('m')).find((e) => e.reason === 'ConfigChanged'));
    expect(rolled.type).to.equal('Normal');
    expect(rolled.message).to.contain('m-cm');
    expect(rolled.involvedObject.kind).to.equal('Deployment');

    await createDeployment(ns, deployment('malformed', { annotations: { 'config-reload.dev/enabled': 'sure' } }));
    const bad = await waitFor('MalformedAnnotation event', async () => (await eventsOf('malformed')).find((e) => e.reason === 'MalformedAnnotation'));
    expect(bad.type).to.equal('Warning');
    expect(bad.message).to.contain('config-reload.dev/enabled');

    await createDeployment(ns, deployment('needs', { annotations: ENABLED, podSpec: podSpecWithVolume('absent-cm') }));
    const missing = await waitFor('ConfigMapMissing event', async () => (await eventsOf('needs')).find((e) => e.reason === 'ConfigMapMissing'));
    expect(missing.type).to.equal('Warning');
    expect(missing.message).to.contain('absent-cm');
  });
});
