// Custom workload kinds (src/core/kinds.ts, src/controller/workload-kinds.ts) through the real
// controller against the in-memory API on the virtual clock: Argo Rollouts adopted and rolled
// at their own API path, key precision, a Rollout with workloadRef never written (its
// Deployment is), waves across Deployments and Rollouts sharing a ConfigMap, a kind whose CRD
// is absent at start and installed later. The FakeCluster runs no controllers: statuses are
// written by hand as the Rollout and deployment controllers would.
import { expect } from 'chai';
import { parseConfig } from '../../src/config.ts';
import type { ControllerSettings } from '../../src/controller.ts';
import { workloadHealth } from '../../src/core/health.ts';
import { workloadKindOf } from '../../src/explain/args.ts';
import type { ResourceType } from '../../src/kube/cluster-api.ts';
import { KIND_RECHECK_MS } from '../../src/controller/workload-kinds.ts';
import { ControllerHarness, NS, startSettled } from '../support/controller-harness.ts';
import { deploymentStatus } from '../support/fake-cluster.ts';

const ROLLOUTS_AND_DEPLOYMENTS = { workloadKinds: ['Deployment', 'Rollout'] } as const satisfies Partial<ControllerSettings>;

function podTemplate(name: string, reads: object) {
  return { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'app:1', ...reads }] } };
}

const configMap = (name: string, data: Record<string, string>) => ({ metadata: { name, namespace: NS }, data });
const wholeConfigMap = (cm: string) => ({ envFrom: [{ configMapRef: { name: cm } }] });
const oneKey = (cm: string, key: string) => ({ env: [{ name: 'K', valueFrom: { configMapKeyRef: { name: cm, key } } }] });

function rollout(name: string, reads: object, annotations: Record<string, string> = {}) {
  return {
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout',
    metadata: { name, namespace: NS, annotations: { 'config-reload.dev/enabled': 'true', ...annotations } },
    spec: { replicas: 1, strategy: { canary: { steps: [{ setWeight: 50 }] } }, template: podTemplate(name, reads) },
  };
}

function deployment(name: string, reads: object, annotations: Record<string, string> = {}, replicas = 1) {
  return {
    metadata: { name, namespace: NS, annotations: { 'config-reload.dev/enabled': 'true', ...annotations } },
    spec: { replicas, template: podTemplate(name, reads) },
  };
}

/** A harness whose patches are recorded with the resource they went to. */
function harness() {
  const h = new ControllerHarness();
  const patched: Array<{ type: ResourceType; name: string }> = [];
  const mergePatch = h.cluster.mergePatch.bind(h.cluster);
  h.cluster.mergePatch = async (type, req) => {
    patched.push({ type, name: req.name });
    return mergePatch(type, req);
  };
  const change = (name: string, data: Record<string, string>) => h.cluster.update('configmaps', NS, name, (cm) => void ((cm as Record<string, unknown>)['data'] = data));
  /** Template writes of `name` on `plural` by the operator: its rolls. */
  const rolls = (plural: string, name: string) => h.operatorWrites(name).filter((w) => w.plural === plural && w.templateChanged).length;
  return { h, patched, change, rolls };
}

