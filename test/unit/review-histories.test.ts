// Adversarial histories against namespace selection (--namespace-selector, --exclude-namespaces)
// and the peers' annotations (--accept-annotations), on the in-memory API and a virtual clock.
// Each is judged by what the pods run: the operator's writes that changed a pod template
// (`rolled()`), and its writes at all (`operatorWrites()`), never by generation. The contract:
// roll exactly when the pods run other configuration than the current one; adoption never rolls.
import { Writable } from 'node:stream';
import { expect } from 'chai';
import winston from 'winston';
import type { ControllerOptions } from '../../src/controller.ts';
import { workloadKey } from '../../src/core/keys.ts';
import { gated, SinkGate } from '../../src/controller/sinks.ts';
import type { WorkloadLike } from '../../src/state/workload-store.ts';
import { metricsObserver } from '../../src/observability/controller-metrics.ts';
import { OperatorMetrics } from '../../src/observability/metrics.ts';
import { ControllerHarness, NS } from '../support/controller-harness.ts';
import { deploymentStatus } from '../support/fake-cluster.ts';

const SELECTED = { 'config-reload.dev/watch': 'on' };
const selecting: Partial<ControllerOptions> = { namespaces: [], namespaceSelector: 'config-reload.dev/watch=on' };

function deployment(namespace: string, name: string, configMap: string, annotations: Record<string, string> = { 'config-reload.dev/enabled': 'true' }) {
  return {
    metadata: { name, namespace, annotations },
    spec: { replicas: 1, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'app:1', envFrom: [{ configMapRef: { name: configMap } }] }] } } },
  };
}

const configMap = (namespace: string, name: string, data: Record<string, string>, annotations: Record<string, string> = {}) =>
  ({ metadata: { name, namespace, annotations }, data });

function tenant(h: ControllerHarness, namespace: string, labels: Record<string, string>, workloads = ['web'], v = '1'): void {
  h.cluster.put('namespaces', { metadata: { name: namespace, labels } });
  h.cluster.put('configmaps', configMap(namespace, 'cfg', { v }));
  for (const name of workloads) h.cluster.put('deployments', deployment(namespace, name, 'cfg'));
}

/** A one-workload tenant's namespace deleted: its objects go, then the Namespace. */
function deleteTenant(h: ControllerHarness, namespace: string): void {
  h.cluster.delete('deployments', namespace, 'web');
  h.cluster.delete('configmaps', namespace, 'cfg');
  h.cluster.delete('namespaces', '', namespace);
}

const label = (h: ControllerHarness, namespace: string, labels: Record<string, string>) =>
  h.cluster.update('namespaces', '', namespace, (o) => void (o.metadata.labels = labels));

const change = (h: ControllerHarness, namespace: string, v: string, name = 'cfg') => h.cluster.put('configmaps', configMap(namespace, name, { v }));

/** Rolls and template-less writes (adoptions, re-records) per namespace. */
function writes(h: ControllerHarness, namespace: string): { adoptions: number; rolls: number } {
  const mine = h.operatorWrites().filter((w) => w.namespace === namespace);
  return { adoptions: mine.filter((w) => !w.templateChanged).length, rolls: mine.filter((w) => w.templateChanged).length };
}

