// Scoping at the watch (several namespaces, label selectors applied by the apiserver) and the
// ignore switch on a config object. "Nothing rolled" is proven by a control change that must
// roll and is written after the change under test, through the same watch.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { expect } from 'chai';
import { OperatorProcess } from './operator-process.ts';
import {
  clients, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH, readDeployment, recordedHash,
  replicaSetsOf, rewriteConfigMap, waitForReplicaSets,
} from './support.ts';

const envFrom = (cm: string, optional = false) => ({ containers: [{ name: 'app', image: 'registry.example/app:1', envFrom: [{ configMapRef: { name: cm, optional } }] }] });

async function configMap(namespace: string, name: string, data: Record<string, string>, labels: Record<string, string> = {}, annotations: Record<string, string> = {}) {
  await clients().core.createNamespacedConfigMap({ namespace, body: { metadata: { name, labels, annotations }, data } });
}

async function annotate(namespace: string, name: string, annotations: Record<string, string | null>) {
  await clients().core.patchNamespacedConfigMap(
    { namespace, name, body: { metadata: { annotations } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

describe('scoping at the watch, and the ignore switch', () => {
  const namespaces: string[] = [];
  let op: OperatorProcess | undefined;

  afterEach(async () => {
    await op?.stop();
    op = undefined;
    for (const ns of namespaces.splice(0)) await deleteNamespace(ns);
  });

  it('--namespace a,b: both are served (one watch each), a third is never written to', async () => {
    const [a, b, c] = [await createNamespace('scope-a'), await createNamespace('scope-b'), await createNamespace('scope-c')];
    namespaces.push(a, b, c);
    for (const ns of [a, b, c]) {
      await configMap(ns, 'cfg', { v: '1' });
      await createDeployment(ns, deployment('web', { annotations: ENABLED, podSpec: envFrom('cfg') }));
    }
    op = await OperatorProcess.start({ args: ['--namespace', `${a},${b}`] });
    const watches = op.logs.filter((l) => l.message === 'initial list complete' && l.resource === 'configmaps');
    expect(watches, 'one ConfigMap list per namespace').to.have.length(2);
    for (const ns of [a, b]) await recordedHash(ns, 'web');
    await rewriteConfigMap(c, 'cfg', { v: '2' });
    // Written after c's change: their rolls prove the operator has been past it.
    for (const ns of [a, b]) {
      await rewriteConfigMap(ns, 'cfg', { v: '2' });
      await waitForReplicaSets(ns, 'web', 2);
    }
    const outside = await readDeployment(c, 'web');
    expect(outside.metadata?.annotations?.[HASH]).to.equal(undefined);
    expect(await replicaSetsOf(c, 'web')).to.have.length(1);
  });

  it('--configmap-selector: only selected ConfigMaps are watched; an unselected one looks absent and its changes roll nothing', async () => {
    const ns = await createNamespace('scope-sel');
    namespaces.push(ns);
    await configMap(ns, 'selected', { v: '1' }, { reload: 'yes' });
    await configMap(ns, 'unselected', { v: '1' });
    await createDeployment(ns, deployment('sel', { annotations: ENABLED, podSpec: envFrom('selected') }));
    await createDeployment(ns, deployment('unsel', { annotations: ENABLED, podSpec: envFrom('unselected', true) }));
    op = await OperatorProcess.start({ args: ['--namespace', ns, '--configmap-selector', 'reload=yes'] });
    const listed = await op.waitForLog('configmaps listed', (l) => l.message === 'initial list complete' && l.resource === 'configmaps');
    expect(listed.objects, 'only the selected ConfigMap was sent').to.equal(1);
    const adopted = await recordedHash(ns, 'unsel');
    await recordedHash(ns, 'sel');
    await rewriteConfigMap(ns, 'unselected', { v: '2' });
    await rewriteConfigMap(ns, 'selected', { v: '2' });
    await waitForReplicaSets(ns, 'sel', 2);
    expect((await readDeployment(ns, 'unsel')).metadata?.annotations?.[HASH]).to.equal(adopted);
    expect(await replicaSetsOf(ns, 'unsel')).to.have.length(1);
  });

  it('config-reload.dev/ignore: "true": its changes roll nothing; once unset, the difference rolls once', async () => {
    const ns = await createNamespace('scope-ign');
    namespaces.push(ns);
    await configMap(ns, 'noisy', { v: '1' }, {}, { 'config-reload.dev/ignore': 'true' });
    await configMap(ns, 'control', { v: '1' });
    await createDeployment(ns, deployment('ign', { annotations: ENABLED, podSpec: envFrom('noisy') }));
    await createDeployment(ns, deployment('ctl', { annotations: ENABLED, podSpec: envFrom('control') }));
    op = await OperatorProcess.start({ args: ['--namespace', ns] });
    const adopted = await recordedHash(ns, 'ign');
    await recordedHash(ns, 'ctl');
    for (const v of ['2', '3']) await rewriteConfigMap(ns, 'noisy', { v });
    await rewriteConfigMap(ns, 'control', { v: '2' });
    await waitForReplicaSets(ns, 'ctl', 2);
    expect((await readDeployment(ns, 'ign')).metadata?.annotations?.[HASH]).to.equal(adopted);
    expect(await replicaSetsOf(ns, 'ign')).to.have.length(1);

    // A malformed value keeps it ignored, and says so.
    await annotate(ns, 'noisy', { 'config-reload.dev/ignore': 'yes' });
    await op.waitForLog('malformed ignore', (l) => l.message === 'malformed annotation' && l.object === `ConfigMap/${ns}/noisy`);
    await annotate(ns, 'noisy', { 'config-reload.dev/ignore': null });
    await waitForReplicaSets(ns, 'ign', 2);
  });
});
