// SIGTERM during a burst: exit 0, no half-applied state, nothing missed after a restart.
import { expect } from 'chai';
import { OperatorProcess } from './operator-process.ts';
import {
  configMapContent, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH,
  isSentinel, podSpecWithVolume, readDeployment, recordedHash, replicaSetsOf, rewriteConfigMap, sentinelRoll, waitForReplicaSets, workloadDigest,
} from './support.ts';

describe('graceful shutdown', () => {
  let ns: string;
  let op: OperatorProcess | undefined;

  before(async () => {
    ns = await createNamespace('term');
  });
  after(async () => {
    await op?.stop();
    await deleteNamespace(ns);
  });

  it('6. SIGTERM during a burst: exit 0, no half-applied state, nothing missed after restart', async function () {
    this.timeout(240_000);
    const names = Array.from({ length: 20 }, (_, i) => `t${i}`);
    for (const n of names) {
      await createConfigMap(ns, `${n}-cm`, { v: '1' });
      await createDeployment(ns, deployment(n, { annotations: ENABLED, podSpec: podSpecWithVolume(`${n}-cm`), replicas: 1 }));
    }
    // --qps 5 spreads the writes out, so the signal lands while some are still to come.
    op = await OperatorProcess.start({ args: ['--namespace', ns, '--debounce', '0', '--qps', '5', '--burst', '1'] });
    for (const n of names) await recordedHash(ns, n, 60_000);
    // The adoptions are over, including the reconciles queued by the watch events of their
    // writes: the burst starts on an idle queue. The sentinel's roll is left out of the counts.
    await sentinelRoll(ns);

    await Promise.all(names.map((n) => rewriteConfigMap(ns, `${n}-cm`, { v: '2' })));
    await op.waitForLog('first roll', (l) => l.message === 'rolled' && !isSentinel(l));
    const exit = await op.stop('SIGTERM');
    expect(exit).to.equal(0);
    const rolledBeforeStop = op.logs.filter((l) => l.message === 'rolled' && !isSentinel(l)).length;
    expect(rolledBeforeStop, 'the signal landed mid-burst').to.be.below(names.length);

    for (const n of names) {
      const d = await readDeployment(ns, n);
      const meta = d.metadata?.annotations?.[HASH];
      const tmpl = d.spec?.template?.metadata?.annotations?.[HASH];
      // Either rolled (both equal) or untouched since adoption (template never written).
      expect(tmpl === undefined || tmpl === meta, `${n}: metadata ${meta} vs template ${tmpl}`).to.equal(true);
    }

    op = await OperatorProcess.start({ args: ['--namespace', ns, '--debounce', '0'] });
    for (const n of names) await waitForReplicaSets(ns, n, 2, 120_000);
    // After the watch events of all the writes: no second roll follows.
    await sentinelRoll(ns);
    for (const n of names) {
      expect(await replicaSetsOf(ns, n), n).to.have.length(2);
      const d = await readDeployment(ns, n);
      const expected = workloadDigest([{ name: `${n}-cm`, optional: false, keys: null }], () => configMapContent({ data: { v: '2' } }));
      expect(d.spec?.template?.metadata?.annotations?.[HASH], n).to.equal(expected);
    }
  });
});
