// The manifests install on a real apiserver, and their RBAC is exactly enough: the operator,
// authenticated as the manifests' ServiceAccount with a TokenRequest token, adopts, rolls and
// dry-runs; and that ServiceAccount is denied everything else.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../scratch-dir.ts';
import { fileURLToPath } from 'node:url';
import { E2E_DIGEST_KEY_BASE64, installDigestKeyIn } from './digest-key.ts';
import { OperatorProcess } from './operator-process.ts';
import {
  canI, clients, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH, kubectl,
  podSpecWithVolume, readDeployment, recordedHash, replicaSetsOf, rewriteConfigMap, sentinelRoll, serviceAccountKubeconfig, waitFor, waitForReplicaSets,
} from './support.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const manifests = path.join(root, 'manifests');
const SYSTEM_NS = 'config-reload-system';
const SA = `system:serviceaccount:${SYSTEM_NS}:config-reload-operator`;


describe('install: manifests and least-privilege RBAC', () => {
  let ns: string;
  let op: OperatorProcess | undefined;

  before(async () => {
    ns = await createNamespace('install');
  });
  after(async () => {
    await op?.stop();
    await deleteNamespace(ns);
    try {
      kubectl('delete', '-k', manifests, '--wait=false');
    } catch {
      // nothing installed
    }
  });

  it('1. kubectl apply --dry-run=server -k manifests/ (and the dry-run overlay) is accepted by the apiserver', () => {
    // A server-side dry run cannot create the namespace its other objects go into
    // (kubernetes/kubernetes#83562): create it first, as `kubectl apply -k` does in one pass.
    kubectl('apply', '-f', path.join(manifests, 'base', 'namespace.yaml'));
    const out = kubectl('apply', '--dry-run=server', '-k', manifests);
    for (const kind of ['serviceaccount', 'clusterrole', 'clusterrolebinding', 'role', 'rolebinding', 'deployment']) {
      expect(out, kind).to.match(new RegExp(`${kind}[^ ]*/config-reload-operator`));
    }
    const dry = kubectl('apply', '--dry-run=server', '-k', path.join(manifests, 'overlays', 'dry-run'), '-o', 'json');
    const items = (JSON.parse(dry) as { items: Array<{ kind: string; spec?: { template?: { spec?: { containers?: Array<{ args?: string[] }> } } } }> }).items;
    const d = items.find((i) => i.kind === 'Deployment');
    expect(d?.spec?.template?.spec?.containers?.[0]?.args).to.include('--dry-run');
  });

  const can = (verb: string, resource: string, namespace = ns) => canI(SA, verb, resource, namespace);

  it('2a. as the ServiceAccount, auth can-i allows watching and patching what it serves, reading only its own key Secret, and nothing else', () => {
    kubectl('apply', '-k', manifests);
    for (const [verb, resource] of [['list', 'configmaps'], ['watch', 'configmaps'], ['list', 'secrets'], ['watch', 'secrets'],
      ...['deployments.apps', 'statefulsets.apps', 'daemonsets.apps'].flatMap((r) => [['list', r], ['watch', r], ['patch', r]]),
      ['create', 'events'], ['patch', 'events']] as const) {
      expect(can(verb, resource), `${verb} ${resource}`).to.equal('yes');
    }
    expect(can('update', 'leases.coordination.k8s.io/config-reload-operator', SYSTEM_NS)).to.equal('yes');
    expect(can('get', 'secrets/config-reload-digest-key', SYSTEM_NS)).to.equal('yes');
    expect(can('create', 'secrets', SYSTEM_NS)).to.equal('yes');
    for (const [verb, resource] of [['get', 'secrets'], ['create', 'secrets'], ['update', 'secrets'], ['delete', 'secrets'],
      ['delete', 'deployments.apps'], ['update', 'deployments.apps'], ['create', 'deployments.apps'], ['delete', 'configmaps'],
      ['update', 'configmaps'], ['create', 'pods'], ['delete', 'pods'], ['update', 'statefulsets.apps'], ['delete', 'daemonsets.apps'],
      ['delete', 'events'], ['*', '*']] as const) {
      expect(can(verb, resource), `${verb} ${resource}`).to.equal('no');
    }
    expect(can('get', 'secrets/other', SYSTEM_NS)).to.equal('no');
    expect(can('update', 'secrets/config-reload-digest-key', SYSTEM_NS)).to.equal('no');
    expect(can('update', 'leases.coordination.k8s.io', 'kube-system')).to.equal('no');
    expect(can('delete', 'leases.coordination.k8s.io/config-reload-operator', SYSTEM_NS)).to.equal('no');
  });

  it('2c. the ConfigMaps-only install grants no Secret permission at all, and its operator adopts and rolls', async () => {
    // As a fresh ConfigMaps-only install: apply does not prune, so the full install's key Role goes by hand.
    kubectl('delete', '-n', SYSTEM_NS, 'role,rolebinding', 'config-reload-operator-digest-key', '--ignore-not-found');
    kubectl('apply', '-k', path.join(manifests, 'overlays/configmaps-only'));
    try {
      for (const namespace of [ns, SYSTEM_NS]) {
        for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']) {
          expect(can(verb, 'secrets', namespace), `${verb} secrets in ${namespace}`).to.equal('no');
        }
      }
      expect(can('get', 'secrets/config-reload-digest-key', SYSTEM_NS)).to.equal('no');
      // Its key comes from a file (in the cluster: the Secret the kubelet mounts).
      const keyFile = path.join(scratchDir('cm-only-key'), 'key');
      writeFileSync(keyFile, E2E_DIGEST_KEY_BASE64);
      const kubeconfig = await serviceAccountKubeconfig(SYSTEM_NS, 'config-reload-operator');
      await createConfigMap(ns, 'cmo-cm', { v: '1' });
      await createDeployment(ns, deployment('cmo', { annotations: ENABLED, podSpec: podSpecWithVolume('cmo-cm') }));
      op = await OperatorProcess.start({
        args: ['--kubeconfig', kubeconfig, '--config-sources', 'configmaps', '--digest-key-file', keyFile, '--namespace', ns],
        env: { KUBECONFIG: '' },
      });
      await recordedHash(ns, 'cmo');
      await rewriteConfigMap(ns, 'cmo-cm', { v: '2' });
      await waitForReplicaSets(ns, 'cmo', 2);
      expect(op.logs.filter((l) => l.level === 'error')).to.deep.equal([]);
      await op.stop();
    } finally {
      kubectl('apply', '-k', manifests);
    }
  });

  it('2b. authenticated as the ServiceAccount, the operator adopts (4), rolls (1) and dry-runs (10)', async () => {
    const kubeconfig = await serviceAccountKubeconfig(SYSTEM_NS, 'config-reload-operator');
    await createConfigMap(ns, 'sa-cm', { v: '1' });
    await createDeployment(ns, deployment('sa-pre', { annotations: ENABLED, podSpec: podSpecWithVolume('sa-cm') }));
    await waitForReplicaSets(ns, 'sa-pre', 1);

    // The operator would make its key in config-reload-system; it gets the one the tests know,
    // so that the sentinels below can compute its digests. (Making a key: digest-key.test.ts.)
    await installDigestKeyIn(SYSTEM_NS);
    // Dry-run first: nothing written.
    const rv = (await readDeployment(ns, 'sa-pre')).metadata?.resourceVersion;
    op = await OperatorProcess.start({ args: ['--kubeconfig', kubeconfig, '--dry-run'], env: { KUBECONFIG: '', CONFIG_RELOAD_DIGEST_KEY_NAMESPACE: SYSTEM_NS } });
    await op.waitForLog('would adopt', (l) => l.message === 'would adopt' && l.workload === `Deployment/${ns}/sa-pre`);
    await rewriteConfigMap(ns, 'sa-cm', { v: 'dry' });
    await op.waitForLog('would roll', (l) => l.message === 'would roll' && l.workload === `Deployment/${ns}/sa-pre`);
    expect((await readDeployment(ns, 'sa-pre')).metadata?.resourceVersion).to.equal(rv);
    await op.stop();

    // Then for real, with leader election on the manifests' Lease.
    op = await OperatorProcess.start({
      args: ['--kubeconfig', kubeconfig, '--leader-elect', '--leader-election-namespace', SYSTEM_NS, '--lease-duration', '3s'],
      env: { KUBECONFIG: '', POD_NAME: 'sa-operator', CONFIG_RELOAD_DIGEST_KEY_NAMESPACE: SYSTEM_NS },
    });
    const adopted = await recordedHash(ns, 'sa-pre');
    expect(adopted).to.match(/^v2-[0-9a-f]{8}-[0-9a-f]{64}$/);
    // Adoption rolled nothing, including the reconcile queued by the watch event of its own write.
    await sentinelRoll(ns);
    expect(await replicaSetsOf(ns, 'sa-pre')).to.have.length(1);
    await rewriteConfigMap(ns, 'sa-cm', { v: '2' });
    const rolled = await waitForReplicaSets(ns, 'sa-pre', 2);
    expect(rolled.spec?.template?.metadata?.annotations?.[HASH]).to.equal(rolled.metadata?.annotations?.[HASH]);
    const events = await waitFor('Normal event from the ServiceAccount', async () => {
      const list = await clients().core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=sa-pre' });
      return list.items.find((e) => e.reason === 'ConfigChanged');
    });
    expect(events.type).to.equal('Normal');
    expect(op.logs.filter((l) => l.level === 'error')).to.deep.equal([]);
  });
});
