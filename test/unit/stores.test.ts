import { V1ConfigMap } from '@kubernetes/client-node';
import { expect } from 'chai';
import { HASH_ANNOTATION } from '../../src/core/annotations.ts';
import { ConfigMapStore } from '../../src/state/configmap-store.ts';
import { effectiveRecordedDigest, WorkloadStore } from '../../src/state/workload-store.ts';

describe('ConfigMap store: digests only, change detection', () => {
  it('reports a content change, but not a metadata-only one', () => {
    const store = new ConfigMapStore();
    const meta = (rv: string, labels?: Record<string, string>) => ({ name: 'cm', namespace: 'ns', resourceVersion: rv, labels });
    expect(store.upsert({ metadata: meta('1'), data: { a: '1' } })).to.equal(true);
    expect(store.upsert({ metadata: meta('2', { team: 'x' }), data: { a: '1' } })).to.equal(false);
    expect(store.upsert({ metadata: meta('3'), data: { a: '2' } })).to.equal(true);
    expect(store.remove('ns/cm')).to.equal(true);
    expect(store.has('ns/cm')).to.equal(false);
  });

  it('treats a list item (class instance) and a watch event (plain JSON) of the same data alike', () => {
    const store = new ConfigMapStore();
    const cls = new V1ConfigMap();
    cls.metadata = { name: 'cm', namespace: 'ns', resourceVersion: '1' };
    cls.data = { b: '2', a: '1' };
    store.upsert(cls);
    expect(store.upsert({ metadata: { name: 'cm', namespace: 'ns', resourceVersion: '2' }, data: { a: '1', b: '2' } })).to.equal(false);
  });

  it('keeps no value: only digests', () => {
    const store = new ConfigMapStore();
    const secretish = 'value-that-must-not-be-retained';
    store.upsert({ metadata: { name: 'cm', namespace: 'ns', resourceVersion: '1' }, data: { k: secretish } });
    const content = store.content('ns/cm');
    expect(JSON.stringify([...(content?.keyDigests ?? new Map())])).to.not.contain(secretish);
  });
});

describe('workload store: what a decision reads', () => {
  const deployment = (rv: string, annotations: Record<string, string>, generation = 1, cm = 'cm') => ({
    metadata: { name: 'web', namespace: 'ns', uid: 'u1', resourceVersion: rv, generation, annotations },
    spec: { template: { spec: { containers: [{ name: 'c', envFrom: [{ configMapRef: { name: cm } }] }] } } },
  });

  it('a status-only update is not relevant; an annotation change is', () => {
    const store = new WorkloadStore();
    expect(store.upsert(deployment('1', { 'config-reload.dev/enabled': 'true' })).relevant).to.equal(true);
    expect(store.upsert(deployment('2', { 'config-reload.dev/enabled': 'true' })).relevant).to.equal(false);
    expect(store.upsert(deployment('3', { 'config-reload.dev/enabled': 'true', [HASH_ANNOTATION]: 'v1-x' })).relevant).to.equal(true);
  });

  it('our unconfirmed write stands for the recorded digest until the watch shows it', () => {
    const store = new WorkloadStore();
    const state = store.upsert(deployment('1', { 'config-reload.dev/enabled': 'true', [HASH_ANNOTATION]: 'v1-old' })).state!;
    state.pendingWrite = { digest: 'v1-new', resourceVersion: '5' };
    // An older event arriving after our write must not bring back the old digest.
    const late = store.upsert(deployment('4', { 'config-reload.dev/enabled': 'true', [HASH_ANNOTATION]: 'v1-old' })).state!;
    expect(effectiveRecordedDigest(late)).to.equal('v1-new');
    const confirmed = store.upsert(deployment('5', { 'config-reload.dev/enabled': 'true', [HASH_ANNOTATION]: 'v1-new' })).state!;
    expect(confirmed.pendingWrite).to.equal(undefined);
    expect(effectiveRecordedDigest(confirmed)).to.equal('v1-new');
  });

  it('retains nothing for a Deployment that did not opt in', () => {
    const store = new WorkloadStore();
    store.upsert(deployment('1', { 'config-reload.dev/enabled': 'true' }));
    expect(store.size).to.equal(1);
    const r = store.upsert(deployment('2', {}));
    expect(r.state).to.equal(undefined);
    expect(store.size).to.equal(0);
  });

  it('flags a spec edit that changed the references (it rolls by itself)', () => {
    const store = new WorkloadStore();
    store.upsert(deployment('1', { 'config-reload.dev/enabled': 'true' }, 1, 'a'));
    expect(store.upsert(deployment('2', { 'config-reload.dev/enabled': 'true' }, 1, 'a')).state?.referencesChanged).to.equal(false);
    expect(store.upsert(deployment('3', { 'config-reload.dev/enabled': 'true' }, 2, 'b')).state?.referencesChanged).to.equal(true);
  });
});
