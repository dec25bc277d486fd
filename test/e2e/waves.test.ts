// Waves on the testbed (docs/rules.md, "Waves"): a ConfigMap shared by 20 Deployments rolls its
// canary first and the rest only once the canary rolled out healthy; a canary whose new pods
// cannot run holds the other 19, with Events, and a fixing change rolls the canary, then all.
//
// How the canary's new pods fail while its old ones stay fine: every node is cordoned just
// before the bad change (testbed nodes are kwok nodes: `kubectl cordon` works as on any
// cluster). Running pods are untouched; the canary's new ReplicaSet gets a pod that stays
// Pending, and the canary's short progressDeadlineSeconds turns that into the Deployment
// controller's own ProgressDeadlineExceeded within seconds. (The alternatives — a kwok stage
// that never readies marked pods, or a pod ResourceQuota — need a kwok stage configuration
// fixed at testbed start, or the resource-quota controller the testbed does not run.) The
// nodes are uncordoned in `after` whatever happens.
// Rolls are counted by ReplicaSets; the order of the healthy case is read from one watch of
// ReplicaSets, whose events arrive in etcd's order.
import { expect } from 'chai';
import { Watch } from '@kubernetes/client-node';
import { namespaceWithOperator } from './operator-process.ts';
import {
  clients, createConfigMap, createDeployment, deployment, ENABLED, httpGet, kubectl, metricValue, recordedHash, replicaSetsOf,
  rewriteConfigMap, sentinelRoll, waitFor, waitForReplicaSets,
} from './support.ts';

const N = 20;
const names = (prefix: string) => Array.from({ length: N }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);

async function fleet(ns: string, configMap: string, prefix: string, canary?: string): Promise<string[]> {
  await createConfigMap(ns, configMap, { 'app.yaml': 'v: 1' });
  const all = names(prefix);
  await Promise.all(all.map(async (name) => {
    const d = deployment(name, {
      annotations: { ...ENABLED, ...(name === canary ? { 'config-reload.dev/canary': 'true' } : {}) },
      podSpec: { containers: [{ name: 'app', image: 'registry.example/app:1', envFrom: [{ configMapRef: { name: configMap } }] }] },
    });
    // The canary gives up quickly when its new pods cannot run (the Deployment controller's own verdict).
    if (name === canary) d.spec!.progressDeadlineSeconds = 8;
    await createDeployment(ns, d);
  }));
  for (const name of all) {
    await recordedHash(ns, name);
    await waitForReplicaSets(ns, name, 1);
  }
  return all;
}

async function replicaSetCounts(ns: string, all: string[]): Promise<Record<string, number>> {
  return Object.fromEntries(await Promise.all(all.map(async (n) => [n, (await replicaSetsOf(ns, n)).length] as const)));
}

function nodes(): string[] {
  return kubectl('get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}').trim().split(/\s+/).filter(Boolean);
}

