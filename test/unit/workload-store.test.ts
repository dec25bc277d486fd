// The workload store (src/state/workload-store.ts, src/state/workload-entry.ts): what a decision
// reads of a workload — its template's fingerprint and when it was written, when it was first
// seen, the operator's record read back, and our own writes standing in until the watch shows them.
import { expect } from 'chai';
import { HASH_ANNOTATION } from '../../src/core/annotations.ts';
import { sourceKey, workloadKey } from '../../src/core/keys.ts';
import { formatRecord, RECORD_ANNOTATION } from '../../src/core/record.ts';
import { templateFingerprint } from '../../src/state/template.ts';
import { entryOf } from '../../src/state/workload-entry.ts';
import { PENDING_WRITE_TTL_MS, recordView, type WriteOutcome, WorkloadStore } from '../../src/state/workload-store.ts';
import { VirtualClock } from '../support/virtual-clock.ts';

const WEB = workloadKey('Deployment', 'ns', 'web');
const ENABLED = { 'config-reload.dev/enabled': 'true' };
const T = 'f'.repeat(32);

interface Opts { generation?: number; cm?: string; image?: string; uid?: string; templateHash?: string }
const deployment = (rv: string, annotations: Record<string, string>, opts: Opts = {}) => ({
  metadata: { name: 'web', namespace: 'ns', uid: opts.uid ?? 'u1', resourceVersion: rv, generation: opts.generation ?? 1, annotations },
  spec: {
    template: {
      ...(opts.templateHash === undefined ? {} : { metadata: { annotations: { [HASH_ANNOTATION]: opts.templateHash } } }),
      spec: { containers: [{ name: 'c', image: opts.image ?? 'app:1', envFrom: [{ configMapRef: { name: opts.cm ?? 'cm' } }] }] },
    },
  },
});
const write = (digest: string, resourceVersion: string, rolled: boolean, template = T): WriteOutcome =>
  ({ digest, record: { template, at: BigInt(resourceVersion), parts: new Map() }, template, rolled, resourceVersion });

