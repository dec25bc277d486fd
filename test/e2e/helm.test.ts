// The Helm chart on a real control plane: it lints, its rendering is accepted by the apiserver,
// `helm install` gives an operator whose RBAC is enough to adopt and roll (the operator runs as
// a local process with the chart's ServiceAccount token and the chart's arguments: the
// Deployment's own pods run on kwok nodes, which execute nothing), `helm upgrade` rolls no
// workload, and `helm uninstall` leaves nothing of the release behind.
import { CoordinationV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../scratch-dir.ts';
import { testbed } from './hooks.ts';
import { installDigestKeyIn } from './digest-key.ts';
import { OperatorProcess } from './operator-process.ts';
import {
  canI, clients, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH, kubectl,
  podSpecWithVolume, readDeployment, recordedHash, replicaSetsOf, rewriteConfigMap, serviceAccountKubeconfig, waitFor, waitForReplicaSets,
} from './support.ts';
import {
  CHART, chartTools, helmEnv, type K8sObject, operatorContainer, parseObjects, PLACEHOLDER_IMAGE_REPOSITORY, run, valuesFile,
} from '../support/chart.ts';

const RELEASE = 'cro-e2e';
const FULLNAME = `${RELEASE}-config-reload-operator`;
const INSTANCE = `app.kubernetes.io/instance=${RELEASE}`;
/** The chart needs an image; kwok runs no container, so the placeholder of manifests/ does. */
const IMAGE = ['--set', `image.repository=${PLACEHOLDER_IMAGE_REPOSITORY}`];

/** Resource names for kubectl of each kind the chart can render. */
const RESOURCE: Record<string, string> = {
  ServiceAccount: 'serviceaccounts', ClusterRole: 'clusterroles.rbac.authorization.k8s.io',
  ClusterRoleBinding: 'clusterrolebindings.rbac.authorization.k8s.io', Role: 'roles.rbac.authorization.k8s.io',
  RoleBinding: 'rolebindings.rbac.authorization.k8s.io', Deployment: 'deployments.apps', Lease: 'leases.coordination.k8s.io',
  PodDisruptionBudget: 'poddisruptionbudgets.policy', Service: 'services', ConfigMap: 'configmaps',
  ValidatingAdmissionPolicy: 'validatingadmissionpolicies.admissionregistration.k8s.io',
  ValidatingAdmissionPolicyBinding: 'validatingadmissionpolicybindings.admissionregistration.k8s.io',
};

describe('helm: the chart installed, upgraded and uninstalled', () => {
  let helmBin: string;
  let env: NodeJS.ProcessEnv;
  /** The release's namespace: enforces the restricted Pod Security Standard, as manifests/ do. */
  let releaseNs: string;
  /** The workloads' namespace. */
  let ns: string;
  let op: OperatorProcess | undefined;
  let installed: K8sObject[] = [];

  const helm = (...args: string[]) => run(helmBin, [...args, '--kubeconfig', testbed().kubeconfigPath], { env });
  const operatorDeployment = () => clients().apps.readNamespacedDeployment({ namespace: releaseNs, name: FULLNAME });

  /** The operator as the chart runs it: the installed Deployment's args and the release's ServiceAccount. */
  async function startOperator(identity: string): Promise<OperatorProcess> {
    const d = (await operatorDeployment()) as unknown as K8sObject;
    // The HTTP port is the harness's (a free loopback port); every other argument is the chart's.
    const args = (operatorContainer(d).args ?? []).filter((a) => !a.startsWith('--http-addr'));
    const kubeconfig = await serviceAccountKubeconfig(releaseNs, FULLNAME);
    return OperatorProcess.start({
      args: ['--kubeconfig', kubeconfig, ...args],
      // Its key lives in the release's namespace, as installed; the test put the known one there.
      env: { KUBECONFIG: '', POD_NAME: identity, POD_NAMESPACE: releaseNs, CONFIG_RELOAD_DIGEST_KEY_NAMESPACE: releaseNs },
    });
  }

  before(async function () {
    this.timeout(75 * 60_000); // a cold testbed build includes helm
    helmBin = (await chartTools()).helm;
    env = helmEnv();
    releaseNs = `cro-helm-${Math.random().toString(16).slice(2, 8)}`;
    await clients().core.createNamespace({
      body: {
        metadata: {
          name: releaseNs,
          labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' },
        },
      },
    });
    ns = await createNamespace('helm');
    // The operator would make its key on first start; the known one lets the sentinels compute its digests.
    await installDigestKeyIn(releaseNs);
  });

  after(async function () {
    this.timeout(120_000);
    await op?.stop();
    try {
      helm('uninstall', RELEASE, '-n', releaseNs);
    } catch {
      // not installed, or already uninstalled by test 5
    }
    await deleteNamespace(ns);
    await deleteNamespace(releaseNs);
  });

  it('1. helm lint --strict passes, with the defaults and with every optional object on', () => {
    helm('lint', '--strict', CHART, ...IMAGE);
    helm('lint', '--strict', CHART, ...IMAGE, '-f', valuesFile({
      serviceMonitor: { enabled: true }, prometheusRule: { enabled: true }, grafanaDashboard: { enabled: true },
      watchNamespaces: ['a', 'b'], secrets: { enabled: false }, dryRun: true, leaderElection: { enabled: false }, replicaCount: 1,
    }));
  });

  it('2. helm template is accepted by the apiserver (server-side dry-run), with the defaults and with non-default values', async () => {
    const renderings: Array<Record<string, unknown>> = [
      {},
      {
        watchNamespaces: [ns], secrets: { enabled: false }, dryRun: true, logLevel: 'debug', extraArgs: ['--debounce=2s'],
        nodeSelector: { 'kubernetes.io/os': 'linux' }, tolerations: [{ key: 'infra', operator: 'Exists', effect: 'NoSchedule' }],
        priorityClassName: 'system-cluster-critical', leaderElection: { leaseDuration: '30s' },
      },
    ];
    for (const values of renderings) {
      const yaml = helm('template', RELEASE, CHART, '-n', releaseNs, ...IMAGE, '-f', valuesFile(values));
      const rendered = await parseObjects(yaml);
      const out = kubectl('apply', '--dry-run=server', '-o', 'name', '-f', writeScratch(yaml));
      for (const o of rendered) {
        expect(out, `${o.kind}/${o.metadata.name} accepted`).to.contain(`/${o.metadata.name}`);
      }
      expect(out.trim().split('\n')).to.have.length(rendered.length);
    }
  });

  it('3. helm install: pods admitted under the restricted Pod Security Standard; as the chart\'s ServiceAccount, with the chart\'s args, the operator adopts and rolls a Deployment on a ConfigMap change', async () => {
    helm('install', RELEASE, CHART, '-n', releaseNs, ...IMAGE);
    installed = await parseObjects(helm('get', 'manifest', RELEASE, '-n', releaseNs));

    // The Deployment's own pods: created (admitted by the namespace's restricted policy) and
    // running on kwok nodes.
    await waitFor('the operator Deployment available', async () => {
      const d = await operatorDeployment();
      return (d.status?.availableReplicas ?? 0) === 2 ? d : undefined;
    });

    // The chart's RBAC, as the operator's ServiceAccount sees it.
    const sa = `system:serviceaccount:${releaseNs}:${FULLNAME}`;
    for (const [verb, resource] of [['list', 'configmaps'], ['watch', 'configmaps'], ['list', 'secrets'], ['watch', 'secrets'],
      ['list', 'deployments.apps'], ['watch', 'deployments.apps'], ['patch', 'deployments.apps'], ['create', 'events'], ['patch', 'events']] as const) {
      expect(canI(sa, verb, resource, ns), `${verb} ${resource}`).to.equal('yes');
    }
    for (const [verb, resource] of [['get', 'secrets'], ['delete', 'deployments.apps'], ['update', 'deployments.apps'], ['update', 'configmaps'],
      ['create', 'pods'], ['delete', 'events'], ['*', '*']] as const) {
      expect(canI(sa, verb, resource, ns), `${verb} ${resource}`).to.equal('no');
    }
    expect(canI(sa, 'update', `leases.coordination.k8s.io/${FULLNAME}`, releaseNs)).to.equal('yes');
    expect(canI(sa, 'update', 'leases.coordination.k8s.io/config-reload-operator', releaseNs)).to.equal('no');
    expect(canI(sa, 'delete', `leases.coordination.k8s.io/${FULLNAME}`, releaseNs)).to.equal('no');

    await createConfigMap(ns, 'web-cm', { v: '1' });
    await createDeployment(ns, deployment('web', { annotations: ENABLED, podSpec: podSpecWithVolume('web-cm') }));
    await createConfigMap(ns, 'steady-cm', { v: '1' });
    await createDeployment(ns, deployment('steady', { annotations: ENABLED, podSpec: podSpecWithVolume('steady-cm') }));
    await waitForReplicaSets(ns, 'web', 1);
    await waitForReplicaSets(ns, 'steady', 1);

    op = await startOperator('helm-e2e-1');
    // Leader on the release's Lease (created by the chart, empty), under the chart's Role.
    await op.waitForLog('leadership', (l) => l.message === 'became leader: starting workers once synced');
    const adopted = await recordedHash(ns, 'web');
    await recordedHash(ns, 'steady');
    expect(await replicaSetsOf(ns, 'web')).to.have.length(1);

    await rewriteConfigMap(ns, 'web-cm', { v: '2' });
    const rolled = await waitForReplicaSets(ns, 'web', 2);
    expect(rolled.metadata?.annotations?.[HASH]).to.not.equal(adopted);
    expect(rolled.spec?.template?.metadata?.annotations?.[HASH]).to.equal(rolled.metadata?.annotations?.[HASH]);
    const event = await waitFor('ConfigChanged event', async () => {
      const list = await clients().core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=web' });
      return list.items.find((e) => e.reason === 'ConfigChanged');
    });
    expect(event.type).to.equal('Normal');
    const lease = await waitFor('the Lease held', async () => {
      const l = await kubeLease(releaseNs, FULLNAME);
      return l.spec?.holderIdentity === 'helm-e2e-1' ? l : undefined;
    });
    expect(lease.metadata?.labels?.['app.kubernetes.io/instance']).to.equal(RELEASE);
    expect(op.logs.filter((l) => l.level === 'error'), 'no error: the RBAC is enough').to.deep.equal([]);
    expect(forbidden(op, [ns, releaseNs]), 'nothing forbidden').to.deep.equal([]);
  });

  it('4. helm upgrade (a changed value) rolls no workload: the upgraded operator adopts nothing anew and rolls only a later change', async () => {
    await createConfigMap(ns, 'sentinel-cm', { v: '1' });
    await createDeployment(ns, deployment('sentinel', { annotations: ENABLED, podSpec: podSpecWithVolume('sentinel-cm') }));
    await recordedHash(ns, 'sentinel');
    const before = new Map<string, { hash?: string; generation?: number; replicaSets: number }>();
    for (const name of ['web', 'steady', 'sentinel']) {
      const d = await readDeployment(ns, name);
      before.set(name, { hash: d.metadata?.annotations?.[HASH], generation: d.metadata?.generation, replicaSets: (await replicaSetsOf(ns, name)).length });
    }

    // The upgrade replaces the operator's pods; the local process is replaced the same way.
    await op?.stop();
    const revision = (await operatorDeployment()).metadata?.annotations?.['deployment.kubernetes.io/revision'];
    helm('upgrade', RELEASE, CHART, '-n', releaseNs, '--reuse-values', '--set', 'logLevel=debug');
    const upgraded = await waitFor('the operator Deployment rolled by the upgrade', async () => {
      const d = await operatorDeployment();
      return d.metadata?.annotations?.['deployment.kubernetes.io/revision'] !== revision ? d : undefined;
    });
    expect(upgraded.spec?.template?.spec?.containers?.[0]?.args).to.include('--log-level=debug');

    op = await startOperator('helm-e2e-2');
    // Sentinel: a change made after the restart rolls; by then the start-up pass over every
    // adopted workload has been processed.
    await rewriteConfigMap(ns, 'sentinel-cm', { v: '2' });
    await waitForReplicaSets(ns, 'sentinel', 2);

    for (const name of ['web', 'steady']) {
      const d = await readDeployment(ns, name);
      const was = before.get(name)!;
      expect(d.metadata?.annotations?.[HASH], `${name} hash`).to.equal(was.hash);
      expect(d.metadata?.generation, `${name} generation`).to.equal(was.generation);
      expect(await replicaSetsOf(ns, name), `${name} ReplicaSets`).to.have.length(was.replicaSets);
      expect(op.decisions(`Deployment/${ns}/${name}`).filter((l) => l.message === 'rolled' || l.message === 'adopted'), name).to.deep.equal([]);
    }
    expect(op.logs.filter((l) => l.level === 'error')).to.deep.equal([]);
    expect(forbidden(op, [ns, releaseNs]), 'nothing forbidden').to.deep.equal([]);
  });

  it('5. helm uninstall leaves nothing of the release behind: no object of any kind it created, cluster-wide, no pod, no release record', async () => {
    await op?.stop();
    op = undefined;
    expect(installed.map((o) => o.kind)).to.include.members([
      'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Deployment', 'Lease', 'PodDisruptionBudget',
      'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding',
    ]);
    helm('uninstall', RELEASE, '-n', releaseNs, '--wait', '--timeout', '2m');

    const kinds = [...new Set([...installed.map((o) => o.kind), 'ReplicaSet', 'Pod', 'Secret'])];
    const resourceOf = (kind: string) => RESOURCE[kind] ?? ({ ReplicaSet: 'replicasets.apps', Pod: 'pods', Secret: 'secrets' } as Record<string, string>)[kind];
    for (const kind of kinds) expect(resourceOf(kind), `a resource name for ${kind}`).to.be.a('string');
    // Garbage collection of the ReplicaSets and pods is asynchronous: wait for it, then check
    // every kind once more by label, cluster-wide, and every object by name.
    await waitFor('every object of the release gone', async () => {
      for (const kind of kinds) {
        if (kubectl('get', resourceOf(kind)!, '-A', '-l', INSTANCE, '-o', 'name').trim() !== '') return undefined;
      }
      return true;
    }, 120_000);
    for (const kind of kinds) {
      expect(kubectl('get', resourceOf(kind)!, '-A', '-l', INSTANCE, '-o', 'name').trim(), `${kind} labelled ${INSTANCE}`).to.equal('');
    }
    for (const o of installed) {
      const args = ['get', RESOURCE[o.kind]!, o.metadata.name, '--ignore-not-found', '-o', 'name', ...(o.metadata.namespace ? ['-n', o.metadata.namespace] : [])];
      expect(kubectl(...args).trim(), `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`).to.equal('');
    }
    // helm's own record of the release (Secrets owner=helm, name=<release>).
    expect(kubectl('get', 'secrets', '-n', releaseNs, '-l', `owner=helm,name=${RELEASE}`, '-o', 'name').trim()).to.equal('');
    // The ServiceAccount's RBAC is gone with it.
    expect(canI(`system:serviceaccount:${releaseNs}:${FULLNAME}`, 'list', 'configmaps', ns)).to.equal('no');
  });
});

/**
 * Log lines of a refusal (HTTP 403) concerning these namespaces. The operator watches the whole
 * cluster, where namespaces of earlier tests may be terminating (creating an Event there is
 * refused too): only this test's namespaces count.
 */
function forbidden(op: OperatorProcess, namespaces: string[]): unknown[] {
  return op.logs.filter((l) => {
    const text = JSON.stringify(l);
    return (l.status === 403 || /forbidden/i.test(text)) && namespaces.some((n) => text.includes(n));
  });
}

async function kubeLease(namespace: string, name: string) {
  return testbed().kubeConfig().makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace, name });
}

function writeScratch(content: string): string {
  const file = path.join(scratchDir('rendered'), 'chart.yaml');
  writeFileSync(file, content);
  return file;
}
