// --namespace-selector and --exclude-namespaces on the in-memory API and a virtual clock: a
// namespace labelled in, out and in again while changes happen (docs/namespace-selection.md).
// Entry adopts and never rolls; rolls happen only while a namespace is in; leaving writes
// nothing and forgets everything of it; a change made while it was out rolls once on re-entry
// for a workload the operator recorded before (the restart rule), and a workload it never
// recorded is adopted.
import { expect } from 'chai';
import type { ControllerOptions } from '../../src/controller.ts';
import { sourceKey, workloadKey } from '../../src/core/keys.ts';
import { metricsObserver } from '../../src/observability/controller-metrics.ts';
import { OperatorMetrics } from '../../src/observability/metrics.ts';
import { ControllerHarness } from '../support/controller-harness.ts';

const SELECTED = { 'config-reload.dev/watch': 'on' };

function deployment(namespace: string, name: string, configMap: string) {
  return {
    metadata: { name, namespace, annotations: { 'config-reload.dev/enabled': 'true' } },
    spec: { replicas: 1, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'app:1', envFrom: [{ configMapRef: { name: configMap } }] }] } } },
  };
}

const configMap = (namespace: string, name: string, data: Record<string, string>) => ({ metadata: { name, namespace }, data });

/** A namespace, with `labels`, holding ConfigMap cfg and Deployment web reading it. */
function tenant(h: ControllerHarness, namespace: string, labels: Record<string, string>): void {
  h.cluster.put('namespaces', { metadata: { name: namespace, labels } });
  h.cluster.put('configmaps', configMap(namespace, 'cfg', { v: '1' }));
  h.cluster.put('deployments', deployment(namespace, 'web', 'cfg'));
}

const label = (h: ControllerHarness, namespace: string, labels: Record<string, string>) =>
  h.cluster.update('namespaces', '', namespace, (o) => void (o.metadata.labels = labels));

const change = (h: ControllerHarness, namespace: string, v: string) => h.cluster.put('configmaps', configMap(namespace, 'cfg', { v }));

/** The operator's writes in `namespace`: adoptions and re-records (template untouched) and rolls. */
function writes(h: ControllerHarness, namespace: string): { adoptions: number; rolls: number } {
  const mine = h.operatorWrites().filter((w) => w.namespace === namespace);
  return { adoptions: mine.filter((w) => !w.templateChanged).length, rolls: mine.filter((w) => w.templateChanged).length };
}

const selecting: Partial<ControllerOptions> = { namespaces: [], namespaceSelector: 'config-reload.dev/watch=on', excludeNamespaces: ['kept-out'] };

