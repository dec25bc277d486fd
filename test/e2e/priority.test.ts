// No real change waits behind housekeeping or behind someone else's fan-out ("Work queue" in
// docs/architecture.md). Both tests assert an order, not a time: the write budgets make the
// housekeeping (or the fan-out) take tens of seconds whatever the machine's load, and the
// change under test must be done before it is.
import { expect } from 'chai';
import { OperatorProcess } from './operator-process.ts';
import {
  clients, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH,
  podSpecWithVolume, replicaSetsOf, rewriteConfigMap, sentinelRoll, waitFor,
} from './support.ts';

/** Deployments of the namespace by name, with their recorded digest and pod-template digest. */
async function digests(ns: string): Promise<Map<string, { recorded?: string; template?: string }>> {
  const list = await clients().apps.listNamespacedDeployment({ namespace: ns });
  return new Map(list.items.map((d) => [d.metadata?.name ?? '', {
    recorded: d.metadata?.annotations?.[HASH], template: d.spec?.template?.metadata?.annotations?.[HASH],
  }]));
}

/** ReplicaSets per Deployment of the namespace (a roll is a new one). */
async function replicaSetCounts(ns: string): Promise<Map<string, number>> {
  const list = await clients().apps.listNamespacedReplicaSet({ namespace: ns });
  const counts = new Map<string, number>();
  for (const rs of list.items) {
    const owner = rs.metadata?.ownerReferences?.find((o) => o.kind === 'Deployment')?.name ?? '';
    counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  return counts;
}

async function createPairs(ns: string, names: string[], configMapOf: (name: string) => string): Promise<void> {
  const made = new Set<string>();
  for (const name of names) {
    const cm = configMapOf(name);
    if (!made.has(cm)) {
      await createConfigMap(ns, cm, { v: '1' });
      made.add(cm);
    }
    await createDeployment(ns, deployment(name, { replicas: 0, annotations: ENABLED, podSpec: podSpecWithVolume(cm) }));
  }
}

describe('operator: changes go before housekeeping and take turns with fan-outs', function () {
  let ns = '';
  let op: OperatorProcess | undefined;
  afterEach(async () => {
    await op?.stop();
    op = undefined;
    if (ns) await deleteNamespace(ns);
    ns = '';
  });

  it('a change made during a mass adoption rolls at once; the adoptions go on at --adoption-qps, none rolls', async () => {
    ns = await createNamespace('prio-adopt');
    const names = Array.from({ length: 120 }, (_, i) => `app-${String(i).padStart(3, '0')}`);
    await createPairs(ns, names, (name) => `${name}-cfg`);
    // 120 adoptions at 4 per second take at least 29 s, however fast or slow this machine is.
    op = await OperatorProcess.start({ args: ['--namespace', ns, '--debounce', '0', '--adoption-qps', '4'] });
    const last = names[names.length - 1] as string;
    await rewriteConfigMap(ns, `${last}-cfg`, { v: '2' });
    await waitFor(`the roll of ${last}`, async () => ((await replicaSetsOf(ns, last)).length === 2 ? true : undefined), 60_000);
    const atRoll = await digests(ns);
    const adopted = [...atRoll.values()].filter((d) => d.recorded !== undefined).length;
    expect(adopted, 'adoptions done when the change had rolled').to.be.below(names.length / 2);
    const roll = op.logs.find((l) => l.message === 'rolled' && l['workload'] === `Deployment/${ns}/${last}`);
    expect(roll?.['reason']).to.equal(`ConfigMap ${last}-cfg changed after the workload's pods started, before it was adopted: rolling`);

    await waitFor('every adoption', async () => ([...(await digests(ns)).values()].every((d) => d.recorded !== undefined) ? true : undefined), 120_000);
    await sentinelRoll(ns);
    const counts = await replicaSetCounts(ns);
    for (const name of names) expect(counts.get(name), name).to.equal(name === last ? 2 : 1);
  });

  it('an unrelated change rolls while a ConfigMap shared by 60 Deployments is still rolling them at --qps', async () => {
    ns = await createNamespace('prio-fanout');
    const shared = Array.from({ length: 60 }, (_, i) => `shared-${String(i).padStart(2, '0')}`);
    await createPairs(ns, shared, () => 'shared-cfg');
    await createPairs(ns, ['own'], () => 'own-cfg');
    // Rolls at 2 per second: the fan-out takes at least 29 s.
    // About fairness between flows, not waves: the 60 consumers roll at once (--wave-threshold 0).
    op = await OperatorProcess.start({ args: ['--namespace', ns, '--debounce', '0', '--qps', '2', '--burst', '1', '--adoption-qps', '0', '--wave-threshold', '0'] });
    await waitFor('every adoption', async () => ([...(await digests(ns)).values()].every((d) => d.recorded !== undefined) ? true : undefined), 60_000);

    await rewriteConfigMap(ns, 'shared-cfg', { v: '2' });
    await waitFor('the fan-out to start', async () => (op?.logs.some((l) => l.message === 'rolled') ? true : undefined), 60_000);
    await rewriteConfigMap(ns, 'own-cfg', { v: '2' });
    await waitFor('the roll of own', async () => ((await replicaSetsOf(ns, 'own')).length === 2 ? true : undefined), 60_000);
    const atRoll = await replicaSetCounts(ns);
    const sharedRolled = shared.filter((name) => atRoll.get(name) === 2).length;
    expect(sharedRolled, 'shared consumers rolled before the unrelated change').to.be.below(shared.length / 2);

    await waitFor('the whole fan-out', async () => {
      const counts = await replicaSetCounts(ns);
      return shared.every((name) => counts.get(name) === 2) ? true : undefined;
    }, 120_000);
    await sentinelRoll(ns);
    const counts = await replicaSetCounts(ns);
    for (const name of [...shared, 'own']) expect(counts.get(name), name).to.equal(2);
  });
});
