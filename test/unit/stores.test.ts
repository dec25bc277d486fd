import { expect } from 'chai';
import { HASH_ANNOTATION } from '../../src/core/annotations.ts';
import { digestKey } from '../../src/core/digest.ts';
import { sourceKey, workloadKey } from '../../src/core/keys.ts';
import { SourceStore } from '../../src/state/source-store.ts';
import { effectiveRecordedDigest, fingerprint, PENDING_WRITE_TTL_MS, WorkloadStore } from '../../src/state/workload-store.ts';
import { VirtualClock } from '../support/virtual-clock.ts';

const KEY = digestKey(Buffer.alloc(32, 1));
const configMapKey = (ns: string, name: string) => sourceKey('ConfigMap', ns, name);
const CM = configMapKey('ns', 'cm');
const WEB = workloadKey('Deployment', 'ns', 'web');
const ENABLED = { 'config-reload.dev/enabled': 'true' };

describe('ConfigMap store: digests only, change detection', () => {
  const cm = (rv: string, data: Record<string, string>, labels?: Record<string, string>) => ({
    metadata: { name: 'cm', namespace: 'ns', resourceVersion: rv, labels }, data,
  });

  it('reports a content change, but not a metadata-only one', () => {
    const store = new SourceStore('ConfigMap', KEY);
    const created = store.observe(cm('1', { a: '1' }));
    expect(created).to.deep.include({ key: CM, kind: 'ConfigMap', namespace: 'ns', name: 'cm', before: undefined, content: true });
    expect([...(created?.after?.keyDigests.keys() ?? [])]).to.deep.equal(['a']);
    expect(store.observe(cm('2', { a: '1' }, { team: 'x' }))).to.equal(undefined);
    const edited = store.observe(cm('3', { a: '2' }));
    // Before and after, for each consumer to tell whether the keys it reads changed.
    expect(edited?.before?.keyDigests.get('a')).to.equal(created?.after?.keyDigests.get('a'));
    expect(edited?.after?.keyDigests.get('a')).to.not.equal(edited?.before?.keyDigests.get('a'));
    const deleted = store.observeDeleted(cm('4', {}));
    expect(deleted?.before).to.equal(edited?.after);
    expect(deleted?.after).to.equal(undefined);
    expect(store.has(CM)).to.equal(false);
  });

  it('dates the last content change by the version that showed it, not by later metadata edits', () => {
    const store = new SourceStore('ConfigMap', KEY);
    store.observe(cm('10', { a: '1' }));
    store.observe(cm('12', { a: '1' }, { team: 'x' }));
    expect(store.lastContentChange(CM)).to.equal(10n);
    store.observe(cm('15', { a: '2' }));
    expect(store.lastContentChange(CM)).to.equal(15n);
    store.observeDeleted(cm('20', { a: '2' }));
    expect(store.lastContentChange(CM)).to.equal(20n);
  });

  it('bounds the deletion of a ConfigMap it never saw by the last list', () => {
    const store = new SourceStore('ConfigMap', KEY);
    store.beginReplace().commit('300');
    expect(store.lastContentChange(configMapKey('ns', 'never'))).to.equal(300n);
  });

  it('swaps a relist in at commit, reporting created, changed and vanished ConfigMaps', () => {
    const store = new SourceStore('ConfigMap', KEY);
    store.observe(cm('1', { a: '1' }));
    store.observe({ metadata: { name: 'gone', namespace: 'ns', resourceVersion: '2' }, data: {} });
    store.observe({ metadata: { name: 'same', namespace: 'ns', resourceVersion: '3' }, data: { s: '1' } });
    const replacement = store.beginReplace();
    replacement.add(cm('7', { a: '2' }));
    replacement.add({ metadata: { name: 'same', namespace: 'ns', resourceVersion: '3' }, data: { s: '1' } });
    replacement.add({ metadata: { name: 'new', namespace: 'ns', resourceVersion: '8' }, data: {} });
    // Nothing is visible before the commit.
    expect(store.has(configMapKey('ns', 'new'))).to.equal(false);
    expect(store.has(configMapKey('ns', 'gone'))).to.equal(true);
    const changes = replacement.commit('9').map((c) => c.name).sort();
    expect(changes).to.deep.equal(['cm', 'gone', 'new']);
    expect(store.has(configMapKey('ns', 'gone'))).to.equal(false);
    expect(store.lastContentChange(configMapKey('ns', 'gone'))).to.equal(9n);
  });

  // Found by the soak (seed 1, `npm run soak -- --seed 1`): with `--namespace a,b,c` every
  // namespace's reflector lists at start-up at the same time; each commit swapped in the store
  // as it was when its own list began, so only the last namespace to commit kept its ConfigMaps
  // ("caches synced" with ConfigMap: 1), every other consumer was adopted as "required ConfigMap
  // missing", and the next write to those ConfigMaps (a label edit) rolled them.
  it('lists of two namespaces running at once both land (one watch per namespace)', () => {
    const store = new SourceStore('ConfigMap', KEY);
    const inNs = (ns: string, name: string, rv: string) => ({ metadata: { name, namespace: ns, resourceVersion: rv }, data: { v: ns } });
    const a = store.beginReplace('a');
    const b = store.beginReplace('b');
    a.add(inNs('a', 'x', '5'));
    b.add(inNs('b', 'y', '6'));
    expect(a.commit('7').map((c) => c.name)).to.deep.equal(['x']);
    expect(b.commit('8').map((c) => c.name)).to.deep.equal(['y']);
    expect(store.has(configMapKey('a', 'x'))).to.equal(true);
    expect(store.has(configMapKey('b', 'y'))).to.equal(true);
    expect(store.size).to.equal(2);
  });

  it('a watch event of another namespace, applied while a namespace relists, is kept', () => {
    const store = new SourceStore('ConfigMap', KEY);
    const inNs = (ns: string, name: string, rv: string, v: string) => ({ metadata: { name, namespace: ns, resourceVersion: rv }, data: { v } });
    store.observe(inNs('b', 'y', '1', '1'));
    const a = store.beginReplace('a');
    a.add(inNs('a', 'x', '2', '1'));
    expect(store.observe(inNs('b', 'y', '3', '2'))?.name).to.equal('y');
    store.observe(inNs('b', 'z', '4', '1'));
    a.commit('5');
    expect(store.get(configMapKey('b', 'y'))?.resourceVersion).to.equal('3');
    expect(store.has(configMapKey('b', 'z'))).to.equal(true);
    // The relist of b then sees y unchanged: no change reported, so no roll.
    const b = store.beginReplace('b');
    b.add(inNs('b', 'y', '3', '2'));
    b.add(inNs('b', 'z', '4', '1'));
    expect(b.commit('6')).to.deep.equal([]);
  });

  it('keeps no value: only digests', () => {
    const store = new SourceStore('ConfigMap', KEY);
    const secretish = 'value-that-must-not-be-retained';
    store.observe(cm('1', { k: secretish }));
    const content = store.content(CM);
    expect(JSON.stringify([...(content?.keyDigests ?? new Map())])).to.not.contain(secretish);
  });

  it('config-reload.dev/ignore: changes while it is set change nothing; unset, the content counts again', () => {
    const store = new SourceStore('ConfigMap', KEY);
    const ignored = (rv: string, value: string | undefined, data: Record<string, string>) => ({
      metadata: { name: 'cm', namespace: 'ns', resourceVersion: rv, ...(value === undefined ? {} : { annotations: { 'config-reload.dev/ignore': value } }) }, data,
    });
    store.observe(ignored('1', undefined, { a: '1' }));
    const before = store.content(CM);
    expect(store.observe(ignored('2', 'true', { a: '2' }))).to.equal(undefined);
    expect(store.observe(ignored('3', ' TRUE ', { a: '3' }))).to.equal(undefined);
    expect(store.content(CM)).to.equal(before);
    expect(store.observe(ignored('4', 'false', { a: '3' }))?.name).to.equal('cm');
    expect(store.content(CM)).to.not.equal(before);
  });

  it('a malformed ignore value ignores the object too, and is reported once', () => {
    const reported: string[] = [];
    const store = new SourceStore('ConfigMap', KEY, (entry, value, reason) => reported.push(`${entry.name} ${value} ${reason}`));
    store.observe(cm('1', { a: '1' }));
    const bad = (rv: string, data: Record<string, string>) => ({ metadata: { name: 'cm', namespace: 'ns', resourceVersion: rv, annotations: { 'config-reload.dev/ignore': 'yes' } }, data });
    expect(store.observe(bad('2', { a: '2' }))).to.equal(undefined);
    expect(store.observe(bad('3', { a: '3' }))).to.equal(undefined);
    expect(reported).to.deep.equal(['cm yes expected "true" or "false"']);
  });

  it('a Secret: only data counts (type, labels and annotations do not)', () => {
    const store = new SourceStore('Secret', KEY);
    const secret = (rv: string, type: string, data: Record<string, string>) => ({ metadata: { name: 's', namespace: 'ns', resourceVersion: rv }, type, data });
    expect(store.observe(secret('1', 'Opaque', { p: 'YQ==' }))?.kind).to.equal('Secret');
    expect(store.observe(secret('2', 'kubernetes.io/basic-auth', { p: 'YQ==' }))).to.equal(undefined);
    expect(store.observe(secret('3', 'Opaque', { p: 'Yg==' }))?.name).to.equal('s');
  });

  it('entries are immutable values', () => {
    const store = new SourceStore('ConfigMap', KEY);
    store.observe(cm('1', { a: '1' }));
    const entry = store.get(CM);
    expect(Object.isFrozen(entry)).to.equal(true);
  });
});

