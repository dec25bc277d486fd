// A LIST response parsed as it arrives: each item is handed on the moment its closing brace is
// read, and nothing keeps it afterwards. A page of 100 ConfigMaps of 64 KiB is 6.4 MB of JSON;
// read whole (text, then JSON.parse) it was the text, the parsed page and its strings at once,
// for every page, and V8 and malloc kept the high-water mark long after (docs/architecture.md,
// "Memory"). Streamed, what is alive at a time is one item and the chunk being read.
//
// @streamparser/json (MIT, no dependencies, typed) does the tokenizing: with `keepStack: false`
// it drops each emitted value from its parent, which is exactly "hash and forget". Measured on a
// page of 100 × 64 KiB: 49 MB/s against JSON.parse's 88 MB/s (bench/results/memory/steps.md).
import { JSONParser } from '@streamparser/json';

/**
 * The most JSON one object (a list item, a watch line) may take: beyond it the response is
 * abandoned with OversizedObjectError rather than buffered — a 300 MiB watch line added 324 MiB
 * of RSS, past the chart's memory limit. etcd refuses a write over 1.5 MiB by default (a few MiB
 * where raised), and JSON's escapes can make that at most six times longer: 16 MiB leaves room
 * for any object the apiserver can hold, and a tenth of the memory limit.
 */
export const MAX_OBJECT_BYTES = 16 * 1024 * 1024;

/** One object larger than the cap: the response (list page, watch) was abandoned unread. */
export class OversizedObjectError extends Error {
  constructor(what: string, maxBytes: number) {
    super(`${what}: an object of more than ${maxBytes / (1024 * 1024)} MiB of JSON (the cap on one object): abandoned`);
    this.name = 'OversizedObjectError';
  }
}

/**
 * A page that ends within this many bytes is parsed whole by JSON.parse instead: native code, so
 * the lists of a small cluster never make V8 optimise the streaming tokenizer's loop, whose
 * optimised code stays resident (about 5 MiB of idle RSS at 100 × 1 KiB: bench/results/memory/
 * steps.md, step 9). Holding a page this size as text and as objects at once costs less.
 */
export const WHOLE_PAGE_BYTES = 1024 * 1024;

export interface ListMetadata {
  resourceVersion: string;
  continueToken: string | undefined;
}

/**
 * Reads a list (`{"metadata": {...}, "items": [...]}`) from `body`, calling `onItem` for every
 * item in order. Rejects if the JSON is malformed or truncated (the page is then incomplete, and
 * the caller abandons the list), or with whatever `onItem` threw. The error names neither the
 * content nor the token at fault: the input may be a Secret's data. A page that ends within
 * `wholePageBytes` is parsed whole, a larger one as it arrives.
 */
export async function readList<T>(
  body: AsyncIterable<Uint8Array>, what: string, onItem: (item: T) => void, maxObjectBytes = MAX_OBJECT_BYTES,
  wholePageBytes = WHOLE_PAGE_BYTES,
): Promise<ListMetadata> {
  // Within the object cap too, so that a page read whole holds no object over it.
  const wholeLimit = Math.min(wholePageBytes, maxObjectBytes);
  const chunks = body[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headBytes = 0;
  for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
    head.push(next.value);
    headBytes += next.value.byteLength;
    if (headBytes > wholeLimit) return readListStreamed(resumed(head, chunks), what, onItem, maxObjectBytes);
  }
  return readListWhole(Buffer.concat(head, headBytes), what, onItem);
}

/** The chunks already read, then the rest; the source is closed however the reader stops. */
async function* resumed(head: Uint8Array[], rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* head;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  } finally {
    await rest.return?.();
  }
}

function readListWhole<T>(text: Buffer, what: string, onItem: (item: T) => void): ListMetadata {
  let page: unknown;
  try {
    page = JSON.parse(text.toString('utf8'));
  } catch {
    throw new Error(`${what}: malformed JSON (${text.byteLength} bytes read)`);
  }
  const { metadata, items } = (typeof page === 'object' && page !== null ? page : {}) as { metadata?: unknown; items?: unknown };
  if (typeof metadata !== 'object' || metadata === null) throw new Error(`${what}: malformed list (no metadata, ${text.byteLength} bytes read)`);
  // As the streamed path: every value under items, an array's in order.
  if (typeof items === 'object' && items !== null) for (const item of Object.values(items)) onItem(item as T);
  return listMetadata(metadata as { resourceVersion?: unknown; continue?: unknown });
}

