import { createHash } from 'node:crypto';
import { V1ConfigMap, V1ObjectMeta } from '@kubernetes/client-node';
import { expect } from 'chai';
import { DIGEST_FORMAT, configMapContent, digestFormat, workloadDigest } from '../../src/core/digest.ts';
import type { ConfigMapContent, ConsumedConfigMap } from '../../src/core/types.ts';

type Data = { data?: Record<string, string> | null; binaryData?: Record<string, string> | null };

/** workloadDigest over ConfigMaps given as raw objects; a missing entry is an absent ConfigMap. */
function digestOf(consumed: ConsumedConfigMap[], configMaps: Record<string, Data>): string {
  const contents = new Map(Object.entries(configMaps).map(([name, cm]) => [name, configMapContent(cm)]));
  return workloadDigest(consumed, (name) => contents.get(name));
}

const whole = (name: string, optional = false): ConsumedConfigMap => ({ name, optional, keys: null });
const keys = (name: string, ...selected: string[]): ConsumedConfigMap => ({ name, optional: false, keys: selected });

function entries(content: ConfigMapContent): Array<[string, string]> {
  return [...content.keyDigests].sort(([a], [b]) => (a < b ? -1 : 1));
}

describe('digest: configMapContent', () => {
  it('keeps one digest per key of data and binaryData', () => {
    const content = configMapContent({ data: { a: '1', b: '2' }, binaryData: { c: 'AAE=' } });
    expect([...content.keyDigests.keys()].sort()).to.deep.equal(['a', 'b', 'c']);
    for (const digest of content.keyDigests.values()) expect(digest).to.match(/^[0-9a-f]{32}$/);
  });

  it('does not depend on key order', () => {
    const forward = configMapContent({ data: { a: '1', b: '2', c: '3' }, binaryData: { x: 'AA==', y: 'AQ==' } });
    const backward = configMapContent({ binaryData: { y: 'AQ==', x: 'AA==' }, data: { c: '3', b: '2', a: '1' } });
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
    expect(entries(configMapContent(instance))).to.deep.equal(entries(configMapContent(plain)));
  });

  it('tells the same bytes in data and in binaryData apart', () => {
    const inData = configMapContent({ data: { k: 'aGk=' } });
    const inBinary = configMapContent({ binaryData: { k: 'aGk=' } });
    expect(inData.keyDigests.get('k')).to.not.equal(inBinary.keyDigests.get('k'));
  });

  it('gives the same value under different keys different digests', () => {
    const content = configMapContent({ data: { a: 'same', b: 'same' } });
    expect(content.keyDigests.get('a')).to.not.equal(content.keyDigests.get('b'));
  });

  it('treats missing, null and empty data alike', () => {
    expect(entries(configMapContent({}))).to.deep.equal([]);
    expect(entries(configMapContent({ data: null, binaryData: null }))).to.deep.equal([]);
    expect(entries(configMapContent({ data: {}, binaryData: {} }))).to.deep.equal([]);
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
    expect(entries(configMapContent(after))).to.deep.equal(entries(configMapContent(before)));
  });
});

