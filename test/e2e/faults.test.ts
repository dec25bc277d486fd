// Faults the operator must ride out without a restart.
import { expect } from 'chai';
import { testbed } from './hooks.ts';
import { OperatorProcess } from './operator-process.ts';
import {
  createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, podSpecWithVolume,
  recordedHash, rewriteConfigMap, waitForReplicaSets,
} from './support.ts';

describe('operator: faults', () => {
  let ns: string;
  let op: OperatorProcess;

  before(async () => {
    ns = await createNamespace('faults');
    op = await OperatorProcess.start({ args: ['--namespace', ns] });
  });
  after(async () => {
    await op?.stop();
    await deleteNamespace(ns);
  });

  it('14. the kube-apiserver restarted while the operator runs: a later change still rolls, without restarting the operator', async function () {
    const cp = testbed().controlPlane;
    if (!cp) throw new Error('this test restarts the kube-apiserver: it needs the local control plane, not USE_EXISTING_CLUSTER');
    await createConfigMap(ns, 'f-cm', { v: '1' });
    await createDeployment(ns, deployment('f', { annotations: ENABLED, podSpec: podSpecWithVolume('f-cm') }));
    await recordedHash(ns, 'f');
    const pid = op.pid;

    await cp.stopApiServer();
    await op.waitForLog('a failed watch', (l) => l.message === 'list/watch failed: retrying', 30_000);
    await cp.startApiServer();

    await rewriteConfigMap(ns, 'f-cm', { v: '2' });
    await waitForReplicaSets(ns, 'f', 2, 90_000);
    expect(op.pid).to.equal(pid);
    expect(op.logs.filter((l) => l.level === 'error' && /crash|unhandled/i.test(l.message))).to.have.length(0);
  });
});