function listMetadata(metadata: { resourceVersion?: unknown; continue?: unknown }): ListMetadata {
  const rv = metadata.resourceVersion;
  const token = metadata.continue;
  return {
    resourceVersion: typeof rv === 'string' ? rv : '',
    continueToken: typeof token === 'string' && token !== '' ? token : undefined,
  };
}

async function readListStreamed<T>(
  body: AsyncIterable<Uint8Array>, what: string, onItem: (item: T) => void, maxObjectBytes: number,
): Promise<ListMetadata> {
  const parser = new JSONParser({ paths: ['$.metadata', '$.items.*'], keepStack: false });
  let metadata: { resourceVersion?: unknown; continue?: unknown } | undefined;
  let consumerError: { error: unknown } | undefined;
  let malformed = false;
  let bytes = 0;
  /** Bytes written since the last value was handed over: what the parser may be holding. */
  let sinceValue = 0;
  parser.onValue = ({ value, stack }) => {
    sinceValue = 0;
    if (consumerError) return;
    // stack: the containers above the value — [root] for $.metadata, [root, items] for an item.
    if (stack.length === 1) {
      metadata = value as typeof metadata;
      return;
    }
    try {
      onItem(value as T);
    } catch (error) {
      consumerError = { error };
    }
  };
  parser.onError = () => {
    malformed = true;
  };
  const check = () => {
    if (consumerError) throw consumerError.error;
    if (malformed) throw new Error(`${what}: malformed JSON (${bytes} bytes read)`);
  };
  for await (const chunk of body) {
    // Checked before the parser takes the chunk: it never holds more than the cap.
    if (sinceValue + chunk.byteLength > maxObjectBytes) throw new OversizedObjectError(what, maxObjectBytes);
    bytes += chunk.byteLength;
    parser.write(chunk);
    sinceValue += chunk.byteLength;
    check();
  }
  if (!parser.isEnded) parser.end();
  check();
  if (typeof metadata !== 'object' || metadata === null) throw new Error(`${what}: malformed list (no metadata, ${bytes} bytes read)`);
  return listMetadata(metadata);
}

/**
 * Reads a stream of JSON lines (a watch), calling `onLine` with each non-empty line as it
 * completes. Pulled chunk by chunk: while `onLine` runs nothing more is read, so a burst of
 * events waits in the socket, not in memory. Lines are cut at the byte 0x0A, which never occurs
 * inside a multi-byte UTF-8 character, and decoded whole. A line longer than `maxLineBytes`
 * rejects with OversizedObjectError as soon as that many bytes of it are pending.
 */
export async function readLines(
  body: AsyncIterable<Uint8Array>, onLine: (line: string) => void, what = 'watch', maxLineBytes = MAX_OBJECT_BYTES,
): Promise<void> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const emit = (line: string) => {
    if (line.trim() !== '') onLine(line);
  };
  for await (const chunk of body) {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      const part = buf.subarray(start, nl);
      start = nl + 1;
      if (pendingBytes + part.length > maxLineBytes) throw new OversizedObjectError(what, maxLineBytes);
      if (pending.length === 0) {
        emit(part.toString('utf8'));
      } else {
        pending.push(part);
        const whole = Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
        emit(whole.toString('utf8'));
      }
    }
    if (start < buf.length) {
      pendingBytes += buf.length - start;
      if (pendingBytes > maxLineBytes) throw new OversizedObjectError(what, maxLineBytes);
      pending.push(buf.subarray(start));
    }
  }
  if (pending.length > 0) emit(Buffer.concat(pending).toString('utf8'));
}

/** The most of an error answer kept: its Status message is near the start. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * A whole response body as text, at most `maxBytes` of it: past that, 'truncate' keeps the start
 * (an error answer, read for its Status message), 'reject' throws OversizedObjectError (an object
 * answer, unusable in part). Stops reading at the cap either way; the caller drops the rest
 * with its connection.
 */
export async function readText(
  body: AsyncIterable<Uint8Array> | null, what: string, maxBytes: number, over: 'truncate' | 'reject',
): Promise<string> {
  if (body === null) return '';
  const parts: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    const room = maxBytes - bytes;
    if (chunk.byteLength > room) {
      if (over === 'reject') throw new OversizedObjectError(what, maxBytes);
      parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, room));
      break;
    }
    parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    bytes += chunk.byteLength;
  }
  return Buffer.concat(parts).toString('utf8');
}
