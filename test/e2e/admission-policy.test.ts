// The chart's ValidatingAdmissionPolicy on a real apiserver (docs/security.md, "Admission
// policy"): as the operator's ServiceAccount, a workload update that changes anything but
// config-reload.dev/ annotations is refused with the policy's message, and so is a Secret other
// than the digest key; the operator itself, run as a local process with that ServiceAccount's
// token and the chart's arguments, creates its key, adopts and rolls (counted in ReplicaSets)
// with the policy in force. Anyone else is not matched: the admin's same patch passes.
import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Secret } from '@kubernetes/client-node';
import { expect } from 'chai';
import { httpStatus } from '../../src/kube/api-error.ts';
import {
  CHART, chartTools, find, helmEnv, type K8sObject, mustFind, operatorContainer, parseObjects, PLACEHOLDER_IMAGE_REPOSITORY, run,
} from '../support/chart.ts';
import { testbed } from './hooks.ts';
import { OperatorProcess } from './operator-process.ts';
import {
  clients, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH, kubectl,
  podSpecWithVolume, readDeployment, recordedHash, replicaSetsOf, rewriteConfigMap, serviceAccountKubeconfig, waitFor, waitForReplicaSets,
} from './support.ts';

const RELEASE = 'cro-vap';
const FULLNAME = `${RELEASE}-config-reload-operator`;
const KEY_SECRET = 'config-reload-digest-key';
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

