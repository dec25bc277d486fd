// --namespace-selector on the real control plane (docs/namespace-selection.md): namespaces
// labelled in, out and in again while their ConfigMaps change. Rolls are counted by
// ReplicaSets. "Nothing rolled" is proven by a control change written after the change under
// test and rolled through the same operator, in a namespace that stays in.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { OperatorProcess } from './operator-process.ts';
import {
  createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH, kubectl, readDeployment, recordedHash,
  replicaSetsOf, rewriteConfigMap, waitForReplicaSets,
} from './support.ts';

const envFrom = (cm: string) => ({ containers: [{ name: 'app', image: 'registry.example/app:1', envFrom: [{ configMapRef: { name: cm } }] }] });

describe('namespace selection: --namespace-selector on the testbed', () => {
  const namespaces: string[] = [];
  let op: OperatorProcess | undefined;

  after(async () => {
    await op?.stop();
    for (const ns of namespaces.splice(0)) await deleteNamespace(ns);
  });

  it('labelled in: adopted, no roll; rolls only while in; labelled out: nothing written; in again: a change made while out catches up once, a new workload is adopted', async () => {
    // A label of this run alone: other namespaces of the testbed never match.
    const label = `e2e-nsel-${randomBytes(3).toString('hex')}`;
    const setLabel = (ns: string, value: string | null) => kubectl('label', 'namespace', ns, value === null ? `${label}-` : `${label}=${value}`, '--overwrite');
    const [a, b, control, excluded] = [await createNamespace('nsel-a'), await createNamespace('nsel-b'), await createNamespace('nsel-ctl'), await createNamespace('nsel-x')];
    namespaces.push(a, b, control, excluded);
    for (const ns of [a, b, control, excluded]) {
      await createConfigMap(ns, 'cfg', { v: '1' });
      await createDeployment(ns, deployment('web', { annotations: ENABLED, podSpec: envFrom('cfg') }));
    }
    setLabel(a, 'on');
    setLabel(control, 'on');
    setLabel(b, 'off');
    setLabel(excluded, 'on'); // matches, but --exclude-namespaces names it (a field selector on the Namespace watch)
    for (const ns of [a, b, control, excluded]) await waitForReplicaSets(ns, 'web', 1);

    op = await OperatorProcess.start({ args: ['--namespace-selector', `${label}=on`, '--exclude-namespaces', excluded, '--debounce', '200ms'] });
    // Adopted, not rolled.
    await recordedHash(a, 'web');
    await recordedHash(control, 'web');
    let controlRolls = 1;
    /** A change in the control namespace, rolled: the operator has seen everything written before it. */
    const sentinel = async () => {
      controlRolls++;
      await rewriteConfigMap(control, 'cfg', { v: String(controlRolls) });
      await waitForReplicaSets(control, 'web', controlRolls);
    };

    // Rolls while in; b, not selected, is never written to.
    await rewriteConfigMap(a, 'cfg', { v: '2' });
    await rewriteConfigMap(b, 'cfg', { v: '2' });
    await rewriteConfigMap(excluded, 'cfg', { v: '2' });
    await waitForReplicaSets(a, 'web', 2);
    await sentinel();
    expect((await readDeployment(b, 'web')).metadata?.annotations?.[HASH]).to.equal(undefined);
    expect(await replicaSetsOf(b, 'web')).to.have.length(1);

    // b labelled in (its ConfigMap changed while out): adopted, not rolled; its next change rolls.
    setLabel(b, 'on');
    await op.waitForLog('b selected', (l) => l.message === 'namespace selected: watching it' && l.namespace === b);
    const adoptedB = await recordedHash(b, 'web');
    await sentinel();
    expect(await replicaSetsOf(b, 'web'), 'entering never rolls').to.have.length(1);
    expect((await readDeployment(b, 'web')).metadata?.annotations?.[HASH]).to.equal(adoptedB);
    await rewriteConfigMap(b, 'cfg', { v: '3' });
    await waitForReplicaSets(b, 'web', 2);

    // a labelled out: nothing written; its changes while out roll nothing; a workload created meanwhile is left alone.
    const beforeOut = (await readDeployment(a, 'web')).metadata?.annotations ?? {};
    setLabel(a, null);
    await op.waitForLog('a closed', (l) => String(l.message).startsWith('namespace no longer selected') && l.namespace === a);
    await rewriteConfigMap(a, 'cfg', { v: '3' });
    await createDeployment(a, deployment('late', { annotations: ENABLED, podSpec: envFrom('cfg') }));
    await waitForReplicaSets(a, 'late', 1);
    await sentinel();
    expect(await replicaSetsOf(a, 'web'), 'no roll while out').to.have.length(2);
    expect((await readDeployment(a, 'web')).metadata?.annotations, 'nothing written on exit or while out').to.deep.equal(beforeOut);
    expect((await readDeployment(a, 'late')).metadata?.annotations?.[HASH]).to.equal(undefined);

    // a in again: listed from scratch. web was recorded while a was in: the change made while out
    // rolls it once (as after a restart); late was never recorded: adopted, not rolled.
    setLabel(a, 'on');
    await waitForReplicaSets(a, 'web', 3);
    await recordedHash(a, 'late');
    await sentinel();
    expect(await replicaSetsOf(a, 'web'), 'exactly one catch-up roll').to.have.length(3);
    expect(await replicaSetsOf(a, 'late'), 'adopted, not rolled').to.have.length(1);
    // In again for good: the next change rolls both once.
    await rewriteConfigMap(a, 'cfg', { v: '4' });
    await waitForReplicaSets(a, 'web', 4);
    await waitForReplicaSets(a, 'late', 2);
    // Entering, leaving and entering again never rolled b, nor the control beyond its own changes.
    expect(await replicaSetsOf(b, 'web')).to.have.length(2);
    expect(await replicaSetsOf(control, 'web')).to.have.length(controlRolls);
    // The excluded namespace, labelled all along: never written to.
    expect((await readDeployment(excluded, 'web')).metadata?.annotations?.[HASH]).to.equal(undefined);
    expect(await replicaSetsOf(excluded, 'web')).to.have.length(1);
    expect(op.logs.filter((l) => l.namespace === excluded && String(l.message).startsWith('namespace selected'))).to.deep.equal([]);
  });
});
