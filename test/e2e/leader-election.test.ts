// Two replicas on one Lease: exactly one acts; when the leader is SIGKILLed the standby takes
// over within the lease duration and the next change rolls.
import { CoordinationV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { OperatorProcess } from './operator-process.ts';
import {
  clients, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, podSpecWithVolume,
  isSentinel, recordedHash, replicaSetsOf, rewriteConfigMap, sentinelRoll, waitFor, waitForReplicaSets,
} from './support.ts';

describe('high availability: leader election on a Lease', () => {
  let ns: string;
  const ops: OperatorProcess[] = [];

  before(async () => {
    ns = await createNamespace('ha');
  });
  after(async () => {
    await Promise.all(ops.map((o) => o.stop('SIGKILL')));
    await deleteNamespace(ns);
  });

  it('3. one change → one roll; the leader SIGKILLed → the other takes over and the next change rolls; the Lease names the holder', async () => {
    const leases = clients().kc.makeApiClient(CoordinationV1Api);
    const holder = async () => (await leases.readNamespacedLease({ namespace: ns, name: 'ha-lease' })).spec?.holderIdentity;
    const args = (id: string) => ({
      args: ['--namespace', ns, '--leader-elect', '--leader-election-namespace', ns, '--leader-election-id', 'ha-lease', '--lease-duration', '3s'],
      env: { POD_NAME: id },
      waitFor: 'spawned' as const,
    });
    await createConfigMap(ns, 'ha-cm', { v: '1' });
    await createDeployment(ns, deployment('ha', { annotations: ENABLED, podSpec: podSpecWithVolume('ha-cm') }));

    ops.push(await OperatorProcess.start(args('replica-a')));
    ops.push(await OperatorProcess.start(args('replica-b')));
    const leaderId = await waitFor('a Lease holder', async () => (await holder()) || undefined);
    const leader = ops.find((_, i) => ['replica-a', 'replica-b'][i] === leaderId)!;
    const standby = ops.find((o) => o !== leader)!;
    expect(leader).to.not.equal(undefined);
    await leader.waitForLog('workers started', (l) => l.message === 'resync' && l.why === 'start');
    // The standby syncs its caches (it is ready) but takes no work.
    await standby.waitForLog('caches synced', (l) => l.message === 'caches synced');

    await recordedHash(ns, 'ha');
    await rewriteConfigMap(ns, 'ha-cm', { v: '2' });
    await waitForReplicaSets(ns, 'ha', 2);
    // The sentinel is rolled by the leader; its log lines are left out of the counts below.
    await sentinelRoll(ns);
    expect(await replicaSetsOf(ns, 'ha')).to.have.length(2);
    expect(leader.logs.filter((l) => l.message === 'rolled' && !isSentinel(l))).to.have.length(1);
    expect(standby.logs.filter((l) => l.message === 'rolled' || l.message === 'adopted')).to.have.length(0);

    const killedAt = Date.now();
    await leader.stop('SIGKILL');
    const newHolder = await waitFor('the standby to hold the Lease', async () => ((await holder()) === (leaderId === 'replica-a' ? 'replica-b' : 'replica-a') ? true : undefined), 20_000);
    expect(newHolder).to.equal(true);
    await standby.waitForLog('workers started', (l) => l.message === 'resync' && l.why === 'start', 20_000);
    // Lease of 3 s plus the standby's retry period and jitter.
    expect(Date.now() - killedAt).to.be.below(8000);

    await rewriteConfigMap(ns, 'ha-cm', { v: '3' });
    await waitForReplicaSets(ns, 'ha', 3);
    await sentinelRoll(ns);
    expect(await replicaSetsOf(ns, 'ha')).to.have.length(3);
    expect(standby.logs.filter((l) => l.message === 'rolled' && !isSentinel(l))).to.have.length(1);
  });
});
