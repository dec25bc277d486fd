// The oracle's own view of one resource type, cluster-wide: list, then watch from the list's
// resourceVersion, resuming from the last version seen when the stream ends. It talks to the
// apiserver directly (never through the fault proxy) with the harness's admin credentials, so
// the faults injected into the operator do not blind the oracle. A 410 Gone means events were
// lost to the oracle: it relists and counts a gap, which the report shows (the checks of a
// window with a gap are then incomplete).
import type { Kube, WatchEvent } from '../lib/kube.ts';
import type { KubeObject } from './objects.ts';

export type Handler<T> = (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T, seenAt: number) => void;

export class ResourceWatcher<T extends KubeObject> {
  readonly #kube: Kube;
  readonly #path: string;
  readonly #handle: Handler<T>;
  readonly #inScope: (namespace: string) => boolean;
  #rv = '0';
  /** The highest resourceVersion delivered (events and bookmarks). */
  seenRv = 0;
  gaps = 0;
  restarts = 0;
  #stopped = false;
  #stopCurrent: () => void = () => undefined;
  #loop: Promise<void> = Promise.resolve();

  constructor(kube: Kube, collectionPath: string, inScope: (namespace: string) => boolean, handle: Handler<T>) {
    this.#kube = kube;
    this.#path = collectionPath;
    this.#inScope = inScope;
    this.#handle = handle;
  }

  async start(): Promise<void> {
    await this.#list();
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopCurrent();
    await this.#loop;
  }

  async #list(): Promise<void> {
    const res = await this.#kube.requestRetry<{ metadata: { resourceVersion: string }; items: T[] }>('GET', this.#path);
    const at = Date.now();
    for (const o of res.body.items) if (this.#inScope(o.metadata?.namespace ?? '')) this.#handle('ADDED', o, at);
    this.#rv = res.body.metadata.resourceVersion;
    this.seenRv = Math.max(this.seenRv, Number(this.#rv));
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      let gone = false;
      const w = this.#kube.watch<T>(
        `${this.#path}?watch=1&allowWatchBookmarks=true&timeoutSeconds=600&resourceVersion=${this.#rv}`,
        (e: WatchEvent<T>) => {
          const at = Date.now();
          if (e.type === 'ERROR') {
            gone = true;
            return;
          }
          const rv = e.object.metadata?.resourceVersion;
          if (rv) {
            this.#rv = rv;
            this.seenRv = Math.max(this.seenRv, Number(rv));
          }
          if (e.type === 'BOOKMARK') return;
          if (this.#inScope(e.object.metadata?.namespace ?? '')) this.#handle(e.type, e.object, at);
        },
      );
      this.#stopCurrent = w.stop;
      await w.ended;
      if (this.#stopped) return;
      this.restarts++;
      if (gone) {
        // Events between the last one seen and the relist are lost to the oracle.
        this.gaps++;
        await this.#list().catch(() => undefined);
      }
    }
  }
}
