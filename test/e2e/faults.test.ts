// Faults the operator must ride out without a restart.
import { expect } from 'chai';
import { testbed } from './hooks.ts';
import { namespaceWithOperator } from './operator-process.ts';
import {
  createConfigMap, createDeployment, deployment, ENABLED, podSpecWithVolume,
  recordedHash, rewriteConfigMap, waitForReplicaSets,
} from './support.ts';

describe('operator: faults', () => {
  const s = namespaceWithOperator('faults');

  it('14. the kube-apiserver restarted while the operator runs: a later change still rolls, without restarting the operator', async function () {
    const cp = testbed().controlPlane;
    if (!cp) throw new Error('this test restarts the kube-apiserver: it needs the local control plane, not USE_EXISTING_CLUSTER');
    await createConfigMap(s.ns, 'f-cm', { v: '1' });
    await createDeployment(s.ns, deployment('f', { annotations: ENABLED, podSpec: podSpecWithVolume('f-cm') }));
    await recordedHash(s.ns, 'f');
    const pid = s.op.pid;

    await cp.stopApiServer();
    await s.op.waitForLog('a failed watch', (l) => l.message === 'list/watch failed: retrying', 30_000);
    await cp.startApiServer();

    await rewriteConfigMap(s.ns, 'f-cm', { v: '2' });
    await waitForReplicaSets(s.ns, 'f', 2, 90_000);
    expect(s.op.pid).to.equal(pid);
    expect(s.op.logs.filter((l) => l.level === 'error' && /crash|unhandled/i.test(l.message))).to.have.length(0);
  });
});
