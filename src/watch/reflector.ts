// List-then-watch with its own supervision, in the manner of client-go's Reflector:
// - paginated initial list (bounded memory per page), then a watch from the list's
//   resourceVersion with bookmarks;
// - 410 Gone (from the watch or an expired continue token) → relist;
// - any other error → retry after a jittered exponential backoff, watching again from the
//   last resourceVersion seen so that nothing is missed and nothing is listed twice;
// - a watchdog: a connection silent for longer than `watchdogMs` (no event, no bookmark) is
//   cut and re-established;
// - `synced` resolves after the first complete list.
// The sink receives objects one by one and keeps only what it needs: the reflector itself
// retains nothing but keys during a list, and nothing at all while watching.
import { type KubeConfig, Watch } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { describeError, httpStatus } from '../kube/api-error.ts';
import { JitteredBackoff } from './backoff.ts';

export interface ObjectMeta {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface ListPage<T> {
  items: T[];
  resourceVersion: string;
  continueToken: string | undefined;
}

export interface ReflectorSink<T> {
  upsert(obj: T): void;
  remove(obj: T): void;
  /** After a complete (re)list: every key not in `seen` was deleted while we were not watching. */
  replaceDone(seen: ReadonlySet<string>): void;
}

export interface ReflectorHooks {
  onRelist?(reason: 'initial' | 'gone' | 'error'): void;
  onWatchRestart?(reason: 'closed' | 'error' | 'watchdog'): void;
  onSynced?(): void;
}

export interface ReflectorOptions<T> {
  resource: string;
  /** One page of the list; the caller wraps the typed client call. */
  listPage(limit: number, continueToken: string | undefined): Promise<ListPage<T>>;
  /** The watch path, e.g. /api/v1/configmaps. */
  watchPath: string;
  kubeConfig: KubeConfig;
  log: Logger;
  pageSize?: number;
  watchdogMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  hooks?: ReflectorHooks;
}

class GoneError extends Error {}

export function objectKey(obj: ObjectMeta): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

export class Reflector<T extends ObjectMeta> {
  readonly #opts: ReflectorOptions<T>;
  readonly #sink: ReflectorSink<T>;
  readonly #backoff: JitteredBackoff;
  readonly #watch: Watch;
  #resourceVersion: string | undefined;
  #stopped = false;
  #abort: AbortController | undefined;
  #wake: (() => void) | undefined;
  #synced = false;
  #resolveSynced!: () => void;
  readonly synced: Promise<void> = new Promise((resolve) => (this.#resolveSynced = resolve));

  constructor(opts: ReflectorOptions<T>, sink: ReflectorSink<T>) {
    this.#opts = opts;
    this.#sink = sink;
    this.#backoff = new JitteredBackoff(opts.backoffInitialMs ?? 500, opts.backoffMaxMs ?? 30_000);
    this.#watch = new Watch(opts.kubeConfig);
    // client-node's Watch aborts a connection that has been silent for requestTimeoutMs: that
    // is exactly a watchdog, so set it to ours instead of its 30 s (shorter than the
    // apiserver's bookmark interval, which would cut healthy quiet watches).
    Object.assign(this.#watch, { requestTimeoutMs: opts.watchdogMs ?? 150_000 });
  }

  get hasSynced(): boolean {
    return this.#synced;
  }

  /** Runs until stop(); never throws. */
  async run(): Promise<void> {
    let relistReason: 'initial' | 'gone' | 'error' = 'initial';
    while (!this.#stopped) {
      try {
        if (this.#resourceVersion === undefined) {
          this.#opts.hooks?.onRelist?.(relistReason);
          await this.#list();
          this.#backoff.reset();
        }
        const watchedFor = await this.#watchOnce();
        // A watch that lived a while was healthy: start the next failure's backoff afresh.
        if (watchedFor > 10_000) this.#backoff.reset();
        this.#opts.hooks?.onWatchRestart?.('closed');
      } catch (err) {
        if (this.#stopped) break;
        if (err instanceof GoneError || httpStatus(err) === 410) {
          this.#opts.log.info('resourceVersion too old (410 Gone): relisting', { resource: this.#opts.resource });
          this.#resourceVersion = undefined;
          relistReason = 'gone';
          continue;
        }
        const watchdog = err instanceof Error && /timeout/i.test(err.message) && this.#resourceVersion !== undefined;
        if (this.#resourceVersion === undefined) relistReason = 'error';
        else this.#opts.hooks?.onWatchRestart?.(watchdog ? 'watchdog' : 'error');
        const delay = watchdog ? 0 : this.#backoff.next();
        this.#opts.log.warn(watchdog ? 'watch silent past the watchdog: reconnecting' : 'list/watch failed: retrying', {
          resource: this.#opts.resource, error: describeError(err), retryInMs: Math.round(delay),
        });
        await this.#sleep(delay);
      }
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#abort?.abort();
    this.#wake?.();
  }

  async #list(): Promise<void> {
    const seen = new Set<string>();
    let token: string | undefined;
    let rv = '';
    do {
      const page = await this.#opts.listPage(this.#opts.pageSize ?? 500, token);
      for (const item of page.items) {
        seen.add(objectKey(item));
        this.#sink.upsert(item);
      }
      token = page.continueToken || undefined;
      rv = page.resourceVersion;
    } while (token && !this.#stopped);
    this.#sink.replaceDone(seen);
    this.#resourceVersion = rv;
    this.#opts.hooks?.onSynced?.();
    if (!this.#synced) {
      this.#synced = true;
      this.#opts.log.info('initial list complete', { resource: this.#opts.resource, objects: seen.size, resourceVersion: rv });
      this.#resolveSynced();
    }
  }

  /** One watch connection; resolves with its lifetime in ms when the server closes it. */
  #watchOnce(): Promise<number> {
    const started = Date.now();
    return new Promise<number>((resolve, reject) => {
      let gone = false;
      let finished = false;
      const finish = (err: unknown) => {
        if (finished) return;
        finished = true;
        if (gone) reject(new GoneError('410 Gone'));
        else if (err && !this.#stopped) reject(err);
        else resolve(Date.now() - started);
      };
      // client-go's choice: a server-side timeout of 5-10 min spreads reconnections.
      const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
      this.#watch.watch(this.#opts.watchPath, {
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
      }, (type: string, obj: T & { code?: number }) => {
        switch (type) {
          case 'ADDED':
          case 'MODIFIED':
            this.#sink.upsert(obj);
            break;
          case 'DELETED':
            this.#sink.remove(obj);
            break;
          case 'BOOKMARK':
            break;
          case 'ERROR':
            if (obj.code === 410) gone = true;
            this.#abort?.abort();
            finish(new Error(`watch error event: ${JSON.stringify(obj).slice(0, 300)}`));
            return;
          default:
            return;
        }
        const rv = obj.metadata?.resourceVersion;
        if (rv) this.#resourceVersion = rv;
      }, finish).then((abort) => {
        this.#abort = abort;
        if (this.#stopped) abort.abort();
      }, finish);
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