describe('admission policy: the operator\'s ServiceAccount may change only what it owns', () => {
  let helmBin: string;
  let env: NodeJS.ProcessEnv;
  let releaseNs: string;
  let ns: string;
  let op: OperatorProcess | undefined;
  let asOperator: { apps: AppsV1Api; core: CoreV1Api };
  let saKubeconfig: string;
  const helm = (...args: string[]) => run(helmBin, [...args, '--kubeconfig', testbed().kubeconfigPath], { env });

  /** The refusal of `call`: its HTTP status and message (fails when the call passes). */
  async function refusal(call: () => Promise<unknown>): Promise<{ status: number | undefined; message: string }> {
    try {
      await call();
    } catch (err) {
      const body = (err as { body?: unknown }).body;
      const message = typeof body === 'string' ? (JSON.parse(body) as { message?: string }).message ?? body : String(err);
      return { status: httpStatus(err), message };
    }
    throw new Error('the request passed: the policy should have refused it');
  }

  const patchAs = (body: object) => asOperator.apps.patchNamespacedDeployment({ namespace: ns, name: 'target', body }, MERGE);

  before(async function () {
    this.timeout(10 * 60_000);
    helmBin = (await chartTools()).helm;
    env = helmEnv();
    releaseNs = await createNamespace('cro-vap');
    ns = await createNamespace('vap');
    helm('install', RELEASE, CHART, '-n', releaseNs, '--set', `image.repository=${PLACEHOLDER_IMAGE_REPOSITORY}`);
    const installed = await parseObjects(helm('get', 'manifest', RELEASE, '-n', releaseNs));
    mustFind(installed, 'ValidatingAdmissionPolicy', FULLNAME);
    mustFind(installed, 'ValidatingAdmissionPolicyBinding', FULLNAME);
    saKubeconfig = await serviceAccountKubeconfig(releaseNs, FULLNAME);
    const kc = new KubeConfig();
    kc.loadFromFile(saKubeconfig);
    asOperator = { apps: kc.makeApiClient(AppsV1Api), core: kc.makeApiClient(CoreV1Api) };

    await createDeployment(ns, deployment('target', { annotations: { team: 'a' }, podSpec: podSpecWithVolume('absent-cm') }));
    // Policies take effect asynchronously (the apiserver's policy informer): wait until a change
    // the policy refuses is refused. The same request is the first assertion below.
    await waitFor('the policy in force', async () => {
      try {
        await patchAs({ metadata: { labels: { probe: 'x' } } });
        await clients().apps.patchNamespacedDeployment({ namespace: ns, name: 'target', body: { metadata: { labels: { probe: null } } } }, MERGE);
        return undefined;
      } catch (err) {
        return httpStatus(err) === 403 || httpStatus(err) === 422 ? true : undefined;
      }
    }, 120_000);
  });

  after(async function () {
    this.timeout(120_000);
    await op?.stop();
    try {
      helm('uninstall', RELEASE, '-n', releaseNs);
    } catch {
      // not installed
    }
    await deleteNamespace(ns);
    await deleteNamespace(releaseNs);
  });

  it('its CEL type-checks against the workload and Secret schemas (no warning in the policy\'s status)', async () => {
    // The kube-controller-manager's validatingadmissionpolicy-status-controller writes it.
    const typeChecking = await waitFor('the policy type-checked', async () => {
      const policy = JSON.parse(kubectl('get', 'validatingadmissionpolicies.admissionregistration.k8s.io', FULLNAME, '-o', 'json')) as {
        metadata: { generation: number }; status?: { observedGeneration?: number; typeChecking?: { expressionWarnings?: unknown[] } };
      };
      return policy.status?.observedGeneration === policy.metadata.generation ? policy.status.typeChecking ?? {} : undefined;
    });
    expect(typeChecking.expressionWarnings ?? [], 'expression warnings').to.deep.equal([]);
  });

  it('refuses an image change, a label change, a foreign annotation (workload or pod template), a spec change, with the policy\'s message', async () => {
    const before = await readDeployment(ns, 'target');
    const changes: Array<[string, object]> = [
      ['image', { spec: { template: { spec: { containers: [{ name: 'app', image: 'evil.example/miner:1' }] } } } }],
      ['label', { metadata: { labels: { probe: 'x' } } }],
      ['workload annotation', { metadata: { annotations: { team: 'b' } } }],
      ['new workload annotation', { metadata: { annotations: { 'example.com/x': 'y' } } }],
      ['removed workload annotation', { metadata: { annotations: { team: null } } }],
      ['pod-template annotation', { spec: { template: { metadata: { annotations: { 'example.com/x': 'y' } } } } }],
      ['pod-template label', { spec: { template: { metadata: { labels: { extra: 'y' } } } } }],
      ['replicas', { spec: { replicas: 5 } }],
      ['ours and theirs together', { metadata: { annotations: { [HASH]: 'v2-x-y', team: 'b' } } }],
    ];
    for (const [what, body] of changes) {
      const refused = await refusal(() => patchAs(body));
      expect(refused.status, what).to.equal(403);
      expect(refused.message, what).to.contain(`ValidatingAdmissionPolicy '${FULLNAME}'`)
        .and.to.contain('may change only config-reload.dev/ annotations of a workload');
    }
    const after = await readDeployment(ns, 'target');
    expect(after.metadata?.resourceVersion, 'nothing written').to.equal(before.metadata?.resourceVersion);
    // The admin is not matched: the same image change passes.
    await clients().apps.patchNamespacedDeployment({ namespace: ns, name: 'target', body: { metadata: { annotations: { team: 'c' } } } }, MERGE);
    // Its own annotations, on the workload and the pod template, pass (as its patches write them).
    await patchAs({ metadata: { annotations: { [HASH]: 'v2-probe' } }, spec: { template: { metadata: { annotations: { [HASH]: 'v2-probe' } } } } });
    expect((await readDeployment(ns, 'target')).spec?.template?.metadata?.annotations?.[HASH]).to.equal('v2-probe');
  });

  it('a StatefulSet and a DaemonSet alike: a roll of its own annotations passes (the DaemonSet\'s template generation, bumped by the apiserver, included), an image change does not', async () => {
    const template = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] } };
    await clients().apps.createNamespacedStatefulSet({ namespace: ns, body: { metadata: { name: 'db' }, spec: { serviceName: 'db', replicas: 0, selector: { matchLabels: { app: 'x' } }, template } } });
    await clients().apps.createNamespacedDaemonSet({ namespace: ns, body: { metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'x' } }, template } } });
    const roll = { metadata: { annotations: { [HASH]: 'v2-probe' } }, spec: { template: { metadata: { annotations: { [HASH]: 'v2-probe' } } } } };
    const image = { spec: { template: { spec: { containers: [{ name: 'app', image: 'evil.example/miner:1' }] } } } };
    await asOperator.apps.patchNamespacedStatefulSet({ namespace: ns, name: 'db', body: roll }, MERGE);
    await asOperator.apps.patchNamespacedDaemonSet({ namespace: ns, name: 'agent', body: roll }, MERGE);
    const ds = await clients().apps.readNamespacedDaemonSet({ namespace: ns, name: 'agent' });
    expect(ds.metadata?.annotations?.['deprecated.daemonset.template.generation']).to.equal('2');
    for (const [what, call] of [
      ['StatefulSet', () => asOperator.apps.patchNamespacedStatefulSet({ namespace: ns, name: 'db', body: image }, MERGE)],
      ['DaemonSet', () => asOperator.apps.patchNamespacedDaemonSet({ namespace: ns, name: 'agent', body: image }, MERGE)],
    ] as const) {
      const refused = await refusal(call);
      expect(refused.status, what).to.equal(403);
      expect(refused.message, what).to.contain('may change only config-reload.dev/ annotations of a workload');
    }
  });

  it('refuses a delete, and any Secret but the digest key (another name, another type, another item)', async () => {
    const del = await refusal(() => asOperator.apps.deleteNamespacedDeployment({ namespace: ns, name: 'target' }));
    // RBAC grants no delete: the request is refused before admission, which is the point too.
    expect(del.status).to.equal(403);
    const secret = (name: string, type = 'Opaque'): V1Secret => ({ metadata: { name }, type, data: { key: Buffer.alloc(32, 1).toString('base64') } });
    for (const [what, body] of [
      ['another name', secret('planted')],
      ['a ServiceAccount token', { ...secret('sa-token', 'kubernetes.io/service-account-token'), metadata: { name: 'sa-token', annotations: { 'kubernetes.io/service-account.name': FULLNAME } } }],
      ['a Helm release record', secret('sh.helm.release.v1.cro-vap.v9', 'helm.sh/release.v1')],
      ['the key\'s name, another type', secret(KEY_SECRET, 'helm.sh/release.v1')],
      ['the key\'s name, another item', { ...secret(KEY_SECRET), data: { key: 'AA==', other: 'AA==' } }],
    ] as const) {
      const refused = await refusal(() => asOperator.core.createNamespacedSecret({ namespace: releaseNs, body: body as V1Secret }));
      expect(refused.status, what).to.equal(403);
      expect(refused.message, what).to.contain(`may create only the digest key Secret ${releaseNs}/${KEY_SECRET}`);
    }
    expect(kubectl('get', 'secrets', '-n', releaseNs, '-o', 'name').trim().split('\n').filter((s) => s.includes('planted') || s.includes('sa-token')))
      .to.deep.equal([]);
  });

  it('the operator, as that ServiceAccount with the chart\'s args, creates its key, adopts and rolls under the policy', async function () {
    this.timeout(5 * 60_000);
    await createConfigMap(ns, 'web-cm', { v: '1' });
    await createDeployment(ns, deployment('web', { annotations: ENABLED, podSpec: podSpecWithVolume('web-cm') }));
    await waitForReplicaSets(ns, 'web', 1);
    const d = JSON.parse(kubectl('get', 'deployment', FULLNAME, '-n', releaseNs, '-o', 'json')) as K8sObject;
    const args = (operatorContainer(d).args ?? []).filter((a) => !a.startsWith('--http-addr'));
    op = await OperatorProcess.start({
      args: ['--kubeconfig', saKubeconfig, ...args],
      env: { KUBECONFIG: '', POD_NAME: 'vap-e2e', POD_NAMESPACE: releaseNs, CONFIG_RELOAD_DIGEST_KEY_NAMESPACE: releaseNs },
    });
    await op.waitForLog('leadership', (l) => l.message === 'became leader: starting workers once synced');
    // The key: created by the operator through the policy.
    expect(op.logs.some((l) => String(l.message).startsWith('created a new digest key')), 'key created').to.equal(true);
    const adopted = await recordedHash(ns, 'web');
    expect(await replicaSetsOf(ns, 'web')).to.have.length(1);
    await rewriteConfigMap(ns, 'web-cm', { v: '2' });
    const rolled = await waitForReplicaSets(ns, 'web', 2);
    expect(rolled.metadata?.annotations?.[HASH]).to.not.equal(adopted);
    expect(rolled.spec?.template?.metadata?.annotations?.[HASH]).to.equal(rolled.metadata?.annotations?.[HASH]);
    const refusedLines = op.logs.filter((l) => /ValidatingAdmissionPolicy|forbidden/i.test(JSON.stringify(l)) && JSON.stringify(l).includes(ns));
    expect(refusedLines, 'nothing refused').to.deep.equal([]);
    expect(find(await parseObjects(kubectl('get', 'secret', KEY_SECRET, '-n', releaseNs, '-o', 'yaml')), 'Secret', KEY_SECRET)).to.not.equal(undefined);
  });
});