describe('workload store: what a decision reads', () => {
  it('a status-only update is not relevant; an annotation change is', () => {
    const store = new WorkloadStore(new VirtualClock());
    expect(store.observe('Deployment', deployment('1', ENABLED)).relevant).to.equal(true);
    expect(store.observe('Deployment', deployment('2', ENABLED)).relevant).to.equal(false);
    expect(store.observe('Deployment', deployment('3', { ...ENABLED, [HASH_ANNOTATION]: 'v1-x' })).relevant).to.equal(true);
  });

  it('reads the record back; a malformed one is not trusted, and an unchanged one is not parsed again', () => {
    const store = new WorkloadStore(new VirtualClock());
    const record = { template: T, at: 5n, parts: new Map([['ConfigMap/cm', 'a'.repeat(16)]]) };
    const observed = store.observe('Deployment', deployment('6', { ...ENABLED, [RECORD_ANNOTATION]: formatRecord(record) }));
    expect(observed.relevant).to.equal(true);
    expect(observed.state!.record).to.deep.equal(record);
    const again = store.observe('Deployment', deployment('7', { ...ENABLED, [RECORD_ANNOTATION]: formatRecord(record) })).state!;
    expect(again.record).to.equal(observed.state!.record);
    const cut = store.observe('Deployment', deployment('8', { ...ENABLED, [RECORD_ANNOTATION]: formatRecord(record).slice(0, 40) }));
    expect(cut.relevant).to.equal(true);
    expect(cut.state!.record).to.equal(undefined);
  });

  it('entries are immutable: a transition replaces the entry, the old snapshot is unchanged', () => {
    const store = new WorkloadStore(new VirtualClock());
    const first = store.observe('Deployment', deployment('1', ENABLED)).state!;
    expect(Object.isFrozen(first)).to.equal(true);
    store.writeAcknowledged(WEB, 'u1', write('v1-new', '2', false));
    expect(first.pendingWrite).to.equal(undefined);
    expect(store.get(WEB)!.pendingWrite?.digest).to.equal('v1-new');
  });

  it('our acknowledged write stands for the recorded digest and record until the watch shows it', () => {
    const clock = new VirtualClock();
    const store = new WorkloadStore(clock);
    store.observe('Deployment', deployment('1', { ...ENABLED, [HASH_ANNOTATION]: 'v1-old' }));
    const ours = write('v1-new', '5', false);
    store.writeAcknowledged(WEB, 'u1', ours);
    // An older event arriving after our write must not bring back the old digest.
    const late = store.observe('Deployment', deployment('4', { ...ENABLED, [HASH_ANNOTATION]: 'v1-old' })).state!;
    expect(recordView(late, clock.now())).to.deep.include({ recordedDigest: 'v1-new', record: ours.record, simulated: false });
    const confirmed = store.observe('Deployment', deployment('5', { ...ENABLED, [HASH_ANNOTATION]: 'v1-new' })).state!;
    expect(confirmed.pendingWrite).to.equal(undefined);
    expect(recordView(confirmed, clock.now()).recordedDigest).to.equal('v1-new');
  });

  it('a write acknowledged after the watch already showed it leaves nothing pending', () => {
    const store = new WorkloadStore(new VirtualClock());
    store.observe('Deployment', deployment('1', ENABLED));
    store.observe('Deployment', deployment('6', { ...ENABLED, [HASH_ANNOTATION]: 'v1-new' }));
    store.writeAcknowledged(WEB, 'u1', write('v1-new', '6', false));
    expect(store.get(WEB)!.pendingWrite).to.equal(undefined);
  });

  it('a later version carrying another digest ends the pending write (another writer won)', () => {
    const clock = new VirtualClock();
    const store = new WorkloadStore(clock);
    store.observe('Deployment', deployment('1', ENABLED));
    store.writeAcknowledged(WEB, 'u1', write('v1-ours', '5', false));
    const after = store.observe('Deployment', deployment('7', { ...ENABLED, [HASH_ANNOTATION]: 'theirs' })).state!;
    expect(after.pendingWrite).to.equal(undefined);
    expect(recordView(after, clock.now()).recordedDigest).to.equal('theirs');
  });

  it('a pending write that the watch never confirms stops masking after its deadline', async () => {
    const clock = new VirtualClock();
    const store = new WorkloadStore(clock);
    store.observe('Deployment', deployment('x', { ...ENABLED, [HASH_ANNOTATION]: 'v1-old' }));
    store.writeAcknowledged(WEB, 'u1', { ...write('v1-new', '1', false), resourceVersion: 'y' });
    expect(recordView(store.get(WEB)!, clock.now()).recordedDigest).to.equal('v1-new');
    await clock.advance(PENDING_WRITE_TTL_MS);
    expect(recordView(store.get(WEB)!, clock.now()).recordedDigest).to.equal('v1-old');
  });

  it('transitions land on the current entry, and never on a workload recreated under the same name', () => {
    const clock = new VirtualClock();
    const store = new WorkloadStore(clock);
    store.observe('Deployment', deployment('1', ENABLED));
    // A status update between the snapshot and the acknowledgement does not lose the write.
    store.observe('Deployment', deployment('2', ENABLED));
    store.writeAcknowledged(WEB, 'u1', write('v1-new', '3', true));
    const view = recordView(store.get(WEB)!, clock.now());
    expect(view.templateWritten, 'a roll dates the template by its acknowledgement').to.deep.equal({ lo: 3n, hi: 3n });
    expect(view.template, 'and names the template it left').to.equal(T);
    expect(store.get(WEB)!.pendingWrite?.digest).to.equal('v1-new');
    store.observe('Deployment', deployment('9', ENABLED, { uid: 'u2' }));
    store.writeAcknowledged(WEB, 'u1', write('v1-late', '10', false));
    store.writeRefused(WEB, 'u1', 'v1-late');
    expect(store.get(WEB)!.uid).to.equal('u2');
    expect(store.get(WEB)!.pendingWrite).to.equal(undefined);
    expect(store.get(WEB)!.refusedRoll).to.equal(undefined);
  });

  it('a refused roll is remembered until a write goes through', () => {
    const store = new WorkloadStore(new VirtualClock());
    store.observe('Deployment', deployment('1', ENABLED));
    store.writeRefused(WEB, 'u1', 'v1-new');
    expect(store.get(WEB)!.refusedRoll).to.equal('v1-new');
    store.writeAcknowledged(WEB, 'u1', write('v1-new', '2', true));
    expect(store.get(WEB)!.refusedRoll).to.equal(undefined);
  });

  it('dry-run: the would-be write stands in, simulated, while the template is the one it was decided on', () => {
    const clock = new VirtualClock();
    const store = new WorkloadStore(clock);
    const first = store.observe('Deployment', deployment('1', ENABLED)).state!;
    store.writeSimulated(WEB, 'u1', write('v1-new', '1', true, 'e'.repeat(32)));
    const view = recordView(store.get(WEB)!, clock.now());
    // Nothing was written: the template is still the observed one.
    expect(view).to.deep.include({ recordedDigest: 'v1-new', template: first.template, templateWritten: undefined, simulated: true });
    const moved = store.observe('Deployment', deployment('2', ENABLED, { generation: 2, image: 'app:2' })).state!;
    expect(recordView(moved, clock.now())).to.deep.include({ recordedDigest: undefined, simulated: false });
  });

  it('retains nothing for a Deployment that did not opt in', () => {
    const store = new WorkloadStore(new VirtualClock());
    store.observe('Deployment', deployment('1', ENABLED));
    expect(store.size).to.equal(1);
    expect(store.observe('Deployment', deployment('2', {})).state).to.equal(undefined);
    expect(store.size).to.equal(0);
  });

  it('dates a template write: exactly from a watch event or our roll, as a range from a relist, unknown for a listed workload', () => {
    const store = new WorkloadStore(new VirtualClock());
    const listed = store.beginReplace('Deployment');
    listed.add(deployment('10', ENABLED));
    listed.commit('10');
    expect(store.get(WEB)!.templateWritten).to.equal(undefined);
    // A status update is not a template write.
    expect(store.observe('Deployment', deployment('11', ENABLED)).state!.templateWritten).to.equal(undefined);
    expect(store.observe('Deployment', deployment('14', ENABLED, { generation: 2, image: 'app:2' })).state!.templateWritten).to.deep.equal({ lo: 14n, hi: 14n });
    // The operator's own roll is a template write too: its pods read the configuration of its moment.
    const ours = deployment('15', ENABLED, { generation: 3, image: 'app:2', templateHash: 'v1-x' });
    expect(store.observe('Deployment', ours).state!.templateWritten).to.deep.equal({ lo: 15n, hi: 15n });
    expect(store.observe('Deployment', { ...ours, metadata: { ...ours.metadata, resourceVersion: '16' } }).state!.templateWritten).to.deep.equal({ lo: 15n, hi: 15n });
    // A relist: somewhere after the last version the watch showed, up to the workload's own
    // version (its last write; the list is later).
    const relist = store.beginReplace('Deployment');
    relist.add(deployment('30', ENABLED, { generation: 4, image: 'app:3' }));
    relist.commit('31');
    expect(store.get(WEB)!.templateWritten).to.deep.equal({ lo: 17n, hi: 30n });
  });

  it('a relist\'s gap starts after the last version its own kind\'s watch showed, not another kind\'s', () => {
    const store = new WorkloadStore(new VirtualClock());
    store.beginReplace('Deployment').commit('1');
    store.beginReplace('StatefulSet').commit('1');
    store.observe('Deployment', deployment('30', ENABLED));
    // The Deployment watch breaks after 30; the StatefulSet watch goes on to 200.
    store.observe('StatefulSet', { ...deployment('200', ENABLED, { uid: 's1' }), metadata: { ...deployment('200', ENABLED, { uid: 's1' }).metadata, name: 'db' } });
    const relist = store.beginReplace('Deployment');
    relist.add(deployment('150', ENABLED, { generation: 2, image: 'app:2' }));
    relist.commit('250');
    expect(store.get(WEB)!.templateWritten).to.deep.equal({ lo: 31n, hi: 150n });
  });

  it('a relist that finds the roll we wrote dates it by our write', () => {
    const store = new WorkloadStore(new VirtualClock());
    const created = store.observe('Deployment', deployment('10', ENABLED), true).state!;
    const rolled = templateFingerprint(created.templateBase, 'v2-new', undefined);
    store.writeAcknowledged(WEB, 'u1', write('v2-new', '12', true, rolled));
    const relist = store.beginReplace('Deployment');
    relist.add(deployment('20', ENABLED, { generation: 2, templateHash: 'v2-new' }));
    relist.commit('25');
    const after = store.get(WEB)!;
    expect(after.template).to.equal(rolled);
    expect(after.pendingWrite).to.equal(undefined);
    expect(after.templateWritten).to.deep.equal({ lo: 12n, hi: 12n });
  });

  it('first seen: a creation or an opt-in exactly, the first list at its version, a relist over its gap', () => {
    const store = new WorkloadStore(new VirtualClock());
    // An opt-in (MODIFIED): first seen then, the template written before, at a version unknown.
    expect(store.observe('Deployment', deployment('40', ENABLED)).state).to.deep.include({ templateWritten: undefined, firstSeen: { lo: 40n, hi: 40n } });
    store.observe('Deployment', deployment('41', {}));
    expect(store.size).to.equal(0);
    // A creation (ADDED): its template was written then.
    expect(store.observe('Deployment', deployment('50', ENABLED, { uid: 'u9' }), true).state).to.deep.include({ templateWritten: { lo: 50n, hi: 50n }, firstSeen: { lo: 50n, hi: 50n } });
    const fresh = new WorkloadStore(new VirtualClock());
    const first = fresh.beginReplace('Deployment');
    first.add(deployment('5', ENABLED));
    first.commit('60');
    expect(fresh.get(WEB)!.firstSeen).to.deep.equal({ lo: 60n, hi: 60n });
    const other = workloadKey('Deployment', 'ns', 'api');
    const relist = fresh.beginReplace('Deployment');
    relist.add(deployment('5', ENABLED));
    relist.add({ ...deployment('65', ENABLED, { uid: 'u3' }), metadata: { ...deployment('65', ENABLED, { uid: 'u3' }).metadata, name: 'api' } });
    relist.commit('70');
    expect(fresh.get(other)!.firstSeen).to.deep.equal({ lo: 61n, hi: 65n });
    expect(fresh.get(WEB)!.firstSeen).to.deep.equal({ lo: 60n, hi: 60n });
  });

  it('opted in again after its adoption (opted out, or a malformed value, between): the adoption point stays; before one, it moves', () => {
    const store = new WorkloadStore(new VirtualClock());
    const adopted = (rv: string, enabled: string) => {
      const record = formatRecord({ template: T, at: 40n, parts: new Map() });
      return deployment(rv, { 'config-reload.dev/enabled': enabled, [RECORD_ANNOTATION]: record });
    };
    store.observe('Deployment', deployment('40', ENABLED));
    store.writeAcknowledged(WEB, 'u1', write('v1-x', '41', false));
    for (const enabled of ['yes', 'false']) {
      store.observe('Deployment', adopted('42', enabled));
      expect(store.observe('Deployment', adopted('43', 'true')).state).to.deep.include({ firstSeen: { lo: 40n, hi: 40n }, firstSeenVersion: 40n });
    }
    // A record older than the sight (another process's, or none): the opt-in is a new sight.
    const other = new WorkloadStore(new VirtualClock());
    other.observe('Deployment', adopted('50', 'true'));
    other.observe('Deployment', adopted('51', 'false'));
    expect(other.observe('Deployment', adopted('52', 'true')).state).to.deep.include({ firstSeen: { lo: 52n, hi: 52n }, firstSeenVersion: 52n });
  });

  it('keeps the reference index in step with its entries: an event, an opt-out, a relist, a deletion', () => {
    const store = new WorkloadStore(new VirtualClock());
    const CM = sourceKey('ConfigMap', 'ns', 'cm');
    const OTHER = sourceKey('ConfigMap', 'ns', 'other');
    store.observe('Deployment', deployment('1', ENABLED));
    expect([...store.index.consumersOf(CM)]).to.deep.equal([WEB]);
    store.observe('Deployment', deployment('2', ENABLED, { generation: 2, cm: 'other' }));
    expect([...store.index.consumersOf(CM)]).to.deep.equal([]);
    expect([...store.index.consumersOf(OTHER)]).to.deep.equal([WEB]);
    store.observe('Deployment', deployment('3', {}, { generation: 2, cm: 'other' }));
    expect(store.index.consumedBy(WEB)).to.deep.equal([]);
    const relist = store.beginReplace('Deployment');
    relist.add(deployment('4', ENABLED, { generation: 3 }));
    relist.commit('5');
    expect([...store.index.consumersOf(CM)]).to.deep.equal([WEB]);
    store.beginReplace('Deployment').commit('6');
    expect(store.index.consumedBy(WEB)).to.deep.equal([]);
    store.observe('Deployment', deployment('7', ENABLED, { generation: 4 }));
    store.remove(WEB);
    expect([...store.index.consumersOf(CM)]).to.deep.equal([]);
  });

  it('a relist keeps what transitions applied while it ran (a pending write)', () => {
    const clock = new VirtualClock();
    const store = new WorkloadStore(clock);
    store.observe('Deployment', deployment('10', ENABLED));
    const relist = store.beginReplace('Deployment');
    relist.add(deployment('10', ENABLED));
    store.writeAcknowledged(WEB, 'u1', write('v1-new', '12', true));
    relist.commit('11');
    const after = store.get(WEB)!;
    expect(after.pendingWrite?.digest).to.equal('v1-new');
    expect(recordView(after, clock.now()).templateWritten).to.deep.equal({ lo: 12n, hi: 12n });
  });

  it('an entry of a single read (explain) knows nothing of the template\'s history; one not opted in consumes nothing', () => {
    const entry = entryOf('Deployment', deployment('10', ENABLED), new Set(['ConfigMap']));
    expect(entry).to.deep.include({ templateWritten: undefined, firstSeen: undefined, pendingWrite: undefined });
    expect(entry.consumed.map((c) => c.name)).to.deep.equal(['cm']);
    expect(entryOf('Deployment', deployment('10', {}), new Set(['ConfigMap']))).to.deep.include({ optIn: { kind: 'out' }, consumed: [] });
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
});
