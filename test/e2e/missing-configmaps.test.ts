// Optional references: absence is part of the digest, so deletion and re-creation each roll.
// Required references: a missing one never rolls (the pods could not start) and says why;
// its appearance rolls.
import { expect } from 'chai';
import { namespaceWithOperator } from './operator-process.ts';
import {
  createConfigMap, createDeployment, deleteConfigMap, deployment, ENABLED,
  podSpecWithVolume, recordedHash, replicaSetsOf, sentinelRoll, waitForReplicaSets,
} from './support.ts';

describe('operator: missing ConfigMaps', () => {
  const s = namespaceWithOperator('missing');

  it('8a. an optional referenced ConfigMap deleted → roll; created again → roll', async () => {
    await createConfigMap(s.ns, 'opt-cm', { v: '1' });
    await createDeployment(s.ns, deployment('opt', { annotations: ENABLED, podSpec: podSpecWithVolume('opt-cm', { optional: true }) }));
    await recordedHash(s.ns, 'opt');
    await deleteConfigMap(s.ns, 'opt-cm');
    await waitForReplicaSets(s.ns, 'opt', 2);
    await createConfigMap(s.ns, 'opt-cm', { v: '1' });
    await waitForReplicaSets(s.ns, 'opt', 3);
  });

  it('8b. a required ConfigMap missing → no roll and a clear log line; once it appears → roll', async () => {
    await createDeployment(s.ns, deployment('req', { annotations: ENABLED, podSpec: podSpecWithVolume('req-cm') }));
    const line = await s.op.waitForLog('warning for req', (l) => l.message === 'required ConfigMap missing' && l.workload === `Deployment/${s.ns}/req`);
    expect(line.level).to.equal('warn');
    expect(String(line.reason)).to.contain('req-cm');
    await recordedHash(s.ns, 'req');
    // Including the reconcile queued by the watch event of that write.
    await sentinelRoll(s.ns);
    expect(await replicaSetsOf(s.ns, 'req')).to.have.length(1);
    await createConfigMap(s.ns, 'req-cm', { v: '1' });
    await waitForReplicaSets(s.ns, 'req', 2);
  });

  it('8c. a required ConfigMap deleted after adoption → no roll; re-created with new data → one roll', async () => {
    await createConfigMap(s.ns, 'req2-cm', { v: '1' });
    await createDeployment(s.ns, deployment('req2', { annotations: ENABLED, podSpec: podSpecWithVolume('req2-cm') }));
    await recordedHash(s.ns, 'req2');
    await deleteConfigMap(s.ns, 'req2-cm');
    await s.op.waitForLog('warning for req2', (l) => l.message === 'required ConfigMap missing' && l.workload === `Deployment/${s.ns}/req2`);
    await sentinelRoll(s.ns);
    expect(await replicaSetsOf(s.ns, 'req2')).to.have.length(1);
    await createConfigMap(s.ns, 'req2-cm', { v: '2' });
    await waitForReplicaSets(s.ns, 'req2', 2);
  });
});
