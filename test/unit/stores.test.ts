// The config object stores (src/state/source-store.ts): digests only, the changes each
// observation reports, and what each object's content was by version. The workload store is in
// test/unit/workload-store.test.ts; the histories themselves in test/unit/source-history.test.ts.
import { expect } from 'chai';
import { digestKey } from '../../src/core/digest.ts';
import { sourceKey } from '../../src/core/keys.ts';
import { SourceStore, VIEW_BEHIND } from '../../src/state/source-store.ts';

const KEY = digestKey(Buffer.alloc(32, 1));
const configMapKey = (ns: string, name: string) => sourceKey('ConfigMap', ns, name);
const CM = configMapKey('ns', 'cm');

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

  it('keeps the content by the version of the event that showed it, not by later metadata edits', () => {
    const store = new SourceStore('ConfigMap', KEY);
    store.observe(cm('10', { a: '1' }));
    const first = store.content(CM);
    store.observe(cm('12', { a: '1' }, { team: 'x' }));
    expect(store.history(CM)?.map((s) => s.from)).to.deep.equal([10n]);
    store.observe(cm('15', { a: '2' }));
    const second = store.content(CM);
    expect(store.contentsOver(CM, 'ns', 10n, 14n)).to.deep.equal([first]);
    expect(store.contentsOver(CM, 'ns', 14n, 15n)).to.deep.equal([first, second]);
    expect(store.contentsOver(CM, 'ns', 15n, 15n)).to.deep.equal([second]);
    // Before the first event it saw, nothing is known.
    expect(store.contentsOver(CM, 'ns', 9n, 10n)).to.equal(undefined);
    store.observeDeleted(cm('20', { a: '2' }));
    // A deleted object's history is kept: absent from its deletion on.
    expect(store.contentsOver(CM, 'ns', 20n, 20n)).to.deep.equal([undefined]);
    expect(store.contentsOver(CM, 'ns', 16n, 19n)).to.deep.equal([second]);
    // Past what the watch has shown: a later event may still say what it held then.
    expect(store.contentsOver(CM, 'ns', 20n, 21n)).to.equal(VIEW_BEHIND);
    expect(store.contentsOver(CM, 'ns', 20n, 21n, true)).to.deep.equal([undefined]);
    store.progress('21');
    expect(store.contentsOver(CM, 'ns', 20n, 21n), 'a bookmark moves the view on').to.deep.equal([undefined]);
  });

  it('knows an object it never saw absent from the first list on, relists included', () => {
    const store = new SourceStore('ConfigMap', KEY);
    const never = configMapKey('ns', 'never');
    expect(store.startedAt('ns')).to.equal(undefined);
    expect(store.contentsOver(never, 'ns', 300n, 300n)).to.equal(undefined);
    store.beginReplace().commit('300');
    expect(store.startedAt('ns')).to.equal(300n);
    expect(store.contentsOver(never, 'ns', 300n, 300n)).to.deep.equal([undefined]);
    expect(store.contentsOver(never, 'ns', 299n, 300n)).to.equal(undefined);
    store.observe(cm('310', { a: '1' }));
    // A relist after a broken watch: the view still starts at the first list. One created and
    // deleted again inside the relist's gap is the one thing taken on trust (src/state/source-store.ts).
    store.beginReplace().commit('400');
    expect(store.startedAt('ns')).to.equal(300n);
    expect(store.contentsOver(never, 'ns', 305n, 310n)).to.deep.equal([undefined]);
    expect(store.contentsOver(never, 'ns', 350n, 400n)).to.deep.equal([undefined]);
  });

  it('swaps a relist in at commit, reporting created, changed and vanished ConfigMaps', () => {
    const store = new SourceStore('ConfigMap', KEY);
    store.observe(cm('1', { a: '1' }));
    store.observe({ metadata: { name: 'gone', namespace: 'ns', resourceVersion: '2' }, data: {} });
    store.observe({ metadata: { name: 'same', namespace: 'ns', resourceVersion: '3' }, data: { s: '1' } });
    // (A real watch starts with a list; the relist below is the store's first one.)
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
    const gone = configMapKey('ns', 'gone');
    const contents = (lo: bigint, hi: bigint) => {
      const over = store.contentsOver(gone, 'ns', lo, hi);
      return over === VIEW_BEHIND ? 'behind' : over;
    };
    // Absent from the list on; between the watch's last version (3) and the list, unknown.
    expect(contents(9n, 9n)).to.deep.equal([undefined]);
    expect(store.history(gone)).to.have.length(2);
    expect(contents(2n, 3n)).to.have.length(1);
    expect(contents(4n, 8n)).to.equal(undefined);
    // The changed one: its new content from its own write (7) on, the gap before it unknown.
    expect(store.contentsOver(CM, 'ns', 7n, 9n)).to.deep.equal([store.content(CM)]);
    expect(store.contentsOver(CM, 'ns', 4n, 6n)).to.equal(undefined);
    // The unchanged one goes on from its first event.
    expect(store.contentsOver(configMapKey('ns', 'same'), 'ns', 3n, 9n)).to.deep.equal([store.content(configMapKey('ns', 'same'))]);
  });

  it('a relist that finds an object written in its gap with its content back as it was reports it: what it held there is unknown', () => {
    const store = new SourceStore('ConfigMap', KEY);
    store.beginReplace().commit('1');
    store.observe(cm('2', { a: '1' }));
    const relist = store.beginReplace();
    relist.add(cm('6', { a: '1' }));
    const changes = relist.commit('7');
    expect(changes.map((c) => [c.name, c.content])).to.deep.equal([['cm', true]]);
    expect(store.contentsOver(CM, 'ns', 4n, 4n)).to.equal(undefined);
    // Not written since the watch last saw it: the segment goes on, nothing is reported.
    const again = store.beginReplace();
    again.add(cm('6', { a: '1' }));
    expect(again.commit('8')).to.deep.equal([]);
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
    // Each namespace's view starts at its own list.
    expect(store.startedAt('a')).to.equal(7n);
    expect(store.startedAt('b')).to.equal(8n);
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

  it('config-reload.dev/ignore: the entry keeps the real content and says it is ignored; the decision leaves it out', () => {
    const store = new SourceStore('ConfigMap', KEY);
    const ignored = (rv: string, value: string | undefined, data: Record<string, string>) => ({
      metadata: { name: 'cm', namespace: 'ns', resourceVersion: rv, ...(value === undefined ? {} : { annotations: { 'config-reload.dev/ignore': value } }) }, data,
    });
    store.observe(ignored('1', undefined, { a: '1' }));
    const before = store.content(CM);
    expect(store.get(CM)?.ignored).to.equal(false);
    // Switched on with a content change: reported, for the consumers to look again.
    expect(store.observe(ignored('2', 'true', { a: '2' }))?.name).to.equal('cm');
    expect(store.get(CM)?.ignored).to.equal(true);
    expect(store.content(CM)).to.not.equal(before);
    const during = store.content(CM);
    expect(store.observe(ignored('3', ' TRUE ', { a: '3' }))?.after).to.not.equal(during);
    expect(store.get(CM)?.ignored).to.equal(true);
    // Switched off, the content unchanged: still reported (what decisions leave out changed).
    const off = store.observe(ignored('4', 'false', { a: '3' }));
    expect(off?.name).to.equal('cm');
    expect(off?.before).to.equal(off?.after);
    expect(store.get(CM)?.ignored).to.equal(false);
    // Its history follows the content all along.
    expect(store.history(CM)?.map((s) => s.from)).to.deep.equal([1n, 2n, 3n]);
  });

  it('a malformed ignore value ignores the object too, and is reported once', () => {
    const reported: string[] = [];
    const store = new SourceStore('ConfigMap', KEY, (entry, value, reason) => reported.push(`${entry.name} ${value} ${reason}`));
    store.observe(cm('1', { a: '1' }));
    const bad = (rv: string, data: Record<string, string>) => ({ metadata: { name: 'cm', namespace: 'ns', resourceVersion: rv, annotations: { 'config-reload.dev/ignore': 'yes' } }, data });
    store.observe(bad('2', { a: '2' }));
    expect(store.get(CM)).to.deep.include({ ignored: true, malformedIgnore: 'yes' });
    store.observe(bad('3', { a: '3' }));
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
    expect(Object.isFrozen(entry?.history)).to.equal(true);
  });
});
