// The operator as the image runs it: the esbuild bundle of `npm run build` (scripts/build.sh),
// started with the image's Node flags and environment, from a directory holding nothing but the
// bundle and its chunks and package.json (the image has no node_modules), and credentialed the
// in-cluster way, as in a pod: a ServiceAccount token file (a TokenRequest token), the cluster's
// CA and KUBERNETES_SERVICE_HOST/PORT, no kubeconfig — the path that loads no client-node
// (src/kube/in-cluster.ts; test/system/bundle.test.ts holds the bundle to it). The rest of the
// e2e suite runs the run's bundle from the checkout with a kubeconfig (test/e2e/global-setup.ts);
// this one proves the bundle needs nothing beside it: it adopts, rolls once per change, serves
// its metrics, and takes a rotated token once the old one is refused.
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { IMAGE_ENV, IMAGE_NODE_FLAGS } from '../support/image.ts';
import { testbed } from './hooks.ts';
import { OperatorProcess } from './operator-process.ts';
import {
  clients, configMapContent, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH, httpGet,
  metricValue, podSpecWithVolume, recordedHash, replicaSetsOf, rewriteConfigMap, sentinelRoll, waitFor, waitForReplicaSets, workloadDigest,
} from './support.ts';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

/** The cluster's CA, as the admin kubeconfig holds it (the kubelet mounts the same as ca.crt). */
function clusterCa(): Buffer {
  const ca = /certificate-authority-data: (\S+)/.exec(readFileSync(testbed().kubeconfigPath, 'utf8'))?.[1];
  if (!ca) throw new Error('the admin kubeconfig has no certificate-authority-data');
  return Buffer.from(ca, 'base64');
}

