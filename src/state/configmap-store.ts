// What is retained per ConfigMap: its per-key digests and resourceVersion — never its data.
// Memory grows with the number of ConfigMaps and keys, not with the size of their values.
import { configMapContent } from '../core/digest.ts';
import type { ConfigMapContent } from '../core/types.ts';

export interface ConfigMapLike {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  data?: Record<string, string> | null;
  binaryData?: Record<string, string> | null;
}

interface ConfigMapEntry {
  resourceVersion: string;
  content: ConfigMapContent;
}

export class ConfigMapStore {
  readonly #entries = new Map<string, ConfigMapEntry>();

  get size(): number {
    return this.#entries.size;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  content(key: string): ConfigMapContent | undefined {
    return this.#entries.get(key)?.content;
  }

  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /** Returns true when the consumed content changed (created, or any key's digest differs). */
  upsert(cm: ConfigMapLike): boolean {
    const key = `${cm.metadata?.namespace ?? ''}/${cm.metadata?.name ?? ''}`;
    const previous = this.#entries.get(key);
    const rv = cm.metadata?.resourceVersion ?? '';
    if (previous && previous.resourceVersion === rv) return false;
    const content = configMapContent(cm);
    // Keep the previous Map when the content is equal, so equal content is shared, not doubled.
    const same = previous !== undefined && sameContent(previous.content, content);
    this.#entries.set(key, { resourceVersion: rv, content: same ? previous.content : content });
    return !same;
  }

  /** Returns true when it was known. */
  remove(key: string): boolean {
    return this.#entries.delete(key);
  }
}

export function sameContent(a: ConfigMapContent, b: ConfigMapContent): boolean {
  if (a.keyDigests.size !== b.keyDigests.size) return false;
  for (const [k, v] of a.keyDigests) if (b.keyDigests.get(k) !== v) return false;
  return true;
}