describe('operator: waves of a shared ConfigMap', function () {
  const s = namespaceWithOperator('waves', ['--wave-threshold', '5', '--wave-timeout', '5m']);
  let cordoned: string[] = [];
  after(() => {
    for (const node of cordoned) kubectl('uncordon', node);
  });

  it('healthy: all 20 roll once, the canary first and before any other its rollout is available', async () => {
    const all = await fleet(s.ns, 'shared', 'ok');
    const canary = all[0]!;
    const rv = (await clients().apps.listNamespacedReplicaSet({ namespace: s.ns })).metadata?.resourceVersion;
    // One watch: its events come in the order etcd wrote them.
    const events: Array<{ type: string; app: string; hash: string | undefined; available: number }> = [];
    const watch = await new Watch(clients().kc).watch(`/apis/apps/v1/namespaces/${s.ns}/replicasets`, { resourceVersion: rv },
      (type: string, rs: { metadata?: { labels?: Record<string, string> }; spec?: { template?: { metadata?: { annotations?: Record<string, string> } } }; status?: { availableReplicas?: number } }) => {
        events.push({
          type, app: rs.metadata?.labels?.['app'] ?? '', hash: rs.spec?.template?.metadata?.annotations?.['config-reload.dev/config-hash'],
          available: rs.status?.availableReplicas ?? 0,
        });
      }, () => undefined);
    try {
      await rewriteConfigMap(s.ns, 'shared', { 'app.yaml': 'v: 2' });
      for (const name of all) await waitForReplicaSets(s.ns, name, 2, 120_000);
    } finally {
      watch.abort();
    }
    await sentinelRoll(s.ns);
    expect(Object.values(await replicaSetCounts(s.ns, all))).to.deep.equal(Array(N).fill(2));
    // The ReplicaSets the roll created carry the operator's digest in their template.
    const created = events.filter((e) => e.type === 'ADDED' && e.hash !== undefined && all.includes(e.app));
    expect(created.map((e) => e.app).sort()).to.deep.equal([...all].sort());
    expect(created[0]!.app).to.equal(canary);
    const firstOther = events.findIndex((e) => e.type === 'ADDED' && e.hash !== undefined && e.app !== canary && all.includes(e.app));
    const canaryAvailable = events.findIndex((e) => e.app === canary && e.hash !== undefined && e.available >= 1);
    expect(canaryAvailable, 'the canary\'s new ReplicaSet was available before any other rolled').to.be.within(0, firstOther - 1);
  });

  it('a failing canary holds the other 19 with Events and a metric; a fixing change rolls the canary, then all 20 once', async () => {
    // The annotated canary, not the first in order.
    const all = await fleet(s.ns, 'shared-b', 'b', 'b-07');
    const canary = 'b-07';
    cordoned = nodes();
    for (const node of cordoned) kubectl('cordon', node);
    await rewriteConfigMap(s.ns, 'shared-b', { 'app.yaml': 'v: broken' });

    const heldEvent = await waitFor('WaveHeld on ConfigMap shared-b', async () => {
      const list = await clients().core.listNamespacedEvent({ namespace: s.ns, fieldSelector: 'involvedObject.kind=ConfigMap,involvedObject.name=shared-b' });
      return list.items.find((e) => e.reason === 'WaveHeld');
    }, 90_000);
    expect(heldEvent.type).to.equal('Warning');
    expect(heldEvent.message).to.contain(`Deployment/${s.ns}/${canary}`).and.contain('config-reload.dev/release=');
    const others = all.filter((n) => n !== canary);
    await waitFor('WaveHeld on each of the 19 held Deployments', async () => {
      const list = await clients().core.listNamespacedEvent({ namespace: s.ns, fieldSelector: 'involvedObject.kind=Deployment,reason=WaveHeld' });
      const on = new Set(list.items.map((e) => e.involvedObject.name));
      return others.every((n) => on.has(n)) ? true : undefined;
    });
    const line = s.op.logs.find((l) => l.message === 'wave held' && l.object === `ConfigMap/${s.ns}/shared-b`);
    expect(line?.failing).to.deep.equal([`Deployment/${s.ns}/${canary}`]);
    const metrics = (await httpGet(await s.op.httpPort(), '/metrics')).body;
    expect(metricValue(metrics, 'config_reload_wave_held', { namespace: s.ns, kind: 'ConfigMap', name: 'shared-b' })).to.equal(19);
    // Exactly the canary wave rolled.
    await sentinelRollWhileCordoned(s.ns);
    expect(await replicaSetCounts(s.ns, all)).to.deep.equal(Object.fromEntries(all.map((n) => [n, n === canary ? 2 : 1])));

    // The fix: the canary rolls it first (its pods still cannot run: the others wait), then the nodes come back.
    await rewriteConfigMap(s.ns, 'shared-b', { 'app.yaml': 'v: fixed' });
    await waitFor('the canary\'s third ReplicaSet', async () => ((await replicaSetsOf(s.ns, canary)).length === 3 ? true : undefined));
    expect(Object.values(await replicaSetCounts(s.ns, others))).to.deep.equal(Array(N - 1).fill(1));
    for (const node of cordoned) kubectl('uncordon', node);
    cordoned = [];
    for (const name of others) await waitForReplicaSets(s.ns, name, 2, 120_000);
    await sentinelRoll(s.ns);
    expect(await replicaSetCounts(s.ns, all)).to.deep.equal(Object.fromEntries(all.map((n) => [n, n === canary ? 3 : 2])));
    const after = (await httpGet(await s.op.httpPort(), '/metrics')).body;
    expect(metricValue(after, 'config_reload_wave_held', { namespace: s.ns, kind: 'ConfigMap', name: 'shared-b' })).to.equal(0);
  });
});

/**
 * sentinelRoll needs its sentinel's pods to run (it awaits a complete rollout): with every node
 * cordoned, this proves the same thing — every earlier event processed — from the sentinel's
 * second ReplicaSet alone.
 */
async function sentinelRollWhileCordoned(ns: string): Promise<void> {
  const name = `sentinel-cordoned-${Date.now().toString(36)}`;
  await createConfigMap(ns, `${name}-cm`, { v: '1' });
  await createDeployment(ns, deployment(name, {
    annotations: ENABLED,
    podSpec: { containers: [{ name: 'app', image: 'registry.example/app:1', envFrom: [{ configMapRef: { name: `${name}-cm` } }] }] },
  }));
  await recordedHash(ns, name);
  await rewriteConfigMap(ns, `${name}-cm`, { v: '2' });
  await waitFor(`${name} rolled`, async () => ((await replicaSetsOf(ns, name)).length === 2 ? true : undefined));
}
