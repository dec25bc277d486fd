// What is retained per ConfigMap: its per-key digests, its resourceVersion and the version of
// its last content change — never its data. Memory grows with the number of ConfigMaps and
// keys, not with the size of their values.
//
// The store owns its entries: they are immutable values that only the store replaces, one
// named transition per kind of observation (a watch event, a deletion, a complete list). Each
// transition reports the content changes it saw, for the controller to fan out.
import { configMapContent } from '../core/digest.ts';
import { type ConfigMapKey, configMapKeyOf } from '../core/keys.ts';
import { parseResourceVersion } from '../core/ordering.ts';
import type { ConfigMapContent } from '../core/types.ts';

export interface ConfigMapLike {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  data?: Record<string, string> | null;
  binaryData?: Record<string, string> | null;
}

export interface ConfigMapEntry {
  readonly namespace: string;
  readonly name: string;
  readonly resourceVersion: string;
  /**
   * The latest resourceVersion the last change of content (creation included) can have: the
   * version of the watch event that showed it, or of the list that found it.
   */
  readonly contentVersion: bigint | undefined;
  readonly content: ConfigMapContent;
}

/** A ConfigMap whose content changed (created, edited, deleted), for the consumers' fan-out. */
export interface ConfigMapChange {
  readonly key: ConfigMapKey;
  readonly namespace: string;
  readonly name: string;
}

export interface ConfigMapReplacement {
  add(cm: ConfigMapLike): void;
  /** Swaps the store for the list's contents; returns what changed against the old contents. */
  commit(resourceVersion: string): ConfigMapChange[];
}

/** Deleted ConfigMaps remembered with the version of their deletion (see lastContentChange). */
const MAX_TOMBSTONES = 10_000;

export class ConfigMapStore {
  #entries = new Map<ConfigMapKey, ConfigMapEntry>();
  readonly #tombstones = new Map<ConfigMapKey, bigint | undefined>();
  /**
   * Any deletion the store does not remember happened at or before this version: the last list
   * (a ConfigMap absent from it may have been deleted at any time before), or an evicted tombstone.
   */
  #absentSince: bigint | undefined = 0n;

  get size(): number {
    return this.#entries.size;
  }

  get(key: ConfigMapKey): ConfigMapEntry | undefined {
    return this.#entries.get(key);
  }

  has(key: ConfigMapKey): boolean {
    return this.#entries.has(key);
  }

  content(key: ConfigMapKey): ConfigMapContent | undefined {
    return this.#entries.get(key)?.content;
  }

  /** The latest version the last content change of this ConfigMap (or its deletion) can have. */
  lastContentChange(key: ConfigMapKey): bigint | undefined {
    const entry = this.#entries.get(key);
    if (entry) return entry.contentVersion;
    return this.#tombstones.has(key) ? this.#tombstones.get(key) : this.#absentSince;
  }

  /** A watch event (ADDED or MODIFIED). */
  observe(cm: ConfigMapLike): ConfigMapChange | undefined {
    const key = configMapKeyOf(cm);
    const next = this.#entryFor(cm, this.#entries.get(key));
    if (next === undefined) return undefined;
    this.#entries.set(key, next.entry);
    this.#tombstones.delete(key);
    return next.changed ? change(key, next.entry) : undefined;
  }

  /** A watch DELETED event: its resourceVersion is the deletion's. */
  observeDeleted(cm: ConfigMapLike): ConfigMapChange | undefined {
    const key = configMapKeyOf(cm);
    const previous = this.#entries.get(key);
    if (!previous) return undefined;
    this.#entries.delete(key);
    this.#remember(key, parseResourceVersion(cm.metadata?.resourceVersion));
    return change(key, previous);
  }

  /** A complete list, page by page; the store changes only at commit. */
  beginReplace(): ConfigMapReplacement {
    const old = this.#entries;
    const next = new Map<ConfigMapKey, ConfigMapEntry>();
    const changes: ConfigMapChange[] = [];
    return {
      add: (cm) => {
        const key = configMapKeyOf(cm);
        const previous = old.get(key);
        const built = this.#entryFor(cm, previous);
        const entry = built?.entry ?? previous;
        if (!entry) return;
        next.set(key, entry);
        if (built?.changed) changes.push(change(key, entry));
      },
      commit: (resourceVersion) => {
        const listedAt = parseResourceVersion(resourceVersion);
        for (const [key, entry] of old) {
          if (next.has(key)) continue;
          this.#remember(key, listedAt);
          changes.push(change(key, entry));
        }
        for (const key of next.keys()) this.#tombstones.delete(key);
        this.#entries = next;
        // A ConfigMap created and deleted while nobody watched left no trace: its deletion can
        // be as late as this list.
        this.#absentSince = listedAt;
        return changes;
      },
    };
  }

  /** The entry for an observation, and whether the content changed; undefined when nothing did. */
  #entryFor(cm: ConfigMapLike, previous: ConfigMapEntry | undefined): { entry: ConfigMapEntry; changed: boolean } | undefined {
    const resourceVersion = cm.metadata?.resourceVersion ?? '';
    if (previous && previous.resourceVersion === resourceVersion) return undefined;
    const content = configMapContent(cm);
    const same = previous !== undefined && sameContent(previous.content, content);
    const entry: ConfigMapEntry = Object.freeze({
      namespace: cm.metadata?.namespace ?? '',
      name: cm.metadata?.name ?? '',
      resourceVersion,
      // Equal content keeps the previous Map (shared, not doubled) and the previous version.
      contentVersion: same ? previous.contentVersion : parseResourceVersion(resourceVersion),
      content: same ? previous.content : content,
    });
    return { entry, changed: !same };
  }

  #remember(key: ConfigMapKey, deletedAt: bigint | undefined): void {
    this.#tombstones.delete(key);
    this.#tombstones.set(key, deletedAt);
    if (this.#tombstones.size <= MAX_TOMBSTONES) return;
    const [oldestKey, oldestAt] = this.#tombstones.entries().next().value as [ConfigMapKey, bigint | undefined];
    this.#tombstones.delete(oldestKey);
    // Forgetting a deletion raises the bound for every ConfigMap the store does not know.
    this.#absentSince = this.#absentSince === undefined || oldestAt === undefined
      ? undefined
      : oldestAt > this.#absentSince ? oldestAt : this.#absentSince;
  }
}

function change(key: ConfigMapKey, entry: ConfigMapEntry): ConfigMapChange {
  return { key, namespace: entry.namespace, name: entry.name };
}

export function sameContent(a: ConfigMapContent, b: ConfigMapContent): boolean {
  if (a.keyDigests.size !== b.keyDigests.size) return false;
  for (const [k, v] of a.keyDigests) if (b.keyDigests.get(k) !== v) return false;
  return true;
}
