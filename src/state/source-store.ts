// What is retained per config object (one store per kind: ConfigMaps, Secrets): its keyed
// per-key digests, its resourceVersion and the version of its last content change — never its
// data. Memory grows with the number of objects and keys, not with the size of their values.
//
// The store owns its entries: they are immutable values that only the store replaces, one
// named transition per kind of observation (a watch event, a deletion, a complete list). Each
// transition reports the content changes it saw, for the controller to fan out.
import { type DigestKey, sourceContent } from '../core/digest.ts';
import { type SourceKey, sourceKeyOf } from '../core/keys.ts';
import { parseIgnore, RELEASE_ANNOTATION } from '../core/annotations.ts';
import { parseResourceVersion } from '../core/ordering.ts';
import type { SourceContent, SourceKind } from '../core/types.ts';

/** A ConfigMap or a Secret, as the API sends it (only what is read). */
export interface SourceLike {
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string; annotations?: Record<string, string> };
  data?: Record<string, string> | null;
  binaryData?: Record<string, string> | null;
}

export interface SourceEntry {
  readonly kind: SourceKind;
  readonly namespace: string;
  readonly name: string;
  /** For the Events about it (a held wave). */
  readonly uid: string;
  readonly resourceVersion: string;
  /**
   * The latest resourceVersion the last change of content (creation included) can have: the
   * version of the watch event that showed it, or of the list that found it.
   */
  readonly contentVersion: bigint | undefined;
  /**
   * Per key, the latest version its last change can have (a key removed keeps the version of its
   * removal), so that the order of a template change and a configuration change is established
   * per key a workload reads (docs/architecture.md, "Who owns which state"). A key never seen
   * changed last when the object appeared: `appearedVersion`.
   */
  readonly keyVersions: ReadonlyMap<string, bigint | undefined>;
  readonly appearedVersion: bigint | undefined;
  readonly content: SourceContent;
  /** config-reload.dev/ignore: the content recorded is the one from before it was set, frozen. */
  readonly ignored: boolean;
  /** The ignore annotation's value when it is malformed (reported once per value). */
  readonly malformedIgnore: string | undefined;
  /** config-reload.dev/release: the content token whose held waves a person released (src/core/waves.ts). */
  readonly release: string | undefined;
}

/** A config object whose content changed (created, edited, deleted), for the consumers' fan-out. */
export interface SourceChange {
  readonly key: SourceKey;
  readonly kind: SourceKind;
  readonly namespace: string;
  readonly name: string;
  /** The content before and after the change (undefined: absent), so each consumer can tell whether what it reads changed. */
  readonly before: SourceContent | undefined;
  readonly after: SourceContent | undefined;
  /** False when only its release annotation changed: nothing to roll, but held waves may go on. */
  readonly content: boolean;
}

export interface SourceReplacement {
  add(cm: SourceLike): void;
  /** Swaps the store for the list's contents; returns what changed against the old contents. */
  commit(resourceVersion: string): SourceChange[];
}

/** Deleted objects remembered with the version of their deletion (see lastContentChange). */
const MAX_TOMBSTONES = 10_000;

export class SourceStore {
  readonly kind: SourceKind;
  readonly #key: DigestKey;
  #entries = new Map<SourceKey, SourceEntry>();
  readonly #tombstones = new Map<SourceKey, bigint | undefined>();
  /**
   * Any deletion the store does not remember happened at or before this version: the last list
   * (an object absent from it may have been deleted at any time before), or an evicted tombstone.
   */
  #absentSince: bigint | undefined = 0n;
  #revision = 0;

  readonly #onMalformedIgnore: ((entry: SourceEntry, value: string, reason: string) => void) | undefined;

