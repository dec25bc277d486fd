// Digests of consumed configuration: what is kept per ConfigMap, and the workload digest written
// to the config-hash annotations. A digest covers content, not versions: only the consumed data
// and binaryData go in, so a label or annotation edit, or a rewrite with identical data, changes
// nothing; it is canonical (key order, object class and list-vs-watch shape do not change it);
// and it carries a format version, so a future format can be migrated without rolling everything.
//
// The bytes behind format v1 are fixed by golden vectors in test/unit/digest.test.ts: inputs with
// digests derived by hand from the format's definition (and a few computed outside Node), not
// copied from this code. Any change here or in object-hash that alters a v1 digest fails them;
// such a change needs a new DIGEST_FORMAT, since every recorded digest would otherwise differ and
// roll every opted-in workload.
import { createHash } from 'node:crypto';
import objectHash from 'object-hash';
import type { ConfigMapContent, ConsumedConfigMap } from './types.ts';

/**
 * Version of the digest format, written as the digest's prefix. Bump it whenever the bytes that
 * are hashed change, so that recorded digests of the old format are re-recorded without a roll.
 */
export const DIGEST_FORMAT = 'v1';

// Per-key digests are SHA-256 cut to 128 bits. They are retained for every key of every
// ConfigMap for the life of the process, and half the length is half the retained string.
// 128 bits leave accidental collisions out of reach at any cluster size; deliberate ones buy
// nothing, since whoever could craft one can write the ConfigMap (and roll the workload) anyway.
const KEY_DIGEST_HEX_LENGTH = 32;

type Section = 'data' | 'binaryData';

interface ConfigMapData {
  data?: Record<string, string> | null;
  binaryData?: Record<string, string> | null;
}

function hashKey(key: string, values: ReadonlyArray<readonly [Section, string]>): string {
  const hash = createHash('sha256');
  // Length-prefixed fields, so no choice of key or value can be mistaken for another split
  // (the `k=v;` ambiguity of joined strings). The section is hashed so that the same bytes in
  // data and in binaryData (base64 there) differ.
  const field = (text: string): void => {
    hash.update(`${Buffer.byteLength(text)}:`).update(text);
  };
  field(key);
  for (const [section, value] of values) {
    field(section);
    field(value);
  }
  return hash.digest('hex').slice(0, KEY_DIGEST_HEX_LENGTH);
}

/**
 * Reduces a ConfigMap to what decisions need: one digest per key. Only data and binaryData are
 * read, so metadata (labels, annotations, resourceVersion) can never change a digest.
 */
export function configMapContent(cm: ConfigMapData): ConfigMapContent {
  const valuesByKey = new Map<string, Array<readonly [Section, string]>>();
  const collect = (section: Section, entries: Record<string, string> | null | undefined): void => {
    for (const [key, value] of Object.entries(entries ?? {})) {
      const values = valuesByKey.get(key) ?? [];
      values.push([section, value]);
      valuesByKey.set(key, values);
    }
  };
  // The apiserver rejects a key present in both sections; should one slip through, both values
  // go into that key's digest (in this fixed section order) rather than one hiding the other.
  collect('data', cm.data);
  collect('binaryData', cm.binaryData);

  const keyDigests = new Map<string, string>();
  for (const key of [...valuesByKey.keys()].sort()) {
    keyDigests.set(key, hashKey(key, valuesByKey.get(key) ?? []));
  }
  return { keyDigests };
}

// sha256 over object-hash's typed serialisation. That serialisation is part of the v1 format,
// which is why package.json pins object-hash exactly (3.0.0) and the golden vectors spell it out
// byte for byte: upgrade it only if they still pass. unorderedObjects sorts object keys and
// respectType ignores prototypes, so neither key order nor class-vs-plain objects matter.
// Arrays stay ordered (unorderedArrays false) because a [key, digest] pair is a tuple whose
// positions mean something; for that reason every list is sorted here, by name or key, before
// hashing, so that the order of references in a pod spec or of keys in a ConfigMap is irrelevant.
const WORKLOAD_HASH_OPTIONS = {
  algorithm: 'sha256',
  encoding: 'hex',
  unorderedObjects: true,
  unorderedArrays: false,
  respectType: false,
} as const;

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A key a workload reads: its digest, or null when the ConfigMap exists without that key. */
type KeyEntry = [key: string, digest: string | null];

function consumedEntries(consumed: ConsumedConfigMap, content: ConfigMapContent): KeyEntry[] {
  const keys = consumed.keys === null ? [...content.keyDigests.keys()] : [...new Set(consumed.keys)];
  return keys.sort(byCodeUnit).map((key): KeyEntry => [key, content.keyDigests.get(key) ?? null]);
}

/**
 * The digest of everything a workload consumes, as recorded in its config-hash annotations:
 * `v1-<sha256 hex>`. A ConfigMap that does not exist is hashed as absent, which differs from
 * one that exists but is empty, so its creation changes the digest.
 */
export function workloadDigest(
  consumed: readonly ConsumedConfigMap[],
  lookup: (name: string) => ConfigMapContent | undefined,
): string {
  const configMaps = [...consumed]
    .sort((a, b) => byCodeUnit(a.name, b.name))
    .map((cm) => {
      const content = lookup(cm.name);
      return content === undefined
        ? { name: cm.name, present: false, keys: [] }
        : { name: cm.name, present: true, keys: consumedEntries(cm, content) };
    });
  const hex = objectHash({ format: DIGEST_FORMAT, configMaps }, WORKLOAD_HASH_OPTIONS);
  return `${DIGEST_FORMAT}-${hex}`;
}

const VERSIONED_DIGEST = /^(v[0-9]+)-[0-9a-f]+$/;

/**
 * The format version a digest was written in ('v1' for `v1-…`), or undefined when the value is
 * not a versioned digest at all (hand-edited, or from a tool that is not this operator).
 */
export function digestFormat(digest: string): string | undefined {
  return VERSIONED_DIGEST.exec(digest)?.[1];
}