describe('review histories: namespace selection', () => {
  it('label flapping out/in inside one delivery, with a change and a workload edit between: one catch-up roll, nothing more', async () => {
    const h = new ControllerHarness();
    tenant(h, 'team-a', SELECTED);
    const c = await h.leader(selecting);
    await h.settle();
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 1, rolls: 0 });
    // Out, a config change, an unrelated metadata edit of the workload, in, out, in: all before anything settles.
    label(h, 'team-a', {});
    change(h, 'team-a', '2');
    h.cluster.update('deployments', 'team-a', 'web', (o) => void ((o.metadata.labels ??= {})['touched'] = 'yes'));
    label(h, 'team-a', SELECTED);
    label(h, 'team-a', {});
    label(h, 'team-a', SELECTED);
    await h.settle();
    expect(c.selectedNamespaces).to.deep.equal(['team-a']);
    // The pods run v1, the ConfigMap holds v2: exactly one roll.
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 1, rolls: 1 });
    // Flapping again with nothing changed writes nothing.
    label(h, 'team-a', {});
    label(h, 'team-a', SELECTED);
    await h.settle();
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 1, rolls: 1 });
    change(h, 'team-a', '3');
    await h.settle();
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 1, rolls: 2 });
    expect(c.waveTimers).to.equal(0);
    await c.stop();
  });

  it('a change and its reversal while the namespace is out: re-entry rolls nothing (the pods run the current content)', async () => {
    const h = new ControllerHarness();
    tenant(h, 'team-a', SELECTED);
    const c = await h.leader(selecting);
    await h.settle();
    label(h, 'team-a', {});
    await h.settle();
    change(h, 'team-a', '2');
    change(h, 'team-a', '1');
    label(h, 'team-a', SELECTED);
    await h.settle();
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 1, rolls: 0 });
    await c.stop();
  });

  it('a namespace deleted and recreated under the same name (new uids) while selected: the new workload is adopted, never rolled', async () => {
    const h = new ControllerHarness();
    tenant(h, 'team-a', SELECTED);
    const c = await h.leader(selecting);
    await h.settle();
    change(h, 'team-a', '2');
    await h.settle();
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 1, rolls: 1 });
    const oldUid = h.cluster.get('deployments', 'team-a', 'web')!.metadata.uid;
    deleteTenant(h, 'team-a');
    await h.settle();
    expect(c.selectedNamespaces).to.deep.equal([]);
    // Recreated from the same manifests, the ConfigMap with other content.
    tenant(h, 'team-a', SELECTED, ['web'], '9');
    await h.settle();
    expect(h.cluster.get('deployments', 'team-a', 'web')!.metadata.uid).to.not.equal(oldUid);
    expect(c.selectedNamespaces).to.deep.equal(['team-a']);
    // Created with v9: its pods run v9. Adopted once, not rolled.
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 2, rolls: 1 });
    change(h, 'team-a', '10');
    await h.settle();
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 2, rolls: 2 });
    await c.stop();
  });

  it('a namespace deleted and recreated inside a Namespace relist gap (410): the new objects arrive on the per-namespace watches; no extra roll', async () => {
    const h = new ControllerHarness();
    tenant(h, 'team-a', SELECTED);
    const c = await h.leader(selecting);
    await h.settle();
    // The Namespace watch misses the deletion and the recreation; the per-namespace watches do not.
    h.cluster.closeWatches('namespaces');
    deleteTenant(h, 'team-a');
    tenant(h, 'team-a', SELECTED, ['web'], '9');
    h.cluster.compact();
    await h.settle(120_000);
    expect(c.selectedNamespaces).to.deep.equal(['team-a']);
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 2, rolls: 0 });
    change(h, 'team-a', '10');
    await h.settle();
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 2, rolls: 1 });
    await c.stop();
  });

  it('a workload deleted and recreated from its manifest while its namespace is out: adopted on re-entry, not rolled', async () => {
    const h = new ControllerHarness();
    tenant(h, 'team-a', SELECTED);
    const c = await h.leader(selecting);
    await h.settle();
    label(h, 'team-a', {});
    await h.settle();
    change(h, 'team-a', '2');
    h.cluster.delete('deployments', 'team-a', 'web');
    h.cluster.put('deployments', deployment('team-a', 'web', 'cfg')); // its pods start with v2
    label(h, 'team-a', SELECTED);
    await h.settle();
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 2, rolls: 0 });
    await c.stop();
  });

  it('arguable: the Namespace watch lags, and a change written after the label but before the namespace is listed is taken as what it held on entry (adopted, as at the operator\'s start)', async () => {
    const h = new ControllerHarness();
    tenant(h, 'team-b', {});
    const c = await h.leader(selecting);
    await h.settle();
    expect(writes(h, 'team-b')).to.deep.equal({ adoptions: 0, rolls: 0 });
    // The label lands; the Namespace watch has not delivered it when the ConfigMap changes.
    h.cluster.autoDeliver = false;
    label(h, 'team-b', SELECTED);
    change(h, 'team-b', '2');
    h.cluster.autoDeliver = true;
    h.cluster.deliverAll();
    await h.settle();
    expect(c.selectedNamespaces).to.deep.equal(['team-b']);
    // web's pods run v1 and the change came after the label, but nothing watched the namespace
    // then: its first lists are its entry, as the operator's own lists are at its start, so web
    // is adopted (docs/namespace-selection.md, "Entering"). Dating the entry by the label's
    // version instead would make every object written in the watch's delay unknown, and roll
    // the workloads of a namespace created with its label and its objects in one apply.
    expect(writes(h, 'team-b')).to.deep.equal({ adoptions: 1, rolls: 0 });
    change(h, 'team-b', '3');
    await h.settle();
    expect(writes(h, 'team-b')).to.deep.equal({ adoptions: 1, rolls: 1 });
    await c.stop();
  });

  it('a shared ConfigMap changed between the namespace\'s config list and its workload list: every consumer rolls once', async () => {
    const h = new ControllerHarness();
    tenant(h, 'team-b', {}, ['a', 'b', 'c']);
    const c = await h.leader(selecting);
    await h.settle();
    // Hold the workload lists back: the config objects are listed, then the change lands.
    h.cluster.forbid('deployments', true);
    label(h, 'team-b', SELECTED);
    await h.settle();
    change(h, 'team-b', '2');
    h.cluster.forbid('deployments', false);
    await h.settle(120_000);
    expect(c.selectedNamespaces).to.deep.equal(['team-b']);
    expect(h.rolled().sort()).to.deep.equal(['a', 'b', 'c']);
    await h.settle(120_000);
    expect(h.rolled()).to.have.length(3);
    await c.stop();
  });
});

