// Adoption never rolls; restarting the operator rolls nothing; a change made while it was
// down rolls exactly once when it comes back (catch-up).
import { expect } from 'chai';
import { OperatorProcess } from './operator-process.ts';
import {
  createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH, podSpecWithVolume,
  isSentinel, readDeployment, recordedHash, replicaSetsOf, rewriteConfigMap, sentinelRoll, waitForReplicaSets,
} from './support.ts';

describe('operator: adoption, restart, catch-up', () => {
  let ns: string;
  let op: OperatorProcess | undefined;

  before(async () => {
    ns = await createNamespace('life');
  });
  after(async () => {
    await op?.stop();
    await deleteNamespace(ns);
  });

  it('4. Deployments that exist before the operator starts are adopted: metadata annotation, no new ReplicaSet', async () => {
    await createConfigMap(ns, 'pre-cm', { v: '1' });
    for (const n of ['pre-a', 'pre-b']) {
      await createDeployment(ns, deployment(n, { annotations: ENABLED, podSpec: podSpecWithVolume('pre-cm') }));
      await waitForReplicaSets(ns, n, 1);
    }
    op = await OperatorProcess.start({ args: ['--namespace', ns] });
    for (const n of ['pre-a', 'pre-b']) {
      const hash = await recordedHash(ns, n);
      expect(hash).to.match(/^v2-[0-9a-f]{8}-[0-9a-f]{64}$/);
      const d = await readDeployment(ns, n);
      expect(d.spec?.template?.metadata?.annotations?.[HASH], 'template untouched').to.equal(undefined);
      await op.waitForLog(`adopted ${n}`, (l) => l.message === 'adopted' && l.workload === `Deployment/${ns}/${n}`);
    }
    // Including the reconciles queued by the watch events of the adoption writes.
    await sentinelRoll(ns);
    for (const n of ['pre-a', 'pre-b']) expect(await replicaSetsOf(ns, n)).to.have.length(1);
  });

  it('5a. restarting the operator rolls nothing', async () => {
    const before = await readDeployment(ns, 'pre-a');
    await op?.stop();
    op = await OperatorProcess.start({ args: ['--namespace', ns] });
    // The start-up pass queued whatever it found to do before the sentinel was created. The
    // sentinel's own roll is left out of the log count below.
    await sentinelRoll(ns);
    const after = await readDeployment(ns, 'pre-a');
    expect(after.metadata?.resourceVersion).to.equal(before.metadata?.resourceVersion);
    expect(await replicaSetsOf(ns, 'pre-a')).to.have.length(1);
    expect(op.logs.filter((l) => (l.message === 'rolled' || l.message === 'adopted') && !isSentinel(l))).to.have.length(0);
  });

  it('5b. a ConfigMap changed while the operator is stopped rolls its Deployment exactly once after it starts', async () => {
    const exit = await op?.stop();
    expect(exit).to.equal(0);
    await rewriteConfigMap(ns, 'pre-cm', { v: '2' });
    // No operator runs (it exited above): nothing can have rolled pre-a, there is nothing to
    // wait for. That it rolls exactly once after the restart is asserted below.
    expect(await replicaSetsOf(ns, 'pre-a')).to.have.length(1);
    op = await OperatorProcess.start({ args: ['--namespace', ns] });
    for (const n of ['pre-a', 'pre-b']) await waitForReplicaSets(ns, n, 2);
    await sentinelRoll(ns);
    for (const n of ['pre-a', 'pre-b']) expect(await replicaSetsOf(ns, n)).to.have.length(2);
    expect(op.logs.filter((l) => l.message === 'rolled' && !isSentinel(l))).to.have.length(2);
  });
});