describe('image: the bundled operator (scripts/build.sh), started as the image starts it', function () {
  this.timeout(180_000);
  let dir: string;
  let ns: string;
  let op: OperatorProcess;
  /** Where the kubelet would mount the ServiceAccount: token, ca.crt, namespace. */
  let serviceAccountDir: string;
  /** Revokes the token the operator started with. */
  let revokeFirst: () => Promise<void>;
  const binding = `cro-image-${process.pid}`;

  before(async function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cro-image-'));
    execFileSync('bash', [path.join(root, 'scripts/build.sh'), path.join(dir, 'dist')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
    expect(existsSync(path.join(dir, 'node_modules')), 'nothing to resolve modules from').to.equal(false);
    ns = await createNamespace('image');
    // The operator's identity: a ServiceAccount, bound to cluster-admin (what it may do is tested
    // elsewhere: test/e2e/forbidden.test.ts, install.test.ts); here only how it authenticates matters.
    await clients().core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'operator' } } });
    await testbed().kubeConfig().makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({ body: {
      metadata: { name: binding },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'operator', namespace: ns }],
    } });
    serviceAccountDir = path.join(dir, 'serviceaccount');
    mkdirSync(serviceAccountDir);
    const first = await boundToken();
    revokeFirst = first.revoke;
    writeFileSync(path.join(serviceAccountDir, 'token'), first.token);
    writeFileSync(path.join(serviceAccountDir, 'ca.crt'), clusterCa());
    writeFileSync(path.join(serviceAccountDir, 'namespace'), ns);
    const server = new URL(testbed().server);
    op = await OperatorProcess.start({
      entry: [...IMAGE_NODE_FLAGS, path.join(dir, 'dist/main.js')],
      env: {
        ...IMAGE_ENV, NODE_ENV: 'production', KUBECONFIG: '', HOME: path.join(dir, 'home'),
        KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port || '443', CONFIG_RELOAD_SERVICE_ACCOUNT_DIR: serviceAccountDir,
      },
      args: ['--namespace', ns],
    });
  });
  after(async () => {
    await op?.stop();
    await testbed().kubeConfig().makeApiClient(RbacAuthorizationV1Api).deleteClusterRoleBinding({ name: binding }).catch(() => undefined);
    if (ns) await deleteNamespace(ns);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A TokenRequest token of the operator's ServiceAccount, bound to a Secret: deleting the Secret revokes it. */
  async function boundToken(): Promise<{ token: string; revoke: () => Promise<void> }> {
    const { core } = clients();
    const holder = await core.createNamespacedSecret({ namespace: ns, body: { metadata: { generateName: 'token-holder-' } } });
    const name = holder.metadata?.name as string;
    const tr = await core.createNamespacedServiceAccountToken({ namespace: ns, name: 'operator', body: { spec: {
      audiences: [], expirationSeconds: 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Secret', name, uid: holder.metadata?.uid },
    } } });
    const token = tr.status?.token;
    if (!token) throw new Error('TokenRequest returned no token');
    return { token, revoke: async () => void await core.deleteNamespacedSecret({ namespace: ns, name }) };
  }

  it('adopts without rolling, rolls once per change, and counts the roll in /metrics', async () => {
    await createConfigMap(ns, 'app-cm', { level: 'info' });
    await createDeployment(ns, deployment('app', { annotations: ENABLED, podSpec: podSpecWithVolume('app-cm') }));
    await recordedHash(ns, 'app');
    await waitForReplicaSets(ns, 'app', 1);

    await rewriteConfigMap(ns, 'app-cm', { level: 'debug' });
    const rolled = await waitForReplicaSets(ns, 'app', 2);
    const expected = workloadDigest([{ name: 'app-cm', optional: false, keys: null }], () => configMapContent({ data: { level: 'debug' } }));
    expect(rolled.spec?.template?.metadata?.annotations?.[HASH]).to.equal(expected);
    await sentinelRoll(ns);
    expect(await replicaSetsOf(ns, 'app'), 'one roll, not two').to.have.length(2);

    const metrics = await httpGet(await op.httpPort(), '/metrics');
    expect(metrics.status).to.equal(200);
    expect(metricValue(metrics.body, 'config_reload_rolls_total', { namespace: ns, dry_run: 'false' })).to.be.at.least(1);
  });

  it('runs on the ServiceAccount alone (no kubeconfig), and rolls with a rotated token once the old one is refused', async () => {
    const starting = await op.waitForLog('the start-up line', (l) => l.message === 'starting');
    expect(String(starting.credentials)).to.contain('in-cluster service account');
    expect(starting.server).to.equal(testbed().server.replace(/\/+$/, ''));

    await createConfigMap(ns, 'rot-cm', { v: '1' });
    await createDeployment(ns, deployment('rot', { annotations: ENABLED, podSpec: podSpecWithVolume('rot-cm') }));
    await recordedHash(ns, 'rot');
    await waitForReplicaSets(ns, 'rot', 1);

    // As the kubelet rotates: the new token written beside and renamed over; then the old one
    // revoked, and the roll waits until the apiserver refuses it (its token cache holds a
    // success for up to 10 s): the roll's patch can only go out with the token read again.
    const old = readFileSync(path.join(serviceAccountDir, 'token'), 'utf8');
    const fresh = await boundToken();
    writeFileSync(path.join(serviceAccountDir, 'token.new'), fresh.token);
    renameSync(path.join(serviceAccountDir, 'token.new'), path.join(serviceAccountDir, 'token'));
    await revokeFirst();
    await waitFor('the old token refused', async () => ((await statusWith(old)) === 401 ? true : undefined), 60_000);
    expect(await statusWith(fresh.token)).to.equal(200);

    await rewriteConfigMap(ns, 'rot-cm', { v: '2' });
    await waitForReplicaSets(ns, 'rot', 2);
    await sentinelRoll(ns);
    expect(await replicaSetsOf(ns, 'rot'), 'one roll, not two').to.have.length(2);
  });

  /** The HTTP status of a namespaced read with `token`, the cluster's CA trusted. */
  function statusWith(token: string): Promise<number> {
    const server = new URL(testbed().server);
    return new Promise((resolve, reject) => {
      const req = request({
        host: server.hostname, port: server.port, path: `/api/v1/namespaces/${ns}/configmaps?limit=1`, method: 'GET', ca: clusterCa(),
        headers: { authorization: `Bearer ${token}` }, timeout: 10_000,
      }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.end();
    });
  }
});
