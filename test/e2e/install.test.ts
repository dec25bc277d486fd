// The manifests install on a real apiserver, and their RBAC is exactly enough: the operator,
// authenticated as the manifests' ServiceAccount with a TokenRequest token, adopts, rolls and
// dry-runs; and that ServiceAccount is denied everything else.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../scratch-dir.ts';
import { fileURLToPath } from 'node:url';
import { testbed } from './hooks.ts';
import { OperatorProcess } from './operator-process.ts';
import {
  clients, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH, kubectl,
  podSpecWithVolume, readDeployment, recordedHash, replicaSetsOf, rewriteConfigMap, sentinelRoll, waitFor, waitForReplicaSets,
} from './support.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const manifests = path.join(root, 'manifests');
const SYSTEM_NS = 'config-reload-system';
const SA = `system:serviceaccount:${SYSTEM_NS}:config-reload-operator`;

/** A kubeconfig that authenticates with a token of the manifests' ServiceAccount. */
async function serviceAccountKubeconfig(): Promise<string> {
  const { core } = clients();
  const tr = await core.createNamespacedServiceAccountToken({
    namespace: SYSTEM_NS, name: 'config-reload-operator', body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = tr.status?.token;
  if (!token) throw new Error('TokenRequest returned no token');
  const admin = readFileSync(testbed().kubeconfigPath, 'utf8');
  const server = /server: (\S+)/.exec(admin)?.[1];
  const ca = /certificate-authority-data: (\S+)/.exec(admin)?.[1];
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

  it('2a. as the ServiceAccount, auth can-i is denied on Secrets, on deleting Deployments, and on anything it does not need', () => {
    kubectl('apply', '-k', manifests);
    const can = (verb: string, resource: string, namespace = ns) => {
      try {
        return kubectl('auth', 'can-i', verb, resource, '--as', SA, '-n', namespace).trim();
      } catch (err) {
        return String((err as { stdout?: string }).stdout ?? '').trim();
      }
    };
    for (const [verb, resource] of [['list', 'configmaps'], ['watch', 'configmaps'], ['list', 'deployments.apps'], ['watch', 'deployments.apps'],
      ['patch', 'deployments.apps'], ['create', 'events'], ['patch', 'events']] as const) {
      expect(can(verb, resource), `${verb} ${resource}`).to.equal('yes');
    }
    expect(can('update', 'leases.coordination.k8s.io/config-reload-operator', SYSTEM_NS)).to.equal('yes');
    for (const [verb, resource] of [['get', 'secrets'], ['list', 'secrets'], ['watch', 'secrets'], ['delete', 'deployments.apps'],
      ['update', 'deployments.apps'], ['create', 'deployments.apps'], ['delete', 'configmaps'], ['update', 'configmaps'],
      ['create', 'pods'], ['delete', 'pods'], ['patch', 'statefulsets.apps'], ['delete', 'events'], ['*', '*']] as const) {
      expect(can(verb, resource), `${verb} ${resource}`).to.equal('no');
    }
    expect(can('update', 'leases.coordination.k8s.io', 'kube-system')).to.equal('no');
    expect(can('delete', 'leases.coordination.k8s.io/config-reload-operator', SYSTEM_NS)).to.equal('no');
  });

  it('2b. authenticated as the ServiceAccount, the operator adopts (4), rolls (1) and dry-runs (10)', async () => {
    const kubeconfig = await serviceAccountKubeconfig();
    await createConfigMap(ns, 'sa-cm', { v: '1' });
    await createDeployment(ns, deployment('sa-pre', { annotations: ENABLED, podSpec: podSpecWithVolume('sa-cm') }));
    await waitForReplicaSets(ns, 'sa-pre', 1);

    // Dry-run first: nothing written.
    const rv = (await readDeployment(ns, 'sa-pre')).metadata?.resourceVersion;
    op = await OperatorProcess.start({ args: ['--kubeconfig', kubeconfig, '--dry-run'], env: { KUBECONFIG: '' } });
    await op.waitForLog('would adopt', (l) => l.message === 'would adopt' && l.workload === `Deployment/${ns}/sa-pre`);
    await rewriteConfigMap(ns, 'sa-cm', { v: 'dry' });
    await op.waitForLog('would roll', (l) => l.message === 'would roll' && l.workload === `Deployment/${ns}/sa-pre`);
    expect((await readDeployment(ns, 'sa-pre')).metadata?.resourceVersion).to.equal(rv);
    await op.stop();

    // Then for real, with leader election on the manifests' Lease.
    op = await OperatorProcess.start({
      args: ['--kubeconfig', kubeconfig, '--leader-elect', '--leader-election-namespace', SYSTEM_NS, '--lease-duration', '3s'],
      env: { KUBECONFIG: '', POD_NAME: 'sa-operator' },
    });
    const adopted = await recordedHash(ns, 'sa-pre');
    expect(adopted).to.match(/^v1-/);
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