describe('namespace selection: --namespace-selector and --exclude-namespaces', () => {
  it('adopts a namespace labelled in (never rolling it for that), rolls only while it is in, writes nothing when it leaves', async () => {
    const h = new ControllerHarness();
    tenant(h, 'team-a', SELECTED);
    tenant(h, 'team-b', {});
    tenant(h, 'kept-out', SELECTED); // matches, but excluded
    const c = await h.leader(selecting);
    await h.settle();
    expect(c.selectedNamespaces).to.deep.equal(['team-a']);
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 1, rolls: 0 });
    expect(writes(h, 'team-b')).to.deep.equal({ adoptions: 0, rolls: 0 });

    // Rolls while in; nothing for a namespace not selected or excluded.
    change(h, 'team-a', '2');
    change(h, 'team-b', '2');
    change(h, 'kept-out', '2');
    await h.settle();
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 1, rolls: 1 });
    expect(writes(h, 'team-b')).to.deep.equal({ adoptions: 0, rolls: 0 });
    expect(writes(h, 'kept-out')).to.deep.equal({ adoptions: 0, rolls: 0 });

    // team-b, never recorded, its ConfigMap changed just before it is labelled in: adopted with
    // what it lists, not rolled.
    change(h, 'team-b', '3');
    label(h, 'team-b', SELECTED);
    await h.settle();
    expect(c.selectedNamespaces).to.deep.equal(['team-a', 'team-b']);
    expect(writes(h, 'team-b')).to.deep.equal({ adoptions: 1, rolls: 0 });
    change(h, 'team-b', '4');
    await h.settle();
    expect(writes(h, 'team-b')).to.deep.equal({ adoptions: 1, rolls: 1 });

    // A change written right after the label (while its lists run) is a change while in: it rolls.
    tenant(h, 'team-c', {});
    await h.settle();
    label(h, 'team-c', SELECTED);
    change(h, 'team-c', '2');
    await h.settle();
    expect(writes(h, 'team-c')).to.deep.equal({ adoptions: 0, rolls: 1 });

    // team-a labelled out: nothing written, everything of it forgotten; changes while out roll nothing.
    const before = h.operatorWrites().length;
    label(h, 'team-a', { 'config-reload.dev/watch': 'off' });
    await h.settle();
    change(h, 'team-a', '3');
    h.cluster.put('deployments', deployment('team-a', 'late', 'cfg'));
    await h.settle();
    expect(h.operatorWrites()).to.have.length(before);
    expect(c.selectedNamespaces).to.deep.equal(['team-b', 'team-c']);
    expect(c.workloads.get(workloadKey('Deployment', 'team-a', 'web'))).to.equal(undefined);
    expect(c.index.consumersOf(sourceKey('ConfigMap', 'team-a', 'cfg')).size).to.equal(0);
    expect(c.sources.get('ConfigMap')!.get(sourceKey('ConfigMap', 'team-a', 'cfg'))).to.equal(undefined);
    expect([...c.workloads.values()].map((w) => w.namespace).sort()).to.deep.equal(['team-b', 'team-c']);
    expect(c.queue.length).to.equal(0);

    // In again: listed from scratch. web, recorded while team-a was in, catches up once on the
    // change made while out (as after a restart); late, never recorded, is adopted.
    label(h, 'team-a', SELECTED);
    await h.settle();
    expect(c.selectedNamespaces).to.deep.equal(['team-a', 'team-b', 'team-c']);
    const entry = h.operatorWrites().slice(before);
    expect(entry.map((w) => [w.name, w.templateChanged])).to.have.deep.members([['web', true], ['late', false]]);
    // Nothing more: the entry settled everything, and the next change rolls both once.
    change(h, 'team-a', '4');
    await h.settle();
    expect(h.operatorWrites().slice(before + 2).map((w) => [w.name, w.templateChanged])).to.have.deep.members([['web', true], ['late', true]]);
    // Closed and re-opened reflectors, then a stop: no loop counts as dead.
    expect(c.health()).to.deep.equal({ alive: true, problems: [] });
    await c.stop();
    await h.settle();
    expect(c.health().problems).to.deep.equal([]);
  });

  it('a namespace in, out and in again with nothing changed while out: no write on re-entry', async () => {
    const h = new ControllerHarness();
    tenant(h, 'team-a', SELECTED);
    const c = await h.leader(selecting);
    await h.settle();
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 1, rolls: 0 });
    label(h, 'team-a', {});
    await h.settle();
    label(h, 'team-a', SELECTED);
    await h.settle();
    expect(c.selectedNamespaces).to.deep.equal(['team-a']);
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 1, rolls: 0 });
    change(h, 'team-a', '2');
    await h.settle();
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 1, rolls: 1 });
    await c.stop();
  });

  it('a namespace deleted closes its watches; one relisted out of the selection (410) closes too', async () => {
    const h = new ControllerHarness();
    tenant(h, 'team-a', SELECTED);
    tenant(h, 'team-b', SELECTED);
    const c = await h.leader(selecting);
    await h.settle();
    expect(c.selectedNamespaces).to.deep.equal(['team-a', 'team-b']);
    h.cluster.delete('namespaces', '', 'team-a');
    await h.settle();
    expect(c.selectedNamespaces).to.deep.equal(['team-b']);

    // A relabel the watch never delivered: the relist after 410 Gone finds team-b out, and closes it.
    h.cluster.autoDeliver = false;
    label(h, 'team-b', {});
    h.cluster.compact();
    h.cluster.closeWatches('namespaces');
    h.cluster.autoDeliver = true;
    await h.settle();
    expect(c.selectedNamespaces).to.deep.equal([]);
    expect(c.workloads.size).to.equal(0);
    await c.stop();
  });

  it('a watch of every namespace leaves the excluded ones out at the apiserver (a field selector)', async () => {
    const h = new ControllerHarness();
    tenant(h, 'team-a', {});
    tenant(h, 'kept-out', {});
    const c = await h.leader({ namespaces: [], excludeNamespaces: ['kept-out'] });
    await h.settle();
    change(h, 'team-a', '2');
    change(h, 'kept-out', '2');
    await h.settle();
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 1, rolls: 1 });
    expect(writes(h, 'kept-out')).to.deep.equal({ adoptions: 0, rolls: 0 });
    expect([...c.workloads.values()].map((w) => w.namespace)).to.deep.equal(['team-a']);
    await c.stop();
  });

  it('a namespace that leaves takes its metric series with it', async () => {
    const h = new ControllerHarness();
    const metrics = new OperatorMetrics();
    tenant(h, 'team-a', SELECTED);
    const c = await h.leader({ ...selecting, observer: metricsObserver(metrics) });
    await h.settle();
    const series = async () => (await metrics.adoptions.get()).values.filter((v) => v.labels['namespace'] === 'team-a').length;
    expect(await series()).to.equal(1);
    label(h, 'team-a', {});
    await h.settle();
    expect(await series()).to.equal(0);
    await c.stop();
  });

  it('without list and watch on Namespaces it starts, watching nothing, and says which permission is missing', async () => {
    const h = new ControllerHarness();
    tenant(h, 'team-a', SELECTED);
    h.cluster.forbid('namespaces', true);
    const c = await h.leader(selecting);
    await h.settle();
    expect(c.synced).to.equal(true);
    expect(c.selectedNamespaces).to.deep.equal([]);
    h.cluster.forbid('namespaces', false);
    await h.settle(120_000);
    expect(c.selectedNamespaces).to.deep.equal(['team-a']);
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 1, rolls: 0 });
    await c.stop();
  });
});