describe('workload store: what a decision reads', () => {
  const deployment = (rv: string, annotations: Record<string, string>, opts: { generation?: number; cm?: string; image?: string; uid?: string } = {}) => ({
    metadata: { name: 'web', namespace: 'ns', uid: opts.uid ?? 'u1', resourceVersion: rv, generation: opts.generation ?? 1, annotations },
    spec: { template: { spec: { containers: [{ name: 'c', image: opts.image ?? 'app:1', envFrom: [{ configMapRef: { name: opts.cm ?? 'cm' } }] }] } } },
  });

  it('a status-only update is not relevant; an annotation change is', () => {
    const store = new WorkloadStore(new VirtualClock());
    expect(store.observe('Deployment', deployment('1', ENABLED)).relevant).to.equal(true);
    expect(store.observe('Deployment', deployment('2', ENABLED)).relevant).to.equal(false);
    expect(store.observe('Deployment', deployment('3', { ...ENABLED, [HASH_ANNOTATION]: 'v1-x' })).relevant).to.equal(true);
  });

  it('entries are immutable: an observation replaces the entry, the old snapshot is unchanged', () => {
    const store = new WorkloadStore(new VirtualClock());
    const first = store.observe('Deployment', deployment('1', ENABLED)).state!;
    expect(Object.isFrozen(first)).to.equal(true);
    store.configChanged(WEB, 'cm');
    expect(first.changed.size).to.equal(0);
    expect([...store.get(WEB)!.changed]).to.deep.equal(['cm']);
  });

  it('our acknowledged write stands for the recorded digest until the watch shows it', () => {
    const clock = new VirtualClock();
    const store = new WorkloadStore(clock);
    store.observe('Deployment', deployment('1', { ...ENABLED, [HASH_ANNOTATION]: 'v1-old' }));
    store.writeAcknowledged(WEB, 'u1', { digest: 'v1-new', resourceVersion: '5', rolled: false }, new Set());
    // An older event arriving after our write must not bring back the old digest.
    const late = store.observe('Deployment', deployment('4', { ...ENABLED, [HASH_ANNOTATION]: 'v1-old' })).state!;
    expect(effectiveRecordedDigest(late, clock.now())).to.equal('v1-new');
    const confirmed = store.observe('Deployment', deployment('5', { ...ENABLED, [HASH_ANNOTATION]: 'v1-new' })).state!;
    expect(confirmed.pendingWrite).to.equal(undefined);
    expect(effectiveRecordedDigest(confirmed, clock.now())).to.equal('v1-new');
  });

  it('a write acknowledged after the watch already showed it leaves nothing pending', () => {
    const store = new WorkloadStore(new VirtualClock());
    store.observe('Deployment', deployment('1', ENABLED));
    store.observe('Deployment', deployment('6', { ...ENABLED, [HASH_ANNOTATION]: 'v1-new' }));
    store.writeAcknowledged(WEB, 'u1', { digest: 'v1-new', resourceVersion: '6', rolled: false }, new Set());
    expect(store.get(WEB)!.pendingWrite).to.equal(undefined);
  });

  it('a later version carrying another digest ends the pending write (another writer won)', () => {
    const clock = new VirtualClock();
    const store = new WorkloadStore(clock);
    store.observe('Deployment', deployment('1', ENABLED));
    store.writeAcknowledged(WEB, 'u1', { digest: 'v1-ours', resourceVersion: '5', rolled: false }, new Set());
    const after = store.observe('Deployment', deployment('7', { ...ENABLED, [HASH_ANNOTATION]: 'theirs' })).state!;
    expect(after.pendingWrite).to.equal(undefined);
    expect(effectiveRecordedDigest(after, clock.now())).to.equal('theirs');
  });

  it('a pending write that the watch never confirms stops masking after its deadline', async () => {
    const clock = new VirtualClock();
    const store = new WorkloadStore(clock);
    store.observe('Deployment', deployment('x', { ...ENABLED, [HASH_ANNOTATION]: 'v1-old' }));
    store.writeAcknowledged(WEB, 'u1', { digest: 'v1-new', resourceVersion: 'y', rolled: false }, new Set());
    expect(effectiveRecordedDigest(store.get(WEB)!, clock.now())).to.equal('v1-new');
    await clock.advance(PENDING_WRITE_TTL_MS);
    expect(effectiveRecordedDigest(store.get(WEB)!, clock.now())).to.equal('v1-old');
  });

  it('transitions land on the current entry, and never on a workload recreated under the same name', () => {
    const store = new WorkloadStore(new VirtualClock());
    store.observe('Deployment', deployment('1', ENABLED));
    store.configChanged(WEB, 'cm');
    // A status update between the snapshot and the acknowledgement does not lose the write.
    store.observe('Deployment', deployment('2', ENABLED));
    store.writeAcknowledged(WEB, 'u1', { digest: 'v1-new', resourceVersion: '3', rolled: true }, new Set(['cm']));
    expect(store.get(WEB)!.templateWrittenAtLeast, 'a roll dates the template by its acknowledgement').to.equal(3n);
    expect(store.get(WEB)!.pendingWrite?.digest).to.equal('v1-new');
    expect(store.get(WEB)!.changed.size).to.equal(0);
    store.observe('Deployment', deployment('9', ENABLED, { uid: 'u2' }));
    store.writeAcknowledged(WEB, 'u1', { digest: 'v1-late', resourceVersion: '10', rolled: false }, new Set());
    expect(store.get(WEB)!.uid).to.equal('u2');
    expect(store.get(WEB)!.pendingWrite).to.equal(undefined);
  });

  it('retains nothing for a Deployment that did not opt in', () => {
    const store = new WorkloadStore(new VirtualClock());
    store.observe('Deployment', deployment('1', ENABLED));
    expect(store.size).to.equal(1);
    expect(store.observe('Deployment', deployment('2', {})).state).to.equal(undefined);
    expect(store.size).to.equal(0);
  });

  it('dates a template change: exactly from a watch event, as a lower bound from a relist, unknown for a listed workload', () => {
    const store = new WorkloadStore(new VirtualClock());
    const listed = store.beginReplace('Deployment');
    listed.add(deployment('10', ENABLED));
    listed.commit();
    expect(store.get(WEB)!.templateWrittenAtLeast).to.equal(undefined);
    // A status update is not a template change.
    expect(store.observe('Deployment', deployment('11', ENABLED)).state!.templateWrittenAtLeast).to.equal(undefined);
    expect(store.observe('Deployment', deployment('14', ENABLED, { generation: 2, image: 'app:2' })).state!.templateWrittenAtLeast).to.equal(14n);
    // The operator's own roll is a template write too: its pods read the configuration of its moment.
    const ours = { ...deployment('15', ENABLED, { generation: 3, image: 'app:2' }) };
    (ours.spec.template as Record<string, unknown>)['metadata'] = { annotations: { [HASH_ANNOTATION]: 'v1-x' } };
    expect(store.observe('Deployment', ours).state!.templateWrittenAtLeast).to.equal(15n);
    expect(store.observe('Deployment', { ...ours, metadata: { ...ours.metadata, resourceVersion: '16' } }).state!.templateWrittenAtLeast).to.equal(15n);
    const relist = store.beginReplace('Deployment');
    relist.add(deployment('30', ENABLED, { generation: 4, image: 'app:3' }));
    relist.commit();
    expect(store.get(WEB)!.templateWrittenAtLeast).to.equal(17n);
  });

  it('a workload new to the store through a MODIFIED event (an opt-in) has no template date; through ADDED it has', () => {
    const store = new WorkloadStore(new VirtualClock());
    expect(store.observe('Deployment', deployment('40', ENABLED)).state!.templateWrittenAtLeast).to.equal(undefined);
    store.observe('Deployment', deployment('41', {}));
    expect(store.size).to.equal(0);
    expect(store.observe('Deployment', deployment('50', ENABLED, { uid: 'u9' }), true).state!.templateWrittenAtLeast).to.equal(50n);
  });

  it('a relist keeps what transitions applied while it ran (a pending write, changed names)', () => {
    const store = new WorkloadStore(new VirtualClock());
    store.observe('Deployment', deployment('10', ENABLED));
    const relist = store.beginReplace('Deployment');
    relist.add(deployment('10', ENABLED));
    store.configChanged(WEB, 'ConfigMap cm');
    store.writeAcknowledged(WEB, 'u1', { digest: 'v1-new', resourceVersion: '12', rolled: true }, new Set());
    relist.commit();
    const after = store.get(WEB)!;
    expect(after.pendingWrite?.digest).to.equal('v1-new');
    expect(after.templateWrittenAtLeast).to.equal(12n);
    expect([...after.changed]).to.deep.equal(['ConfigMap cm']);
  });

  it('reads how a StatefulSet or DaemonSet rolls: OnDelete, a partition', () => {
    const store = new WorkloadStore(new VirtualClock());
    const sts = (updateStrategy: { type?: string; rollingUpdate?: { partition?: number } }) => ({ ...deployment('1', ENABLED), spec: { ...deployment('1', ENABLED).spec, updateStrategy } });
    expect(store.observe('StatefulSet', sts({ type: 'OnDelete' })).state!.rollout).to.deep.equal({ onDelete: true, partition: 0 });
    expect(store.observe('StatefulSet', { ...sts({ type: 'RollingUpdate', rollingUpdate: { partition: 2 } }), metadata: { ...sts({}).metadata, generation: 2, resourceVersion: '2' } }).state!.rollout)
      .to.deep.equal({ onDelete: false, partition: 2 });
    expect(store.observe('DaemonSet', sts({ type: 'RollingUpdate' })).state!.rollout).to.deep.equal({ onDelete: false, partition: 0 });
    expect(store.observe('Deployment', deployment('1', ENABLED)).state!.rollout).to.deep.equal({ onDelete: false, partition: 0 });
  });

  it('fingerprints a template whatever the order of its keys', () => {
    expect(fingerprint({ spec: { a: 1, b: [{ x: 1, y: 2 }] } })).to.equal(fingerprint({ spec: { b: [{ y: 2, x: 1 }], a: 1 } }));
    expect(fingerprint({ spec: { a: 1 } })).to.not.equal(fingerprint({ spec: { a: 2 } }));
  });
});

describe('ConfigMap store: the last change per key', () => {
  const cm = (rv: string, data: Record<string, string>) => ({ metadata: { name: 'cm', namespace: 'ns', resourceVersion: rv }, data });

  it('dates each key by its own last change, a removed key by its removal, an unknown key by the object\'s appearance', () => {
    const store = new SourceStore('ConfigMap', KEY);
    store.observe(cm('10', { level: 'a', extra: 'a' }));
    store.observe(cm('20', { level: 'b', extra: 'a' }));
    store.observe(cm('30', { level: 'b', extra: 'b' }));
    store.observe(cm('40', { level: 'b' }));
    expect(store.lastContentChange(CM)).to.equal(40n);
    expect(store.lastContentChange(CM, ['level'])).to.equal(20n);
    expect(store.lastContentChange(CM, ['extra'])).to.equal(40n);
    expect(store.lastContentChange(CM, ['never'])).to.equal(10n);
    expect(store.lastContentChange(CM, ['level', 'never'])).to.equal(20n);
    // A rewrite with the same content changes no date.
    store.observe(cm('50', { level: 'b' }));
    expect(store.lastContentChange(CM, ['level'])).to.equal(20n);
  });
});