  /** `onMalformedIgnore`: told when an ignore annotation cannot be read (the object is ignored then). */
  constructor(kind: SourceKind, key: DigestKey, onMalformedIgnore?: (entry: SourceEntry, value: string, reason: string) => void) {
    this.kind = kind;
    this.#key = key;
    this.#onMalformedIgnore = onMalformedIgnore;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Moves on every change of an entry: what was computed from them is stale once it moved. */
  get revision(): number {
    return this.#revision;
  }

  get(key: SourceKey): SourceEntry | undefined {
    return this.#entries.get(key);
  }

  has(key: SourceKey): boolean {
    return this.#entries.has(key);
  }

  content(key: SourceKey): SourceContent | undefined {
    return this.#entries.get(key)?.content;
  }

  /**
   * The latest version the last content change of this object (or its deletion) can have; with
   * `keys`, of those keys only (null: the whole object).
   */
  lastContentChange(key: SourceKey, keys: readonly string[] | null = null): bigint | undefined {
    const entry = this.#entries.get(key);
    if (entry) {
      if (keys === null) return entry.contentVersion;
      let latest: bigint | undefined = entry.appearedVersion;
      for (const k of keys) {
        const v = entry.keyVersions.has(k) ? entry.keyVersions.get(k) : entry.appearedVersion;
        if (v === undefined) return undefined;
        if (latest === undefined || v > latest) latest = v;
      }
      return latest;
    }
    return this.#tombstones.has(key) ? this.#tombstones.get(key) : this.#absentSince;
  }

  /** A watch event (ADDED or MODIFIED). */
  observe(cm: SourceLike): SourceChange | undefined {
    const key = sourceKeyOf(this.kind, cm);
    const previous = this.#entries.get(key);
    const next = this.#entryFor(cm, previous);
    if (next === undefined) return undefined;
    this.#entries.set(key, next.entry);
    this.#revision++;
    this.#tombstones.delete(key);
    if (next.changed) return change(key, next.entry, previous?.content, next.entry.content);
    return next.released ? change(key, next.entry, next.entry.content, next.entry.content, false) : undefined;
  }

  /** A watch DELETED event: its resourceVersion is the deletion's. */
  observeDeleted(cm: SourceLike): SourceChange | undefined {
    const key = sourceKeyOf(this.kind, cm);
    const previous = this.#entries.get(key);
    if (!previous) return undefined;
    this.#entries.delete(key);
    this.#revision++;
    this.#remember(key, parseResourceVersion(cm.metadata?.resourceVersion));
    return change(key, previous, previous.content, undefined);
  }

  /**
   * A complete list, page by page; the store changes only at commit. `namespace`: the list
   * covers that namespace only (one watch per namespace); entries of others are kept.
   */
  beginReplace(namespace?: string): SourceReplacement {
    // The new contents are assembled against the store as it is at commit, not as it was when
    // the list began: with one watch per namespace, the other namespaces' lists and watch
    // events land while this one runs, and swapping in a copy taken at the start lost them.
    const listed = new Map<SourceKey, SourceEntry>();
    const changes: SourceChange[] = [];
    return {
      add: (cm) => {
        const key = sourceKeyOf(this.kind, cm);
        const previous = this.#entries.get(key);
        const built = this.#entryFor(cm, previous);
        const entry = built?.entry ?? previous;
        if (!entry) return;
        listed.set(key, entry);
        if (built?.changed) changes.push(change(key, entry, previous?.content, entry.content));
        else if (built?.released) changes.push(change(key, entry, entry.content, entry.content, false));
      },
      commit: (resourceVersion) => {
        const listedAt = parseResourceVersion(resourceVersion);
        const next = new Map<SourceKey, SourceEntry>();
        for (const [key, entry] of this.#entries) {
          if (namespace !== undefined && entry.namespace !== namespace) next.set(key, entry);
          else if (!listed.has(key)) {
            this.#remember(key, listedAt);
            changes.push(change(key, entry, entry.content, undefined));
          }
        }
        for (const [key, entry] of listed) {
          next.set(key, entry);
          this.#tombstones.delete(key);
        }
        this.#entries = next;
        this.#revision++;
        // An object created and deleted while nobody watched left no trace: its deletion can
        // be as late as this list.
        this.#absentSince = listedAt;
        return changes;
      },
    };
  }

  /** The entry for an observation, and whether the content changed; undefined when nothing did. */
  #entryFor(cm: SourceLike, previous: SourceEntry | undefined): { entry: SourceEntry; changed: boolean; released: boolean } | undefined {
    const resourceVersion = cm.metadata?.resourceVersion ?? '';
    if (previous && previous.resourceVersion === resourceVersion) return undefined;
    const ignore = parseIgnore(cm.metadata?.annotations);
    // An ignored object keeps the content it had when the switch was set: its changes roll
    // nothing, and its consumers' digests stay as they were. (First seen ignored: as it is.)
    const content = ignore.ignored && previous ? previous.content : sourceContent(this.kind, cm, this.#key);
    const same = previous !== undefined && sameContent(previous.content, content);
    const version = parseResourceVersion(resourceVersion);
    const entry: SourceEntry = Object.freeze({
      kind: this.kind,
      namespace: cm.metadata?.namespace ?? '',
      name: cm.metadata?.name ?? '',
      uid: cm.metadata?.uid ?? '',
      resourceVersion,
      // Equal content keeps the previous Map (shared, not doubled) and the previous version.
      contentVersion: same ? previous.contentVersion : version,
      keyVersions: same ? previous.keyVersions : keyVersions(previous, content, version),
      appearedVersion: previous ? previous.appearedVersion : version,
      content: same ? previous.content : content,
      ignored: ignore.ignored,
      malformedIgnore: ignore.malformed?.value,
      release: cm.metadata?.annotations?.[RELEASE_ANNOTATION]?.trim() || undefined,
    });
    if (ignore.malformed && previous?.malformedIgnore !== ignore.malformed.value) {
      this.#onMalformedIgnore?.(entry, ignore.malformed.value, ignore.malformed.reason);
    }
    return { entry, changed: !same, released: previous !== undefined && previous.release !== entry.release };
  }

  #remember(key: SourceKey, deletedAt: bigint | undefined): void {
    this.#tombstones.delete(key);
    this.#tombstones.set(key, deletedAt);
    if (this.#tombstones.size <= MAX_TOMBSTONES) return;
    const [oldestKey, oldestAt] = this.#tombstones.entries().next().value as [SourceKey, bigint | undefined];
    this.#tombstones.delete(oldestKey);
    // Forgetting a deletion raises the bound for every object the store does not know.
    this.#absentSince = this.#absentSince === undefined || oldestAt === undefined
      ? undefined
      : oldestAt > this.#absentSince ? oldestAt : this.#absentSince;
  }
}

function change(
  key: SourceKey, entry: SourceEntry, before: SourceContent | undefined, after: SourceContent | undefined, content = true,
): SourceChange {
  return { key, kind: entry.kind, namespace: entry.namespace, name: entry.name, before, after, content };
}

/** Each key's last change: kept where its digest did not change, this version where it did (or it went). */
function keyVersions(previous: SourceEntry | undefined, content: SourceContent, version: bigint | undefined): ReadonlyMap<string, bigint | undefined> {
  if (previous === undefined) return new Map([...content.keyDigests.keys()].map((k) => [k, version]));
  const out = new Map(previous.keyVersions);
  for (const [k, digest] of content.keyDigests) if (previous.content.keyDigests.get(k) !== digest) out.set(k, version);
  for (const k of previous.content.keyDigests.keys()) if (!content.keyDigests.has(k)) out.set(k, version);
  return out;
}

export function sameContent(a: SourceContent, b: SourceContent): boolean {
  if (a.keyDigests.size !== b.keyDigests.size) return false;
  for (const [k, v] of a.keyDigests) if (b.keyDigests.get(k) !== v) return false;
  return true;
}