describe('digest: workloadDigest', () => {
  it('is the format version, a dash and 64 hex characters', () => {
    expect(DIGEST_FORMAT).to.equal('v1');
    expect(digestOf([whole('cm')], { cm: { data: { k: 'v' } } })).to.match(/^v1-[0-9a-f]{64}$/);
    expect(digestOf([], {})).to.match(/^v1-[0-9a-f]{64}$/);
  });

  it('is deterministic', () => {
    const consumed = [whole('a'), keys('b', 'x')];
    const configMaps = { a: { data: { k: 'v' } }, b: { data: { x: '1', y: '2' } } };
    expect(digestOf(consumed, configMaps)).to.equal(digestOf(consumed, configMaps));
  });

  it('does not depend on the order of consumed ConfigMaps, of selected keys or of data keys', () => {
    const a = digestOf([whole('a'), keys('b', 'x', 'y')], { a: { data: { p: '1', q: '2' } }, b: { data: { x: '1', y: '2' } } });
    const b = digestOf([keys('b', 'y', 'x'), whole('a')], { b: { data: { y: '2', x: '1' } }, a: { data: { q: '2', p: '1' } } });
    expect(a).to.equal(b);
  });

  it('is the same for a V1ConfigMap instance and a plain object', () => {
    const instance = new V1ConfigMap();
    instance.data = { b: '2', a: '1' };
    const plain = { data: { a: '1', b: '2' } };
    expect(digestOf([whole('cm')], { cm: instance })).to.equal(digestOf([whole('cm')], { cm: plain }));
  });

  it('changes when a consumed value changes, is added or removed', () => {
    const base = digestOf([whole('cm')], { cm: { data: { a: '1' } } });
    expect(digestOf([whole('cm')], { cm: { data: { a: '2' } } })).to.not.equal(base);
    expect(digestOf([whole('cm')], { cm: { data: { a: '1', b: '' } } })).to.not.equal(base);
    expect(digestOf([whole('cm')], { cm: { data: {} } })).to.not.equal(base);
  });

  it('does not change for a label-only edit or a rewrite with identical data', () => {
    const before = digestOf([whole('cm')], {
      cm: Object.assign(new V1ConfigMap(), { metadata: { resourceVersion: '1', labels: { v: '1' } }, data: { a: '1' } }),
    });
    const after = digestOf([whole('cm')], {
      cm: { metadata: { resourceVersion: '9', labels: { v: '2' }, annotations: { x: 'y' } }, data: { a: '1' } } as Data,
    });
    expect(after).to.equal(before);
  });

  it('tells data from binaryData', () => {
    expect(digestOf([whole('cm')], { cm: { data: { k: 'aGk=' } } })).to.not.equal(
      digestOf([whole('cm')], { cm: { binaryData: { k: 'aGk=' } } }),
    );
  });

  it('tells an absent ConfigMap from an empty one, and both from one with data', () => {
    const absent = digestOf([whole('cm', true)], {});
    const empty = digestOf([whole('cm', true)], { cm: {} });
    const withData = digestOf([whole('cm', true)], { cm: { data: { k: 'v' } } });
    expect(new Set([absent, empty, withData]).size).to.equal(3);
  });

  it('tells a selected key that is missing from one that is present and empty', () => {
    const missing = digestOf([keys('cm', 'k')], { cm: { data: { other: 'x' } } });
    const emptyValue = digestOf([keys('cm', 'k')], { cm: { data: { other: 'x', k: '' } } });
    const absentMap = digestOf([keys('cm', 'k')], {});
    expect(new Set([missing, emptyValue, absentMap]).size).to.equal(3);
  });

  it('ignores keys the workload does not read', () => {
    const before = digestOf([keys('cm', 'read')], { cm: { data: { read: '1', unread: 'a' } } });
    const unreadChanged = digestOf([keys('cm', 'read')], { cm: { data: { read: '1', unread: 'b' } } });
    const unreadAdded = digestOf([keys('cm', 'read')], { cm: { data: { read: '1', unread: 'a', more: 'c' } } });
    const readChanged = digestOf([keys('cm', 'read')], { cm: { data: { read: '2', unread: 'a' } } });
    expect(unreadChanged).to.equal(before);
    expect(unreadAdded).to.equal(before);
    expect(readChanged).to.not.equal(before);
  });

  it('sees every key of a whole map', () => {
    const before = digestOf([whole('cm')], { cm: { data: { read: '1', other: 'a' } } });
    expect(digestOf([whole('cm')], { cm: { data: { read: '1', other: 'b' } } })).to.not.equal(before);
  });

  it('does not depend on the optional flag, only on names and content', () => {
    const configMaps = { cm: { data: { k: 'v' } } };
    expect(digestOf([whole('cm', true)], configMaps)).to.equal(digestOf([whole('cm', false)], configMaps));
  });

  it('includes the ConfigMap name', () => {
    expect(digestOf([whole('a')], { a: { data: { k: 'v' } } })).to.not.equal(digestOf([whole('b')], { b: { data: { k: 'v' } } }));
  });

  it('changes when a key moves from one ConfigMap to another', () => {
    const consumed = [whole('a'), whole('b')];
    expect(digestOf(consumed, { a: { data: { k: 'v' } }, b: {} })).to.not.equal(digestOf(consumed, { a: {}, b: { data: { k: 'v' } } }));
  });

  it('is not fooled by separators inside keys and values', () => {
    // Joined "k=v;" strings would make these two identical.
    expect(digestOf([whole('cm')], { cm: { data: { a: '1;b=2' } } })).to.not.equal(
      digestOf([whole('cm')], { cm: { data: { a: '1', b: '2' } } }),
    );
  });
});

