// What is retained per config object (one store per kind: ConfigMaps, Secrets): its keyed
// per-key digests, its resourceVersion and the version of its last content change — never its
// data. Memory grows with the number of objects and keys, not with the size of their values.
//
// The store owns its entries: they are immutable values that only the store replaces, one
// named transition per kind of observation (a watch event, a deletion, a complete list). Each
// transition reports the content changes it saw, for the controller to fan out.
//
// Longer than 300 lines: the store and its transitions are one value-owner; what a relist
// does to each object's history needs every transition beside it.
import { DEFAULT_MAX_KEYS_PER_OBJECT, type DigestKey, sourceContent } from '../core/digest.ts';
import { type SourceKey, sourceKey, sourceKeyOf } from '../core/keys.ts';
import { RELEASE_ANNOTATION } from '../core/annotations.ts';
import { type AcceptedPeers, isMatched, NO_PEERS, readIgnore } from '../core/peer-annotations.ts';
import { BY_RESOURCE_VERSION, type Dater } from '../core/ordering.ts';
import { changedAt, contentsOver, type History, listedAt as listedAtVersion } from './source-history.ts';
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
  /** Its content now: per key, a keyed digest. Kept as it is even while ignored (the decision leaves it out). */
  readonly content: SourceContent;
  /** What its content was, by version, as far as this process saw it (src/state/source-history.ts). */
  readonly history: History;
  /** config-reload.dev/ignore: its changes roll nothing by themselves (src/core/decide.ts). */
  readonly ignored: boolean;
  /** Reloader's reloader.stakater.com/match: "true": found by workloads that search (src/core/peer-annotations.ts). */
  readonly matched: boolean;
  /** The ignore annotation's value when it is malformed (reported once per value). */
  readonly malformedIgnore: string | undefined;
  /** config-reload.dev/release: the content token whose held waves a person released (src/waves/plan.ts). */
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

/**
 * What the store reads of one observed object: its values, managedFields and other annotations
 * can go as soon as it is read, so that a list holds this, not the objects, until its commit.
 */
interface Observation {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
  /** Digested when read; the entry's own when it has this very resourceVersion. */
  readonly content: SourceContent;
  readonly ignore: ReturnType<typeof readIgnore>;
  readonly matched: boolean;
  readonly release: string | undefined;
}

export interface SourceReplacement {
  add(obj: SourceLike): void;
  /** Swaps the store for the list's contents; returns what changed against the old contents. */
  commit(resourceVersion: string): SourceChange[];
}

/** The key budget of one object (--max-keys-per-object), and who hears of objects over it. */
export interface SourceBudget {
  maxKeys?: number;
  /** An object went over the budget (created so, or grown past it): told once per crossing. */
  onOverBudget?(entry: SourceEntry, keys: number): void;
  /** How many objects of the store are over the budget, told whenever that number changes (a gauge). */
  onOverBudgetCount?(count: number): void;
}

/** Histories of deleted objects kept (a few dozen bytes each); older ones are forgotten. */
const MAX_DELETED = 10_000;

/** contentsOver: the watch has not shown that version yet. */
export const VIEW_BEHIND = Symbol('view behind');

export class SourceStore {
  readonly kind: SourceKind;
  readonly #key: DigestKey;
  #entries = new Map<SourceKey, SourceEntry>();
  /** Histories of objects deleted since (their absence is a content too), oldest first. */
  readonly #deleted = new Map<SourceKey, History>();
  /** Per watch scope (a namespace, '' for all): the last version its view reached (an event or a list). */
  readonly #seen = new Map<string, bigint>();
  /** Per watch scope: its first list's version (the view is continuous from there, but for gaps). */
  readonly #firstListed = new Map<string, bigint>();
  /** No history of a deleted object older than this is kept: absence is known only from here on. */
  #forgottenUntil = 0n;
  #revision = 0;

  readonly #onMalformedIgnore: ((entry: SourceEntry, value: string, reason: string) => void) | undefined;

  readonly #dater: Dater;
  /** The peers' annotations honoured (--accept-annotations): Reloader's ignore switch. */
  readonly #accept: AcceptedPeers;
  readonly #budget: SourceBudget;
  /** The objects over the key budget now. */
  #overBudget = new Set<SourceKey>();

