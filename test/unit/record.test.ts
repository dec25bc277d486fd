// The operator's record on a workload (src/core/record.ts) and the parts it holds
// (src/core/digest.ts, sourcePart): a round trip, and a malformed value rejected as a whole.
import { expect } from 'chai';
import { digestKey, sourceContent, sourcePart } from '../../src/core/digest.ts';
import { formatRecord, parseRecord, partName, RECORD_ANNOTATION, type WorkloadRecord } from '../../src/core/record.ts';
import type { ConsumedSource } from '../../src/core/types.ts';

const FP = '0123456789abcdef'.repeat(2);
const P1 = 'a'.repeat(16);
const P2 = '0123456789abcdef';
const record: WorkloadRecord = { template: FP, at: 42n, parts: new Map([['Secret/db', P2], ['ConfigMap/app.config', P1]]) };
const TEXT = `template=${FP};at=42;ConfigMap/app.config=${P1};Secret/db=${P2}`;

describe('record: format and parse', () => {
  it('is written beside the config-hash annotation', () => {
    expect(RECORD_ANNOTATION).to.equal('config-reload.dev/record');
    expect(partName('ConfigMap', 'app')).to.equal('ConfigMap/app');
  });

  it('formats the template, the version, then the parts sorted by name', () => {
    expect(formatRecord(record)).to.equal(TEXT);
  });

  it('round-trips', () => {
    expect(parseRecord(formatRecord(record))).to.deep.equal(record);
    expect(Object.isFrozen(parseRecord(TEXT))).to.equal(true);
    const bare: WorkloadRecord = { template: FP, at: undefined, parts: new Map() };
    expect(formatRecord(bare)).to.equal(`template=${FP}`);
    expect(parseRecord(formatRecord(bare))).to.deep.equal(bare);
    const big: WorkloadRecord = { template: FP, at: 18446744073709551617n, parts: new Map([['Secret/s', P1]]) };
    expect(parseRecord(formatRecord(big))).to.deep.equal(big);
  });

  it('accepts its fields in any order', () => {
    expect(parseRecord(`Secret/db=${P2};at=42;ConfigMap/app.config=${P1};template=${FP}`)).to.deep.equal(record);
  });

  it('an absent annotation, or one without a template, is no record', () => {
    expect(parseRecord(undefined)).to.equal(undefined);
    expect(parseRecord('')).to.equal(undefined);
    expect(parseRecord(`at=42;ConfigMap/app=${P1}`)).to.equal(undefined);
  });

  const rejected: Array<[string, string]> = [
    ['a fingerprint too short', TEXT.replace(FP, FP.slice(1))],
    ['a fingerprint too long', TEXT.replace(FP, `${FP}0`)],
    ['a fingerprint in upper case', TEXT.replace(FP, FP.toUpperCase())],
    ['a fingerprint not hex', TEXT.replace(FP, `g${FP.slice(1)}`)],
    ['an empty fingerprint', TEXT.replace(FP, '')],
    ['a version of 0', TEXT.replace('at=42', 'at=0')],
    ['a version with a leading zero', TEXT.replace('at=42', 'at=042')],
    ['a negative version', TEXT.replace('at=42', 'at=-42')],
    ['a version not an integer', TEXT.replace('at=42', 'at=4.2')],
    ['a version of words', TEXT.replace('at=42', 'at=latest')],
    ['an empty version', TEXT.replace('at=42', 'at=')],
    ['a part too short', TEXT.replace(P1, P1.slice(1))],
    ['a part in upper case', TEXT.replace(P2, P2.toUpperCase())],
    ['a part not hex', TEXT.replace(P1, `z${P1.slice(1)}`)],
    ['a part of another kind', TEXT.replace('Secret/db', 'Pod/db')],
    ['a part of a kind in lower case', TEXT.replace('Secret/db', 'secret/db')],
    ['a part with a name the apiserver refuses', TEXT.replace('Secret/db', 'Secret/DB')],
    ['a part without a name', TEXT.replace('Secret/db', 'Secret/')],
    ['an unknown field', `${TEXT};owner=me`],
    ['a field without a value', `${TEXT};flag`],
    ['an empty field (a trailing separator)', `${TEXT};`],
    ['padding', ` ${TEXT}`],
  ];
  for (const [what, value] of rejected) {
    it(`rejects the whole record for ${what}`, () => {
      expect(parseRecord(value), value).to.equal(undefined);
    });
  }

  it('rejects the whole record beyond 256 KiB, however well-formed', () => {
    const LIMIT = 256 * 1024;
    const parts = new Map(record.parts);
    const name = (i: number) => `ConfigMap/n${String(i).padStart(6, '0')}`;
    // Each part adds ";ConfigMap/n<6 digits>=<16 hex>": 35 characters.
    const PART = 35;
    const count = Math.floor((LIMIT - formatRecord(record).length) / PART);
    for (let i = 0; i < count; i++) parts.set(name(i), P1);
    const within = formatRecord({ ...record, parts });
    expect(within.length).to.be.at.most(LIMIT).and.above(LIMIT - PART);
    expect(parseRecord(within)?.parts.size).to.equal(parts.size);
    // One more well-formed part crosses the limit.
    const over = formatRecord({ ...record, parts: new Map([...parts, [name(count), P1]]) });
    expect(over.length).to.be.above(LIMIT);
    expect(parseRecord(over.replace(`;${name(count)}=${P1}`, ''))).to.not.equal(undefined);
    expect(parseRecord(over)).to.equal(undefined);
  });
});

describe('record parts: what a consumer reads of one object', () => {
  const KEY = digestKey(Buffer.alloc(32, 9));
  const whole: ConsumedSource = { kind: 'ConfigMap', name: 'cm', optional: false, keys: null };
  const onlyA: ConsumedSource = { kind: 'ConfigMap', name: 'cm', optional: false, keys: ['a'] };
  const cm = (data: Record<string, string>) => sourceContent('ConfigMap', { data }, KEY);

  it('is 16 hex characters, the same for the same content', () => {
    expect(sourcePart(whole, cm({ a: '1' }), KEY)).to.match(/^[0-9a-f]{16}$/).and.equal(sourcePart(whole, cm({ a: '1' }), KEY));
  });

  it('changes with the keys the consumer reads, not with the others', () => {
    expect(sourcePart(onlyA, cm({ a: '1', b: '1' }), KEY)).to.equal(sourcePart(onlyA, cm({ a: '1', b: '2' }), KEY));
    expect(sourcePart(onlyA, cm({ a: '1' }), KEY)).to.not.equal(sourcePart(onlyA, cm({ a: '2' }), KEY));
    expect(sourcePart(whole, cm({ a: '1', b: '1' }), KEY)).to.not.equal(sourcePart(whole, cm({ a: '1', b: '2' }), KEY));
  });

  it('tells absent from empty, one object from another, one key from another', () => {
    const parts = [
      sourcePart(whole, undefined, KEY),
      sourcePart(whole, cm({}), KEY),
      sourcePart({ ...whole, name: 'other' }, cm({}), KEY),
      sourcePart({ ...whole, kind: 'Secret' }, sourceContent('Secret', { data: {} }, KEY), KEY),
      sourcePart(whole, cm({ a: '1' }), KEY),
      sourcePart(whole, cm({ a: '1' }), digestKey(Buffer.alloc(32, 10))),
    ];
    expect(new Set(parts).size).to.equal(parts.length);
  });

  it('reveals nothing of the value', () => {
    const secret = 'value-that-must-not-be-retained';
    expect(sourcePart(whole, cm({ k: secret }), KEY)).to.not.include(secret.slice(0, 8));
  });
});
