// The workload store's list path (src/state/workload-store.ts beginReplace, src/state/workload-reading.ts):
// each item is read (opt-in, references, the template's hash, the record) as it is added, so that the
// commit of a large list is one short turn of the event loop that reads nothing of the objects.
// bench/synthetic measures the turn itself (docs/figures.md, "Past the test control plane").
import { expect } from 'chai';
import { HASH_ANNOTATION } from '../../src/core/annotations.ts';
import { sourceKey, workloadKey } from '../../src/core/keys.ts';
import { formatRecord, RECORD_ANNOTATION } from '../../src/core/record.ts';
import { entryOf } from '../../src/state/workload-entry.ts';
import { type WorkloadLike, WorkloadStore } from '../../src/state/workload-store.ts';
import { VirtualClock } from '../support/virtual-clock.ts';

const N = 500;
const SOURCES = new Set(['ConfigMap', 'Secret'] as const);

/** Workload `i`: opted in (every third not), reading its own ConfigMap and one key of a Secret; every fifth carries a record. */
function workload(i: number, rv = String(100 + i), generation = 1): WorkloadLike {
  const annotations: Record<string, string> = i % 3 === 2 ? {} : { 'config-reload.dev/enabled': 'true' };
  if (i % 5 === 0) annotations[RECORD_ANNOTATION] = formatRecord({ template: 'f'.repeat(32), at: 50n, parts: new Map([[`ConfigMap/cm-${i}`, 'a'.repeat(16)]]) });
  return {
    metadata: { name: `web-${i}`, namespace: `ns-${i % 7}`, uid: `u-${i}`, resourceVersion: rv, generation, annotations },
    spec: {
      replicas: 2,
      template: {
        metadata: { annotations: i % 4 === 0 ? { [HASH_ANNOTATION]: 'v1-x' } : { team: 'a' } },
        spec: {
          containers: [{
            name: 'app', image: `app:${generation}`, envFrom: [{ configMapRef: { name: `cm-${i}` } }],
            env: [{ name: 'DB', valueFrom: { secretKeyRef: { name: `db-${i}`, key: 'url' } } }],
          }],
        },
      },
    },
    status: { observedGeneration: generation, replicas: 2, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2 },
  } as WorkloadLike;
}

/**
 * `obj` behind proxies that count every property read, at any depth, while `counting.on`: a
 * commit that parsed an item (its annotations, its template for the hash) would read it.
 */
function counted<T extends object>(obj: T, counting: { on: boolean; reads: number }): T {
  return new Proxy(obj, {
    get(target, property, receiver) {
      if (counting.on) counting.reads++;
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'object' && value !== null ? counted(value, counting) : value;
    },
  });
}

describe('workload store: a list is read as it arrives, its commit only compares and swaps', () => {
  it(`the commit of a list of ${N} workloads reads nothing of the objects listed, and gives the entries a read of each gives`, () => {
    const store = new WorkloadStore(new VirtualClock(), SOURCES);
    const counting = { on: false, reads: 0 };
    const list = store.beginReplace('Deployment');
    for (let i = 0; i < N; i++) list.add(counted(workload(i), counting));
    counting.on = true;
    const { observed } = list.commit('1000');
    counting.on = false;
    // Before this was so, the same commit made 47,700 reads (test at 2e34134).
    expect(counting.reads).to.equal(0);
    expect(observed).to.have.length(N);
    const optedIn = Array.from({ length: N }, (_, i) => i).filter((i) => i % 3 !== 2);
    expect(store.size).to.equal(optedIn.length);
    for (const i of optedIn) {
      const entry = store.get(workloadKey('Deployment', `ns-${i % 7}`, `web-${i}`))!;
      const alone = entryOf('Deployment', workload(i), SOURCES);
      expect(Object.isFrozen(entry)).to.equal(true);
      expect(entry).to.deep.include({
        template: alone.template, templateBase: alone.templateBase, consumed: alone.consumed, record: alone.record,
        recordedDigest: alone.recordedDigest, health: alone.health, optIn: alone.optIn,
        // A first list is the adoption point.
        firstSeen: { lo: 1000n, hi: 1000n }, firstListed: true,
      });
      expect([...store.index.consumersOf(sourceKey('ConfigMap', `ns-${i % 7}`, `cm-${i}`))]).to.deep.equal([entry.key]);
    }
  });

  it('a relist reads nothing at its commit either: what it keeps, what changed and what is gone (level-based)', () => {
    const store = new WorkloadStore(new VirtualClock(), SOURCES);
    const first = store.beginReplace('Deployment');
    for (let i = 0; i < N; i++) first.add(workload(i));
    first.commit('1000');
    const before = new Map([...store.values()].map((e) => [e.key, e]));
    const counting = { on: false, reads: 0 };
    const relist = store.beginReplace('Deployment');
    // 0..9 have a new spec; 10..N-11 are as they were; the last ten are gone.
    for (let i = 0; i < N - 10; i++) relist.add(counted(i < 10 ? workload(i, String(2000 + i), 2) : workload(i), counting));
    counting.on = true;
    const { observed, removed } = relist.commit('3000');
    counting.on = false;
    expect(counting.reads).to.equal(0);
    const gone = Array.from({ length: 10 }, (_, k) => N - 10 + k).filter((i) => i % 3 !== 2);
    expect(removed.map((e) => e.name).sort()).to.deep.equal(gone.map((i) => `web-${i}`).sort());
    for (const i of gone) expect(store.get(workloadKey('Deployment', `ns-${i % 7}`, `web-${i}`))).to.equal(undefined);
    const relevant = observed.filter((o) => o.relevant).map((o) => o.key);
    const changed = Array.from({ length: 10 }, (_, i) => i).filter((i) => i % 3 !== 2).map((i) => workloadKey('Deployment', `ns-${i % 7}`, `web-${i}`));
    expect(relevant.sort()).to.deep.equal(changed.sort());
    for (const key of changed) {
      const entry = store.get(key)!;
      // The template changed somewhere in the relist's gap, up to the workload's own version.
      expect(entry.template).to.not.equal(before.get(key)!.template);
      expect(entry.templateWritten).to.deep.equal({ lo: 1001n, hi: BigInt(2000 + Number(entry.name.slice(4))) });
    }
    // Listed at its entry's own version: the very entry is kept (nothing replaced, nothing re-indexed).
    const kept = store.get(workloadKey('Deployment', 'ns-3', 'web-10'))!;
    expect(kept).to.equal(before.get(kept.key));
    expect([...store.index.consumersOf(sourceKey('ConfigMap', 'ns-3', 'cm-10'))]).to.deep.equal([kept.key]);
  });

  it('a workload not opted in is read for its template only, and the date a relist finds its template written is remembered', () => {
    const store = new WorkloadStore(new VirtualClock(), SOURCES);
    const out = (rv: string, generation: number, enabled: boolean): WorkloadLike => {
      const w = workload(2, rv, generation);
      return { ...w, metadata: { ...w.metadata, annotations: enabled ? { 'config-reload.dev/enabled': 'true' } : {} } };
    };
    const first = store.beginReplace('Deployment');
    first.add(out('10', 1, false));
    first.commit('10');
    expect(store.size).to.equal(0);
    const relist = store.beginReplace('Deployment');
    relist.add(out('20', 2, false));
    relist.commit('30');
    // Opting in is an update (not a template write): the template's date is the one the relist found.
    const opted = store.observe('Deployment', out('40', 2, true)).state!;
    expect(opted.templateWritten).to.deep.equal({ lo: 11n, hi: 20n });
  });
});
