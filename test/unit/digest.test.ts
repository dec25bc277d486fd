import { createHash, createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { V1ConfigMap, V1ObjectMeta, V1Secret } from '@kubernetes/client-node';
import { expect } from 'chai';
import fc from 'fast-check';
import objectHash from 'object-hash';
import {
  DIGEST_FORMAT,
  type DigestKey,
  KEY_ID_LABEL,
  digestFormat,
  digestKey,
  digestKeyId,
  sourceContent,
  workloadDigest,
} from '../../src/core/digest.ts';
import type { ConsumedSource, SourceContent, SourceKind } from '../../src/core/types.ts';

// The test keys: 32 bytes 0x00..0x1f, and 32 bytes 0x20..0x3f.
const KEY_BYTES = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const OTHER_KEY_BYTES = Buffer.from(Array.from({ length: 32 }, (_, i) => 0x20 + i));
const KEY = digestKey(KEY_BYTES);
const OTHER_KEY = digestKey(OTHER_KEY_BYTES);

type Data = { data?: Record<string, string> | null; binaryData?: Record<string, string> | null };

function kindOf(ref: string): SourceKind {
  const kind = ref.slice(0, ref.indexOf('/'));
  if (kind !== 'ConfigMap' && kind !== 'Secret') throw new Error(`not a "kind/name" reference: ${ref}`);
  return kind;
}

/**
 * workloadDigest over config objects given raw, by "kind/name" ("ConfigMap/app", "Secret/app");
 * a missing entry is an absent object.
 */
function digestOf(consumed: ConsumedSource[], objects: Record<string, Data>, key: DigestKey = KEY): string {
  const contents = new Map(Object.entries(objects).map(([ref, obj]) => [ref, sourceContent(kindOf(ref), obj, key)]));
  return workloadDigest(consumed, (kind, name) => contents.get(`${kind}/${name}`), key);
}

const whole = (kind: SourceKind, name: string, optional = false): ConsumedSource => ({ kind, name, optional, keys: null });
const keys = (kind: SourceKind, name: string, ...selected: string[]): ConsumedSource => ({
  kind,
  name,
  optional: false,
  keys: selected,
});

function entries(content: SourceContent): Array<[string, string]> {
  return [...content.keyDigests].sort(([a], [b]) => (a < b ? -1 : 1));
}

const cmContent = (obj: Data, key: DigestKey = KEY): SourceContent => sourceContent('ConfigMap', obj, key);
const secretContent = (obj: Data, key: DigestKey = KEY): SourceContent => sourceContent('Secret', obj, key);

describe('digest: digestKey', () => {
  it('refuses a key shorter than 32 bytes', () => {
    expect(() => digestKey(Buffer.alloc(0))).to.throw(/at least 32 bytes/);
    expect(() => digestKey(Buffer.alloc(31))).to.throw(/at least 32 bytes \(it holds 31\)/);
    expect(() => digestKey(Buffer.alloc(32))).to.not.throw();
    expect(() => digestKey(Buffer.alloc(64))).to.not.throw();
  });

  it('has an id of 8 hex characters, which differs between keys', () => {
    expect(KEY.id).to.match(/^[0-9a-f]{8}$/);
    expect(OTHER_KEY.id).to.match(/^[0-9a-f]{8}$/);
    expect(KEY.id).to.not.equal(OTHER_KEY.id);
  });

  it('copies the key: wiping the caller\'s buffer afterwards changes nothing', () => {
    const bytes = Buffer.from(KEY_BYTES);
    const copy = digestKey(bytes);
    bytes.fill(0);
    expect(copy.id).to.equal(KEY.id);
    expect(entries(cmContent({ data: { k: 'v' } }, copy))).to.deep.equal(entries(cmContent({ data: { k: 'v' } }, KEY)));
  });
});

describe('digest: sourceContent', () => {
  it('keeps one digest of 32 hex characters per key of a ConfigMap\'s data and binaryData', () => {
    const content = cmContent({ data: { a: '1', b: '2' }, binaryData: { c: 'AAE=' } });
    expect([...content.keyDigests.keys()].sort()).to.deep.equal(['a', 'b', 'c']);
    for (const digest of content.keyDigests.values()) expect(digest).to.match(/^[0-9a-f]{32}$/);
  });

  it('keeps one digest per key of a Secret\'s data, and none of its binaryData', () => {
    const content = secretContent({ data: { a: 'MQ==', b: 'Mg==' }, binaryData: { c: 'AAE=' } });
    expect([...content.keyDigests.keys()].sort()).to.deep.equal(['a', 'b']);
    for (const digest of content.keyDigests.values()) expect(digest).to.match(/^[0-9a-f]{32}$/);
  });

  it('does not depend on key order', () => {
    const forward = cmContent({ data: { a: '1', b: '2', c: '3' }, binaryData: { x: 'AA==', y: 'AQ==' } });
    const backward = cmContent({ binaryData: { y: 'AQ==', x: 'AA==' }, data: { c: '3', b: '2', a: '1' } });
    expect(entries(forward)).to.deep.equal(entries(backward));
  });

  it('is the same for a client-node V1ConfigMap and the plain JSON of a watch event', () => {
    const instance = new V1ConfigMap();
    instance.apiVersion = 'v1';
    instance.kind = 'ConfigMap';
    instance.metadata = Object.assign(new V1ObjectMeta(), { name: 'cm', namespace: 'ns', resourceVersion: '7' });
    instance.data = { 'app.yaml': 'port: 8080\n', b: '' };
    instance.binaryData = { blob: 'AAEC' };
    const plain = JSON.parse(
      '{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm"},"binaryData":{"blob":"AAEC"},"data":{"b":"","app.yaml":"port: 8080\\n"}}',
    ) as Data;
    expect(entries(cmContent(instance))).to.deep.equal(entries(cmContent(plain)));
  });

  it('is the same for a client-node V1Secret and the plain JSON of a watch event', () => {
    const instance = new V1Secret();
    instance.apiVersion = 'v1';
    instance.kind = 'Secret';
    instance.type = 'Opaque';
    instance.metadata = Object.assign(new V1ObjectMeta(), { name: 's', namespace: 'ns', resourceVersion: '7' });
    instance.data = { password: 'aHVudGVyMg==', user: 'YWRtaW4=' };
    const plain = JSON.parse(
      '{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s"},"type":"Opaque","data":{"user":"YWRtaW4=","password":"aHVudGVyMg=="}}',
    ) as Data;
    expect(entries(secretContent(instance))).to.deep.equal(entries(secretContent(plain)));
  });

  it('tells the same bytes in a ConfigMap\'s data and binaryData apart', () => {
    const inData = cmContent({ data: { k: 'aGk=' } });
    const inBinary = cmContent({ binaryData: { k: 'aGk=' } });
    expect(inData.keyDigests.get('k')).to.not.equal(inBinary.keyDigests.get('k'));
  });

  it('gives the same value under different keys different digests', () => {
    const content = cmContent({ data: { a: 'same', b: 'same' } });
    expect(content.keyDigests.get('a')).to.not.equal(content.keyDigests.get('b'));
  });

  it('treats missing, null and empty data alike, for both kinds', () => {
    for (const kind of ['ConfigMap', 'Secret'] as const) {
      expect(entries(sourceContent(kind, {}, KEY)), kind).to.deep.equal([]);
      expect(entries(sourceContent(kind, { data: null, binaryData: null }, KEY)), kind).to.deep.equal([]);
      expect(entries(sourceContent(kind, { data: {}, binaryData: {} }, KEY)), kind).to.deep.equal([]);
    }
  });

  it('ignores metadata: labels, annotations and resourceVersion', () => {
    const before = Object.assign(new V1ConfigMap(), {
      metadata: { name: 'cm', resourceVersion: '1', labels: { a: 'b' } },
      data: { k: 'v' },
    });
    const after = Object.assign(new V1ConfigMap(), {
      metadata: { name: 'cm', resourceVersion: '2', labels: { a: 'c' }, annotations: { note: 'x' } },
      data: { k: 'v' },
    });
    expect(entries(cmContent(after))).to.deep.equal(entries(cmContent(before)));
  });

  it('ignores a Secret\'s metadata, type and stringData (the apiserver folds stringData into data)', () => {
    const before = Object.assign(new V1Secret(), {
      metadata: { name: 's', resourceVersion: '1' },
      type: 'Opaque',
      data: { k: 'dg==' },
    });
    const after = Object.assign(new V1Secret(), {
      metadata: { name: 's', resourceVersion: '2', labels: { a: 'c' } },
      type: 'kubernetes.io/basic-auth',
      stringData: { k: 'other', extra: 'x' },
      data: { k: 'dg==' },
    });
    expect(entries(secretContent(after))).to.deep.equal(entries(secretContent(before)));
  });

  it('depends on the digest key', () => {
    const obj = { data: { k: 'v' } };
    expect(cmContent(obj, KEY).keyDigests.get('k')).to.not.equal(cmContent(obj, OTHER_KEY).keyDigests.get('k'));
  });
});

describe('digest: workloadDigest', () => {
  it('is the format version, the key id and 64 hex characters', () => {
    expect(DIGEST_FORMAT).to.equal('v2');
    const shape = new RegExp(`^v2-${KEY.id}-[0-9a-f]{64}$`);
    expect(digestOf([whole('ConfigMap', 'cm')], { 'ConfigMap/cm': { data: { k: 'v' } } })).to.match(shape);
    expect(digestOf([whole('Secret', 's')], { 'Secret/s': { data: { k: 'dg==' } } })).to.match(shape);
    expect(digestOf([], {})).to.match(shape);
  });

  it('is deterministic', () => {
    const consumed = [whole('ConfigMap', 'a'), keys('ConfigMap', 'b', 'x'), whole('Secret', 's')];
    const objects = { 'ConfigMap/a': { data: { k: 'v' } }, 'ConfigMap/b': { data: { x: '1', y: '2' } }, 'Secret/s': { data: { p: 'cA==' } } };
    expect(digestOf(consumed, objects)).to.equal(digestOf(consumed, objects));
  });

  it('does not depend on the order of consumed sources, of selected keys or of data keys', () => {
    const a = digestOf([whole('ConfigMap', 'a'), keys('ConfigMap', 'b', 'x', 'y'), whole('Secret', 'a')], {
      'ConfigMap/a': { data: { p: '1', q: '2' } },
      'ConfigMap/b': { data: { x: '1', y: '2' } },
      'Secret/a': { data: { s: 'cw==', t: 'dA==' } },
    });
    const b = digestOf([whole('Secret', 'a'), keys('ConfigMap', 'b', 'y', 'x'), whole('ConfigMap', 'a')], {
      'Secret/a': { data: { t: 'dA==', s: 'cw==' } },
      'ConfigMap/b': { data: { y: '2', x: '1' } },
      'ConfigMap/a': { data: { q: '2', p: '1' } },
    });
    expect(a).to.equal(b);
  });

  it('is the same for a V1ConfigMap instance and a plain object', () => {
    const instance = new V1ConfigMap();
    instance.data = { b: '2', a: '1' };
    const plain = { data: { a: '1', b: '2' } };
    expect(digestOf([whole('ConfigMap', 'cm')], { 'ConfigMap/cm': instance })).to.equal(
      digestOf([whole('ConfigMap', 'cm')], { 'ConfigMap/cm': plain }),
    );
  });

  it('changes when a consumed value changes, is added or removed', () => {
    const base = digestOf([whole('ConfigMap', 'cm')], { 'ConfigMap/cm': { data: { a: '1' } } });
    expect(digestOf([whole('ConfigMap', 'cm')], { 'ConfigMap/cm': { data: { a: '2' } } })).to.not.equal(base);
    expect(digestOf([whole('ConfigMap', 'cm')], { 'ConfigMap/cm': { data: { a: '1', b: '' } } })).to.not.equal(base);
    expect(digestOf([whole('ConfigMap', 'cm')], { 'ConfigMap/cm': { data: {} } })).to.not.equal(base);
    const secret = digestOf([whole('Secret', 's')], { 'Secret/s': { data: { a: 'MQ==' } } });
    expect(digestOf([whole('Secret', 's')], { 'Secret/s': { data: { a: 'Mg==' } } })).to.not.equal(secret);
  });

  it('does not change for a label-only edit or a rewrite with identical data', () => {
    const before = digestOf([whole('ConfigMap', 'cm')], {
      'ConfigMap/cm': Object.assign(new V1ConfigMap(), { metadata: { resourceVersion: '1', labels: { v: '1' } }, data: { a: '1' } }),
    });
    const after = digestOf([whole('ConfigMap', 'cm')], {
      'ConfigMap/cm': { metadata: { resourceVersion: '9', labels: { v: '2' }, annotations: { x: 'y' } }, data: { a: '1' } } as Data,
    });
    expect(after).to.equal(before);
  });

  it('does not change when a Secret\'s binaryData (not a field of Secrets) changes', () => {
    const before = digestOf([whole('Secret', 's')], { 'Secret/s': { data: { a: 'MQ==' } } });
    const after = digestOf([whole('Secret', 's')], { 'Secret/s': { data: { a: 'MQ==' }, binaryData: { b: 'AA==' } } });
    expect(after).to.equal(before);
  });

  it('tells an absent source from an empty one, and both from one with data', () => {
    for (const kind of ['ConfigMap', 'Secret'] as const) {
      const absent = digestOf([whole(kind, 'x', true)], {});
      const empty = digestOf([whole(kind, 'x', true)], { [`${kind}/x`]: {} });
      const withData = digestOf([whole(kind, 'x', true)], { [`${kind}/x`]: { data: { k: 'dg==' } } });
      expect(new Set([absent, empty, withData]).size, kind).to.equal(3);
    }
  });

  it('tells a selected key that is missing from one that is present and empty', () => {
    const missing = digestOf([keys('ConfigMap', 'cm', 'k')], { 'ConfigMap/cm': { data: { other: 'x' } } });
    const emptyValue = digestOf([keys('ConfigMap', 'cm', 'k')], { 'ConfigMap/cm': { data: { other: 'x', k: '' } } });
    const absentMap = digestOf([keys('ConfigMap', 'cm', 'k')], {});
    expect(new Set([missing, emptyValue, absentMap]).size).to.equal(3);
  });

  it('ignores keys the workload does not read', () => {
    const read = [keys('Secret', 's', 'read')];
    const before = digestOf(read, { 'Secret/s': { data: { read: 'MQ==', unread: 'YQ==' } } });
    const unreadChanged = digestOf(read, { 'Secret/s': { data: { read: 'MQ==', unread: 'Yg==' } } });
    const unreadAdded = digestOf(read, { 'Secret/s': { data: { read: 'MQ==', unread: 'YQ==', more: 'Yw==' } } });
    const readChanged = digestOf(read, { 'Secret/s': { data: { read: 'Mg==', unread: 'YQ==' } } });
    expect(unreadChanged).to.equal(before);
    expect(unreadAdded).to.equal(before);
    expect(readChanged).to.not.equal(before);
  });

  it('sees every key of a whole object', () => {
    const before = digestOf([whole('ConfigMap', 'cm')], { 'ConfigMap/cm': { data: { read: '1', other: 'a' } } });
    expect(digestOf([whole('ConfigMap', 'cm')], { 'ConfigMap/cm': { data: { read: '1', other: 'b' } } })).to.not.equal(before);
  });

  it('does not depend on the optional flag, only on kinds, names and content', () => {
    const objects = { 'ConfigMap/cm': { data: { k: 'v' } } };
    expect(digestOf([whole('ConfigMap', 'cm', true)], objects)).to.equal(digestOf([whole('ConfigMap', 'cm', false)], objects));
  });

  it('includes the name and the kind', () => {
    const data = { data: { k: 'dg==' } };
    const base = digestOf([whole('ConfigMap', 'a')], { 'ConfigMap/a': data });
    expect(digestOf([whole('ConfigMap', 'b')], { 'ConfigMap/b': data })).to.not.equal(base);
    expect(digestOf([whole('Secret', 'a')], { 'Secret/a': data })).to.not.equal(base);
  });

  it('changes when a key moves from one source to another, also between kinds', () => {
    const consumed = [whole('ConfigMap', 'a'), whole('Secret', 'a')];
    expect(digestOf(consumed, { 'ConfigMap/a': { data: { k: 'dg==' } }, 'Secret/a': {} })).to.not.equal(
      digestOf(consumed, { 'ConfigMap/a': {}, 'Secret/a': { data: { k: 'dg==' } } }),
    );
  });

  it('is not fooled by separators inside keys and values', () => {
    // Joined "k=v;" strings would make these two identical.
    expect(digestOf([whole('ConfigMap', 'cm')], { 'ConfigMap/cm': { data: { a: '1;b=2' } } })).to.not.equal(
      digestOf([whole('ConfigMap', 'cm')], { 'ConfigMap/cm': { data: { a: '1', b: '2' } } }),
    );
  });

  it('depends on the digest key, and names it', () => {
    const objects = { 'ConfigMap/cm': { data: { k: 'v' } } };
    const underKey = digestOf([whole('ConfigMap', 'cm')], objects, KEY);
    const underOther = digestOf([whole('ConfigMap', 'cm')], objects, OTHER_KEY);
    expect(underKey).to.not.equal(underOther);
    expect(underKey.slice(12)).to.not.equal(underOther.slice(12));
    expect(digestKeyId(underKey)).to.equal(KEY.id);
    expect(digestKeyId(underOther)).to.equal(OTHER_KEY.id);
  });
});

// Golden vectors of format v2. Every recorded config-hash annotation is (or will be re-recorded
// as) a v2 digest, so the bytes behind it must never change without a format bump: a silent
// change (in object-hash's serialisation, in the options digest.ts passes it, in the per-key
// fields, in how the key is used) would roll every opted-in workload at the next upgrade.
//
// The expected values are not the program's output. Each one is written out by hand from the
// format's definition and MACed here with node:crypto, under the test key (32 bytes 0x00..0x1f):
// - the key id is HMAC-SHA-256(key, 'config-reload.dev/digest-key-id'), first 8 hex characters;
// - a per-key digest is HMAC-SHA-256(key, fields), cut to its first 32 hex characters, where the
//   fields are the key, then for each section holding it (data before binaryData; a Secret's
//   binaryData is never read) the section name and the value, each written as
//   `<UTF-8 byte length>:<text>`;
// - a workload digest is `v2-<key id>-` and HMAC-SHA-256(key, S), where S is what object-hash
//   3.0.0 writes for `{ format: 'v2', sources: [{ kind, name, present, keys: [[key, digest |
//   null], ...] }, ...] }` (sources sorted by `kind/name`, keys sorted, both by code unit) with
//   unorderedObjects (object keys sorted: format before sources; keys, kind, name, present),
//   unorderedArrays false and respectType false (no prototype entries). Its typed serialisation
//   (node_modules/object-hash/index.js): an object is `object:<key count>:` then, per key,
//   `<key>:<value>,`; an array is `array:<length>:` then its entries with no separator; a string
//   is `string:<UTF-16 length>:<text>`; a boolean `bool:true`/`bool:false`; null `Null`.
// The literal constants below were computed outside Node, so that the helpers are checked too.

/** HMAC-SHA-256 hex of a hand-written string: the test's own MAC, independent of digest.ts. */
function hmac(text: string, keyBytes: Buffer = KEY_BYTES): string {
  return createHmac('sha256', keyBytes).update(text, 'utf8').digest('hex');
}

/** A per-key digest from its hand-written length-prefixed fields. */
function keyDigest(fields: string, keyBytes: Buffer = KEY_BYTES): string {
  return hmac(fields, keyBytes).slice(0, 32);
}

/** A key id, from the hand-written label. */
function keyId(keyBytes: Buffer): string {
  return hmac('config-reload.dev/digest-key-id', keyBytes).slice(0, 8);
}

/** A workload digest under the test key from the fragments of object-hash's serialisation. */
function v2(...fragments: string[]): string {
  return v2Under(KEY_BYTES, ...fragments);
}

function v2Under(keyBytes: Buffer, ...fragments: string[]): string {
  return `v2-${keyId(keyBytes)}-${hmac(fragments.join(''), keyBytes)}`;
}

// Computed in bash with OpenSSL 3.0 (cross-checked with python3's hmac module), where
//   K1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f (the test key)
//   K2=202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f (the other key)
//   printf '%s' 'config-reload.dev/digest-key-id' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$K1 | cut -d' ' -f2 | cut -c1-8
//   printf '%s' 'config-reload.dev/digest-key-id' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$K2 | cut -d' ' -f2 | cut -c1-8
const KEY_ID = '3c7d22c3';
const OTHER_KEY_ID = '92c45309';
//   printf '%s' '1:a4:data1:1' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$K1 | cut -d' ' -f2 | cut -c1-32
//   printf '%s' '1:b4:data1:2' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$K1 | cut -d' ' -f2 | cut -c1-32
const KEY_A_1 = '8fc189563c6e9bfed29d436e09299302';
const KEY_B_2 = 'e3cb7aa263f52f6ac82706a3219f544f';
// A Secret's key password = 'aHVudGVyMg==' (base64 of 'hunter2'):
//   printf '%s' '8:password4:data12:aHVudGVyMg==' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$K1 | cut -d' ' -f2 | cut -c1-32
const SECRET_PASSWORD = 'ad745aaeaf892b2c3e9f43d7b3988f4d';
// ConfigMap "app" read whole, data { a: '1', b: '2' }, with the two key digests above pasted in:
//   printf '%s' 'object:2:string:6:format:string:2:v2,string:7:sources:array:1:object:4:string:4:keys:array:2:array:2:string:1:astring:32:8fc189563c6e9bfed29d436e09299302array:2:string:1:bstring:32:e3cb7aa263f52f6ac82706a3219f544f,string:4:kind:string:9:ConfigMap,string:4:name:string:3:app,string:7:present:bool:true,,' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$K1 | cut -d' ' -f2
const WHOLE_APP = 'v2-3c7d22c3-a8bf3eb7e15fa790ded90cdefc0ee7b867c6f7b24945f904e3dbe1edbcda476c';

// The v1 (unkeyed SHA-256) digests of the same inputs, from the v1 golden vectors:
//   printf '%s' '1:a4:data1:1' | sha256sum | cut -c1-32
const V1_KEY_A_1 = '9b30ac5820a8911fa2d7092f820e898d';
const V1_WHOLE_APP = 'v1-43722e1b77c1a1b330077669a377494ecb93eb067af3d6633d09abba760fe594';

// The fragments shared by every workload serialisation: format sorts before sources.
const OPEN = 'object:2:string:6:format:string:2:v2,string:7:sources:';
const CLOSE = ',';

describe('digest: golden vectors of format v2', () => {
  describe('the key id', () => {
    it('is the first 8 hex characters of HMAC(key, "config-reload.dev/digest-key-id"): literal vectors', () => {
      expect(KEY_ID_LABEL).to.equal('config-reload.dev/digest-key-id');
      expect(KEY.id).to.equal(KEY_ID);
      expect(OTHER_KEY.id).to.equal(OTHER_KEY_ID);
      expect(KEY.id).to.equal(keyId(KEY_BYTES));
      expect(OTHER_KEY.id).to.equal(keyId(OTHER_KEY_BYTES));
    });
  });

  describe('per-key digests (sourceContent)', () => {
    it('two data keys of a ConfigMap: the literal vectors computed outside Node', () => {
      const content = cmContent({ data: { b: '2', a: '1' } });
      expect(content.keyDigests.get('a')).to.equal(KEY_A_1);
      expect(content.keyDigests.get('b')).to.equal(KEY_B_2);
      expect(content.keyDigests.get('a')).to.equal(keyDigest('1:a4:data1:1'));
      expect(content.keyDigests.get('b')).to.equal(keyDigest('1:b4:data1:2'));
      // Keyed: neither the unkeyed v1 digest nor a plain SHA-256 of the same fields.
      expect(V1_KEY_A_1).to.equal(createHash('sha256').update('1:a4:data1:1').digest('hex').slice(0, 32));
      expect(content.keyDigests.get('a')).to.not.equal(V1_KEY_A_1);
    });

    it('a ConfigMap: the same content under the same key in data, in binaryData, and in both', () => {
      const inData = cmContent({ data: { k: 'aGk=' } }).keyDigests.get('k');
      const inBinary = cmContent({ binaryData: { k: 'aGk=' } }).keyDigests.get('k');
      // Rejected by the apiserver, but if it arrives: both values, data first.
      const inBoth = cmContent({ binaryData: { k: 'aGk=' }, data: { k: 'aGk=' } }).keyDigests.get('k');
      expect(inData).to.equal(keyDigest('1:k4:data4:aGk='));
      expect(inBinary).to.equal(keyDigest('1:k10:binaryData4:aGk='));
      expect(inBoth).to.equal(keyDigest('1:k4:data4:aGk=10:binaryData4:aGk='));
      expect(new Set([inData, inBinary, inBoth]).size).to.equal(3);
    });

    it('a Secret: data only, binaryData ignored; the same fields as a ConfigMap\'s data', () => {
      const content = secretContent({ binaryData: { k: 'AAE=', onlyBinary: 'AA==' }, data: { k: 'aGk=' } });
      expect(entries(content)).to.deep.equal([['k', keyDigest('1:k4:data4:aGk=')]]);
      expect(entries(secretContent({ binaryData: { k: 'aGk=' } }))).to.deep.equal([]);
      // The kind is not in a per-key digest; it is in the workload digest.
      expect(content.keyDigests.get('k')).to.equal(cmContent({ data: { k: 'aGk=' } }).keyDigests.get('k'));
    });

    it('a Secret key: the literal vector computed outside Node', () => {
      const content = secretContent({ data: { password: 'aHVudGVyMg==' } });
      expect(content.keyDigests.get('password')).to.equal(SECRET_PASSWORD);
      expect(content.keyDigests.get('password')).to.equal(keyDigest('8:password4:data12:aHVudGVyMg=='));
    });

    it('lengths are UTF-8 bytes, not UTF-16 code units; an empty value is a zero-length field', () => {
      const content = cmContent({ data: { greeting: 'grüße\n', emoji: 'ok 🙂', empty: '' } });
      // 'grüße\n': 6 code units, 8 bytes; 'ok 🙂': 5 code units, 7 bytes.
      expect(content.keyDigests.get('greeting')).to.equal(keyDigest('8:greeting4:data8:grüße\n'));
      expect(content.keyDigests.get('emoji')).to.equal(keyDigest('5:emoji4:data7:ok 🙂'));
      expect(content.keyDigests.get('empty')).to.equal(keyDigest('5:empty4:data0:'));
    });

    it('two keys: different digests of the same fields, each the HMAC under its own key', () => {
      const underKey = secretContent({ data: { password: 'aHVudGVyMg==' } }, KEY).keyDigests.get('password');
      const underOther = secretContent({ data: { password: 'aHVudGVyMg==' } }, OTHER_KEY).keyDigests.get('password');
      expect(underKey).to.equal(keyDigest('8:password4:data12:aHVudGVyMg==', KEY_BYTES));
      expect(underOther).to.equal(keyDigest('8:password4:data12:aHVudGVyMg==', OTHER_KEY_BYTES));
      expect(underKey).to.not.equal(underOther);
    });

    it('a Secret value never appears in the output, neither as given nor decoded', () => {
      const values = ['aHVudGVyMg==', 'MTIzNDU2'];
      const decoded = ['hunter2', '123456'];
      const content = secretContent({ data: { password: values[0]!, pin: values[1]! } });
      // Only key names and 32-hex digests, nothing else retained.
      expect(Object.keys(content)).to.deep.equal(['keyDigests']);
      expect([...content.keyDigests.keys()].sort()).to.deep.equal(['password', 'pin']);
      for (const digest of content.keyDigests.values()) expect(digest).to.match(/^[0-9a-f]{32}$/);
      const shown = [inspect(content, { depth: null }), JSON.stringify(entries(content))].join('\n');
      for (const text of [...values, ...decoded]) expect(shown).to.not.contain(text);
      // Nor can it be found offline by hashing candidates without the key.
      for (const [k, fields] of [['password', '8:password4:data12:aHVudGVyMg=='], ['pin', '3:pin4:data8:MTIzNDU2']] as const) {
        expect(content.keyDigests.get(k)).to.equal(keyDigest(fields));
        expect(content.keyDigests.get(k)).to.not.equal(createHash('sha256').update(fields).digest('hex').slice(0, 32));
      }
      const workload = digestOf([whole('Secret', 's')], { 'Secret/s': { data: { password: values[0]!, pin: values[1]! } } });
      expect(workload).to.match(/^v2-[0-9a-f]{8}-[0-9a-f]{64}$/);
    });
  });

  describe('workload digests (workloadDigest)', () => {
    it('one ConfigMap read whole, two keys: the literal vector computed outside Node', () => {
      const expected = v2(
        OPEN,
        'array:1:',
        'object:4:',
        'string:4:keys:array:2:',
        `array:2:string:1:astring:32:${keyDigest('1:a4:data1:1')}`,
        `array:2:string:1:bstring:32:${keyDigest('1:b4:data1:2')}`,
        ',',
        'string:4:kind:string:9:ConfigMap,',
        'string:4:name:string:3:app,',
        'string:7:present:bool:true,',
        CLOSE,
      );
      const actual = digestOf([whole('ConfigMap', 'app')], { 'ConfigMap/app': { data: { b: '2', a: '1' } } });
      expect(actual).to.equal(WHOLE_APP);
      expect(actual).to.equal(expected);
      expect(actual).to.not.equal(V1_WHOLE_APP);
    });

    it('selected keys: sorted, unread keys left out, a key missing from the ConfigMap is null', () => {
      const expected = v2(
        OPEN,
        'array:1:',
        'object:4:',
        'string:4:keys:array:3:',
        'array:2:string:6:absentNull',
        `array:2:string:4:hoststring:32:${keyDigest('4:host4:data2:db')}`,
        `array:2:string:4:portstring:32:${keyDigest('4:port4:data4:5432')}`,
        ',',
        'string:4:kind:string:9:ConfigMap,',
        'string:4:name:string:8:settings,',
        'string:7:present:bool:true,',
        CLOSE,
      );
      const actual = digestOf([keys('ConfigMap', 'settings', 'port', 'absent', 'host')], {
        'ConfigMap/settings': { data: { unread: 'x', port: '5432', host: 'db' } },
      });
      expect(actual).to.equal(expected);
    });

    it('an absent source: present false and no keys, whether read whole or by key', () => {
      const absent = (kind: string): string =>
        v2(
          OPEN,
          'array:1:',
          'object:4:',
          'string:4:keys:array:0:,',
          kind,
          'string:4:name:string:5:later,',
          'string:7:present:bool:false,',
          CLOSE,
        );
      expect(digestOf([whole('ConfigMap', 'later', true)], {})).to.equal(absent('string:4:kind:string:9:ConfigMap,'));
      expect(digestOf([keys('ConfigMap', 'later', 'k')], {})).to.equal(absent('string:4:kind:string:9:ConfigMap,'));
      expect(digestOf([whole('Secret', 'later', true)], {})).to.equal(absent('string:4:kind:string:6:Secret,'));
      expect(digestOf([keys('Secret', 'later', 'k')], {})).to.equal(absent('string:4:kind:string:6:Secret,'));
    });

    it('a Secret and a ConfigMap of the same name, given Secret first: ConfigMap/app before Secret/app', () => {
      const expected = v2(
        OPEN,
        'array:2:',
        'object:4:',
        'string:4:keys:array:1:',
        `array:2:string:4:modestring:32:${keyDigest('4:mode4:data4:prod')}`,
        ',',
        'string:4:kind:string:9:ConfigMap,',
        'string:4:name:string:3:app,',
        'string:7:present:bool:true,',
        'object:4:',
        'string:4:keys:array:1:',
        `array:2:string:8:passwordstring:32:${SECRET_PASSWORD}`,
        ',',
        'string:4:kind:string:6:Secret,',
        'string:4:name:string:3:app,',
        'string:7:present:bool:true,',
        CLOSE,
      );
      const objects = {
        'Secret/app': { data: { password: 'aHVudGVyMg==' }, binaryData: { ignored: 'AA==' } },
        'ConfigMap/app': { data: { mode: 'prod' } },
      };
      expect(digestOf([whole('Secret', 'app'), whole('ConfigMap', 'app')], objects)).to.equal(expected);
      expect(digestOf([whole('ConfigMap', 'app'), whole('Secret', 'app')], objects)).to.equal(expected);
    });

    it('the same data in a Secret and in a ConfigMap differs only by the kind', () => {
      const serialised = (kind: string): string =>
        v2(
          OPEN,
          'array:1:',
          'object:4:',
          'string:4:keys:array:1:',
          `array:2:string:1:kstring:32:${keyDigest('1:k4:data4:aGk=')}`,
          ',',
          kind,
          'string:4:name:string:1:x,',
          'string:7:present:bool:true,',
          CLOSE,
        );
      expect(digestOf([whole('ConfigMap', 'x')], { 'ConfigMap/x': { data: { k: 'aGk=' } } })).to.equal(
        serialised('string:4:kind:string:9:ConfigMap,'),
      );
      expect(digestOf([whole('Secret', 'x')], { 'Secret/x': { data: { k: 'aGk=' } } })).to.equal(
        serialised('string:4:kind:string:6:Secret,'),
      );
    });

    it('the same content in a ConfigMap\'s data and binaryData differs only by the key digest', () => {
      const serialised = (digest: string): string =>
        v2(
          OPEN,
          'array:1:',
          'object:4:',
          'string:4:keys:array:1:',
          `array:2:string:1:kstring:32:${digest}`,
          ',',
          'string:4:kind:string:9:ConfigMap,',
          'string:4:name:string:3:bin,',
          'string:7:present:bool:true,',
          CLOSE,
        );
      expect(digestOf([whole('ConfigMap', 'bin')], { 'ConfigMap/bin': { data: { k: 'aGk=' } } })).to.equal(
        serialised(keyDigest('1:k4:data4:aGk=')),
      );
      expect(digestOf([whole('ConfigMap', 'bin')], { 'ConfigMap/bin': { binaryData: { k: 'aGk=' } } })).to.equal(
        serialised(keyDigest('1:k10:binaryData4:aGk=')),
      );
    });

    it('several sources given out of order: sorted by kind/name, keys sorted by code unit', () => {
      // 'ConfigMap/…' sorts before 'Secret/…' whatever the names; code-unit order puts 'B' (0x42)
      // and '_x' (0x5f) before 'a' (0x61).
      const expected = v2(
        OPEN,
        'array:5:',
        // ConfigMap/alpha, by key: 'Key' read, 'key' not.
        'object:4:',
        'string:4:keys:array:1:',
        `array:2:string:3:Keystring:32:${keyDigest('3:Key4:data1:v')}`,
        ',',
        'string:4:kind:string:9:ConfigMap,',
        'string:4:name:string:5:alpha,',
        'string:7:present:bool:true,',
        // ConfigMap/mid, absent.
        'object:4:',
        'string:4:keys:array:0:,',
        'string:4:kind:string:9:ConfigMap,',
        'string:4:name:string:3:mid,',
        'string:7:present:bool:false,',
        // ConfigMap/zeta, whole.
        'object:4:',
        'string:4:keys:array:3:',
        `array:2:string:1:Bstring:32:${keyDigest('1:B10:binaryData4:AA==')}`,
        `array:2:string:2:_xstring:32:${keyDigest('2:_x4:data1:1')}`,
        `array:2:string:1:astring:32:${keyDigest('1:a4:data1:3')}`,
        ',',
        'string:4:kind:string:9:ConfigMap,',
        'string:4:name:string:4:zeta,',
        'string:7:present:bool:true,',
        // Secret/alpha, whole: its binaryData is not read.
        'object:4:',
        'string:4:keys:array:1:',
        `array:2:string:5:tokenstring:32:${keyDigest('5:token4:data4:dG9r')}`,
        ',',
        'string:4:kind:string:6:Secret,',
        'string:4:name:string:5:alpha,',
        'string:7:present:bool:true,',
        // Secret/creds, by key: 'user' is missing.
        'object:4:',
        'string:4:keys:array:2:',
        `array:2:string:8:passwordstring:32:${SECRET_PASSWORD}`,
        'array:2:string:4:userNull',
        ',',
        'string:4:kind:string:6:Secret,',
        'string:4:name:string:5:creds,',
        'string:7:present:bool:true,',
        CLOSE,
      );
      const actual = digestOf(
        [
          keys('Secret', 'creds', 'user', 'password'),
          whole('Secret', 'alpha'),
          whole('ConfigMap', 'zeta'),
          whole('ConfigMap', 'mid', true),
          keys('ConfigMap', 'alpha', 'Key'),
        ],
        {
          'Secret/creds': { data: { password: 'aHVudGVyMg==', other: 'eA==' } },
          'Secret/alpha': { data: { token: 'dG9r' }, binaryData: { blob: 'AA==' } },
          'ConfigMap/zeta': { data: { a: '3', _x: '1' }, binaryData: { B: 'AA==' } },
          'ConfigMap/alpha': { data: { key: 'w', Key: 'v' } },
        },
      );
      expect(actual).to.equal(expected);
    });

    it('an empty source and an absent one, of either kind', () => {
      const serialised = (kind: string, present: boolean): string =>
        v2(
          OPEN,
          'array:1:',
          'object:4:',
          'string:4:keys:array:0:,',
          kind,
          'string:4:name:string:2:cm,',
          `string:7:present:bool:${present},`,
          CLOSE,
        );
      const configMap = 'string:4:kind:string:9:ConfigMap,';
      const secret = 'string:4:kind:string:6:Secret,';
      expect(digestOf([whole('ConfigMap', 'cm', true)], { 'ConfigMap/cm': {} })).to.equal(serialised(configMap, true));
      expect(digestOf([whole('ConfigMap', 'cm', true)], {})).to.equal(serialised(configMap, false));
      expect(digestOf([whole('Secret', 'cm', true)], { 'Secret/cm': {} })).to.equal(serialised(secret, true));
      expect(digestOf([whole('Secret', 'cm', true)], {})).to.equal(serialised(secret, false));
      // A Secret holding only binaryData is, for the digest, an empty Secret.
      expect(digestOf([whole('Secret', 'cm', true)], { 'Secret/cm': { binaryData: { k: 'AA==' } } })).to.equal(
        serialised(secret, true),
      );
    });

    it('no sources at all', () => {
      expect(digestOf([], {})).to.equal(v2(OPEN, 'array:0:', CLOSE));
    });

    it('two keys: different key ids and different digests, each the HMAC under its own key', () => {
      const serialised = (keyBytes: Buffer): string =>
        v2Under(
          keyBytes,
          OPEN,
          'array:1:',
          'object:4:',
          'string:4:keys:array:2:',
          `array:2:string:1:astring:32:${keyDigest('1:a4:data1:1', keyBytes)}`,
          `array:2:string:1:bstring:32:${keyDigest('1:b4:data1:2', keyBytes)}`,
          ',',
          'string:4:kind:string:9:ConfigMap,',
          'string:4:name:string:3:app,',
          'string:7:present:bool:true,',
          CLOSE,
        );
      const objects = { 'ConfigMap/app': { data: { a: '1', b: '2' } } };
      const underKey = digestOf([whole('ConfigMap', 'app')], objects, KEY);
      const underOther = digestOf([whole('ConfigMap', 'app')], objects, OTHER_KEY);
      expect(underKey).to.equal(serialised(KEY_BYTES));
      expect(underOther).to.equal(serialised(OTHER_KEY_BYTES));
      expect(underKey.startsWith(`v2-${KEY_ID}-`)).to.equal(true);
      expect(underOther.startsWith(`v2-${OTHER_KEY_ID}-`)).to.equal(true);
      expect(underKey.slice(`v2-${KEY_ID}-`.length)).to.not.equal(underOther.slice(`v2-${OTHER_KEY_ID}-`.length));
    });
  });
});

describe('digest: digestFormat and digestKeyId', () => {
  const HEX64 = 'a8bf3eb7e15fa790ded90cdefc0ee7b867c6f7b24945f904e3dbe1edbcda476c';

  it('read the format and the key id of a v2 digest', () => {
    expect(digestFormat(WHOLE_APP)).to.equal('v2');
    expect(digestKeyId(WHOLE_APP)).to.equal(KEY_ID);
    expect(digestFormat(`v2-${OTHER_KEY_ID}-${HEX64}`)).to.equal('v2');
    expect(digestKeyId(`v2-${OTHER_KEY_ID}-${HEX64}`)).to.equal(OTHER_KEY_ID);
    const made = digestOf([whole('Secret', 's')], { 'Secret/s': { data: { k: 'dg==' } } });
    expect(digestFormat(made)).to.equal(DIGEST_FORMAT);
    expect(digestKeyId(made)).to.equal(KEY.id);
  });

  it('read a v1 digest as format v1 without a key id', () => {
    expect(digestFormat(V1_WHOLE_APP)).to.equal('v1');
    expect(digestKeyId(V1_WHOLE_APP)).to.equal(undefined);
    expect(digestFormat(`v0-${'a'.repeat(40)}`)).to.equal('v0');
    expect(digestFormat('v12-abc123')).to.equal('v12');
    expect(digestKeyId('v12-abc123')).to.equal(undefined);
    // A key id is read only from a v2 digest, even when another format's value looks like one.
    expect(digestKeyId(`v1-${KEY_ID}-${HEX64}`)).to.equal(undefined);
    expect(digestKeyId(`v3-${KEY_ID}-${HEX64}`)).to.equal(undefined);
  });

  it('read a value that claims v2 without its shape (no key id, cut hex) as no digest at all (re-recorded, not compared)', () => {
    for (const value of [`v2-${HEX64}`, `v2-${KEY_ID}-ab`, `v2-${KEY_ID}-${HEX64}0`, `v1-${HEX64.slice(1)}`]) {
      expect(digestFormat(value), value).to.equal(undefined);
      expect(digestKeyId(value), value).to.equal(undefined);
    }
  });

  it('are undefined for anything that is not a versioned digest (hand-edited values)', () => {
    for (const value of [
      '',
      'v2',
      'v2-',
      'v2-3c7d22c3-',
      'v2-3c7d22c-',
      `V2-3c7d22c3-${HEX64}`,
      `v2-3C7D22C3-${HEX64}`,
      `v2-${HEX64.toUpperCase()}`,
      `v2-3c7d22c3-${HEX64.toUpperCase()}`,
      `v2-3c7d22c-${HEX64}`,
      `v2-3c7d22c30-${HEX64}`,
      `v2-3c7d22c3-${HEX64}-${HEX64}`,
      'v2-3c7d22c3-xyz',
      `v2_3c7d22c3_${HEX64}`,
      ` ${WHOLE_APP}`,
      `${WHOLE_APP} `,
      `${WHOLE_APP}\n`,
      `x-${WHOLE_APP}`,
      `"${WHOLE_APP}"`,
      `v-3c7d22c3-${HEX64}`,
      'sha256:abcd',
      '3f2a9c',
      'abc',
      'V1-abc',
      'v1-XYZ',
      'x-v1-abc',
    ]) {
      expect(digestFormat(value), JSON.stringify(value)).to.equal(undefined);
      expect(digestKeyId(value), JSON.stringify(value)).to.equal(undefined);
    }
  });
});

describe('digest key: HMAC-SHA-256 from precomputed key blocks', () => {
  it("equals Node's createHmac for keys shorter than, equal to and longer than a block, fed in parts", () => {
    for (const length of [32, 63, 64, 65, 200]) {
      const secret = Buffer.from(Array.from({ length }, (_, i) => (i * 37 + length) % 256));
      const key = digestKey(secret);
      for (const parts of [[''], ['a'], ['grüße ', '\u{1F600}', Buffer.from([0, 255, 7])], ['x'.repeat(70_000)]]) {
        const ours = key.hmac();
        const node = createHmac('sha256', secret);
        for (const part of parts) {
          ours.update(part);
          node.update(part);
        }
        expect(ours.digest('hex'), `key of ${length} bytes, ${parts.length} part(s)`).to.equal(node.digest('hex'));
      }
    }
  });
});

// workloadDigest writes object-hash's serialisation of format v2 by hand (src/core/digest.ts says
// why). object-hash itself is the oracle here: any input on which the two differ would be a
// silent format change, a roll of every workload it touches at the upgrade.
describe('digest: the v2 serialisation equals object-hash 3.0.0', () => {
  const SERIALISATION = { algorithm: 'passthrough', unorderedObjects: true, unorderedArrays: false, respectType: false } as const;

  /** The v2 digest as it was first defined: object-hash over the sorted sources. */
  function byObjectHash(consumed: readonly ConsumedSource[], lookup: (kind: SourceKind, name: string) => SourceContent | undefined): string {
    const sources = [...consumed]
      .sort((a, b) => (`${a.kind}/${a.name}` < `${b.kind}/${b.name}` ? -1 : `${a.kind}/${a.name}` > `${b.kind}/${b.name}` ? 1 : 0))
      .map((source) => {
        const content = lookup(source.kind, source.name);
        if (content === undefined) return { kind: source.kind, name: source.name, present: false, keys: [] };
        const names = source.keys === null ? [...content.keyDigests.keys()] : [...new Set(source.keys)];
        names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        return { kind: source.kind, name: source.name, present: true, keys: names.map((k) => [k, content.keyDigests.get(k) ?? null]) };
      });
    const serialised = objectHash({ format: DIGEST_FORMAT, sources }, SERIALISATION);
    return `${DIGEST_FORMAT}-${KEY.id}-${createHmac('sha256', KEY_BYTES).update(serialised).digest('hex')}`;
  }

  // Text that could break a careless serialisation: its separators, multi-byte and astral
  // characters (lengths are UTF-16 code units), digits and fragments that look like its fields.
  const text = fc.string({ unit: fc.constantFrom('a', 'b', 'z', '-', '.', ':', ',', '0', '9', 'é', '€', '\u{1F600}', ' ', 'string:1:', 'Null'), minLength: 1, maxLength: 6 });
  const source = fc.record({
    kind: fc.constantFrom<SourceKind>('ConfigMap', 'Secret'),
    name: fc.oneof(fc.constantFrom('app', 'app-2', 'b'), text),
    data: fc.dictionary(text, text, { maxKeys: 4 }),
    exists: fc.boolean(),
    optional: fc.boolean(),
    // null: read whole; else the keys read, some of which the object may lack.
    keys: fc.option(fc.array(fc.oneof(text, fc.constantFrom('a', 'b')), { maxLength: 3 }), { nil: null }),
  });

  it('on random workloads: several kinds and names, whole and selected keys, absent objects and keys', () => {
    fc.assert(
      fc.property(fc.array(source, { maxLength: 4 }), (sources) => {
        const contents = new Map<string, SourceContent>();
        for (const s of sources) if (s.exists) contents.set(`${s.kind}/${s.name}`, sourceContent(s.kind, { data: s.data }, KEY));
        const consumed = sources.map(({ kind, name, optional, keys: selected }): ConsumedSource => ({ kind, name, optional, keys: selected }));
        const lookup = (kind: SourceKind, name: string) => contents.get(`${kind}/${name}`);
        expect(workloadDigest(consumed, lookup, KEY)).to.equal(byObjectHash(consumed, lookup));
      }),
      { numRuns: 2000 },
    );
  });
});
