// Inputs never echoed, never unbounded (issue 21): a watch line or list item over the cap is
// abandoned as soon as the cap is read (a 300 MiB line added 324 MiB of RSS), the reflector then
// relists; an ERROR event that is not a Status, an answer that is not a Status, and a digest key
// Secret whose value is not text are described, never quoted.
import { ApiException } from '@kubernetes/client-node';
import { expect } from 'chai';
import type { Logger } from 'winston';
import { ApiError, describeError, statusMessage } from '../../src/kube/api-error.ts';
import { CONFIGMAPS, type ClusterApi, type KubeObject } from '../../src/kube/cluster-api.ts';
import { digestKeyFromSecret } from '../../src/kube/digest-key.ts';
import { MAX_OBJECT_BYTES, OversizedObjectError, readLines, readList, readText } from '../../src/kube/json-stream.ts';
import { Reflector, watchErrorText } from '../../src/watch/reflector.ts';
import { flushMicrotasks, VirtualClock } from '../support/virtual-clock.ts';

const CHUNK = 64 * 1024;

/** `total` bytes of `fill` after `head`, in chunks of 64 KiB; counts what the reader pulled. */
function source(head: string, total: number, fill = 'x') {
  const seen = { bytes: 0 };
  async function* body(): AsyncGenerator<Uint8Array> {
    const start = Buffer.from(head);
    seen.bytes += start.length;
    yield start;
    const chunk = Buffer.alloc(CHUNK, fill);
    for (let sent = 0; sent < total; sent += CHUNK) {
      seen.bytes += CHUNK;
      yield chunk;
    }
  }
  return { body: body(), seen };
}

const rejection = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as Error);

/** A Logger that keeps every line: [level, message, meta]. */
function recordingLog(lines: Array<[string, string, Record<string, unknown>]>): Logger {
  const at = (level: string) => (message: string, meta: Record<string, unknown> = {}) => void lines.push([level, message, meta]);
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), log: (level: string, message: string, meta: Record<string, unknown>) => at(level)(message, meta) } as unknown as Logger;
}

describe('bad input: a watch line or list item over the cap', function () {
  this.timeout(60_000);

  it('a 40 MiB watch line rejects once 16 MiB of it are read, naming the watch and the cap, quoting nothing', async () => {
    expect(MAX_OBJECT_BYTES).to.equal(16 * 1024 * 1024);
    const { body, seen } = source('{"type":"ADDED","object":{"data":{"k":"', 40 * 1024 * 1024, 's');
    const lines: string[] = [];
    const err = await rejection(readLines(body, (l) => lines.push(l), 'WATCH /api/v1/configmaps'));
    expect(err).to.be.instanceOf(OversizedObjectError);
    expect(err!.message).to.equal('WATCH /api/v1/configmaps: an object of more than 16 MiB of JSON (the cap on one object): abandoned');
    expect(lines).to.deep.equal([]);
    expect(seen.bytes, 'bytes pulled from the socket').to.be.at.most(MAX_OBJECT_BYTES + 2 * CHUNK);
  });

  it('lines up to the cap still pass, also when split across chunks', async () => {
    const line = JSON.stringify({ type: 'ADDED', object: { data: { k: 'y'.repeat(900) } } });
    async function* body() {
      for (let i = 0; i < line.length; i += 100) yield Buffer.from(line.slice(i, i + 100));
      yield Buffer.from(`\n${line}\n`);
    }
    const lines: string[] = [];
    await readLines(body(), (l) => lines.push(l), 'WATCH x', line.length);
    expect(lines).to.deep.equal([line, line]);
    const err = await rejection(readLines(body(), () => undefined, 'WATCH x', line.length - 1));
    expect(err).to.be.instanceOf(OversizedObjectError);
  });

  it('a 40 MiB list item rejects once 16 MiB of it are read; the items before it were handed over', async () => {
    const { body, seen } = source('{"metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"ok"}},{"data":{"k":"', 40 * 1024 * 1024, 's');
    const items: unknown[] = [];
    const err = await rejection(readList(body, 'LIST /api/v1/secrets', (i) => items.push(i)));
    expect(err).to.be.instanceOf(OversizedObjectError);
    expect(err!.message).to.match(/^LIST \/api\/v1\/secrets: an object of more than 16 MiB/);
    expect(items).to.deep.equal([{ metadata: { name: 'ok' } }]);
    expect(seen.bytes).to.be.at.most(MAX_OBJECT_BYTES + 2 * CHUNK);
  });

  it('a whole answer: an error body is cut at its cap, an object answer over it rejects', async () => {
    expect(await readText(source('', 10 * CHUNK).body, 'PATCH x', 1000, 'truncate')).to.equal('x'.repeat(1000));
    expect(await rejection(readText(source('', 10 * CHUNK).body, 'GET x', 1000, 'reject'))).to.be.instanceOf(OversizedObjectError);
    expect(await readText(null, 'GET x', 1000, 'reject')).to.equal('');
  });

  it('the reflector relists after an oversized watch line (its place in the stream is lost), with backoff, saying why', async () => {
    const clock = new VirtualClock();
    const requests: string[] = [];
    let watches = 0;
    const api: ClusterApi = {
      listPage: async () => {
        requests.push('list');
        return { resourceVersion: '10', continueToken: undefined };
      },
      mergePatch: async () => ({}),
      watch() {
        requests.push('watch');
        // The first watch breaks on an oversized line; the next stays open.
        if (watches++ === 0) return { ended: Promise.reject(new OversizedObjectError('WATCH /api/v1/configmaps', MAX_OBJECT_BYTES)), abort: () => undefined };
        return { ended: new Promise<void>(() => undefined), abort: () => undefined };
      },
    };
    const lines: Array<[string, string, Record<string, unknown>]> = [];
    const sink = { beginList: () => ({ add: () => undefined, commit: () => undefined }), upsert: () => undefined, remove: () => undefined };
    const reflector = new Reflector<KubeObject>({ type: CONFIGMAPS, namespace: 'ns', api, clock, log: recordingLog(lines), pageSize: 10 }, sink);
    void reflector.run();
    await flushMicrotasks();
    await clock.advance(1000);
    expect(requests).to.deep.equal(['list', 'watch', 'list', 'watch']);
    const warned = lines.find(([level]) => level === 'warn');
    expect(warned?.[2]['error']).to.match(/an object of more than 16 MiB of JSON \(the cap on one object\): abandoned/);
    reflector.stop();
  });
});