/** The status the deployment controller would write (FakeCluster runs none). */
function status(h: ControllerHarness, namespace: string, name: string, state: 'healthy' | 'progressing'): void {
  h.cluster.writeStatus('deployments', namespace, name, (g) => deploymentStatus(state, g), 'deployment-controller');
}

describe('review histories: namespace selection, waves, in-flight work, refusals, failover', () => {
  it('waves in two namespaces, one closes mid-wave: the other goes on; no timer, held series or later write is left of the closed one', async () => {
    const h = new ControllerHarness();
    const names = ['w0', 'w1', 'w2', 'w3'];
    tenant(h, 'team-a', SELECTED, names);
    tenant(h, 'team-b', SELECTED, names);
    for (const ns of ['team-a', 'team-b']) for (const n of names) status(h, ns, n, 'healthy');
    const c = await h.leader({ ...selecting, debounceMs: 0, waveThreshold: 2, waveTimeoutMs: 60_000 });
    await h.settle();
    change(h, 'team-a', '2');
    change(h, 'team-b', '2');
    await h.settle(1_000);
    // Each namespace's canary (w0) rolled; the rest wait for it.
    expect(writes(h, 'team-a').rolls).to.equal(1);
    expect(writes(h, 'team-b').rolls).to.equal(1);
    status(h, 'team-a', 'w0', 'progressing');
    status(h, 'team-b', 'w0', 'progressing');
    await h.settle(1_000);
    label(h, 'team-a', {});
    await h.settle(1_000);
    expect(c.selectedNamespaces).to.deep.equal(['team-b']);
    // The closed namespace's wave timeout passes: no Event, no held series, no write for it.
    await h.settle(120_000);
    expect(h.waveHeld.filter(([, held]) => held > 0).length).to.equal(1); // team-b's canary timed out: held
    expect(writes(h, 'team-a').rolls).to.equal(1);
    // On the ConfigMap and on each of the three held workloads: all of team-b.
    expect(h.events.filter((e) => e.reason === 'WaveHeld').map((e) => e.target.namespace)).to.deep.equal(Array(4).fill('team-b'));
    // team-b's canary recovers: its rest roll, each once.
    status(h, 'team-b', 'w0', 'healthy');
    await h.settle(1_000);
    expect(writes(h, 'team-b').rolls).to.equal(4);
    for (const n of names.slice(1)) status(h, 'team-b', n, 'healthy');
    await h.settle(120_000);
    expect(writes(h, 'team-b').rolls).to.equal(4);
    expect(c.waveTimers).to.equal(0);
    await c.stop();
  });

  it('a namespace whose wave is held (its canary timed out) closes: its config_reload_wave_held series and timers go, nothing is written', async () => {
    const h = new ControllerHarness();
    const metrics = new OperatorMetrics();
    const names = ['w0', 'w1', 'w2'];
    tenant(h, 'team-a', SELECTED, names);
    for (const n of names) status(h, 'team-a', n, 'healthy');
    const c = await h.leader({ ...selecting, debounceMs: 0, waveThreshold: 2, waveTimeoutMs: 60_000, observer: metricsObserver(metrics) });
    await h.settle();
    change(h, 'team-a', '2');
    await h.settle(1_000);
    status(h, 'team-a', 'w0', 'progressing');
    await h.settle(120_000);
    const held = async () => (await metrics.waveHeld.get()).values.filter((v) => v.labels['namespace'] === 'team-a').map((v) => v.value);
    expect(await held()).to.deep.equal([2]);
    const before = h.operatorWrites().length;
    label(h, 'team-a', {});
    await h.settle(120_000);
    expect(await held()).to.deep.equal([]);
    expect(c.waveTimers).to.equal(0);
    expect(h.operatorWrites()).to.have.length(before);
    await c.stop();
  });

  it('a roll in flight when the namespace closes finishes; re-entry reads it from the record: no second roll', async () => {
    const h = new ControllerHarness();
    tenant(h, 'team-a', SELECTED);
    const c = await h.leader({ ...selecting, debounceMs: 0 });
    await h.settle();
    h.cluster.patchMode = 'hold';
    change(h, 'team-a', '2');
    await h.settle(1_000);
    expect(h.cluster.heldAnswers).to.equal(1); // applied, its answer not back
    label(h, 'team-a', {});
    await h.settle(1_000);
    h.cluster.patchMode = 'ok';
    h.cluster.releaseAnswers();
    await h.settle();
    expect(c.workloads.get(workloadKey('Deployment', 'team-a', 'web'))).to.equal(undefined);
    expect(c.queue.length).to.equal(0);
    label(h, 'team-a', SELECTED);
    await h.settle();
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 1, rolls: 1 });
    change(h, 'team-a', '3');
    await h.settle();
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 1, rolls: 2 });
    expect(c.health().alive).to.equal(true);
    await c.stop();
  });

  it('a roll whose answer comes back only after the namespace left and entered again: one roll, and the next change rolls once', async () => {
    const h = new ControllerHarness();
    tenant(h, 'team-a', SELECTED);
    const c = await h.leader({ ...selecting, debounceMs: 0 });
    await h.settle();
    h.cluster.patchMode = 'hold';
    change(h, 'team-a', '2');
    await h.settle(1_000);
    expect(h.cluster.heldAnswers).to.equal(1);
    h.cluster.patchMode = 'ok';
    label(h, 'team-a', {});
    await h.settle(1_000);
    label(h, 'team-a', SELECTED);
    await h.settle(1_000);
    h.cluster.releaseAnswers();
    await h.settle();
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 1, rolls: 1 });
    change(h, 'team-a', '3');
    await h.settle();
    expect(writes(h, 'team-a')).to.deep.equal({ adoptions: 1, rolls: 2 });
    await c.stop();
  });

  it('list and watch on Namespaces revoked while running: the open namespaces stay served; granted again, the relist closes what left meanwhile', async () => {
    const h = new ControllerHarness();
    tenant(h, 'team-a', SELECTED);
    tenant(h, 'team-b', SELECTED);
    const c = await h.leader(selecting);
    await h.settle();
    h.cluster.forbid('namespaces', true);
    await h.settle(10_000);
    expect(c.selectedNamespaces).to.deep.equal(['team-a', 'team-b']);
    change(h, 'team-a', '2');
    await h.settle(10_000);
    expect(writes(h, 'team-a').rolls).to.equal(1);
    label(h, 'team-b', {});
    h.cluster.forbid('namespaces', false);
    await h.settle(300_000);
    expect(c.selectedNamespaces).to.deep.equal(['team-a']);
    expect(writes(h, 'team-b')).to.deep.equal({ adoptions: 1, rolls: 0 });
    await c.stop();
  });

  it('the operator\'s own namespace excluded, though labelled: never opened, never written', async () => {
    const h = new ControllerHarness();
    tenant(h, 'operator', SELECTED);
    tenant(h, 'team-a', SELECTED);
    const c = await h.leader({ ...selecting, excludeNamespaces: ['operator'] });
    await h.settle();
    label(h, 'operator', { ...SELECTED, other: 'x' });
    change(h, 'operator', '2');
    await h.settle();
    expect(c.selectedNamespaces).to.deep.equal(['team-a']);
    expect(writes(h, 'operator')).to.deep.equal({ adoptions: 0, rolls: 0 });
    await c.stop();
  });

  it('failover while namespaces flap: the standby\'s warm state rolls nothing twice and misses nothing', async () => {
    const h = new ControllerHarness();
    tenant(h, 'team-a', SELECTED);
    tenant(h, 'team-b', {});
    const leadership = new AbortController();
    const leader = await h.leader(selecting, leadership.signal);
    const standby = h.controller(selecting);
    await standby.start();
    await h.settle();
    change(h, 'team-a', '2');
    label(h, 'team-b', SELECTED);
    await h.settle();
    label(h, 'team-a', {});
    await h.settle();
    change(h, 'team-a', '3'); // while out: rolls on re-entry, once
    label(h, 'team-a', SELECTED);
    change(h, 'team-b', '2');
    await h.settle();
    const before = { a: writes(h, 'team-a'), b: writes(h, 'team-b') };
    expect(before).to.deep.equal({ a: { adoptions: 1, rolls: 2 }, b: { adoptions: 1, rolls: 1 } });
    leadership.abort();
    await leader.stop();
    expect(standby.selectedNamespaces).to.deep.equal(['team-a', 'team-b']);
    standby.runWorkers();
    await h.settle();
    expect({ a: writes(h, 'team-a'), b: writes(h, 'team-b') }).to.deep.equal(before);
    change(h, 'team-a', '4');
    change(h, 'team-b', '3');
    await h.settle();
    expect({ a: writes(h, 'team-a'), b: writes(h, 'team-b') }).to.deep.equal({ a: { adoptions: 1, rolls: 3 }, b: { adoptions: 1, rolls: 2 } });
    await standby.stop();
  });
});

