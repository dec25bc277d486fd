// The fault matrix: one operator reaches the apiserver only through the fault proxy
// (testbed/fault-proxy.ts), and each fault is injected while ConfigMaps change before, during
// and after it. Every test asserts on ReplicaSets: each change after adoption rolled its
// consumers exactly once, nothing else rolled, and the operator recovered by itself (same PID,
// /healthz answering 200).
//
// The proxy's upstream is a second kube-apiserver on the testbed's etcd, started with
// --watch-cache=false: it serves every watch from etcd, so that after an etcd compaction a watch
// resuming from an older resourceVersion is answered 410 Gone (the main apiserver's watch cache
// would go on serving the versions it holds). The tests' own writes go to the main apiserver.
import { expect } from 'chai';
import type { FaultMatch, FaultProxy } from '../../testbed/fault-proxy.ts';
import { startFaultProxy } from '../../testbed/fault-proxy.ts';
import { adminToken, localControlPlane, proxyKubeconfigFile } from './fault-support.ts';
import { OperatorProcess } from './operator-process.ts';
import {
  configMapContent, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH, httpGet,
  podSpecWithVolume, readDeployment, recordedHash, replicaSetsOf, rewriteConfigMap, sentinelRoll, waitFor, waitForReplicaSets, workloadDigest,
} from './support.ts';
import { readFileSync } from 'node:fs';

/** A workload consuming its own ConfigMap, and the rolls the test expects of it. */
interface Workload {
  name: string;
  cm: string;
  version: number;
  rolls: number;
}

