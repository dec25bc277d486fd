// Digests of consumed configuration: what is kept per config object, and the workload digest
// written to the config-hash annotations. A digest covers content, not versions: only the
// consumed data (and a ConfigMap's binaryData) go in, so a label or annotation edit, a Secret's
// `type`, or a rewrite with identical data changes nothing; it is canonical (key order and
// list-vs-watch shape do not change it); and it carries a format version, so a future format
// can be migrated without rolling everything.
//
// Format v2 is keyed. The annotations are readable by anyone who can read the workload —
// usually far more people than can read its Secrets — and a plain hash of a short password can
// be searched offline. So every digest is an HMAC-SHA-256 under a random key of the
// installation (src/kube/digest-key.ts), which only the operator reads; ConfigMaps use the same
// format, so there is one. The digest names the key by a short id (an HMAC of a fixed label,
// which reveals nothing of the key), so that a digest made under another key is recognised
// rather than compared.
//
// The bytes behind format v2 are fixed by golden vectors in test/unit/digest.test.ts, derived by
// hand from this definition. Any change that alters a v2 digest fails them; such a change needs
// a new DIGEST_FORMAT, since every recorded digest would otherwise differ and roll every workload.
import { createHash, createHmac } from 'node:crypto';
import type { ConsumedSource, SourceContent, SourceKind } from './types.ts';

/**
 * Version of the digest format, written as the digest's prefix. Bump it whenever the bytes that
 * are hashed change, so that recorded digests of the old format are re-recorded without a roll.
 */
export const DIGEST_FORMAT = 'v2';

// Per-key digests are cut to 128 bits. They are retained for every key of every config object
// for the life of the process, and half the length is half the retained string. 128 bits leave
// accidental collisions out of reach at any cluster size.
const KEY_DIGEST_HEX_LENGTH = 32;

/** One HMAC-SHA-256 computation: fed with update(), read once with digest('hex'). */
export interface Mac {
  update(data: string | Uint8Array): Mac;
  digest(encoding: 'hex'): string;
}

/** The installation's digest key: an HMAC factory and the key's public id. */
export interface DigestKey {
  /** 8 hex characters: HMAC-SHA-256(key, KEY_ID_LABEL), cut. */
  readonly id: string;
  hmac(): Mac;
}

export const KEY_ID_LABEL = 'config-reload.dev/digest-key-id';

export function digestKey(secret: Uint8Array): DigestKey {
  if (secret.length < 32) throw new Error(`the digest key must hold at least 32 bytes (it holds ${secret.length})`);
  // The id through Node's own HMAC, the rest through hmacSha256 below: a unit test holds them equal.
  const id = createHmac('sha256', secret).update(KEY_ID_LABEL).digest('hex').slice(0, 8);
  return Object.freeze({ id, hmac: hmacSha256(secret) });
}

const SHA256_BLOCK_BYTES = 64;

/**
 * HMAC-SHA-256 (RFC 2104) with the key's two padded blocks hashed once: each MAC copies the two
 * hash states instead of preparing the key again. Node's createHmac prepares its key on every
 * call, and at 1,000 consumers of a changing ConfigMap that was most of the operator's CPU
 * (a fan-out's profile: 15.8 s of 51 s in createHmac, 13.2 s of them preparing the key).
 */
function hmacSha256(secret: Uint8Array): () => Mac {
  const key = Buffer.alloc(SHA256_BLOCK_BYTES);
  // A key longer than a block is replaced by its hash, as RFC 2104 says; the buffer is a copy,
  // so the caller can wipe theirs.
  (secret.length > SHA256_BLOCK_BYTES ? createHash('sha256').update(secret).digest() : Buffer.from(secret)).copy(key);
  const inner = createHash('sha256').update(key.map((b) => b ^ 0x36));
  const outer = createHash('sha256').update(key.map((b) => b ^ 0x5c));
  key.fill(0);
  return () => {
    const h = inner.copy();
    const mac: Mac = {
      update(data) {
        h.update(data);
        return mac;
      },
      digest: (encoding) => outer.copy().update(h.digest()).digest(encoding),
    };
    return mac;
  };
}

type Section = 'data' | 'binaryData';

interface SourceData {
  data?: Record<string, string> | null;
  binaryData?: Record<string, string> | null;
}

function hashKey(digestKeyValue: DigestKey, key: string, values: ReadonlyArray<readonly [Section, string]>): string {
  const mac = digestKeyValue.hmac();
  // Length-prefixed fields, so no choice of key or value can be mistaken for another split
  // (the `k=v;` ambiguity of joined strings). The section is hashed so that the same bytes in
  // data and in binaryData (base64 there) differ.
  const field = (text: string): void => {
    mac.update(`${Buffer.byteLength(text)}:`).update(text);
  };
  field(key);
  for (const [section, value] of values) {
    field(section);
    field(value);
  }
  return mac.digest('hex').slice(0, KEY_DIGEST_HEX_LENGTH);
}

