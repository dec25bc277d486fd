// A config object over the key budget on the testbed (docs/security.md, "Tenant limits"): a
// 1 MiB ConfigMap of 80,000 keys holds the workload that reads it — no roll, a Warning Event
// ConfigOverBudget, one warn line for the object — and once it holds fewer keys with other
// content, the workload rolls exactly once. Rolls are counted as ReplicaSets; "nothing happened"
// is proven by a sentinel roll that must come after it. Its own namespace and operator.
import { expect } from 'chai';
import { namespaceWithOperator } from './operator-process.ts';
import {
  clients, createConfigMap, createDeployment, deployment, ENABLED, podSpecWithVolume, recordedHash, replicaSetsOf, rewriteConfigMap,
  sentinelRoll, waitFor, waitForReplicaSets,
} from './support.ts';

/** 80,000 empty keys: 560,000 bytes of names, under the apiserver's 1 MiB. */
function wideData(a: string): Record<string, string> {
  const data: Record<string, string> = { a };
  for (let i = 0; i < 80_000; i++) data[`k${String(i).padStart(6, '0')}`] = '';
  return data;
}

describe('operator: a config object over the key budget', () => {
  const s = namespaceWithOperator('budget');

  it('80,000 keys hold its reader (ConfigOverBudget, said once, no roll); back under the budget with other content: exactly one roll', async () => {
    await createConfigMap(s.ns, 'wide', { a: '1' });
    await createDeployment(s.ns, deployment('web', { annotations: ENABLED, podSpec: podSpecWithVolume('wide') }));
    await recordedHash(s.ns, 'web');

    await rewriteConfigMap(s.ns, 'wide', wideData('2'));
    const warning = await waitFor('ConfigOverBudget Event on web', async () => {
      const list = await clients().core.listNamespacedEvent({ namespace: s.ns, fieldSelector: 'involvedObject.name=web' });
      return list.items.find((e) => e.reason === 'ConfigOverBudget');
    });
    expect(warning.type).to.equal('Warning');
    expect(warning.message).to.equal('ConfigMap wide holds 80,001 keys, more than the 2,000 the operator digests one by one (--max-keys-per-object): nothing decided until it holds fewer');
    await rewriteConfigMap(s.ns, 'wide', wideData('3'));
    await sentinelRoll(s.ns);
    expect(await replicaSetsOf(s.ns, 'web'), 'no roll while over the budget').to.have.length(1);
    const said = s.op.logs.filter((l) => l.message === 'config object over the key budget');
    expect(said, 'one warn line for the object, not one per update').to.have.length(1);
    expect(said[0]).to.deep.include({ level: 'warn', object: `ConfigMap/${s.ns}/wide`, keys: 80_001, maxKeys: 2_000 });

    await rewriteConfigMap(s.ns, 'wide', { a: '3' });
    await waitForReplicaSets(s.ns, 'web', 2);
    await sentinelRoll(s.ns);
    expect(await replicaSetsOf(s.ns, 'web'), 'exactly one roll').to.have.length(2);
  });
});
