// Two faults of the matrix (issue 12) that kill the operator in the middle of a burst of
// changes: the replacement (a restart, or the standby taking over the Lease) rolls the rest,
// and every affected workload rolls exactly once. Counted by ReplicaSets.
import { CoordinationV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { OperatorProcess } from './operator-process.ts';
import {
  clients, configMapContent, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH,
  isSentinel, podSpecWithVolume, readDeployment, recordedHash, replicaSetsOf, rewriteConfigMap, sentinelRoll, waitFor, waitForReplicaSets, workloadDigest,
} from './support.ts';

const NAMES = Array.from({ length: 16 }, (_, i) => `k${String(i).padStart(2, '0')}`);

async function createWorkloads(ns: string): Promise<void> {
  for (const n of NAMES) {
    await createConfigMap(ns, `${n}-cm`, { v: '1' });
    await createDeployment(ns, deployment(n, { annotations: ENABLED, podSpec: podSpecWithVolume(`${n}-cm`), replicas: 1 }));
  }
}

/** Every workload rolled exactly once, to the digest of v=2, after the sentinel proves the operator is idle. */
async function expectEachRolledOnce(ns: string): Promise<void> {
  for (const n of NAMES) await waitForReplicaSets(ns, n, 2, 120_000);
  await sentinelRoll(ns);
  for (const n of NAMES) {
    expect(await replicaSetsOf(ns, n), n).to.have.length(2);
    const expected = workloadDigest([{ name: `${n}-cm`, optional: false, keys: null }], () => configMapContent({ data: { v: '2' } }));
    expect((await readDeployment(ns, n)).spec?.template?.metadata?.annotations?.[HASH], n).to.equal(expected);
  }
}

const rolls = (op: OperatorProcess) => op.logs.filter((l) => l.message === 'rolled' && !isSentinel(l)).length;

describe('faults: the operator killed mid-burst', function () {
  this.timeout(300_000);
  let ns = '';
  const ops: OperatorProcess[] = [];
  afterEach(async () => {
    await Promise.all(ops.splice(0).map((o) => o.stop('SIGKILL')));
    if (ns) await deleteNamespace(ns);
    ns = '';
  });

  it('SIGKILL mid-burst: the restarted operator catches up and rolls the rest, each workload once', async () => {
    ns = await createNamespace('kill');
    await createWorkloads(ns);
    // --qps 4 spreads the 16 rolls over 4 s, so the kill lands while some are still to come.
    const first = await OperatorProcess.start({ args: ['--namespace', ns, '--debounce', '0', '--qps', '4', '--burst', '1'] });
    ops.push(first);
    for (const n of NAMES) await recordedHash(ns, n, 60_000);
    await sentinelRoll(ns);

    await Promise.all(NAMES.map((n) => rewriteConfigMap(ns, `${n}-cm`, { v: '2' })));
    await first.waitForLog('first roll', (l) => l.message === 'rolled' && !isSentinel(l));
    await first.stop('SIGKILL');
    expect(rolls(first), 'the kill landed mid-burst').to.be.below(NAMES.length);

    const second = await OperatorProcess.start({ args: ['--namespace', ns, '--debounce', '0'] });
    ops.push(second);
    await expectEachRolledOnce(ns);
    expect(rolls(second), 'the restart rolled the rest').to.be.above(0);
  });

  it('leader failover mid-burst: two replicas on a Lease, the leader SIGKILLed; together they roll each workload once', async () => {
    ns = await createNamespace('failover');
    await createWorkloads(ns);
    const leases = clients().kc.makeApiClient(CoordinationV1Api);
    const holder = async () => (await leases.readNamespacedLease({ namespace: ns, name: 'failover' })).spec?.holderIdentity;
    const start = (id: string) => OperatorProcess.start({
      args: ['--namespace', ns, '--debounce', '0', '--qps', '4', '--burst', '1', '--leader-elect', '--leader-election-namespace', ns,
        '--leader-election-id', 'failover', '--lease-duration', '3s'],
      env: { POD_NAME: id },
      waitFor: 'spawned',
    });
    const replicas = { 'replica-a': await start('replica-a'), 'replica-b': await start('replica-b') };
    ops.push(...Object.values(replicas));
    const leaderId = await waitFor('a Lease holder', async () => (await holder()) || undefined) as keyof typeof replicas;
    const leader = replicas[leaderId];
    const standby = replicas[leaderId === 'replica-a' ? 'replica-b' : 'replica-a'];
    for (const n of NAMES) await recordedHash(ns, n, 60_000);
    await standby.waitForLog('caches synced', (l) => l.message === 'caches synced');
    await sentinelRoll(ns);

    await Promise.all(NAMES.map((n) => rewriteConfigMap(ns, `${n}-cm`, { v: '2' })));
    await leader.waitForLog('first roll', (l) => l.message === 'rolled' && !isSentinel(l));
    await leader.stop('SIGKILL');
    expect(rolls(leader), 'the kill landed mid-burst').to.be.below(NAMES.length);

    await expectEachRolledOnce(ns);
    expect(rolls(standby), 'the new leader rolled the rest').to.be.above(0);
  });
});
