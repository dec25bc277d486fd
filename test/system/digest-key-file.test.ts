// The installation's digest key read from a file (--digest-key-file), in a temporary directory
// (loading and creating it through the Secret calls is test/unit/digest-key.test.ts).
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/config.ts';
import { digestKey } from '../../src/core/digest.ts';
import { digestKeyFromFile } from '../../src/kube/digest-key.ts';

describe('digest key: loading and creating it', () => {
  it('reads a key file (base64 of at least 32 bytes); anything else is a start-up error', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cro-key-'));
    try {
      const good = path.join(dir, 'good');
      writeFileSync(good, `${Buffer.alloc(32, 5).toString('base64')}\n`);
      expect(digestKeyFromFile(good).id).to.equal(digestKey(Buffer.alloc(32, 5)).id);
      const short = path.join(dir, 'short');
      writeFileSync(short, Buffer.alloc(16, 5).toString('base64'));
      expect(() => digestKeyFromFile(short)).to.throw(ConfigError, /at least 32 bytes in base64/);
      expect(() => digestKeyFromFile(path.join(dir, 'missing'))).to.throw(ConfigError, /--digest-key-file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
