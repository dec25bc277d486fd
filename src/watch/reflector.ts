// List-then-watch with its own supervision, in the manner of client-go's Reflector:
// - paginated list (bounded memory per page) into a fresh ListBuilder, committed as one step
//   when the last page arrives, so a relist swaps the store atomically and an abandoned list
//   (a failed page) leaves the store as it was;
// - then a watch from the list's resourceVersion, with bookmarks;
// - 410 Gone (from the watch or an expired continue token) → relist;
// - any other error → retry after a jittered exponential backoff (or the server's Retry-After,
//   when longer), watching again from the last resourceVersion seen, so that nothing is missed
//   and nothing is listed twice;
// - a watchdog: a watch silent for longer than `watchdogMs` (no event, no bookmark) is cut
//   and re-established at once;
// - `synced` resolves after the first complete list.
// The reflector retains nothing but the resourceVersion; the sink keeps what it needs.
import type { Logger } from 'winston';
import { describeError, httpStatus, retryAfterMs } from '../kube/api-error.ts';
import type { ClusterApi, KubeObject, ResourceType, Selectors, WatchEvent } from '../kube/cluster-api.ts';
import { OversizedObjectError } from '../kube/json-stream.ts';
import { type Clock, delay, type Timer } from '../time/clock.ts';
import { ExponentialBackoff } from '../time/backoff.ts';

/** Receives one complete list, page by page; nothing is visible until commit(). */
export interface ListBuilder<T> {
  add(obj: T): void;
  /** The list is complete at `resourceVersion`: replace the store's contents with it. */
  commit(resourceVersion: string): void;
}

export interface ReflectorSink<T> {
  beginList(): ListBuilder<T>;
  /**
   * A watch event: the object as written at its resourceVersion. `created` is true for ADDED
   * (the object was created at that version), false for MODIFIED.
   */
  upsert(obj: T, created: boolean): void;
  remove(obj: T): void;
  /** A bookmark: the watch has shown everything up to this resourceVersion. */
  progress?(resourceVersion: string): void;
}

export interface ReflectorHooks {
  onRelist?(reason: 'initial' | 'gone' | 'error'): void;
  onWatchRestart?(reason: 'closed' | 'error' | 'watchdog'): void;
  onSynced?(): void;
  /** The list or watch was refused with 403: the caller says so once; the reflector keeps retrying. */
  onForbidden?(error: string): void;
}

export interface ReflectorOptions extends Selectors {
  type: ResourceType;
  namespace: string | undefined;
  api: ClusterApi;
  clock: Clock;
  log: Logger;
  pageSize: number;
  /** Longer than the apiserver's bookmark interval (about a minute), or healthy quiet watches are cut. */
  watchdogMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  hooks?: ReflectorHooks;
}

/** A watch that lived this long was healthy: the failure after it starts a fresh backoff. */
const HEALTHY_WATCH_MS = 10_000;

class GoneError extends Error {}
class WatchdogError extends Error {}