describe('custom workload kinds: Argo Rollouts on the in-memory API', () => {
  it('adopts a Rollout without rolling it, then rolls it once per change of what it reads, at its own API path', async () => {
    const { h, patched, change, rolls } = harness();
    h.cluster.installCrd('argoproj.io', 'rollouts');
    h.cluster.put('configmaps', configMap('cfg', { x: '1', y: '1' }));
    h.cluster.put('rollouts', rollout('whole', wholeConfigMap('cfg')));
    h.cluster.put('rollouts', rollout('only-x', oneKey('cfg', 'x')));
    const c = h.controller({ ...ROLLOUTS_AND_DEPLOYMENTS, debounceMs: 0 });
    const settle = await startSettled(c, h.clock);
    expect(h.operatorWrites().map((w) => [w.plural, w.name, w.templateChanged]).sort()).to.deep.equal([
      ['rollouts', 'only-x', false], ['rollouts', 'whole', false],
    ]);
    expect(patched.every((p) => p.type.apiPath === '/apis/argoproj.io/v1alpha1' && p.type.plural === 'rollouts')).to.equal(true);

    // Key precision: y is read by `whole` only.
    change('cfg', { x: '1', y: '2' });
    await settle();
    expect([rolls('rollouts', 'whole'), rolls('rollouts', 'only-x')]).to.deep.equal([1, 0]);
    change('cfg', { x: '2', y: '2' });
    await settle();
    expect([rolls('rollouts', 'whole'), rolls('rollouts', 'only-x')]).to.deep.equal([2, 1]);
    // The annotation is in the Rollout's own pod template (what the Rollout controller reads).
    const written = h.cluster.get('rollouts', NS, 'only-x')! as unknown as { spec: { template: { metadata: { annotations: Record<string, string> } } } };
    expect(written.spec.template.metadata.annotations).to.have.property('config-reload.dev/config-hash');
    await c.stop();
  });

  it('a Rollout with workloadRef is never written; the Deployment it refers to carries the annotation and rolls once', async () => {
    const { h, change, rolls } = harness();
    h.cluster.installCrd('argoproj.io', 'rollouts');
    h.cluster.put('configmaps', configMap('cfg', { x: '1' }));
    // As Argo Rollouts' docs show it: the Deployment scaled to 0, the Rollout referring to it.
    h.cluster.put('deployments', deployment('web', wholeConfigMap('cfg'), {}, 0));
    const referring = {
      metadata: { name: 'web', namespace: NS, annotations: { 'config-reload.dev/enabled': 'true' } },
      spec: { replicas: 2, workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', scaleDown: 'onsuccess' }, strategy: { canary: {} } },
    };
    h.cluster.put('rollouts', referring);
    const c = h.controller({ ...ROLLOUTS_AND_DEPLOYMENTS, debounceMs: 0 });
    const settle = await startSettled(c, h.clock);
    change('cfg', { x: '2' });
    await settle();
    expect(h.operatorWrites().filter((w) => w.plural === 'rollouts'), 'nothing written to the Rollout').to.deep.equal([]);
    expect(rolls('deployments', 'web'), 'the Deployment rolled once').to.equal(1);
    expect(h.cluster.get('rollouts', NS, 'web')!['spec']).to.not.have.property('template');
    await c.stop();
  });

  it('a kind whose CRD is absent is turned off (metric 0), then watched once it appears: adopted, never rolled for being seen', async () => {
    const { h, change, rolls } = harness();
    const available: Array<[string, boolean]> = [];
    h.cluster.put('configmaps', configMap('cfg', { x: '1' }));
    h.cluster.put('deployments', deployment('d', wholeConfigMap('cfg')));
    h.cluster.put('rollouts', rollout('r', wholeConfigMap('cfg')));
    const c = h.controller({ ...ROLLOUTS_AND_DEPLOYMENTS, debounceMs: 0, observer: { workloadKindAvailable: (kind, on) => void available.push([kind, on]) } });
    const settle = await startSettled(c, h.clock);
    expect(c.absentKinds).to.deep.equal(['Rollout']);
    expect(available).to.deep.equal([['deployments', true], ['rollouts.argoproj.io', false]]);
    expect(h.operatorWrites().map((w) => w.plural)).to.deep.equal(['deployments']);
    const listsBefore = h.cluster.requests.list;

    await h.clock.advance(KIND_RECHECK_MS);
    await settle();
    expect(c.absentKinds, 'still absent').to.deep.equal(['Rollout']);
    expect(available, 'said once').to.have.length(3);
    h.cluster.installCrd('argoproj.io', 'rollouts');
    await h.clock.advance(KIND_RECHECK_MS);
    await settle();
    expect(c.absentKinds).to.deep.equal([]);
    expect(available.at(-1)).to.deep.equal(['rollouts.argoproj.io', true]);
    expect(h.cluster.requests.list, 'the Rollouts were listed').to.be.greaterThan(listsBefore);
    expect(h.operatorWrites('r').map((w) => w.templateChanged), 'adopted, not rolled').to.deep.equal([false]);
    change('cfg', { x: '2' });
    await settle();
    expect([rolls('rollouts', 'r'), rolls('deployments', 'd')]).to.deep.equal([1, 1]);
    // Found once, discovery stops asking.
    const asked = h.cluster.requests.discovery;
    await h.clock.advance(3 * KIND_RECHECK_MS);
    expect(h.cluster.requests.discovery).to.equal(asked);
    await c.stop();
  });

  it('a Rollout created after a ConfigMap the operator saw created, listed when its kind appears: adopted, not rolled', async () => {
    const { h, rolls } = harness();
    const c = h.controller({ ...ROLLOUTS_AND_DEPLOYMENTS, debounceMs: 0 });
    const settle = await startSettled(c, h.clock);
    // Created while the operator runs, before the Rollout: its pods read it as it is.
    h.cluster.put('configmaps', configMap('cfg', { x: '1' }));
    await settle();
    h.cluster.put('rollouts', rollout('r', wholeConfigMap('cfg')));
    h.cluster.installCrd('argoproj.io', 'rollouts');
    await h.clock.advance(KIND_RECHECK_MS);
    await settle();
    expect(h.operatorWrites('r').map((w) => w.templateChanged)).to.deep.equal([false]);
    expect(rolls('rollouts', 'r')).to.equal(0);
    await c.stop();
  });

  it('a change made while the kind was off is not known to its pods\' adoption: the kind\'s own list is the adoption point (documented)', async () => {
    const { h, change, rolls } = harness();
    h.cluster.put('configmaps', configMap('cfg', { x: '1' }));
    h.cluster.put('rollouts', rollout('r', wholeConfigMap('cfg')));
    const c = h.controller({ ...ROLLOUTS_AND_DEPLOYMENTS, debounceMs: 0 });
    const settle = await startSettled(c, h.clock);
    change('cfg', { x: '2' });
    await settle();
    h.cluster.installCrd('argoproj.io', 'rollouts');
    await h.clock.advance(KIND_RECHECK_MS);
    await settle();
    expect(h.operatorWrites('r').map((w) => w.templateChanged), 'adopted as it is, as an operator installed now would').to.deep.equal([false]);
    change('cfg', { x: '3' });
    await settle();
    expect(rolls('rollouts', 'r'), 'the next change rolls it once').to.equal(1);
    await c.stop();
  });

  it('a kind absent at start is picked up with --namespace-selector too, in the namespaces already open', async () => {
    const { h, rolls } = harness();
    h.cluster.put('namespaces', { metadata: { name: NS, labels: { team: 'a' } } });
    h.cluster.put('configmaps', configMap('cfg', { x: '1' }));
    h.cluster.put('rollouts', rollout('r', wholeConfigMap('cfg')));
    const c = h.controller({ ...ROLLOUTS_AND_DEPLOYMENTS, namespaces: undefined, namespaceSelector: 'team=a', debounceMs: 0 } as Partial<ControllerSettings>);
    const settle = await startSettled(c, h.clock);
    expect(h.operatorWrites('r')).to.deep.equal([]);
    h.cluster.installCrd('argoproj.io', 'rollouts');
    await h.clock.advance(KIND_RECHECK_MS);
    await settle();
    expect(h.operatorWrites('r').map((w) => w.templateChanged)).to.deep.equal([false]);
    h.cluster.update('configmaps', NS, 'cfg', (cm) => void ((cm as Record<string, unknown>)['data'] = { x: '2' }));
    await settle();
    expect(rolls('rollouts', 'r')).to.equal(1);
    await c.stop();
  });

  it('waves across Deployments and Rollouts sharing a ConfigMap: a Rollout canary holds the rest until its phase is Healthy', async () => {
    const { h, change, rolls } = harness();
    h.cluster.installCrd('argoproj.io', 'rollouts');
    h.cluster.put('configmaps', configMap('shared', { a: '1' }));
    const deployments = ['d-0', 'd-1', 'd-2', 'd-3'];
    const rollouts = ['r-0', 'r-1', 'r-2'];
    for (const name of deployments) h.cluster.put('deployments', deployment(name, wholeConfigMap('shared')));
    for (const name of rollouts) h.cluster.put('rollouts', rollout(name, wholeConfigMap('shared'), name === 'r-1' ? { 'config-reload.dev/canary': 'true' } : {}));
    const healthy = (name: string) => h.cluster.writeStatus('deployments', NS, name, (g) => deploymentStatus('healthy', g));
    // What the Rollout controller writes (CalculateRolloutPhase): observedGeneration as a string.
    const rolloutStatus = (name: string, phase: string) => h.cluster.writeStatus('rollouts', NS, name, (g) => ({
      observedGeneration: String(g), phase, replicas: 1, updatedReplicas: 1, availableReplicas: 1,
    }), 'argo-rollouts');
    for (const name of deployments) healthy(name);
    for (const name of rollouts) rolloutStatus(name, 'Healthy');
    const c = h.controller({ ...ROLLOUTS_AND_DEPLOYMENTS, debounceMs: 0, waveThreshold: 5, waveTimeoutMs: 60_000 });
    const settle = await startSettled(c, h.clock);
    const rolled = () => [...deployments.map((n) => rolls('deployments', n)), ...rollouts.map((n) => rolls('rollouts', n))];

    change('shared', { a: '2' });
    await settle();
    expect(rolled(), 'the annotated Rollout canary only').to.deep.equal([0, 0, 0, 0, 0, 1, 0]);
    // The Rollout controller saw the new template (observedGeneration) but is still on its steps.
    rolloutStatus('r-1', 'Progressing');
    await settle();
    expect(rolled(), 'waiting for the canary').to.deep.equal([0, 0, 0, 0, 0, 1, 0]);
    rolloutStatus('r-1', 'Healthy');
    await settle();
    expect(rolled(), 'the rest in one wave').to.deep.equal([1, 1, 1, 1, 1, 1, 1]);

    // A Degraded canary (aborted, timed out) holds the next change.
    for (const name of deployments) healthy(name);
    for (const name of rollouts) rolloutStatus(name, 'Healthy');
    await settle();
    change('shared', { a: '3' });
    await settle();
    rolloutStatus('r-1', 'Degraded');
    await settle();
    expect(rolled(), 'held behind the degraded canary').to.deep.equal([1, 1, 1, 1, 1, 2, 1]);
    expect(h.waveHeld.at(-1)).to.deep.equal(['shared', 6]);
    await c.stop();
  });
});

describe('custom workload kinds: health rules, names', () => {
  it('reads each kind\'s status as its own tools do', () => {
    const ro = (status: object, generation = 3) => workloadHealth('Rollout', { generation, status });
    expect(ro({ observedGeneration: '3', phase: 'Healthy' })).to.equal('healthy');
    expect(ro({ observedGeneration: '2', phase: 'Healthy' }), 'not observed yet').to.equal('progressing');
    expect(ro({ observedGeneration: '3', phase: 'Paused' })).to.equal('progressing');
    expect(ro({ observedGeneration: '3', phase: 'Degraded' })).to.equal('failed');
    const cs = (status: object, partition?: number) => workloadHealth('CloneSet', { generation: 2, replicas: 4, partition, status });
    expect(cs({ observedGeneration: 2, replicas: 4, updatedReplicas: 4, updatedReadyReplicas: 4 })).to.equal('healthy');
    expect(cs({ observedGeneration: 2, replicas: 5, updatedReplicas: 4, updatedReadyReplicas: 4 }), 'a surge pod left').to.equal('progressing');
    expect(cs({ observedGeneration: 2, replicas: 4, updatedReplicas: 4, updatedReadyReplicas: 3 })).to.equal('progressing');
    expect(cs({ observedGeneration: 2, replicas: 4, updatedReplicas: 3, updatedReadyReplicas: 3 }, 1), 'partition 1').to.equal('healthy');
    const kn = (ready: string | undefined, observedGeneration = 5) => workloadHealth('ReadyCondition', {
      generation: 5, status: { observedGeneration, ...(ready ? { conditions: [{ type: 'Ready', status: ready }] } : {}) },
    });
    expect([kn('True'), kn('Unknown'), kn('False'), kn(undefined), kn('True', 4)]).to.deep.equal(['healthy', 'progressing', 'failed', 'progressing', 'progressing']);
    expect(workloadHealth(undefined, { status: {} }), 'no rule: healthy (our unconfirmed write counts as progressing)').to.equal('healthy');
  });

  it('--workload-kinds takes plural.group for a custom kind; explain takes its kind names and aliases', () => {
    const parsed = parseConfig(['--workload-kinds', 'deployments,rollouts.argoproj.io,clonesets.apps.kruise.io,services.serving.knative.dev'], {});
    expect(parsed.help ? undefined : parsed.config.workloadKinds).to.deep.equal(['Deployment', 'Rollout', 'CloneSet', 'Service']);
    expect(() => parseConfig(['--workload-kinds', 'rollouts'], {})).to.throw(/rollouts\.argoproj\.io/);
    const names = ['rollout', 'ro', 'Rollout', 'rollouts.argoproj.io', 'rollout.argoproj.io/v1alpha1', 'cloneset', 'clonesets.apps.kruise.io', 'ksvc',
      'services.serving.knative.dev', 'deployments.apps', 'sts'];
    expect(names.map(workloadKindOf)).to.deep.equal(['Rollout', 'Rollout', 'Rollout', 'Rollout', 'Rollout', 'CloneSet', 'CloneSet', 'Service', 'Service', 'Deployment', 'StatefulSet']);
    expect(['service', 'services', 'rollouts.apps', 'deployments.argoproj.io'].map(workloadKindOf)).to.deep.equal([undefined, undefined, undefined, undefined]);
  });
});
