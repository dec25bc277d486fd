import { expect } from 'chai';
import { readLines, readList, WHOLE_PAGE_BYTES } from '../../src/kube/json-stream.ts';

/** `text` as UTF-8 bytes cut every `size` bytes (cuts fall inside multi-byte characters too). */
async function* chunks(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** Pages read whole (the default for pages within WHOLE_PAGE_BYTES) or streamed (a threshold of 0). */
const MODES = [{ mode: 'whole', wholePageBytes: WHOLE_PAGE_BYTES }, { mode: 'streamed', wholePageBytes: 0 }] as const;

const LIST = {
  kind: 'ConfigMapList', apiVersion: 'v1',
  metadata: { resourceVersion: '4711', continue: 'next-page' },
  items: [
    { metadata: { name: 'a', namespace: 'ns', resourceVersion: '1' }, data: { 'k.txt': 'grüße \u{1F600} \\ "quoted"\n', n: '' } },
    { metadata: { name: 'b', namespace: 'ns', resourceVersion: '2' }, binaryData: { bin: 'AAEC' }, data: null },
    { metadata: { name: 'c', namespace: 'ns', resourceVersion: '3', annotations: { x: 'y' } }, data: { big: 'z'.repeat(70_000) } },
  ],
};

// Tiny chunks make thousands of awaits: slow on a loaded machine, never wrong.
for (const { mode, wholePageBytes } of MODES) describe(`json-stream: readList, pages read ${mode}`, function () {
  this.timeout(20_000);
  const read = (body: AsyncIterable<Uint8Array>, what: string, onItem: (item: unknown) => void) =>
    readList(body, what, onItem, undefined, wholePageBytes);
  async function collect(text: string, size: number) {
    const items: unknown[] = [];
    const meta = await read(chunks(text, size), 'LIST /api/v1/configmaps', (item) => items.push(item));
    return { items, meta };
  }
  for (const size of [1, 3, 7, 64, 1 << 20]) {
    it(`hands over every item in order, equal to JSON.parse, in chunks of ${size} bytes`, async () => {
      const { items, meta } = await collect(JSON.stringify(LIST), size);
      expect(items).to.deep.equal(LIST.items);
      expect(meta).to.deep.equal({ resourceVersion: '4711', continueToken: 'next-page' });
    });
  }

  it('reads the last page (no continue token, metadata after the items) and an empty or null item list', async () => {
    const last = `{"items":[{"metadata":{"name":"x"}}],"metadata":{"resourceVersion":"9","continue":""}}`;
    expect(await collect(last, 5)).to.deep.equal({ items: [{ metadata: { name: 'x' } }], meta: { resourceVersion: '9', continueToken: undefined } });
    expect(await collect(`{"metadata":{"resourceVersion":"3"},"items":[]}`, 4)).to.deep.equal({ items: [], meta: { resourceVersion: '3', continueToken: undefined } });
    expect(await collect(`{"metadata":{"resourceVersion":"3"},"items":null}`, 4)).to.deep.equal({ items: [], meta: { resourceVersion: '3', continueToken: undefined } });
  });

  it('rejects a truncated page, after handing over only complete items (none when read whole)', async () => {
    const text = JSON.stringify(LIST);
    const cut = text.slice(0, text.indexOf('"name":"c"'));
    const items: unknown[] = [];
    const err = await read(chunks(cut, 16), 'LIST /api/v1/configmaps', (i) => items.push(i)).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.match(/^LIST \/api\/v1\/configmaps: malformed JSON \(\d+ bytes read\)$/);
    expect(items).to.deep.equal(mode === 'whole' ? [] : LIST.items.slice(0, 2));
  });

  it('rejects malformed JSON without quoting any of it (it may be a Secret)', async () => {
    const err = await collect('{"metadata":{},"items":[{"data":{"secret":"hunter2"} oops', 8).then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).to.match(/malformed JSON/);
    expect((err as Error).message).not.to.contain('hunter2');
    expect((err as Error).message).not.to.contain('oops');
  });

  it('rejects a body that is not a list', async () => {
    for (const body of ['[1,2]', '{"metadata":null,"items":[]}', '"text"']) {
      const err = await collect(body, 2).then(() => undefined, (e: unknown) => e);
      expect((err as Error).message, body).to.match(/malformed list \(no metadata/);
    }
  });

  it("stops at the consumer's error and rejects with it", async () => {
    let seen = 0;
    const boom = new Error('store refused');
    const err = await read(chunks(JSON.stringify(LIST), 10), 'LIST x', () => {
      seen++;
      throw boom;
    }).then(() => undefined, (e: unknown) => e);
    expect(err).to.equal(boom);
    expect(seen).to.equal(1);
  });

  it('closes the source however it stops', async () => {
    let closed = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        yield* chunks(JSON.stringify(LIST), 10);
      } finally {
        closed = true;
      }
    }
    await read(source(), 'LIST x', () => {
      throw new Error('stop');
    }).catch(() => undefined);
    expect(closed).to.equal(true);
  });
});

describe('json-stream: readList, whole or streamed by page size', function () {
  this.timeout(20_000);
  // A truncated page tells the two apart: streamed, its complete items were handed over.
  async function handedOver(itemCount: number): Promise<number> {
    const page = { metadata: { resourceVersion: '1' }, items: Array.from({ length: itemCount }, (_, i) => ({ metadata: { name: `cm-${i}` }, data: { k: 'v'.repeat(1000) } })) };
    let seen = 0;
    await readList(chunks(JSON.stringify(page).slice(0, -10), 64 * 1024), 'LIST x', () => seen++).catch(() => undefined);
    return seen;
  }

  it('reads a page within WHOLE_PAGE_BYTES whole, a larger one as it arrives', async () => {
    expect(await handedOver(100)).to.equal(0);
    expect(await handedOver(2000)).to.equal(1999);
  });
});

describe('json-stream: readLines', function () {
  this.timeout(20_000);
  const EVENTS = [
    { type: 'ADDED', object: { metadata: { name: 'a' }, data: { k: 'grüße \u{1F600}' } } },
    { type: 'MODIFIED', object: { metadata: { name: 'b' }, data: { big: 'x'.repeat(70_000) } } },
    { type: 'BOOKMARK', object: { metadata: { resourceVersion: '7' } } },
  ];

  for (const size of [2, 5, 4096, 1 << 20]) {
    it(`hands over every line whole, in order, in chunks of ${size} bytes`, async () => {
      const lines: string[] = [];
      await readLines(chunks(`${EVENTS.map((e) => JSON.stringify(e)).join('\n')}\n\n`, size), (l) => lines.push(l));
      expect(lines.map((l) => JSON.parse(l) as unknown)).to.deep.equal(EVENTS);
    });
  }

  it('hands over a last line without its newline, and skips blank lines (CRLF included)', async () => {
    const lines: string[] = [];
    await readLines(chunks('{"a":1}\r\n\r\n{"b":2}', 3), (l) => lines.push(l));
    expect(lines.map((l) => JSON.parse(l) as unknown)).to.deep.equal([{ a: 1 }, { b: 2 }]);
  });

  it("stops at the consumer's error and rejects with it", async () => {
    const boom = new Error('bad event');
    let seen = 0;
    const err = await readLines(chunks('{"a":1}\n{"b":2}\n', 4), () => {
      seen++;
      throw boom;
    }).then(() => undefined, (e: unknown) => e);
    expect(err).to.equal(boom);
    expect(seen).to.equal(1);
  });
});