/**
 * The most keys an object may hold and be digested key by key (--max-keys-per-object). Each key
 * keeps its name and a digest, and costs an HMAC per update: 80,000 empty keys (1 MiB) kept
 * 12 MiB and blocked the event loop ~1.5 s per update (docs/security.md, "Tenant limits").
 */
export const DEFAULT_MAX_KEYS_PER_OBJECT = 2_000;

/**
 * The one key of an over-budget object's content. ConfigMap and Secret keys match
 * [-._a-zA-Z0-9]+ (the apiserver refuses others), so no real key can be named with a '/'.
 */
export const OVER_BUDGET_KEY = 'config-reload.dev/over-budget';

/**
 * Reduces a ConfigMap or Secret to what decisions need: one keyed digest per key. Only `data`
 * (and a ConfigMap's `binaryData`) is read: the apiserver folds a Secret's `stringData` into
 * `data`, and metadata or `type` never changes a digest.
 *
 * Over `maxKeys` keys, its content is one entry, OVER_BUDGET_KEY: one HMAC over the whole object,
 * flagged overBudget (its consumers are held: src/core/decide.ts). It keeps a constant then.
 */
export function sourceContent(kind: SourceKind, obj: SourceData, key: DigestKey, maxKeys = DEFAULT_MAX_KEYS_PER_OBJECT): SourceContent {
  const sections: Array<readonly [Section, Record<string, string>]> = [['data', obj.data ?? {}]];
  if (kind === 'ConfigMap') sections.push(['binaryData', obj.binaryData ?? {}]);
  const names = sections.map(([, entries]) => Object.keys(entries));
  const keys = names.reduce((n, of) => n + of.length, 0);
  if (keys > maxKeys) {
    return { keyDigests: new Map([[OVER_BUDGET_KEY, wholeObjectDigest(key, sections, names)]]), overBudget: { keys, maxKeys } };
  }

  const valuesByKey = new Map<string, Array<readonly [Section, string]>>();
  // The apiserver rejects a key present in both sections; should one slip through, both values
  // go into that key's digest (in this fixed section order) rather than one hiding the other.
  sections.forEach(([section, entries], i) => {
    for (const k of names[i] ?? []) {
      const values = valuesByKey.get(k) ?? [];
      values.push([section, entries[k] as string]);
      valuesByKey.set(k, values);
    }
  });
  const keyDigests = new Map<string, string>();
  for (const k of [...valuesByKey.keys()].sort()) keyDigests.set(k, hashKey(key, k, valuesByKey.get(k) ?? []));
  return { keyDigests };
}

/** Fed to the MAC in pieces of about this many characters: one update() per field cost more than the hashing. */
const WHOLE_OBJECT_CHUNK = 64 * 1024;
/**
 * One HMAC over every section of an over-budget object: length-prefixed fields (a label, then
 * per section its name, its key count, and each key and value in code-unit order), so that the
 * digest is canonical and no split of the bytes can pass for another. The apiserver sends keys
 * sorted, so the order is checked in one pass and sorted only when it is not.
 */
function wholeObjectDigest(key: DigestKey, sections: ReadonlyArray<readonly [Section, Record<string, string>]>, names: readonly string[][]): string {
  const mac = key.hmac();
  let pending = '';
  const field = (text: string): void => {
    // Lengths in UTF-16 code units, as workloadDigest's: Buffer.byteLength took half the time.
    pending += `${text.length}:${text}`;
    if (pending.length >= WHOLE_OBJECT_CHUNK) {
      mac.update(pending);
      pending = '';
    }
  };
  field('over-budget');
  sections.forEach(([section, entries], i) => {
    const keys = names[i] ?? [];
    field(section);
    field(String(keys.length));
    for (const k of isSorted(keys) ? keys : [...keys].sort()) {
      field(k);
      field(entries[k] as string);
    }
  });
  mac.update(pending);
  return mac.digest('hex').slice(0, KEY_DIGEST_HEX_LENGTH);
}

const isSorted = (keys: readonly string[]): boolean => keys.every((k, i) => i === 0 || (keys[i - 1] as string) <= k);

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A key a workload reads: its digest, or null when the object exists without that key. */
type KeyEntry = [key: string, digest: string | null];

function consumedEntries(consumed: ConsumedSource, content: SourceContent): KeyEntry[] {
  const keys = consumed.keys === null ? [...content.keyDigests.keys()] : [...new Set(consumed.keys)];
  return keys.sort(byCodeUnit).map((k): KeyEntry => [k, content.keyDigests.get(k) ?? null]);
}

/**
 * Whether what a workload reads of one config object differs between two of its contents
 * (undefined: absent): the keys it consumes, their digests, the object's presence. A change to
 * a key it does not read is no change to it.
 */