describe('digest: digestFormat', () => {
  it('reads the version prefix of a digest', () => {
    const digest = digestOf([whole('cm')], { cm: { data: { k: 'v' } } });
    expect(digestFormat(digest)).to.equal(DIGEST_FORMAT);
    expect(digestFormat(`v0-${'a'.repeat(40)}`)).to.equal('v0');
    expect(digestFormat('v12-abc123')).to.equal('v12');
  });

  it('is undefined for anything that is not a versioned digest', () => {
    for (const value of ['', 'v1', 'v1-', 'abc', 'sha256:abcd', '3f2a9c', 'V1-abc', 'v1-XYZ', 'x-v1-abc']) {
      expect(digestFormat(value), value).to.equal(undefined);
    }
  });
});

// Golden vectors of the v1 format. Every recorded config-hash annotation in every cluster is a
// v1 digest, so the bytes behind it must never change without a format bump: a silent change
// (in object-hash's serialisation, in the options digest.ts passes it, in the per-key fields)
// would roll every opted-in workload at the next operator upgrade.
//
// The expected values are not the program's output. Each one is written out by hand from the
// format's definition and hashed here with node:crypto:
// - a per-key digest is SHA-256, cut to its first 32 hex characters, of the key, then for each
//   section holding it (data before binaryData) the section name and the value, each field
//   written as `<UTF-8 byte length>:<text>`;
// - a workload digest is `v1-` and the SHA-256 of what object-hash 3.0.0 writes for
//   `{ format: 'v1', configMaps: [{ name, present, keys: [[key, digest | null], ...] }, ...] }`
//   with unorderedObjects (object keys sorted: configMaps before format; keys, name, present),
//   unorderedArrays false and respectType false (no prototype entries). Its typed serialisation
//   (node_modules/object-hash/index.js): an object is `object:<key count>:` then, per key,
//   `<key>:<value>,`; an array is `array:<length>:` then its entries with no separator; a string
//   is `string:<UTF-16 length>:<text>`; a boolean `bool:true`; null `Null`.
// The few literal constants further down were computed outside Node, so that the helpers below
// are checked too.

/** SHA-256 hex of a hand-written string: the test's own hash, independent of digest.ts. */
function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A per-key digest from its hand-written length-prefixed fields. */
function keyDigest(fields: string): string {
  return sha256(fields).slice(0, 32);
}

/** A workload digest from the fragments of object-hash's serialisation, hand-written. */
function v1(...fragments: string[]): string {
  return `v1-${sha256(fragments.join(''))}`;
}

// Computed in bash (coreutils sha256sum, cross-checked with python3's hashlib):
//   printf '%s' '1:a4:data1:1' | sha256sum | cut -c1-32
//   printf '%s' '1:b4:data1:2' | sha256sum | cut -c1-32
const KEY_A_1 = '9b30ac5820a8911fa2d7092f820e898d';
const KEY_B_2 = 'b156ee010139fa154ee6274b1d46e15b';
// ConfigMap "app" read whole, data { a: '1', b: '2' }, with the two key digests above pasted in:
//   printf '%s' 'object:2:string:10:configMaps:array:1:object:3:string:4:keys:array:2:array:2:string:1:astring:32:9b30ac5820a8911fa2d7092f820e898darray:2:string:1:bstring:32:b156ee010139fa154ee6274b1d46e15b,string:4:name:string:3:app,string:7:present:bool:true,,string:6:format:string:2:v1,' | sha256sum
const WHOLE_APP = 'v1-43722e1b77c1a1b330077669a377494ecb93eb067af3d6633d09abba760fe594';
// ConfigMap "cm" that exists with no keys, and the same name absent:
//   printf '%s' 'object:2:string:10:configMaps:array:1:object:3:string:4:keys:array:0:,string:4:name:string:2:cm,string:7:present:bool:true,,string:6:format:string:2:v1,' | sha256sum
//   printf '%s' 'object:2:string:10:configMaps:array:1:object:3:string:4:keys:array:0:,string:4:name:string:2:cm,string:7:present:bool:false,,string:6:format:string:2:v1,' | sha256sum
const EMPTY_CM = 'v1-087b19840e0ccc7f270065db3e44ed8bc2eb1846b39500c86ef9b3cce83cd5e8';
const ABSENT_CM = 'v1-ff6d73f8e0e9d9bdf6d6559ba00716fec0b287777b16a371f253cea9be2fd76d';