  /**
   * `onMalformedIgnore`: told when an ignore annotation cannot be read (the object is ignored
   * then); `dater`: how observations are dated (src/core/ordering.ts).
   */
  constructor(
    kind: SourceKind, key: DigestKey, onMalformedIgnore?: (entry: SourceEntry, value: string, reason: string) => void, dater: Dater = BY_RESOURCE_VERSION,
    accept: AcceptedPeers = NO_PEERS, budget: SourceBudget = {},
  ) {
    this.kind = kind;
    this.#key = key;
    this.#onMalformedIgnore = onMalformedIgnore;
    this.#dater = dater;
    this.#accept = accept;
    this.#budget = budget;
  }

  /** How many objects are over the key budget (src/core/digest.ts) now. */
  get overBudgetCount(): number {
    return this.#overBudget.size;
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

  /** What the object's content was by version, as far as known; undefined: nothing known of it (see contentsOver). */
  history(key: SourceKey): History | undefined {
    return this.#entries.get(key)?.history ?? this.#deleted.get(key);
  }

  /**
   * Every content the object may have had in [lo, hi], undefined when that is not known, or
   * VIEW_BEHIND when the watch has not shown `hi` yet (a later event may still say what the
   * object held then; `assumeCaughtUp` reads the view as it is). An object never seen is absent
   * from its scope's first list on: one created and deleted again inside a relist's gap is the
   * one thing taken on trust (a quiet watch shows no version, so every gap would otherwise span
   * everything since the last event, and every absent optional object would be unknown).
   */
  contentsOver(
    key: SourceKey, namespace: string, lo: bigint, hi: bigint, assumeCaughtUp = false,
  ): Array<SourceContent | undefined> | undefined | typeof VIEW_BEHIND {
    const scope = this.#scopeOf(namespace);
    const seen = this.#seen.get(scope);
    if (seen === undefined) return undefined;
    if (hi > seen && !assumeCaughtUp) return VIEW_BEHIND;
    const history = this.history(key);
    if (history) return contentsOver(history, lo, hi);
    const first = this.#firstListed.get(scope);
    if (first === undefined || lo < first || lo < this.#forgottenUntil) return undefined;
    return [undefined];
  }

  /** The last version the view of `namespace`'s scope reached (an event, a list, a bookmark), as dated. */
  viewAt(namespace: string): bigint | undefined {
    return this.#seen.get(this.#scopeOf(namespace));
  }

  /** The version of the first list of the object's scope: its view starts there (undefined: not listed yet). */
  startedAt(namespace: string): bigint | undefined {
    return this.#firstListed.get(this.#scopeOf(namespace));
  }

  /** A bookmark: the watch of `scope` has shown everything up to `resourceVersion`. */
  progress(resourceVersion: string, scope = ''): void {
    this.#saw(scope, this.#dater.event(resourceVersion));
  }

  #scopeOf(namespace: string): string {
    return this.#seen.has(namespace) || this.#firstListed.has(namespace) ? namespace : '';
  }

  /** A watch event (ADDED or MODIFIED), from the watch of `scope` (a namespace, '' for all). */
  observe(obj: SourceLike, scope = ''): SourceChange | undefined {
    const key = sourceKeyOf(this.kind, obj);
    const version = this.#dater.event(obj.metadata?.resourceVersion);
    this.#saw(scope, version);
    const previous = this.#entries.get(key);
    const next = this.#entryFor(this.#observation(obj, previous), previous, (content, same) => (same && previous ? previous.history
      : version === undefined ? Object.freeze([]) : changedAt(previous?.history ?? this.#deleted.get(key) ?? this.#absence(scope), version, content)));
    if (next === undefined) return undefined;
    this.#entries.set(key, next.entry);
    this.#countOverBudget(key, next.entry);
    this.#revision++;
    this.#deleted.delete(key);
    if (next.changed) return change(key, next.entry, previous?.content, next.entry.content);
    return next.released ? change(key, next.entry, next.entry.content, next.entry.content, false) : undefined;
  }

  /** A watch DELETED event: its resourceVersion is the deletion's. */
  observeDeleted(obj: SourceLike, scope = ''): SourceChange | undefined {
    const key = sourceKeyOf(this.kind, obj);
    const version = this.#dater.event(obj.metadata?.resourceVersion);
    this.#saw(scope, version);
    const previous = this.#entries.get(key);
    if (!previous) return undefined;
    this.#entries.delete(key);
    this.#countOverBudget(key, undefined);
    this.#revision++;
    this.#remember(key, version === undefined ? Object.freeze([]) : changedAt(previous.history, version, undefined));
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
    const scope = namespace ?? '';
    // Each item is digested as it is read (a page at a time, between reads), not all at commit:
    // the commit is one turn of the event loop, and a large store's digests there blocked it
    // for seconds (bench/synthetic: about 4 s at 100,000 objects).
    const listed = new Map<SourceKey, Observation>();
    return {
      add: (obj) => {
        const key = sourceKeyOf(this.kind, obj);
        listed.set(key, this.#observation(obj, this.#entries.get(key)));
      },
      commit: (resourceVersion) => {
        const listedAt = this.#dater.list(resourceVersion);
        const seenUntil = this.#seen.get(scope);
        const changes: SourceChange[] = [];
        const next = new Map<SourceKey, SourceEntry>();
        for (const [key, entry] of this.#entries) {
          if (namespace !== undefined && entry.namespace !== namespace) next.set(key, entry);
          else if (!listed.has(key)) {
            this.#remember(key, listedAt === undefined ? Object.freeze([]) : listedAtVersion(entry.history, listedAt, undefined, seenUntil, false));
            changes.push(change(key, entry, entry.content, undefined));
          }
        }
        for (const [key, seen] of listed) {
          const previous = this.#entries.get(key);
          const prior = previous?.history ?? this.#deleted.get(key) ?? this.#absence(scope);
          const writtenAt = this.#dater.item(seen.resourceVersion, listedAt);
          const built = this.#entryFor(seen, previous, (content, same) => (writtenAt === undefined ? Object.freeze([])
            : listedAtVersion(prior, writtenAt, content, seenUntil, same && previous !== undefined)));
          const entry = built?.entry ?? previous;
          if (!entry) continue;
          next.set(key, entry);
          this.#deleted.delete(key);
          // Written in the gap with its content back as it was: what it held there is unknown
          // now, so its consumers look again (a template written in the gap may run neither).
          if (built?.changed || (built && previous && built.entry.history !== previous.history)) changes.push(change(key, entry, previous?.content, entry.content));
          else if (built?.released) changes.push(change(key, entry, entry.content, entry.content, false));
        }
        // Deleted objects still absent stay absent: as for objects never seen (contentsOver).
        this.#entries = next;
        this.#recountOverBudget();
        this.#revision++;
        if (listedAt !== undefined) {
          if (!this.#firstListed.has(scope)) this.#firstListed.set(scope, listedAt);
          this.#saw(scope, listedAt);
        }
        return changes;
      },
    };
  }

  /**
   * The namespace is no longer watched (it left --namespace-selector): everything of it goes —
   * entries, histories of deleted objects, its view — and no change is reported. Watched again,
   * it starts from its first list as if never seen (docs/namespace-selection.md).
   */
  dropNamespace(namespace: string): void {
    const prefix = sourceKey(this.kind, namespace, '');
    for (const [key, entry] of this.#entries) if (entry.namespace === namespace) this.#entries.delete(key);
    this.#recountOverBudget();
    for (const key of this.#deleted.keys()) if (key.startsWith(prefix)) this.#deleted.delete(key);
    this.#seen.delete(namespace);
    this.#firstListed.delete(namespace);
    this.#revision++;
  }

  /** The history of an object never seen: absent from the scope's first list on (see contentsOver). */
  #absence(scope: string): History | undefined {
    const first = this.#firstListed.get(scope);
    if (first === undefined) return undefined;
    const from = first > this.#forgottenUntil ? first : this.#forgottenUntil;
    return Object.freeze([Object.freeze({ from, until: undefined, content: undefined })]);
  }

  #countOverBudget(key: SourceKey, entry: SourceEntry | undefined): void {
    const before = this.#overBudget.size;
    if (entry?.content.overBudget) this.#overBudget.add(key);
    else this.#overBudget.delete(key);
    if (this.#overBudget.size !== before) this.#budget.onOverBudgetCount?.(this.#overBudget.size);
  }

  #recountOverBudget(): void {
    const before = this.#overBudget.size;
    this.#overBudget = new Set([...this.#entries].filter(([, e]) => e.content.overBudget).map(([k]) => k));
    if (this.#overBudget.size !== before) this.#budget.onOverBudgetCount?.(this.#overBudget.size);
  }

  #saw(scope: string, version: bigint | undefined): void {
    const seen = this.#seen.get(scope);
    if (version !== undefined && (seen === undefined || version > seen)) this.#seen.set(scope, version);
  }

  /**
   * The entry for an observation, and whether the content changed; undefined when nothing did.
   * `historyFor(content, same)`: the history the new entry carries.
   */
  /** What the store reads of `obj`; digested unless `current` (its entry now) has its very version. */
  #observation(obj: SourceLike, current: SourceEntry | undefined): Observation {
    const resourceVersion = obj.metadata?.resourceVersion ?? '';
    const annotations = obj.metadata?.annotations;
    return {
      namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '', uid: obj.metadata?.uid ?? '', resourceVersion,
      content: current !== undefined && current.resourceVersion === resourceVersion ? current.content
        : sourceContent(this.kind, obj, this.#key, this.#budget.maxKeys ?? DEFAULT_MAX_KEYS_PER_OBJECT),
      ignore: readIgnore(annotations, this.#accept),
      matched: isMatched(annotations),
      release: annotations?.[RELEASE_ANNOTATION]?.trim() || undefined,
    };
  }

  #entryFor(
    seen: Observation, previous: SourceEntry | undefined, historyFor: (content: SourceContent, same: boolean) => History,
  ): { entry: SourceEntry; changed: boolean; released: boolean } | undefined {
    const { resourceVersion, ignore } = seen;
    if (previous && previous.resourceVersion === resourceVersion) return undefined;
    const fresh = seen.content;
    const same = previous !== undefined && sameContent(previous.content, fresh);
    // Equal content keeps the previous Map (shared, not doubled).
    const content = same ? previous.content : fresh;
    const entry: SourceEntry = Object.freeze({
      kind: this.kind,
      namespace: seen.namespace,
      name: seen.name,
      uid: seen.uid,
      resourceVersion,
      content,
      history: historyFor(content, same),
      ignored: ignore.ignored,
      matched: seen.matched,
      malformedIgnore: ignore.malformed?.value,
      release: seen.release,
    });
    if (fresh.overBudget && !previous?.content.overBudget) this.#budget.onOverBudget?.(entry, fresh.overBudget.keys);
    if (ignore.malformed && previous?.malformedIgnore !== ignore.malformed.value) {
      this.#onMalformedIgnore?.(entry, ignore.malformed.value, ignore.malformed.reason);
    }
    // An ignore switch turned on or off changes what decisions leave out: its consumers look again.
    const changed = !same || (previous !== undefined && (previous.ignored !== entry.ignored || previous.matched !== entry.matched));
    return { entry, changed, released: previous !== undefined && previous.release !== entry.release };
  }

  #remember(key: SourceKey, history: History): void {
    this.#deleted.delete(key);
    this.#deleted.set(key, history);
    if (this.#deleted.size <= MAX_DELETED) return;
    const [oldest, forgotten] = this.#deleted.entries().next().value as [SourceKey, History];
    this.#deleted.delete(oldest);
    // What it held is forgotten: absence is known only from its deletion on, for every object without a history.
    const until = forgotten.at(-1)?.from;
    if (until !== undefined && until > this.#forgottenUntil) this.#forgottenUntil = until;
  }
}

function change(
  key: SourceKey, entry: SourceEntry, before: SourceContent | undefined, after: SourceContent | undefined, content = true,
): SourceChange {
  return { key, kind: entry.kind, namespace: entry.namespace, name: entry.name, before, after, content };
}

export function sameContent(a: SourceContent, b: SourceContent): boolean {
  if (a.keyDigests.size !== b.keyDigests.size) return false;
  for (const [k, v] of a.keyDigests) if (b.keyDigests.get(k) !== v) return false;
  return true;
}