export function consumedPartChanged(consumed: ConsumedSource, before: SourceContent | undefined, after: SourceContent | undefined): boolean {
  if (before === undefined || after === undefined) return before !== after;
  const a = consumedEntries(consumed, before);
  const b = consumedEntries(consumed, after);
  return a.length !== b.length || a.some(([k, d], i) => b[i]?.[0] !== k || b[i]?.[1] !== d);
}

/**
 * The digest of everything a workload consumes, as recorded in its config-hash annotations:
 * `v2-<key id>-<hmac-sha256 hex>`. An object that does not exist is hashed as absent, which
 * differs from one that exists but is empty, so its creation changes the digest.
 *
 * What is MACed is, byte for byte, object-hash 3.0.0's typed serialisation ('passthrough') of
 * `{ format, sources: [{ keys: [[key, digest | null], ...], kind, name, present }, ...] }` with
 * unorderedObjects (object keys sorted), unorderedArrays false and respectType false: format
 * v2 was defined that way. It is written out here because object-hash's generic walk cost
 * 55 µs per digest, and a change of a ConfigMap read by 1,000 workloads computes each of their
 * digests — 60 ms and more in one synchronous block that every other change waited behind
 * (CPU profiles of the fan-out benchmark). A unit test holds this equal to object-hash on random inputs, and the
 * golden vectors in test/unit/digest.test.ts pin the bytes. Sources go in `kind/name` order
 * (kinds compared first: no kind is a prefix of another), keys in code-unit order.
 */
export function workloadDigest(
  consumed: readonly ConsumedSource[],
  lookup: (kind: SourceKind, name: string) => SourceContent | undefined,
  key: DigestKey,
): string {
  const sorted = consumed.length < 2 ? consumed : [...consumed].sort((a, b) => byCodeUnit(a.kind, b.kind) || byCodeUnit(a.name, b.name));
  let serialised = `object:2:string:6:format:${typed(DIGEST_FORMAT)},string:7:sources:array:${sorted.length}:`;
  for (const source of sorted) {
    const content = lookup(source.kind, source.name);
    const keys = content === undefined ? [] : consumedEntries(source, content);
    serialised += `object:4:string:4:keys:array:${keys.length}:`;
    for (const [k, digest] of keys) serialised += `array:2:${typed(k)}${digest === null ? 'Null' : typed(digest)}`;
    serialised += `,string:4:kind:${typed(source.kind)},string:4:name:${typed(source.name)},string:7:present:bool:${content !== undefined},`;
  }
  serialised += ',';
  return `${DIGEST_FORMAT}-${key.id}-${key.hmac().update(serialised).digest('hex')}`;
}

/** A string in the v2 serialisation: `string:<UTF-16 length>:<text>`. */
function typed(text: string): string {
  return `string:${text.length}:${text}`;
}

// The exact shape of each known format; a value that claims one but does not have its shape (a
// hand-edit, a cut) is not a digest of that format, so it is re-recorded rather than compared.
const SHAPES: Readonly<Record<string, RegExp>> = {
  v1: /^v1-[0-9a-f]{64}$/,
  v2: /^v2-([0-9a-f]{8})-[0-9a-f]{64}$/,
};
const FUTURE_FORMAT = /^v[0-9]+-[0-9a-f][0-9a-f-]*$/;

/**
 * The format version a digest was written in ('v2' for `v2-<id>-<hex>`), or undefined when the
 * value is not a well-formed versioned digest (hand-edited, cut, or from another tool).
 */
export function digestFormat(digest: string): string | undefined {
  const version = /^(v[0-9]+)-/.exec(digest)?.[1];
  if (version === undefined) return undefined;
  const shape = SHAPES[version] ?? FUTURE_FORMAT;
  return shape.test(digest) ? version : undefined;
}

/** The id of the key a v2 digest was made with; undefined for anything else. */
export function digestKeyId(digest: string): string | undefined {
  return SHAPES['v2']?.exec(digest)?.[1];
}

/** Hex characters of a part: 64 bits, for telling one object's contents apart, never for security. */
const PART_HEX_LENGTH = 16;

/**
 * What a workload reads of one config object, as a keyed digest (src/core/record.ts): its
 * presence and the digests of the keys it reads. Two contents give the same part exactly when
 * consumedPartChanged says they do not differ for this consumer.
 */
export function sourcePart(consumed: ConsumedSource, content: SourceContent | undefined, key: DigestKey): string {
  const mac = key.hmac();
  const field = (text: string): void => {
    mac.update(`${Buffer.byteLength(text)}:`).update(text);
  };
  field('part');
  field(consumed.kind);
  field(consumed.name);
  if (content === undefined) field('absent');
  else {
    field('present');
    for (const [k, digest] of consumedEntries(consumed, content)) {
      field(k);
      field(digest ?? '-');
    }
  }
  return mac.digest('hex').slice(0, PART_HEX_LENGTH);
}
