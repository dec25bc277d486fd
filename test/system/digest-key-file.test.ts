// The installation's digest key read from a file (--digest-key-file), in a temporary directory
// (loading and creating it through the Secret calls is test/unit/digest-key.test.ts).
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/config.ts';
import { digestKey } from '../../src/core/digest.ts';
import { digestKeyFromFile, digestKeyFromSecret } from '../../src/kube/digest-key.ts';

describe('digest key: loading and creating it', () => {
  it('reads a key file (base64 of at least 32 bytes); anything else is a start-up error', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cro-key-'));
    try {
      const good = path.join(dir, 'good');
      writeFileSync(good, `${Buffer.alloc(32, 5).toString('base64')}\n`);
      expect(digestKeyFromFile(good).id).to.equal(digestKey(Buffer.alloc(32, 5)).id);
      const short = path.join(dir, 'short');
      writeFileSync(short, Buffer.alloc(16, 5).toString('base64'));
      expect(() => digestKeyFromFile(short)).to.throw(ConfigError, /at least 32 bytes, or base64 text of at least 32 bytes/);
      expect(() => digestKeyFromFile(path.join(dir, 'missing'))).to.throw(ConfigError, /--digest-key-file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the same Secret gives the same key id mounted as a file and read through the API (operator and explain agree)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cro-key-'));
    try {
      const WHERE = { namespace: 'ops', name: 'config-reload-digest-key' };
      const raw = Buffer.alloc(32, 7);
      // Two Secrets as they are made: by the operator (data.key is base64 of 32 raw bytes), and by
      // `kubectl create secret generic --from-literal=key="$(head -c 32 /dev/urandom | base64)"`
      // (the value is base64 text, so data.key is base64 of that text).
      const made = { byOperator: raw.toString('base64'), fromLiteral: Buffer.from(raw.toString('base64')).toString('base64') };
      for (const [how, data] of Object.entries(made)) {
        // What the kubelet writes into the mounted file: data.key decoded once.
        const file = path.join(dir, how);
        writeFileSync(file, Buffer.from(data, 'base64'));
        const fromFile = digestKeyFromFile(file).id;
        expect(digestKeyFromSecret({ data: { key: data } }, WHERE).id, how).to.equal(fromFile);
        // Both are the 32 random bytes: ids recorded before either mode keep their meaning.
        expect(fromFile, how).to.equal(digestKey(raw).id);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a malformed key is never quoted', () => {
    const numeric = { data: { key: 12345 as unknown as string } };
    expect(() => digestKeyFromSecret(numeric, { namespace: 'ops', name: 'k' })).to.throw(/no usable "key"/);
    try {
      digestKeyFromSecret(numeric, { namespace: 'ops', name: 'k' });
    } catch (err) {
      expect((err as Error).message).to.not.contain('12345');
    }
  });
});
