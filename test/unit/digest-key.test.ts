// Loading the installation's digest key against an in-memory stand-in of the Secret calls:
// created when absent, the winner's read on a create race, retried (saying why) until it can.
// (A key read from a file, --digest-key-file: test/system/digest-key-file.test.ts.)
import type { Secret as V1Secret } from '../../src/kube/digest-key.ts';
import { expect } from 'chai';
import { Writable } from 'node:stream';
import winston from 'winston';
import { digestKey } from '../../src/core/digest.ts';
import { ApiError } from '../../src/kube/api-error.ts';
import { loadDigestKey, type SecretApi } from '../../src/kube/digest-key.ts';
import { VirtualClock } from '../support/virtual-clock.ts';

const WHERE = { namespace: 'ops', name: 'config-reload-digest-key' };
const status = (code: number) => new ApiError(code, JSON.stringify({ message: `status ${code}` }), 'test');

/** A logger whose JSON lines land in an array. */
function logger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const log = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  return { log, lines };
}

describe('digest key: loading and creating it', () => {
  it('creates a 32-byte key when none exists, and says so once', async () => {
    let stored: V1Secret | undefined;
    const api: SecretApi = {
      read: async () => {
        if (!stored) throw status(404);
        return stored;
      },
      create: async (_where, body) => (stored = body),
    };
    const { log, lines } = logger();
    const key = await loadDigestKey(api, WHERE, log, new VirtualClock());
    expect(Buffer.from(stored?.data?.['key'] ?? '', 'base64')).to.have.length(32);
    expect(key?.id).to.equal(digestKey(Buffer.from(stored?.data?.['key'] ?? '', 'base64')).id);
    expect(lines.filter((l) => String(l.message).startsWith('created a new digest key'))).to.have.length(1);
    expect(JSON.stringify(lines)).to.not.contain(stored?.data?.['key']);
  });

  it('on a create race (409) uses the Secret the other replica made', async () => {
    const theirs: V1Secret = { data: { key: Buffer.alloc(32, 9).toString('base64') } };
    let reads = 0;
    const api: SecretApi = {
      read: async () => {
        reads++;
        if (reads === 1) throw status(404);
        return theirs;
      },
      create: async () => {
        throw status(409);
      },
    };
    const key = await loadDigestKey(api, WHERE, logger().log, new VirtualClock());
    expect(key?.id).to.equal(digestKey(Buffer.alloc(32, 9)).id);
  });

  it('retries with backoff, naming the missing permission, until it can; stops when aborted', async () => {
    const clock = new VirtualClock();
    let allowed = false;
    const api: SecretApi = {
      read: async () => {
        if (!allowed) throw status(403);
        return { data: { key: Buffer.alloc(32, 4).toString('base64') } };
      },
      create: async () => {
        throw status(403);
      },
    };
    const { log, lines } = logger();
    const loading = loadDigestKey(api, WHERE, log, clock);
    await clock.advance(5_000);
    const retries = lines.filter((l) => l.message === 'cannot load the digest key: not ready, retrying');
    expect(retries.length).to.be.greaterThan(1);
    expect(retries[0]?.missingPermission).to.equal('get on secrets/config-reload-digest-key and create on secrets in namespace ops');
    allowed = true;
    await clock.advance(60_000);
    expect((await loading)?.id).to.equal(digestKey(Buffer.alloc(32, 4)).id);

    const abort = new AbortController();
    const never = loadDigestKey({ read: async () => { throw status(500); }, create: async () => { throw status(500); } }, WHERE, log, clock, abort.signal);
    abort.abort();
    await clock.advance(60_000);
    expect(await never).to.equal(undefined);
  });

  it('refuses a Secret whose key is too short, saying how to recover', async () => {
    const api: SecretApi = { read: async () => ({ data: { key: Buffer.alloc(8).toString('base64') } }), create: async (_w, b) => b };
    const clock = new VirtualClock();
    const { log, lines } = logger();
    const abort = new AbortController();
    const loading = loadDigestKey(api, WHERE, log, clock, abort.signal);
    await clock.advance(1);
    abort.abort();
    await clock.advance(60_000);
    expect(await loading).to.equal(undefined);
    expect(String(lines.find((l) => l.message === 'cannot load the digest key: not ready, retrying')?.error)).to.contain('delete it to have a new one made');
  });
});