export class Reflector<T extends KubeObject> {
  readonly #opts: ReflectorOptions;
  readonly #sink: ReflectorSink<T>;
  readonly #backoff: ExponentialBackoff;
  readonly #stop = new AbortController();
  #resourceVersion: string | undefined;
  #abortWatch: (() => void) | undefined;
  /** When the current (or last) watch connection opened; undefined once it has been accounted for. */
  #watchStartedAt: number | undefined;
  /** Events (bookmarks included) the current watch delivered and the store applied. */
  #watchEvents = 0;
  #synced = false;
  #resolveSynced!: () => void;
  readonly synced: Promise<void> = new Promise((resolve) => (this.#resolveSynced = resolve));

  constructor(opts: ReflectorOptions, sink: ReflectorSink<T>) {
    this.#opts = opts;
    this.#sink = sink;
    // Half jitter keeps at least half of each step: replicas restarted together spread out, and
    // no retry comes in a hot loop.
    this.#backoff = new ExponentialBackoff({ baseMs: opts.backoffInitialMs ?? 500, maxMs: opts.backoffMaxMs ?? 30_000, jitter: 'half', random: () => opts.clock.random() });
  }

  /** The resourceVersion the next watch resumes from (undefined: the next step is a list). */
  get resourceVersion(): string | undefined {
    return this.#resourceVersion;
  }

  /** Runs until stop(); never throws. */
  async run(): Promise<void> {
    const { clock, log, type } = this.#opts;
    let relistReason: 'initial' | 'gone' | 'error' = 'initial';
    let goneInARow = 0;
    while (!this.#stop.signal.aborted) {
      try {
        if (this.#resourceVersion === undefined) {
          this.#opts.hooks?.onRelist?.(relistReason);
          await this.#list();
        }
        const { lifetimeMs, events } = await this.#watchOnce();
        goneInARow = 0;
        if (!this.#stop.signal.aborted) this.#opts.hooks?.onWatchRestart?.('closed');
        // A watch that lived a while was healthy: start the next failure's backoff afresh. One
        // the server closed at once, with nothing in it, is treated as a failure (client-go's
        // "very short watch"), so that a misbehaving server or proxy is not hammered.
        this.#watchStartedAt = undefined;
        if (lifetimeMs > HEALTHY_WATCH_MS) this.#backoff.forget();
        else if (lifetimeMs < 1000 && events === 0) {
          const wait = this.#backoff.next();
          log.warn('watch closed at once: retrying with backoff', { resource: type.plural, retryInMs: Math.round(wait) });
          await delay(clock, wait, this.#stop.signal);
        }
      } catch (err) {
        if (this.#stop.signal.aborted) break;
        if (err instanceof GoneError || httpStatus(err) === 410) {
          log.info('resourceVersion too old (410 Gone): relisting', { resource: type.plural });
          this.#resourceVersion = undefined;
          relistReason = 'gone';
          // A relist answered by 410 again (a watch cache too small for the write rate) waits.
          if (++goneInARow > 1) await delay(clock, this.#backoff.next(), this.#stop.signal);
          continue;
        }
        // A watch that had been healthy for a while and then broke (a reset, a proxy or load
        // balancer cutting it) is a first failure, not the next one of an old streak: without
        // this, a streak from hours ago made the reconnect wait up to backoffMaxMs, and every
        // change meanwhile waited with it (found by the fault matrix's reset test). A watch that
        // delivered an event has shown the server and the path to it working, however young:
        // after a streak of faults that ended, a reset a few seconds later waited 30 s (CI).
        if (this.#watchStartedAt !== undefined && (clock.now() - this.#watchStartedAt > HEALTHY_WATCH_MS || this.#watchEvents > 0)) {
          this.#backoff.forget();
        }
        this.#watchStartedAt = undefined;
        const watchdog = err instanceof WatchdogError;
        const forbidden = httpStatus(err) === 403 && this.#opts.hooks?.onForbidden !== undefined;
        if (this.#resourceVersion === undefined) relistReason = 'error';
        else this.#opts.hooks?.onWatchRestart?.(watchdog ? 'watchdog' : 'error');
        if (err instanceof OversizedObjectError) {
          // Nothing past the line was read, and the line was never parsed: the watch's position is
          // lost, so the next step is a list (after the backoff below), as after 410.
          this.#resourceVersion = undefined;
          relistReason = 'error';
        }
        if (forbidden) {
          this.#opts.hooks?.onForbidden?.(describeError(err));
          // Once allowed again, start with a list: its completion is what says "usable" again.
          this.#resourceVersion = undefined;
        }
        // A server that said when to come back (Retry-After, with 429 and 503) is not asked
        // sooner: the backoff is the floor, its answer the wait when longer.
        const wait = watchdog ? 0 : Math.max(this.#backoff.next(), retryAfterMs(err) ?? 0);
        // A refusal is reported once by the hook's owner; the retries are detail.
        log.log(forbidden ? 'debug' : 'warn', watchdog ? 'watch silent past the watchdog: reconnecting' : 'list/watch failed: retrying', {
          resource: type.plural, error: describeError(err), retryInMs: Math.round(wait),
        });
        await delay(clock, wait, this.#stop.signal);
      }
    }
  }

  stop(): void {
    this.#stop.abort();
    this.#abortWatch?.();
  }

  async #list(): Promise<void> {
    const { api, type, namespace, pageSize } = this.#opts;
    const builder = this.#sink.beginList();
    let continueToken: string | undefined;
    let resourceVersion = '';
    let count = 0;
    do {
      // Items go into the builder as they are parsed: a page is never held whole.
      const page = await api.listPage<T>(type, {
        namespace, limit: pageSize, continueToken, signal: this.#stop.signal, ...this.#selectors(),
      }, (item) => {
        builder.add(item);
        count++;
      });
      continueToken = page.continueToken;
      resourceVersion = page.resourceVersion;
      if (this.#stop.signal.aborted) return; // abandoned: the store keeps what it had
    } while (continueToken);
    builder.commit(resourceVersion);
    this.#resourceVersion = resourceVersion;
    this.#backoff.forget();
    this.#opts.hooks?.onSynced?.();
    if (!this.#synced) {
      this.#synced = true;
      this.#opts.log.info('initial list complete', { resource: type.plural, objects: count, resourceVersion });
      this.#resolveSynced();
    }
  }

  /** One watch connection; resolves with its lifetime and event count when the server closes it. */
  async #watchOnce(): Promise<{ lifetimeMs: number; events: number }> {
    const { api, type, namespace, clock } = this.#opts;
    const started = clock.now();
    this.#watchStartedAt = started;
    this.#watchEvents = 0;
    const watchdogMs = this.#opts.watchdogMs ?? 150_000;
    let failure: Error | undefined;
    let watchdog: Timer | undefined;
    let events = 0;
    // client-go's choice: a server-side timeout of 5-10 min spreads reconnections.
    const timeoutSeconds = 300 + Math.floor(this.#opts.clock.random() * 300);
    const stream = api.watch<T>(type, { namespace, resourceVersion: this.#resourceVersion ?? '', timeoutSeconds, ...this.#selectors() }, (event) => {
      if (failure) return;
      events++;
      armWatchdog();
      try {
        this.#apply(event);
        this.#watchEvents = events;
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
        stream.abort();
      }
    });
    const armWatchdog = () => {
      watchdog?.cancel();
      watchdog = clock.after(watchdogMs, () => {
        failure = new WatchdogError(`no event or bookmark for ${watchdogMs} ms`);
        stream.abort();
      });
    };
    this.#abortWatch = () => stream.abort();
    if (this.#stop.signal.aborted) stream.abort();
    armWatchdog();
    try {
      await stream.ended;
    } finally {
      watchdog?.cancel();
      this.#abortWatch = undefined;
    }
    if (failure) throw failure;
    return { lifetimeMs: clock.now() - started, events };
  }

  #selectors(): Selectors {
    return { fieldSelector: this.#opts.fieldSelector, labelSelector: this.#opts.labelSelector };
  }

  #apply(event: WatchEvent<T>): void {
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
        this.#sink.upsert(event.object, event.type === 'ADDED');
        break;
      case 'DELETED':
        this.#sink.remove(event.object);
        break;
      case 'BOOKMARK':
        if (event.object.metadata?.resourceVersion) this.#sink.progress?.(event.object.metadata.resourceVersion);
        break;
      case 'ERROR':
        if (event.object.code === 410) throw new GoneError('410 Gone');
        throw new Error(`watch error event: ${watchErrorText(event.object)}`);
      default:
        return;
    }
    const rv = event.object.metadata?.resourceVersion;
    if (rv) this.#resourceVersion = rv;
  }
}

/**
 * What an ERROR event says: a Status's message (the apiserver's own words), else only the shape
 * of what came — an ERROR carrying anything else (a proxy's or a broken server's object) may be a
 * Secret, and is never quoted.
 */
export function watchErrorText(object: unknown): string {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    return `not a Status (${Array.isArray(object) ? 'an array' : object === null ? 'null' : typeof object}): not quoted`;
  }
  const o = object as { kind?: unknown; message?: unknown; code?: unknown; status?: unknown };
  const isStatus = o.kind === 'Status' || (o.kind === undefined && o.status === 'Failure' && typeof o.code === 'number');
  if (isStatus && typeof o.message === 'string') return o.message.slice(0, 500);
  const kind = typeof o.kind === 'string' && /^[A-Za-z][A-Za-z0-9]{0,62}$/.test(o.kind) ? `kind ${o.kind}` : 'no kind';
  const code = typeof o.code === 'number' ? `, code ${o.code}` : '';
  return `not a Status (an object of ${kind}, ${Object.keys(o).length} fields${code}): not quoted`;
}