describe('bad input: error text quotes no object data', () => {
  const SECRET_DATA = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, data: { password: 'aHVudGVyMg==' } };

  it('a watch ERROR whose object is not a Status is described by kind and size, not quoted', () => {
    const text = watchErrorText(SECRET_DATA);
    expect(text).to.equal('not a Status (an object of kind Secret, 4 fields): not quoted');
    expect(watchErrorText({ data: { token: 'abc' }, kind: 'x y' })).to.equal('not a Status (an object of no kind, 2 fields): not quoted');
    expect(watchErrorText('raw text secret')).to.equal('not a Status (string): not quoted');
    expect(watchErrorText([1, 2])).to.equal('not a Status (an array): not quoted');
    // A Status keeps the apiserver's message.
    expect(watchErrorText({ kind: 'Status', status: 'Failure', code: 500, message: 'etcdserver: request timed out' })).to.equal('etcdserver: request timed out');
  });

  it('the reflector logs a non-Status ERROR event without its content', async () => {
    const clock = new VirtualClock();
    let watches = 0;
    const api: ClusterApi = {
      listPage: async () => ({ resourceVersion: '10', continueToken: undefined }),
      mergePatch: async () => ({}),
      watch(_t, _r, onEvent) {
        if (watches++ > 0) return { ended: new Promise<void>(() => undefined), abort: () => undefined };
        let end!: () => void;
        const ended = new Promise<void>((resolve) => (end = resolve));
        queueMicrotask(() => onEvent({ type: 'ERROR', object: SECRET_DATA as never }));
        return { ended, abort: () => end() };
      },
    };
    const lines: Array<[string, string, Record<string, unknown>]> = [];
    const sink = { beginList: () => ({ add: () => undefined, commit: () => undefined }), upsert: () => undefined, remove: () => undefined };
    const reflector = new Reflector<KubeObject>({ type: CONFIGMAPS, namespace: 'ns', api, clock, log: recordingLog(lines), pageSize: 10 }, sink);
    void reflector.run();
    await flushMicrotasks();
    await clock.advance(1000);
    reflector.stop();
    const logged = JSON.stringify(lines);
    expect(logged).to.contain('watch error event: not a Status (an object of kind Secret, 4 fields): not quoted');
    expect(logged).not.to.contain('aHVudGVyMg');
    expect(logged).not.to.contain('password');
  });

  it('an answer that is not a Status is described, not quoted; a Status keeps its message', () => {
    const body = JSON.stringify(SECRET_DATA);
    expect(statusMessage(body)).to.equal(`an answer that is not a Status (a Secret, ${Buffer.byteLength(body)} bytes): not quoted`);
    const err = new ApiError(500, body, 'PATCH /apis/apps/v1/namespaces/ns/deployments/web');
    expect(err.message).not.to.contain('aHVudGVyMg');
    expect(describeError(err)).not.to.contain('aHVudGVyMg');
    expect(statusMessage(JSON.stringify({ kind: 'Status', message: 'deployments.apps "web" not found' }))).to.equal('deployments.apps "web" not found');
    expect(statusMessage('<html>502 Bad Gateway</html>')).to.equal('<html>502 Bad Gateway</html>');
  });

  it('client-node\'s ApiException (Lease, Event and key Secret calls), whose own message holds the whole body, is described by its Status only', () => {
    const body = JSON.stringify(SECRET_DATA);
    const err = new ApiException(500, 'Unknown API Status Code!', body, { 'content-type': 'application/json' });
    expect(err.message).to.contain('aHVudGVyMg'); // why String(err) is never logged
    expect(describeError(err)).to.equal(`HTTP 500: an answer that is not a Status (a Secret, ${Buffer.byteLength(body)} bytes): not quoted`);
  });

  it('a digest key Secret whose data.key is a number (or an object) is refused without its value', () => {
    for (const key of [123456789012345, { nested: 'zzkeymaterialzz' }]) {
      let message = '';
      try {
        digestKeyFromSecret({ data: { key: key as never } }, { namespace: 'config-reload-system', name: 'config-reload-digest-key' });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).to.match(/^Secret config-reload-system\/config-reload-digest-key has no usable "key"/);
      expect(message).not.to.contain('123456789012345');
      expect(message).not.to.contain('zzkeymaterialzz');
    }
  });
});