describe('fault matrix: one operator behind the fault proxy', function () {
  // A fault and its recovery (backoffs, Retry-After, a relist) take longer than a plain change.
  this.timeout(300_000);
  let ns: string;
  let proxy: FaultProxy;
  let op: OperatorProcess;
  let pid: number | undefined;
  let port: number;
  const undo: Array<() => Promise<void>> = [];

  before(async function () {
    this.timeout(240_000);
    const cp = localControlPlane('the fault matrix');
    ns = await createNamespace('matrix');
    const replica = await cp.startApiServerReplica(['--watch-cache=false']);
    undo.push(replica.stop);
    const ca = /certificate-authority-data: (\S+)/.exec(readFileSync(cp.kubeconfigPath, 'utf8'))?.[1] as string;
    proxy = await startFaultProxy({ upstream: replica.server, upstreamCaData: ca });
    undo.push(() => proxy.close());
    const { token, unbind } = await adminToken(ns, 'operator');
    undo.push(unbind);
    // A short debounce keeps the matrix quick; a 3 s watchdog lets the stalled watch recover in seconds.
    op = await OperatorProcess.start({
      args: ['--kubeconfig', proxyKubeconfigFile(proxy, token), '--namespace', ns, '--debounce', '200ms', '--watch-idle-timeout', '3s'],
    });
    pid = op.pid;
    port = await op.httpPort();
  });
  afterEach(() => proxy?.set([]));
  after(async function () {
    this.timeout(60_000);
    await op?.stop();
    for (const u of undo.reverse()) await u();
    if (ns) await deleteNamespace(ns);
  });

  let seq = 0;
  /** n adopted workloads (adoption awaited: later changes are "after adoption"). */
  async function workloads(n: number): Promise<Workload[]> {
    const ws = Array.from({ length: n }, () => {
      const name = `w${++seq}`;
      return { name, cm: `${name}-cm`, version: 1, rolls: 0 };
    });
    for (const w of ws) {
      await createConfigMap(ns, w.cm, { v: '1' });
      await createDeployment(ns, deployment(w.name, { annotations: ENABLED, podSpec: podSpecWithVolume(w.cm) }));
    }
    for (const w of ws) await recordedHash(ns, w.name, 60_000);
    return ws;
  }

  /** n adopted workloads, the first of which ("before" the fault) changed and rolled once. */
  async function changedOnceBefore(n: number): Promise<Workload[]> {
    const ws = await workloads(n);
    await change(ws[0]!);
    await waitForReplicaSets(ns, ws[0]!.name, 2);
    return ws;
  }

  /** One burst: a new value of the workload's ConfigMap, which must roll it once. */
  async function change(w: Workload): Promise<void> {
    w.version++;
    w.rolls++;
    await rewriteConfigMap(ns, w.cm, { v: String(w.version) });
  }

  /**
   * Every workload rolled as often as it changed (one new ReplicaSet per burst, the template
   * carrying the digest of the last value), and after a sentinel roll — every earlier event
   * processed — not once more. The operator is the same process, and alive.
   */
  async function expectExactlyOnce(ws: Workload[]): Promise<void> {
    for (const w of ws) await waitForReplicaSets(ns, w.name, 1 + w.rolls, 90_000);
    await sentinelRoll(ns);
    for (const w of ws) {
      expect(await replicaSetsOf(ns, w.name), `${w.name}: ReplicaSets after ${w.rolls} change(s)`).to.have.length(1 + w.rolls);
      const template = (await readDeployment(ns, w.name)).spec?.template?.metadata?.annotations?.[HASH];
      const expected = w.rolls === 0 ? undefined
        : workloadDigest([{ name: w.cm, optional: false, keys: null }], () => configMapContent({ data: { v: String(w.version) } }));
      expect(template, `${w.name}: template digest`).to.equal(expected);
    }
    expect(op.pid, 'the operator was not restarted').to.equal(pid);
    expect((await httpGet(port, '/healthz')).status).to.equal(200);
  }

  const count = (m: FaultMatch, outcome: string) => proxy.requests(m).filter((r) => r.outcome === outcome).length;
  /** Gaps between consecutive requests of one loop (a verb on a resource) that the proxy refused. */
  function gapsOf(m: FaultMatch, outcome: string): number[] {
    const times = proxy.requests(m).filter((r) => r.outcome === outcome).map((r) => r.at);
    return times.slice(1).map((t, i) => t - times[i]!);
  }

  it('429 storm with Retry-After on every request: the operator waits as told (no hammering), then catches up once', async () => {
    const [before, during, after, untouched] = await changedOnceBefore(4);

    proxy.resetCounts();
    // First the patches alone (the watch must deliver the change), then every request.
    proxy.set([{ kind: 'status', status: 429, share: 1, retryAfterSeconds: 2, match: { verb: 'patch' } }]);
    await change(during!);
    await waitFor('three throttled patches', async () => (count({ verb: 'patch' }, '429') >= 3 ? true : undefined), 60_000);
    proxy.set([{ kind: 'status', status: 429, share: 1, retryAfterSeconds: 2 }]);
    proxy.resetWatches();
    await waitFor('three throttled ConfigMap watches', async () => (count({ verb: 'watch', resource: 'configmaps' }, '429') >= 3 ? true : undefined), 60_000);
    proxy.set([]);
    // Retry-After: 2 → no loop asks again within 2 s (a little slack for timer granularity).
    const loops: FaultMatch[] = [
      { verb: 'patch' },
      ...['configmaps', 'secrets', 'deployments', 'statefulsets', 'daemonsets'].map((resource) => ({ verb: 'watch' as const, resource })),
    ];
    for (const m of loops) {
      for (const gap of gapsOf(m, '429')) expect(gap, `${m.verb} ${m.resource ?? ''}: gap between throttled requests`).to.be.at.least(1900);
    }

    await change(after!);
    await expectExactlyOnce([before!, during!, after!, untouched!]);
  });

  it('5xx on patches, and patches cut after the apiserver applied them: each change rolls once', async () => {
    const [before, during1, during2, after, untouched] = await changedOnceBefore(5);

    proxy.resetCounts();
    // The first patch is answered 500, the next 503, the third is applied by the apiserver and
    // cut before its answer arrives (applied, unacknowledged), and a fourth is cut before it
    // reaches the apiserver: whichever workloads they belong to, the retries must land each
    // change exactly once. (By share, not limit, the faults were drawn by chance: one CI run
    // drew too few of them in 60 s.)
    proxy.set([
      { kind: 'status', status: 500, share: 1, limit: 1, match: { verb: 'patch' } },
      { kind: 'status', status: 503, share: 1, limit: 1, match: { verb: 'patch' } },
      { kind: 'reset', share: 1, limit: 1, at: 'mid-response', match: { verb: 'patch' } },
      { kind: 'reset', share: 1, limit: 1, at: 'before', match: { verb: 'patch' } },
    ]);
    await change(during1!);
    await change(during2!);
    await waitFor('four faulted patches', async () => (proxy.requests({ verb: 'patch' }).filter((r) => r.fault !== undefined).length >= 4 ? true : undefined), 90_000);
    proxy.set([]);
    for (const w of [during1!, during2!]) await waitForReplicaSets(ns, w.name, 2, 120_000);

    await change(after!);
    await expectExactlyOnce([before!, during1!, during2!, after!, untouched!]);
  });

  it('5xx on watch starts: the reflectors retry, and changes made meanwhile roll once', async () => {
    const [before, during, after, untouched] = await changedOnceBefore(4);

    proxy.resetCounts();
    proxy.set([
      { kind: 'status', status: 503, share: 0.5, match: { verb: 'watch' } },
      { kind: 'status', status: 504, share: 1, match: { verb: 'watch' } },
    ]);
    proxy.resetWatches();
    await change(during!);
    await waitFor('refused watch starts', async () => (count({ verb: 'watch', resource: 'configmaps' }, '200') === 0
      && proxy.requests({ verb: 'watch', resource: 'configmaps' }).length >= 2 ? true : undefined), 60_000);
    proxy.set([]);

    await change(after!);
    await expectExactlyOnce([before!, during!, after!, untouched!]);
  });

  it('watches reset and cut mid-event while ConfigMaps change: nothing missed, nothing doubled', async () => {
    const ws = await workloads(5);
    const untouched = ws.pop()!;
    await change(ws[0]!);
    await waitForReplicaSets(ns, ws[0]!.name, 2);

    const mark = op.logs.length;
    // Half the watches are cut inside their first event (a partial JSON line, then the close).
    proxy.set([{ kind: 'truncate', share: 0.5, match: { verb: 'watch' } }]);
    for (const w of ws.slice(1)) {
      // After cut watches the reflector backs off (up to 30 s, jittered): the deadline covers that.
      await waitFor('an open ConfigMap watch', async () => (proxy.openWatches({ resource: 'configmaps' }) >= 1 ? true : undefined), 90_000);
      await change(w);
      proxy.resetWatches();
    }
    proxy.set([]);
    await change(ws[0]!);
    await expectExactlyOnce([...ws, untouched]);
    const broken = op.logs.slice(mark).filter((l) => l.resource === 'configmaps' && l.message === 'list/watch failed: retrying');
    expect(broken.length, 'the ConfigMap watch was broken and re-opened').to.be.at.least(2);
  });

  it('a stalled watch (headers, then silence): the watchdog re-opens it and the changes made meanwhile roll once', async () => {
    const [before, during, after, untouched] = await changedOnceBefore(4);

    const mark = op.logs.length;
    proxy.set([{ kind: 'stall-watch', match: { resource: 'configmaps' } }]);
    proxy.resetWatches();
    await change(during!);
    await op.waitForLog('the watchdog to cut the stalled ConfigMap watch', (l) =>
      op.logs.indexOf(l) >= mark && l.message === 'watch silent past the watchdog: reconnecting' && l.resource === 'configmaps', 60_000);
    // Stalled: the change has not rolled.
    expect(await replicaSetsOf(ns, during!.name)).to.have.length(1);
    proxy.set([]);

    await change(after!);
    await expectExactlyOnce([before!, during!, after!, untouched!]);
  });

  it('410 Gone after an etcd compaction (with 5xx on list pages): relists, rolls what changed once and nothing else', async () => {
    const cp = localControlPlane('the compaction test');
    const [before, during, after, untouched] = await changedOnceBefore(4);

    // The ConfigMap watch goes silent, a change happens, and its history is compacted away:
    // the watch can only resume by a relist.
    const mark = op.logs.length;
    proxy.set([{ kind: 'stall-watch', match: { resource: 'configmaps' } }]);
    proxy.resetWatches();
    await change(during!);
    await cp.compactEtcd();
    proxy.resetCounts();
    proxy.set([{ kind: 'status', status: 500, share: 0.5, match: { verb: 'list' } }]);
    proxy.resetWatches();
    await op.waitForLog('a relist after 410', (l) =>
      op.logs.indexOf(l) >= mark && l.message === 'resourceVersion too old (410 Gone): relisting' && l.resource === 'configmaps', 120_000);
    // Half the list pages fail, each failure doubling the reflector's backoff (up to 30 s).
    await waitFor('the ConfigMap relist', async () => (count({ verb: 'list', resource: 'configmaps' }, '200') >= 1 ? true : undefined), 150_000);
    proxy.set([]);

    await change(after!);
    await expectExactlyOnce([before!, during!, after!, untouched!]);
  });

  it('the apiserver slowed to 2 s per response: changes made while slow roll once', async () => {
    const [before, during, after, untouched] = await changedOnceBefore(4);

    proxy.resetCounts();
    proxy.set([{ kind: 'delay', ms: 2000 }]);
    proxy.resetWatches();
    await change(during!);
    await waitForReplicaSets(ns, during!.name, 2, 90_000);
    expect(count({ verb: 'patch' }, '200'), 'the roll went through the slow apiserver').to.be.at.least(1);
    proxy.set([]);

    await change(after!);
    await expectExactlyOnce([before!, during!, after!, untouched!]);
  });

  it('etcd restarted: the operator rides it out, changes made as it comes back roll once', async () => {
    const cp = localControlPlane('the etcd restart test');
    const [before, during, after, untouched] = await changedOnceBefore(4);

    await cp.restartEtcd();
    await change(during!);
    await waitForReplicaSets(ns, during!.name, 2, 90_000);
    await change(after!);
    await expectExactlyOnce([before!, during!, after!, untouched!]);
  });
});
