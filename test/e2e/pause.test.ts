// Pause and unpause on the testbed (config-reload.dev/paused, docs/annotations.md#pauses-roll-windows-and-debounce):
// changes made while paused roll nothing; unpausing rolls exactly once when the pods run other
// configuration, and not at all when the change was reverted meanwhile. Rolls are counted as
// ReplicaSets; "nothing happened" is proven by a sentinel roll that must come after it.
import { expect } from 'chai';
import { configMapContent, workloadDigest } from './digest-key.ts';
import { namespaceWithOperator } from './operator-process.ts';
import {
  clients, createConfigMap, createDeployment, deployment, ENABLED, HASH, kubectl, podSpecWithVolume, readDeployment,
  recordedHash, replicaSetsOf, rewriteConfigMap, sentinelRoll, waitFor, waitForReplicaSets,
} from './support.ts';

const PAUSED = 'config-reload.dev/paused';

describe('operator: pause and unpause', () => {
  const s = namespaceWithOperator('pause');

  const pause = (name: string, on: boolean) => kubectl('annotate', '-n', s.ns, `deployment/${name}`, '--overwrite', `${PAUSED}=${on}`);
  const rollPausedEvents = async (name: string) => {
    const list = await clients().core.listNamespacedEvent({ namespace: s.ns, fieldSelector: `involvedObject.name=${name}` });
    return list.items.filter((e) => e.reason === 'RollPaused');
  };

  it('paused: two changes roll nothing (said once, RollPaused); unpaused: exactly one roll, to the current content', async () => {
    await createConfigMap(s.ns, 'web-cm', { v: '1' });
    await createDeployment(s.ns, deployment('web', { annotations: ENABLED, podSpec: podSpecWithVolume('web-cm') }));
    await recordedHash(s.ns, 'web');
    pause('web', true);
    await rewriteConfigMap(s.ns, 'web-cm', { v: '2' });
    const held = await waitFor('RollPaused Event on web', async () => (await rollPausedEvents('web'))[0]);
    expect(held.type).to.equal('Normal');
    expect(held.message).to.contain('ConfigMap web-cm changed: roll held, the workload is paused');
    await rewriteConfigMap(s.ns, 'web-cm', { v: '3' });
    await sentinelRoll(s.ns);
    expect(await replicaSetsOf(s.ns, 'web'), 'no roll while paused').to.have.length(1);
    // Said once per pause: one log line (an Event said twice could be folded into one by the recorder's count).
    const said = s.op.logs.filter((l) => l.message === 'roll held' && l.workload === `Deployment/${s.ns}/web`);
    expect(said, 'said once per pause').to.have.length(1);
    expect(said[0]!.code).to.equal('paused');

    pause('web', false);
    const rolled = await waitForReplicaSets(s.ns, 'web', 2);
    await sentinelRoll(s.ns);
    expect(await replicaSetsOf(s.ns, 'web'), 'exactly one roll').to.have.length(2);
    // It rolled to the content of now (v3): the digest of v3, derived here, not read back.
    const v3 = workloadDigest([{ name: 'web-cm', optional: false, keys: null }], () => configMapContent({ data: { v: '3' } }));
    expect(rolled.spec?.template?.metadata?.annotations?.[HASH]).to.equal(v3);
    expect((await readDeployment(s.ns, 'web')).metadata?.annotations?.[HASH]).to.equal(v3);
  });

  it('paused, changed, changed back, unpaused: no roll', async () => {
    await createConfigMap(s.ns, 'api-cm', { v: '1' });
    await createDeployment(s.ns, deployment('api', { annotations: { ...ENABLED, [PAUSED]: 'true' }, podSpec: podSpecWithVolume('api-cm') }));
    // Adoption is not held: it rolls nothing.
    await recordedHash(s.ns, 'api');
    await rewriteConfigMap(s.ns, 'api-cm', { v: '2' });
    await waitFor('RollPaused Event on api', async () => (await rollPausedEvents('api'))[0]);
    await rewriteConfigMap(s.ns, 'api-cm', { v: '1' });
    pause('api', false);
    await sentinelRoll(s.ns);
    expect(await replicaSetsOf(s.ns, 'api')).to.have.length(1);
  });
});
