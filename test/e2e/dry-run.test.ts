// Dry-run runs the whole pipeline and writes nothing: no Deployment's resourceVersion moves,
// and the log names each would-be adoption and roll with its ConfigMaps and digests.
import { expect } from 'chai';
import { OperatorProcess } from './operator-process.ts';
import {
  createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, podSpecWithVolume,
  readDeployment, replicaSetsOf, rewriteConfigMap, sentinelRoll, waitForReplicaSets,
} from './support.ts';

describe('operator: dry-run', () => {
  let ns: string;
  let op: OperatorProcess;

  before(async () => {
    ns = await createNamespace('dry');
  });
  after(async () => {
    await op?.stop();
    await deleteNamespace(ns);
  });

  it('10. writes nothing, and logs every would-be adoption and roll', async () => {
    await createConfigMap(ns, 'dry-cm', { v: '1' });
    const names = ['dry-a', 'dry-b'];
    for (const n of names) {
      await createDeployment(ns, deployment(n, { annotations: ENABLED, podSpec: podSpecWithVolume('dry-cm') }));
      await waitForReplicaSets(ns, n, 1);
    }
    const rvBefore = new Map<string, string | undefined>();
    for (const n of names) rvBefore.set(n, (await readDeployment(ns, n)).metadata?.resourceVersion);

    op = await OperatorProcess.start({ args: ['--namespace', ns, '--dry-run'] });
    for (const n of names) {
      const line = await op.waitForLog(`would adopt ${n}`, (l) => l.message === 'would adopt' && l.workload === `Deployment/${ns}/${n}`);
      expect(line.dryRun).to.equal(true);
      expect(line.newDigest).to.match(/^v2-[0-9a-f]{8}-[0-9a-f]{64}$/);
    }
    await rewriteConfigMap(ns, 'dry-cm', { v: '2' });
    for (const n of names) {
      const line = await op.waitForLog(`would roll ${n}`, (l) => l.message === 'would roll' && l.workload === `Deployment/${ns}/${n}`);
      expect(line.changed).to.deep.equal(['ConfigMap dry-cm']);
      expect(line.oldDigest).to.match(/^v2-[0-9a-f]{8}-[0-9a-f]{64}$/);
      expect(line.newDigest).to.match(/^v2-[0-9a-f]{8}-[0-9a-f]{64}$/);
      expect(line.newDigest).to.not.equal(line.oldDigest);
      expect(line.patch).to.have.nested.property('spec.template.metadata.annotations');
    }
    // Everything the operator received so far is processed once the sentinel's would-be roll
    // is logged: a write, or a second report, would be there by now.
    await sentinelRoll(ns, { dryRun: op });
    for (const n of names) {
      expect((await readDeployment(ns, n)).metadata?.resourceVersion, n).to.equal(rvBefore.get(n));
      expect(await replicaSetsOf(ns, n)).to.have.length(1);
      // Reported once per change, not on every resync.
      expect(op.logs.filter((l) => l.message === 'would roll' && l.workload === `Deployment/${ns}/${n}`)).to.have.length(1);
    }
  });
});