const RELOADER_ONLY: Partial<ControllerOptions> = { acceptAnnotations: ['reloader'], debounceMs: 0 };

/** A Deployment in NS reading ConfigMap cfg (envFrom), with metadata and pod-template annotations. */
function peerDeployment(name: string, meta: Record<string, string>, template: Record<string, string> = {}, extraEnvFrom: object[] = []) {
  return {
    metadata: { name, namespace: NS, annotations: meta },
    spec: {
      replicas: 1,
      template: {
        metadata: { labels: { app: name }, annotations: template },
        spec: { containers: [{ name: 'c', image: 'app:1', envFrom: [{ configMapRef: { name: 'cfg' } }, ...extraEnvFrom] }] },
      },
    },
  };
}
const cm = (name: string, data: Record<string, string>, annotations: Record<string, string> = {}) => ({ metadata: { name, namespace: NS, annotations }, data });
const setMeta = (h: ControllerHarness, name: string, edit: (a: Record<string, string>) => void) =>
  h.cluster.update('deployments', NS, name, (o) => edit((o.metadata.annotations ??= {})));

describe('review histories: peer annotations', () => {
  it('both ours and Reloader\'s, then ours removed: the meaning switches to Reloader\'s without a roll; changes roll once', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cm('cfg', { a: '1' }));
    h.cluster.put('configmaps', cm('extra', { b: '1' }));
    h.cluster.put('deployments', peerDeployment('web', { 'config-reload.dev/enabled': 'true', 'reloader.stakater.com/auto': 'true' }));
    const c = await h.leader(RELOADER_ONLY);
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    setMeta(h, 'web', (a) => delete a['config-reload.dev/enabled']);
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    h.cluster.put('configmaps', cm('cfg', { a: '2' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    // Now a reload list naming another object, with ours back as configmaps: only ours are read.
    setMeta(h, 'web', (a) => {
      a['configmap.reloader.stakater.com/reload'] = 'extra';
      a['config-reload.dev/configmaps'] = 'extra';
    });
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    h.cluster.put('configmaps', cm('extra', { b: '2' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web', 'web']);
    await c.stop();
  });

  it('ours removed while Reloader\'s search excludes an object that changed meanwhile: no roll (it is unmatched), then match rolls once', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cm('cfg', { a: '1' }));
    h.cluster.put('deployments', peerDeployment('web', { 'config-reload.dev/enabled': 'true', 'reloader.stakater.com/search': 'true' }));
    const c = await h.leader(RELOADER_ONLY);
    await h.settle();
    setMeta(h, 'web', (a) => delete a['config-reload.dev/enabled']);
    await h.settle();
    h.cluster.put('configmaps', cm('cfg', { a: '2' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    // Ours back: every reference counts again, and the pods run a: 1. Rolls once (as unsetting ignore does).
    setMeta(h, 'web', (a) => void (a['config-reload.dev/enabled'] = 'true'));
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    await c.stop();
  });

  it('match toggled: removing it rolls nothing, a change while unmatched rolls nothing, setting it again rolls once', async () => {
    const h = new ControllerHarness();
    const match = { 'reloader.stakater.com/match': 'true' };
    h.cluster.put('configmaps', cm('cfg', { a: '1' }, match));
    h.cluster.put('deployments', peerDeployment('search', { 'reloader.stakater.com/search': 'true' }));
    h.cluster.put('deployments', peerDeployment('auto', { 'reloader.stakater.com/auto': 'true' }));
    const c = await h.leader(RELOADER_ONLY);
    await h.settle();
    h.cluster.put('configmaps', cm('cfg', { a: '2' }, match));
    await h.settle();
    expect(h.rolled().sort()).to.deep.equal(['auto', 'search']);
    h.cluster.put('configmaps', cm('cfg', { a: '2' }));
    await h.settle();
    expect(h.rolled()).to.have.length(2);
    h.cluster.put('configmaps', cm('cfg', { a: '3' }));
    await h.settle();
    expect(h.rolled().slice(2)).to.deep.equal(['auto']);
    h.cluster.put('configmaps', cm('cfg', { a: '3' }, match));
    await h.settle();
    expect(h.rolled().slice(3)).to.deep.equal(['search']);
    // A restart changes nothing.
    await c.stop();
    const again = await h.leader(RELOADER_ONLY);
    await h.settle();
    expect(h.rolled()).to.have.length(4);
    await again.stop();
  });

  it('reloader ignore toggled, and overridden by config-reload.dev/ignore: "false"', async () => {
    const h = new ControllerHarness();
    const ignore = { 'reloader.stakater.com/ignore': 'true' };
    h.cluster.put('configmaps', cm('cfg', { a: '1' }));
    h.cluster.put('deployments', peerDeployment('web', { 'reloader.stakater.com/auto': 'true' }));
    const c = await h.leader(RELOADER_ONLY);
    await h.settle();
    h.cluster.put('configmaps', cm('cfg', { a: '1' }, ignore));
    h.cluster.put('configmaps', cm('cfg', { a: '2' }, ignore));
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    // Ours says not ignored: it wins, and the pods run a: 1.
    h.cluster.put('configmaps', cm('cfg', { a: '2' }, { ...ignore, 'config-reload.dev/ignore': 'false' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    h.cluster.put('configmaps', cm('cfg', { a: '3' }, ignore));
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    h.cluster.put('configmaps', cm('cfg', { a: '3' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web', 'web']);
    await c.stop();
  });

  it('a named reload of an object that does not exist: adopted; its creation rolls once, its deletion once (documented: optional)', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cm('cfg', { a: '1' }));
    h.cluster.put('deployments', peerDeployment('web', { 'configmap.reloader.stakater.com/reload': 'later' }));
    const c = await h.leader(RELOADER_ONLY);
    await h.settle();
    expect(h.operatorWrites().map((w) => [w.name, w.templateChanged])).to.deep.equal([['web', false]]);
    // cfg is referenced but not named: Reloader's reload list alone does not follow references.
    h.cluster.put('configmaps', cm('cfg', { a: '2' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    h.cluster.put('configmaps', cm('later', { x: '1' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    h.cluster.delete('configmaps', NS, 'later');
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web', 'web']);
    await c.stop();
  });

  it('a Secret named by secret.reloader.stakater.com/reload with Secrets not watched: no Secret is read, nothing rolls for it', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cm('cfg', { a: '1' }));
    h.cluster.put('secrets', { metadata: { name: 'db', namespace: NS }, data: { p: 'MQ==' } } as never);
    h.cluster.put('deployments', peerDeployment('web', { 'secret.reloader.stakater.com/reload': 'db' }));
    const c = await h.leader({ ...RELOADER_ONLY, sourceKinds: ['ConfigMap'] });
    await h.settle();
    h.cluster.put('secrets', { metadata: { name: 'db', namespace: NS }, data: { p: 'Mg==' } } as never);
    h.cluster.put('configmaps', cm('cfg', { a: '2' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    expect(h.cluster.requests.list).to.be.greaterThan(0);
    await c.stop();
  });

  it('the flag turned off at a restart: workloads opted in by Reloader alone are left as they are (no write, no roll), and one warn line per workload says so', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cm('cfg', { a: '1' }));
    h.cluster.put('deployments', peerDeployment('web', { 'reloader.stakater.com/auto': 'true' }));
    const first = await h.leader(RELOADER_ONLY);
    await h.settle();
    await first.stop();
    const writesBefore = h.operatorWrites().length;
    const lines: Array<{ level: string; message: string; workload?: string; toHonour?: string }> = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
        done();
      },
    });
    const log = winston.createLogger({ level: 'info', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
    const second = await h.leader({ debounceMs: 0, log });
    await h.settle();
    h.cluster.put('configmaps', cm('cfg', { a: '2' }));
    h.cluster.update('deployments', NS, 'web', (o) => void ((o.metadata.labels ??= {})['edited'] = 'yes'));
    await h.settle();
    expect(h.operatorWrites()).to.have.length(writesBefore);
    const said = lines.filter((l) => l.level === 'warn' && l.message.includes('peer not accepted'));
    expect(said.map((l) => [l.workload, l.toHonour])).to.deep.equal([['Deployment/ns/web', '--accept-annotations reloader']]);
    await second.stop();
    // On again: the change made while nobody honoured the annotation rolls once (catch-up).
    const third = await h.leader(RELOADER_ONLY);
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    await third.stop();
  });

  it('Reloader\'s annotation moved from metadata to the pod template: the user\'s template write rolls the pods, the operator only re-records', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cm('cfg', { a: '1' }));
    h.cluster.put('deployments', peerDeployment('web', { 'reloader.stakater.com/auto': 'true' }));
    const c = await h.leader(RELOADER_ONLY);
    await h.settle();
    // One edit: out of the metadata, into the template (the Deployment controller rolls it).
    h.cluster.update('deployments', NS, 'web', (o) => {
      delete o.metadata.annotations!['reloader.stakater.com/auto'];
      const spec = (o as unknown as ReturnType<typeof peerDeployment>).spec;
      spec.template.metadata.annotations['reloader.stakater.com/auto'] = 'true';
    });
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    // In two edits, with a change between: out of the metadata (opted out), the change, into the template.
    h.cluster.update('deployments', NS, 'web', (o) => {
      const spec = (o as unknown as ReturnType<typeof peerDeployment>).spec;
      delete spec.template.metadata.annotations['reloader.stakater.com/auto'];
    });
    h.cluster.put('configmaps', cm('cfg', { a: '2' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    // Back into the metadata: the template's last write (the removal) came before a: 2, so the
    // pods run a: 1, and the opt-in rolls them once (the store dated that write while opted out).
    setMeta(h, 'web', (a) => void (a['reloader.stakater.com/auto'] = 'true'));
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    h.cluster.put('configmaps', cm('cfg', { a: '3' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web', 'web']);
    await c.stop();
  });
});

describe('review histories: a malformed peer switch between two opt-ins', () => {
  it('ours removed, Wave\'s "True" left (malformed: a Warning, no write), a change, then "true": one roll for the change the pods missed', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cm('cfg', { a: '1' }));
    h.cluster.put('deployments', peerDeployment('web', { 'config-reload.dev/enabled': 'true', 'wave.pusher.com/update-on-config-change': 'True' }));
    const c = await h.leader({ acceptAnnotations: ['wave'], debounceMs: 0 });
    await h.settle();
    const adopted = h.operatorWrites().length;
    setMeta(h, 'web', (a) => delete a['config-reload.dev/enabled']);
    await h.settle();
    h.cluster.put('configmaps', cm('cfg', { a: '2' }));
    await h.settle();
    expect(h.operatorWrites()).to.have.length(adopted);
    expect(h.events.filter((e) => e.reason === 'MalformedAnnotation').map((e) => e.target.name)).to.deep.equal(['web']);
    setMeta(h, 'web', (a) => void (a['wave.pusher.com/update-on-config-change'] = 'true'));
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    await c.stop();
  });
});

describe('review histories: more toggles', () => {
  it('Reloader\'s exclude list toggled: excluding writes no roll; a change while excluded rolls once when the exclusion goes', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cm('cfg', { a: '1' }));
    h.cluster.put('deployments', peerDeployment('web', { 'reloader.stakater.com/auto': 'true' }));
    const c = await h.leader(RELOADER_ONLY);
    await h.settle();
    setMeta(h, 'web', (a) => void (a['configmaps.exclude.reloader.stakater.com/reload'] = 'cfg'));
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    h.cluster.put('configmaps', cm('cfg', { a: '2' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    setMeta(h, 'web', (a) => delete a['configmaps.exclude.reloader.stakater.com/reload']);
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    await c.stop();
  });

  it('a Namespace relist (410) finds a namespace that entered in the gap: opened, adopted, its later change rolls once', async () => {
    const h = new ControllerHarness();
    tenant(h, 'team-a', SELECTED);
    tenant(h, 'team-b', {});
    const c = await h.leader(selecting);
    await h.settle();
    h.cluster.autoDeliver = false;
    label(h, 'team-b', SELECTED);
    h.cluster.compact();
    h.cluster.closeWatches('namespaces');
    h.cluster.autoDeliver = true;
    await h.settle(120_000);
    expect(c.selectedNamespaces).to.deep.equal(['team-a', 'team-b']);
    expect(writes(h, 'team-b')).to.deep.equal({ adoptions: 1, rolls: 0 });
    change(h, 'team-b', '2');
    await h.settle();
    expect(writes(h, 'team-b')).to.deep.equal({ adoptions: 1, rolls: 1 });
    await c.stop();
  });

  it('a namespace created with its label, then its ConfigMaps (one optional, created later) and workloads at once: adopted, no roll; later changes roll once', async () => {
    const h = new ControllerHarness();
    const c = await h.leader(selecting);
    await h.settle();
    h.cluster.put('namespaces', { metadata: { name: 'fresh', labels: SELECTED } });
    h.cluster.put('configmaps', configMap('fresh', 'cfg', { v: '1' }));
    const optional = deployment('fresh', 'opt', 'cfg');
    (optional.spec.template.spec.containers[0]!.envFrom as object[]).push({ configMapRef: { name: 'maybe', optional: true } });
    h.cluster.put('deployments', optional);
    h.cluster.put('deployments', deployment('fresh', 'web', 'cfg'));
    await h.settle();
    expect(writes(h, 'fresh')).to.deep.equal({ adoptions: 2, rolls: 0 });
    h.cluster.put('configmaps', configMap('fresh', 'maybe', { m: '1' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal(['opt']);
    change(h, 'fresh', '2');
    await h.settle();
    expect(h.rolled().slice(1).sort()).to.deep.equal(['opt', 'web']);
    await c.stop();
  });
});

describe('review histories: peer annotations and waves', () => {
  it('a shared ConfigMap without match: "true" whose first consumer (the canary by order) searches: the others still roll, each once', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cm('cfg', { a: '1' }));
    h.cluster.put('deployments', peerDeployment('a-search', { 'reloader.stakater.com/search': 'true' }));
    for (const n of ['b', 'c', 'd']) h.cluster.put('deployments', peerDeployment(n, { 'reloader.stakater.com/auto': 'true' }));
    for (const n of ['a-search', 'b', 'c', 'd']) status(h, NS, n, 'healthy');
    const c = await h.leader({ ...RELOADER_ONLY, waveThreshold: 2, waveTimeoutMs: 60_000 });
    await h.settle();
    h.cluster.put('configmaps', cm('cfg', { a: '2' }));
    await h.settle(1_000);
    for (const n of h.rolled()) status(h, NS, n, 'healthy');
    await h.settle(1_000);
    for (const n of h.rolled()) status(h, NS, n, 'healthy');
    await h.settle(120_000);
    expect(h.rolled().sort()).to.deep.equal(['b', 'c', 'd']);
    expect(h.waveHeld.filter(([, held]) => held > 0)).to.deep.equal([]);
    await c.stop();
  });
});

describe('review histories: match set on a shared ConfigMap', () => {
  it('the searching consumer rolls once for the change it missed; the others, up to date, roll nothing', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cm('cfg', { a: '1' }));
    h.cluster.put('deployments', peerDeployment('a-search', { 'reloader.stakater.com/search': 'true' }));
    for (const n of ['b', 'c', 'd']) h.cluster.put('deployments', peerDeployment(n, { 'reloader.stakater.com/auto': 'true' }));
    for (const n of ['a-search', 'b', 'c', 'd']) status(h, NS, n, 'healthy');
    const c = await h.leader({ ...RELOADER_ONLY, waveThreshold: 2, waveTimeoutMs: 60_000 });
    await h.settle();
    h.cluster.put('configmaps', cm('cfg', { a: '2' }));
    for (let i = 0; i < 3; i++) {
      await h.settle(1_000);
      for (const n of h.rolled()) status(h, NS, n, 'healthy');
    }
    expect(h.rolled().sort()).to.deep.equal(['b', 'c', 'd']);
    h.cluster.put('configmaps', cm('cfg', { a: '2' }, { 'reloader.stakater.com/match': 'true' }));
    for (let i = 0; i < 3; i++) {
      await h.settle(1_000);
      for (const n of h.rolled()) status(h, NS, n, 'healthy');
    }
    await h.settle(120_000);
    expect(h.rolled().slice(3)).to.deep.equal(['a-search']);
    expect(h.waveHeld.filter(([, held]) => held > 0)).to.deep.equal([]);
    await c.stop();
  });
});

describe('review histories: re-entry with a shared change made while out', () => {
  it('four recorded consumers of a shared ConfigMap changed while their namespace was out: the catch-up goes in waves, each rolls once', async () => {
    const h = new ControllerHarness();
    const names = ['w0', 'w1', 'w2', 'w3'];
    tenant(h, 'team-a', SELECTED, names);
    for (const n of names) status(h, 'team-a', n, 'healthy');
    const c = await h.leader({ ...selecting, debounceMs: 0, waveThreshold: 2, waveTimeoutMs: 60_000 });
    await h.settle();
    label(h, 'team-a', {});
    await h.settle();
    change(h, 'team-a', '2');
    label(h, 'team-a', SELECTED);
    await h.settle(1_000);
    expect(h.rolled()).to.deep.equal(['w0']);
    status(h, 'team-a', 'w0', 'healthy');
    await h.settle(1_000);
    expect(h.rolled().slice(1).sort()).to.deep.equal(['w1', 'w2', 'w3']);
    for (const n of names) status(h, 'team-a', n, 'healthy');
    await h.settle(120_000);
    expect(h.rolled()).to.have.length(4);
    await c.stop();
  });
});

describe('review histories: what an entering namespace holds back while its config objects are listed', () => {
  it('status updates of one generation replace each other; creations, spec changes, deletions and the list keep their order', () => {
    const gate = new SinkGate();
    const seen: string[] = [];
    const sink = gated<WorkloadLike>({
      upsert: (d, created) => void seen.push(`${created ? 'ADDED' : 'MODIFIED'} ${d.metadata!.name} g${d.metadata!.generation} rv${d.metadata!.resourceVersion}`),
      remove: (d) => void seen.push(`DELETED ${d.metadata!.name}`),
      beginList: () => ({ add: (d) => void seen.push(`item ${d.metadata!.name}`), commit: (rv) => void seen.push(`list rv${rv}`) }),
    }, gate);
    const d = (name: string, generation: number, rv: number): WorkloadLike => ({ metadata: { name, namespace: 'n', generation, resourceVersion: String(rv) } });
    const list = sink.beginList();
    list.add(d('a', 1, 1));
    list.commit('5');
    sink.upsert(d('a', 1, 6), false);
    for (let rv = 7; rv < 1_000; rv++) sink.upsert(d('a', 1, rv), false);
    sink.upsert(d('b', 1, 1_000), true);
    sink.upsert(d('b', 1, 1_001), false);
    sink.upsert(d('b', 1, 1_002), false);
    sink.upsert(d('a', 2, 1_003), false);
    sink.upsert(d('a', 2, 1_004), false);
    sink.remove(d('b', 1, 1_005));
    expect(seen).to.deep.equal([]);
    gate.release();
    expect(seen).to.deep.equal([
      'item a', 'list rv5', 'MODIFIED a g1 rv999', 'ADDED b g1 rv1000', 'MODIFIED b g1 rv1002', 'MODIFIED a g2 rv1004', 'DELETED b',
    ]);
    sink.upsert(d('a', 2, 1_006), false);
    sink.upsert(d('a', 2, 1_007), false);
    expect(seen.slice(7)).to.deep.equal(['MODIFIED a g2 rv1006', 'MODIFIED a g2 rv1007']);
  });
});
