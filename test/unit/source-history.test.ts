// What one config object's content was, by resourceVersion (src/state/source-history.ts): exact
// from watch events, from a version on after a list, with a gap after a relist, and unknown
// before the history or in a gap.
import { expect } from 'chai';
import { digestKey, sourceContent } from '../../src/core/digest.ts';
import type { SourceContent } from '../../src/core/types.ts';
import { changedAt, contentsOver, currentSince, type History, listedAt, MAX_SEGMENTS } from '../../src/state/source-history.ts';

const KEY = digestKey(Buffer.alloc(32, 3));
const content = (v: string): SourceContent => sourceContent('ConfigMap', { data: { k: v } }, KEY);
const A = content('a');
const B = content('b');
const C = content('c');

/** Segments as [from, until, content name] for readable assertions. */
function shape(history: History): Array<[bigint, bigint | undefined, string]> {
  const name = (c: SourceContent | undefined) => (c === undefined ? 'absent' : c === A ? 'A' : c === B ? 'B' : c === C ? 'C' : '?');
  return history.map((s) => [s.from, s.until, name(s.content)]);
}

describe('source history: watch events', () => {
  const history = changedAt(changedAt(changedAt(undefined, 5n, A), 10n, B), 15n, C);

  it('each event starts a segment at its version, exactly', () => {
    expect(shape(history)).to.deep.equal([[5n, undefined, 'A'], [10n, undefined, 'B'], [15n, undefined, 'C']]);
    expect(Object.isFrozen(history) && history.every((s) => Object.isFrozen(s))).to.equal(true);
    expect(currentSince(history)).to.equal(15n);
  });

  it('a single version: the content of the segment holding it', () => {
    expect(contentsOver(history, 5n, 5n)).to.deep.equal([A]);
    expect(contentsOver(history, 9n, 9n)).to.deep.equal([A]);
    expect(contentsOver(history, 10n, 10n)).to.deep.equal([B]);
    expect(contentsOver(history, 99n, 99n)).to.deep.equal([C]);
  });

  it('a range spanning segments: every content it may have had, in order', () => {
    expect(contentsOver(history, 7n, 12n)).to.deep.equal([A, B]);
    expect(contentsOver(history, 9n, 10n)).to.deep.equal([A, B]);
    expect(contentsOver(history, 5n, 15n)).to.deep.equal([A, B, C]);
    // Up to now.
    expect(contentsOver(history, 12n, undefined)).to.deep.equal([B, C]);
    expect(contentsOver(history, 20n, undefined)).to.deep.equal([C]);
  });

  it('before the history, or with no history at all, nothing is known', () => {
    expect(contentsOver(history, 4n, 4n)).to.equal(undefined);
    expect(contentsOver(history, 4n, 6n)).to.equal(undefined);
    expect(contentsOver(undefined, 5n, 5n)).to.equal(undefined);
    expect(contentsOver([], 5n, 5n)).to.equal(undefined);
    expect(currentSince(undefined)).to.equal(undefined);
  });

  it('a deletion is a content too: absent from its version on', () => {
    const deleted = changedAt(history, 20n, undefined);
    expect(contentsOver(deleted, 20n, undefined)).to.deep.equal([undefined]);
    expect(contentsOver(deleted, 18n, 22n)).to.deep.equal([C, undefined]);
  });
});

describe('source history: lists and relists', () => {
  it('a first list: the content from the object\'s own last write on, nothing before', () => {
    const history = listedAt(undefined, 7n, A, undefined, false);
    expect(shape(history)).to.deep.equal([[7n, undefined, 'A']]);
    expect(contentsOver(history, 7n, undefined)).to.deep.equal([A]);
    expect(contentsOver(history, 6n, 7n)).to.equal(undefined);
  });

  it('a relist showing an object not written since the view last saw it: the segment goes on', () => {
    const before = changedAt(undefined, 5n, A);
    expect(listedAt(before, 5n, A, 10n, true)).to.equal(before);
    expect(contentsOver(before, 5n, 30n)).to.deep.equal([A]);
  });

  it('a relist showing new content: the earlier segment ends at the view\'s last version, a gap up to the write', () => {
    const history = listedAt(changedAt(undefined, 5n, A), 20n, B, 10n, false);
    expect(shape(history)).to.deep.equal([[5n, 10n, 'A'], [20n, undefined, 'B']]);
    expect(contentsOver(history, 5n, 10n)).to.deep.equal([A]);
    expect(contentsOver(history, 11n, 11n)).to.equal(undefined);
    expect(contentsOver(history, 11n, 19n)).to.equal(undefined);
    expect(contentsOver(history, 8n, 25n), 'a range over the gap').to.equal(undefined);
    expect(contentsOver(history, 20n, undefined)).to.deep.equal([B]);
  });

  it('a relist showing the same content written after the view\'s last version leaves a gap (it may have changed and back)', () => {
    const history = listedAt(changedAt(undefined, 5n, A), 15n, A, 10n, true);
    expect(shape(history)).to.deep.equal([[5n, 10n, 'A'], [15n, undefined, 'A']]);
    expect(contentsOver(history, 12n, 12n)).to.equal(undefined);
    expect(contentsOver(history, 15n, undefined)).to.deep.equal([A]);
  });

  it('an object gone from a relist: absent from the list\'s version on, the gap before it unknown', () => {
    const history = listedAt(changedAt(undefined, 5n, A), 30n, undefined, 10n, false);
    expect(shape(history)).to.deep.equal([[5n, 10n, 'A'], [30n, undefined, 'absent']]);
    expect(contentsOver(history, 30n, undefined)).to.deep.equal([undefined]);
    expect(contentsOver(history, 29n, 30n)).to.equal(undefined);
  });

  it('segments that meet leave no gap', () => {
    const history = listedAt(changedAt(undefined, 5n, A), 11n, B, 10n, false);
    expect(contentsOver(history, 8n, 12n)).to.deep.equal([A, B]);
  });

  it('a view that never passed the segment\'s start ends it there', () => {
    const history = listedAt(changedAt(undefined, 20n, A), 30n, B, 10n, false);
    expect(shape(history)).to.deep.equal([[20n, 20n, 'A'], [30n, undefined, 'B']]);
  });
});

describe('source history: bounded', () => {
  it(`keeps the last ${MAX_SEGMENTS} segments; the versions of older ones become unknown`, () => {
    const cycle = [A, B, C];
    const count = MAX_SEGMENTS + 2;
    let history: History | undefined;
    for (let i = 1; i <= count; i++) history = changedAt(history, BigInt(10 * i), cycle[i % 3]);
    const kept = Array.from({ length: MAX_SEGMENTS }, (_, i) => BigInt(10 * (i + 3)));
    expect(history!.length).to.equal(MAX_SEGMENTS);
    expect(history!.map((s) => s.from)).to.deep.equal(kept);
    // The first two are forgotten: before the third, nothing is known.
    expect(contentsOver(history, 25n, 25n)).to.equal(undefined);
    expect(contentsOver(history, 30n, 45n)).to.deep.equal([cycle[0], cycle[1]]);
    // A list trims too.
    const last = BigInt(10 * count);
    expect(listedAt(history, last + 20n, A, last + 10n, false).map((s) => s.from)).to.deep.equal([...kept.slice(1), last + 20n]);
  });
});