// The fragments shared by every workload serialisation.
const OPEN = 'object:2:string:10:configMaps:';
const CLOSE = ',string:6:format:string:2:v1,';

describe('digest: golden vectors of format v1', () => {
  describe('per-key digests (configMapContent)', () => {
    it('two data keys: the literal vectors computed outside Node', () => {
      const content = configMapContent({ data: { b: '2', a: '1' } });
      expect(content.keyDigests.get('a')).to.equal(KEY_A_1);
      expect(content.keyDigests.get('b')).to.equal(KEY_B_2);
      expect(content.keyDigests.get('a')).to.equal(keyDigest('1:a4:data1:1'));
      expect(content.keyDigests.get('b')).to.equal(keyDigest('1:b4:data1:2'));
    });

    it('the same content under the same key in data, in binaryData, and in both', () => {
      expect(configMapContent({ data: { k: 'aGk=' } }).keyDigests.get('k')).to.equal(keyDigest('1:k4:data4:aGk='));
      expect(configMapContent({ binaryData: { k: 'aGk=' } }).keyDigests.get('k')).to.equal(
        keyDigest('1:k10:binaryData4:aGk='),
      );
      // Rejected by the apiserver, but if it arrives: both values, data first.
      expect(configMapContent({ binaryData: { k: 'aGk=' }, data: { k: 'aGk=' } }).keyDigests.get('k')).to.equal(
        keyDigest('1:k4:data4:aGk=10:binaryData4:aGk='),
      );
    });

    it('lengths are UTF-8 bytes, not UTF-16 code units; an empty value is a zero-length field', () => {
      const content = configMapContent({ data: { greeting: 'grüße\n', emoji: 'ok 🙂', empty: '' } });
      // 'grüße\n': 6 code units, 8 bytes; 'ok 🙂': 5 code units, 7 bytes.
      expect(content.keyDigests.get('greeting')).to.equal(keyDigest('8:greeting4:data8:grüße\n'));
      expect(content.keyDigests.get('emoji')).to.equal(keyDigest('5:emoji4:data7:ok 🙂'));
      expect(content.keyDigests.get('empty')).to.equal(keyDigest('5:empty4:data0:'));
    });
  });

  describe('workload digests (workloadDigest)', () => {
    it('one ConfigMap read whole, two keys: the literal vector computed outside Node', () => {
      const expected = v1(
        OPEN,
        'array:1:',
        'object:3:',
        'string:4:keys:array:2:',
        `array:2:string:1:astring:32:${keyDigest('1:a4:data1:1')}`,
        `array:2:string:1:bstring:32:${keyDigest('1:b4:data1:2')}`,
        ',',
        'string:4:name:string:3:app,',
        'string:7:present:bool:true,',
        CLOSE,
      );
      const actual = digestOf([whole('app')], { app: { data: { b: '2', a: '1' } } });
      expect(actual).to.equal(WHOLE_APP);
      expect(actual).to.equal(expected);
    });

    it('selected keys: sorted, unread keys left out, a key missing from the ConfigMap is null', () => {
      const expected = v1(
        OPEN,
        'array:1:',
        'object:3:',
        'string:4:keys:array:3:',
        'array:2:string:6:absentNull',
        `array:2:string:4:hoststring:32:${keyDigest('4:host4:data2:db')}`,
        `array:2:string:4:portstring:32:${keyDigest('4:port4:data4:5432')}`,
        ',',
        'string:4:name:string:8:settings,',
        'string:7:present:bool:true,',
        CLOSE,
      );
      const actual = digestOf([keys('settings', 'port', 'absent', 'host')], {
        settings: { data: { unread: 'x', port: '5432', host: 'db' } },
      });
      expect(actual).to.equal(expected);
    });

    it('an absent ConfigMap: present false and no keys, whether read whole or by key', () => {
      const expected = v1(
        OPEN,
        'array:1:',
        'object:3:',
        'string:4:keys:array:0:,',
        'string:4:name:string:5:later,',
        'string:7:present:bool:false,',
        CLOSE,
      );
      expect(digestOf([whole('later', true)], {})).to.equal(expected);
      expect(digestOf([keys('later', 'k')], {})).to.equal(expected);
    });

    it('the same content in data and in binaryData differs only by the key digest', () => {
      const serialised = (digest: string): string =>
        v1(
          OPEN,
          'array:1:',
          'object:3:',
          'string:4:keys:array:1:',
          `array:2:string:1:kstring:32:${digest}`,
          ',',
          'string:4:name:string:3:bin,',
          'string:7:present:bool:true,',
          CLOSE,
        );
      expect(digestOf([whole('bin')], { bin: { data: { k: 'aGk=' } } })).to.equal(
        serialised(keyDigest('1:k4:data4:aGk=')),
      );
      expect(digestOf([whole('bin')], { bin: { binaryData: { k: 'aGk=' } } })).to.equal(
        serialised(keyDigest('1:k10:binaryData4:aGk=')),
      );
    });

    it('several ConfigMaps given out of order: sorted by name, keys sorted by code unit', () => {
      // Code-unit order puts 'B' (0x42) and '_x' (0x5f) before 'a' (0x61).
      const expected = v1(
        OPEN,
        'array:3:',
        'object:3:',
        'string:4:keys:array:1:',
        `array:2:string:3:Keystring:32:${keyDigest('3:Key4:data1:v')}`,
        ',',
        'string:4:name:string:5:alpha,',
        'string:7:present:bool:true,',
        'object:3:',
        'string:4:keys:array:0:,',
        'string:4:name:string:3:mid,',
        'string:7:present:bool:false,',
        'object:3:',
        'string:4:keys:array:3:',
        `array:2:string:1:Bstring:32:${keyDigest('1:B10:binaryData4:AA==')}`,
        `array:2:string:2:_xstring:32:${keyDigest('2:_x4:data1:1')}`,
        `array:2:string:1:astring:32:${keyDigest('1:a4:data1:3')}`,
        ',',
        'string:4:name:string:4:zeta,',
        'string:7:present:bool:true,',
        CLOSE,
      );
      const actual = digestOf([whole('zeta'), whole('mid', true), keys('alpha', 'Key')], {
        zeta: { data: { a: '3', _x: '1' }, binaryData: { B: 'AA==' } },
        alpha: { data: { key: 'w', Key: 'v' } },
      });
      expect(actual).to.equal(expected);
    });

    it('an empty ConfigMap and an absent one: the literal vectors computed outside Node', () => {
      const serialised = (present: boolean): string =>
        v1(
          OPEN,
          'array:1:',
          'object:3:',
          'string:4:keys:array:0:,',
          'string:4:name:string:2:cm,',
          `string:7:present:bool:${present},`,
          CLOSE,
        );
      const empty = digestOf([whole('cm', true)], { cm: {} });
      const absent = digestOf([whole('cm', true)], {});
      expect(empty).to.equal(EMPTY_CM);
      expect(absent).to.equal(ABSENT_CM);
      expect(empty).to.equal(serialised(true));
      expect(absent).to.equal(serialised(false));
    });

    it('no ConfigMaps at all', () => {
      expect(digestOf([], {})).to.equal(v1(OPEN, 'array:0:', CLOSE));
    });
  });
});
