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
