// Optional references: absence is part of the digest, so deletion and re-creation each roll.
// Required references: a missing one never rolls (the pods could not start) and says why;
// its appearance rolls.
import { expect } from 'chai';
import { OperatorProcess } from './operator-process.ts';
import {
  createConfigMap, createDeployment, createNamespace, deleteConfigMap, deleteNamespace, deployment, ENABLED,
  podSpecWithVolume, recordedHash, replicaSetsOf, sleep, waitForReplicaSets,
} from './support.ts';

describe('operator: missing ConfigMaps', () => {
  let ns: string;
  let op: OperatorProcess;

  before(async () => {
    ns = await createNamespace('missing');
    op = await OperatorProcess.start({ args: ['--namespace', ns] });
  });
  after(async () => {
    await op?.stop();
    await deleteNamespace(ns);
  });

  it('8a. an optional referenced ConfigMap deleted → roll; created again → roll', async () => {
    await createConfigMap(ns, 'opt-cm', { v: '1' });
    await createDeployment(ns, deployment('opt', { annotations: ENABLED, podSpec: podSpecWithVolume('opt-cm', { optional: true }) }));
    await recordedHash(ns, 'opt');
    await deleteConfigMap(ns, 'opt-cm');
    await waitForReplicaSets(ns, 'opt', 2);
    await createConfigMap(ns, 'opt-cm', { v: '1' });
    await waitForReplicaSets(ns, 'opt', 3);
  });

  it('8b. a required ConfigMap missing → no roll and a clear log line; once it appears → roll', async () => {
    await createDeployment(ns, deployment('req', { annotations: ENABLED, podSpec: podSpecWithVolume('req-cm') }));
    const line = await op.waitForLog('warning for req', (l) => l.message === 'required ConfigMap missing' && l.workload === `Deployment/${ns}/req`);
    expect(line.level).to.equal('warn');
    expect(String(line.reason)).to.contain('req-cm');
    await recordedHash(ns, 'req');
    await sleep(1500);
    expect(await replicaSetsOf(ns, 'req')).to.have.length(1);
    await createConfigMap(ns, 'req-cm', { v: '1' });
    await waitForReplicaSets(ns, 'req', 2);
  });

  it('8c. a required ConfigMap deleted after adoption → no roll; re-created with new data → one roll', async () => {
    await createConfigMap(ns, 'req2-cm', { v: '1' });
    await createDeployment(ns, deployment('req2', { annotations: ENABLED, podSpec: podSpecWithVolume('req2-cm') }));
    await recordedHash(ns, 'req2');
    await deleteConfigMap(ns, 'req2-cm');
    await op.waitForLog('warning for req2', (l) => l.message === 'required ConfigMap missing' && l.workload === `Deployment/${ns}/req2`);
    await sleep(1500);
    expect(await replicaSetsOf(ns, 'req2')).to.have.length(1);
    await createConfigMap(ns, 'req2-cm', { v: '2' });
    await waitForReplicaSets(ns, 'req2', 2);
  });
});
