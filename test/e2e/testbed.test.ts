// Proof that the testbed is a real Kubernetes: Deployments roll through the real deployment
// and replicaset controllers, kwok makes pods Running, namespace deletion cascades.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { expect } from 'chai';
import { clients, createNamespace, deployment, replicaSetsOf, rolloutComplete, waitFor } from './support.ts';

describe('testbed control plane', () => {
  let ns: string;
  before(async () => {
    ns = await createNamespace('testbed');
  });

  it('runs a Deployment of 2 replicas: one ReplicaSet, 2 pods Running and Ready', async () => {
    const { apps, core } = clients();
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', { replicas: 2 }) });
    await waitFor('rollout of web', () => rolloutComplete(ns, 'web'));
    const rs = await replicaSetsOf(ns, 'web');
    expect(rs).to.have.length(1);
    const pods = await waitFor('2 running ready pods', async () => {
      const list = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
      const ready = list.items.filter((p) => p.status?.phase === 'Running'
        && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === 2 && list.items.length === 2 ? list.items : undefined;
    });
    expect(pods.every((p) => p.metadata?.ownerReferences?.[0]?.name === rs[0]?.metadata?.name)).to.equal(true);
  });

  it('rolls out a pod-template change: a second ReplicaSet, the old one scaled to 0 and its pods gone', async () => {
    const { apps, core } = clients();
    const before = await replicaSetsOf(ns, 'web');
    const oldName = before[0]?.metadata?.name;
    expect(oldName).to.be.a('string');
    await apps.patchNamespacedDeployment(
      { namespace: ns, name: 'web', body: { spec: { template: { metadata: { annotations: { touched: 'yes' } } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await waitFor('second ReplicaSet', async () => ((await replicaSetsOf(ns, 'web')).length === 2 ? true : undefined));
    const done = await waitFor('rollout after patch', () => rolloutComplete(ns, 'web'));
    expect(done.status?.updatedReplicas).to.equal(2);
    expect(done.status?.readyReplicas).to.equal(2);
    const after = await replicaSetsOf(ns, 'web');
    const old = after.find((r) => r.metadata?.name === oldName);
    expect(old?.spec?.replicas).to.equal(0);
    await waitFor('old pods gone', async () => {
      const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
      const fromOld = pods.items.filter((p) => p.metadata?.ownerReferences?.[0]?.name === oldName);
      return fromOld.length === 0 && pods.items.length === 2 ? true : undefined;
    });
  });

  it('deleting the namespace removes everything in it', async () => {
    const { core, apps } = clients();
    await core.deleteNamespace({ name: ns });
    await waitFor('namespace gone', async () => {
      try {
        await core.readNamespace({ name: ns });
        return undefined;
      } catch (err) {
        return (err as { code?: number }).code === 404 ? true : undefined;
      }
    }, 120_000);
    const left = await apps.listDeploymentForAllNamespaces({ fieldSelector: `metadata.namespace=${ns}` });
    expect(left.items).to.have.length(0);
    const pods = await core.listPodForAllNamespaces({ fieldSelector: `metadata.namespace=${ns}` });
    expect(pods.items).to.have.length(0);
  });
});

