// A forbidden API call is a precise log line and a Warning Event, never a crash: the operator
// keeps serving every other Deployment. Here RBAC lets it patch one Deployment of two.
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../scratch-dir.ts';
import { E2E_DIGEST_KEY_BASE64 } from './digest-key.ts';
import { testbed } from './hooks.ts';
import { OperatorProcess } from './operator-process.ts';
import {
  clients, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH,
  podSpecWithVolume, readDeployment, recordedHash, rewriteConfigMap, SENTINEL_PREFIX, sentinelRoll, waitFor, waitForReplicaSets, httpGet, metricValue,
} from './support.ts';

// The sentinel that proves the operator is done must be patchable too.
const SENTINEL = `${SENTINEL_PREFIX}forbid`;

describe('operator: forbidden writes', () => {
  let ns: string;
  let op: OperatorProcess | undefined;

  before(async () => {
    ns = await createNamespace('forbid');
  });
  after(async () => {
    await op?.stop();
    await deleteNamespace(ns);
  });

  it('a 403 on one Deployment: a clear error line and a Warning Event; the others are still served', async () => {
    const { core, kc } = clients();
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'narrow' } } });
    await rbac.createNamespacedRole({ namespace: ns, body: {
      metadata: { name: 'narrow' },
      rules: [
        { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch'] },
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['list', 'watch'] },
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'], resourceNames: ['allowed', SENTINEL] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      ],
    } });
    await rbac.createNamespacedRoleBinding({ namespace: ns, body: {
      metadata: { name: 'narrow' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'narrow' },
      subjects: [{ kind: 'ServiceAccount', name: 'narrow', namespace: ns }],
    } });
    const tr = await core.createNamespacedServiceAccountToken({ namespace: ns, name: 'narrow', body: { spec: { audiences: [] } } });
    const admin = readFileSync(testbed().kubeconfigPath, 'utf8');
    const kubeconfig = path.join(scratchDir('narrow'), 'kubeconfig');
    writeFileSync(kubeconfig, admin.replace(/users:[\s\S]*?contexts:/, `users:\n- name: testbed-admin\n  user:\n    token: ${tr.status?.token}\ncontexts:`));

    await createConfigMap(ns, 'shared-cm', { v: '1' });
    for (const n of ['allowed', 'denied']) {
      await createDeployment(ns, deployment(n, { annotations: ENABLED, podSpec: podSpecWithVolume('shared-cm') }));
    }
    // The narrow Role grants no Secret, StatefulSet or DaemonSet access and no key Secret: the
    // key comes from a file, and the refused watches are said once while the rest is served.
    const keyFile = path.join(scratchDir('narrow-key'), 'key');
    writeFileSync(keyFile, E2E_DIGEST_KEY_BASE64);
    op = await OperatorProcess.start({ args: ['--kubeconfig', kubeconfig, '--namespace', ns, '--digest-key-file', keyFile], env: { KUBECONFIG: '' } });
    const refused = await op.waitForLog('secrets refused', (l) => l.message === 'cannot watch secrets: serving everything else, retrying with backoff');
    expect(refused).to.include({ level: 'error', toTurnOff: '--config-sources configmaps' });
    expect(String(refused.missingPermission)).to.equal(`list and watch on secrets (namespace ${ns})`);

    const line = await op.waitForLog('patch refused', (l) => l.message === 'patch refused by the API server' && l.workload === `Deployment/${ns}/denied`);
    expect(line.level).to.equal('error');
    expect(String(line.error)).to.match(/HTTP 403/);
    await recordedHash(ns, 'allowed');
    await rewriteConfigMap(ns, 'shared-cm', { v: '2' });
    await waitForReplicaSets(ns, 'allowed', 2);

    const event = await waitFor('PatchRejected event', async () => {
      const list = await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=denied' });
      return list.items.find((e) => e.reason === 'PatchRejected');
    });
    expect(event.type).to.equal('Warning');
    await sentinelRoll(ns, { name: SENTINEL });
    expect((await readDeployment(ns, 'denied')).metadata?.annotations?.[HASH]).to.equal(undefined);
    expect(op.logs.filter((l) => l.message === 'cannot watch secrets: serving everything else, retrying with backoff'), 'said once').to.have.length(1);
    const metrics = (await httpGet(await op.httpPort(), '/metrics')).body;
    expect(metricValue(metrics, 'config_reload_watch_available', { resource: 'secrets' })).to.equal(0);
    expect(op.pid).to.be.a('number');
    // Still running: a clean SIGTERM exits 0.
    expect(await op.stop()).to.equal(0);
    op = undefined;
  });
});
