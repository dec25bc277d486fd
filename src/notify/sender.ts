// Delivers rendered notifications to one webhook, in the background (docs/notifications.md,
// "Delivery"): a bounded queue (the oldest waiting message is dropped when full), one request at
// a time in order, a deadline per request, retries with exponential backoff and jitter (a 429's
// or 503's Retry-After is the wait), and a stop that gives up within its grace period. Nothing
// here can delay a roll: enqueue() only appends. The URL is never logged; errors are stripped
// of it.
import type { Logger } from 'winston';
import type { NotifyFormat, NotifyTarget } from '../config/notify-targets.ts';
import { parseRetryAfter } from '../kube/api-error.ts';
import { ExponentialBackoff } from '../time/backoff.ts';
import type { Clock, Timer } from '../time/clock.ts';

export type Outcome = 'sent' | 'failed' | 'dropped';

/** One POST: the status and Retry-After of the answer, or a rejection (network, timeout). */
export type Post = (url: string, body: string, signal: AbortSignal) => Promise<{ status: number; retryAfter: string | null }>;

export interface SenderOptions {
  clock: Clock;
  log: Logger;
  /** Default: Node's global fetch. */
  post?: Post;
  onOutcome?: (format: NotifyFormat, outcome: Outcome) => void;
  /** Messages waiting at most (default 100). */
  queueLimit?: number;
  /** One request's deadline (default 10 s). */
  timeoutMs?: number;
  /** Tries per message, the first included (default 6: about a minute of backoff). */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** A Retry-After of 0 (or a date past) still waits this long: never a hot loop. */
const MIN_RETRY_AFTER_MS = 500;

export const DEFAULTS = { queueLimit: 100, timeoutMs: 10_000, maxAttempts: 6, baseDelayMs: 1_000, maxDelayMs: 30_000 } as const;

/** Node's fetch; a redirect is an answer (3xx: not delivered), never followed to another place with the body. */
export const fetchPost: Post = async (url, body, signal) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal, redirect: 'manual' });
  // The answer's body is not read: nothing in it is needed, and a webhook may echo what it got.
  await res.body?.cancel().catch(() => undefined);
  return { status: res.status, retryAfter: res.headers.get('retry-after') };
};

export class TargetSender {
  readonly #target: NotifyTarget;
  readonly #opts: SenderOptions & Required<Pick<SenderOptions, keyof typeof DEFAULTS>>;
  readonly #post: Post;
  readonly #log: Logger;
  readonly #queue: string[] = [];
  #running: Promise<void> | undefined;
  /** Aborted by stop() past its grace: the request in flight is cancelled and nothing more is tried. */
  readonly #giveUp = new AbortController();
  #wake: (() => void) | undefined;

  constructor(target: NotifyTarget, opts: SenderOptions) {
    this.#target = target;
    this.#opts = { ...DEFAULTS, ...opts };
    this.#post = opts.post ?? fetchPost;
    this.#log = opts.log.child({ component: 'notify', target: target.label });
  }

  get format(): NotifyFormat {
    return this.#target.format;
  }

  /** Messages waiting (the one in flight not counted). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Queues a rendered body; never waits. */
  enqueue(body: string): void {
    if (this.#giveUp.signal.aborted) return this.#outcome('dropped');
    if (this.#queue.length >= this.#opts.queueLimit) {
      this.#queue.shift();
      this.#outcome('dropped');
    }
    this.#queue.push(body);
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
  }

  /** Delivers what it can within `graceMs`, then aborts the rest (counted dropped). */
  async stop(graceMs: number): Promise<void> {
    const timer = this.#opts.clock.after(graceMs, () => {
      this.#giveUp.abort();
      this.#wake?.();
    });
    try {
      await this.#running;
    } finally {
      timer.cancel();
      this.#giveUp.abort();
    }
  }

  async #drain(): Promise<void> {
    for (let body = this.#queue.shift(); body !== undefined; body = this.#queue.shift()) {
      if (this.#giveUp.signal.aborted) {
        this.#outcome('dropped');
        continue;
      }
      this.#outcome(await this.#deliver(body));
    }
  }

  async #deliver(body: string): Promise<Outcome> {
    const { clock, maxAttempts } = this.#opts;
    const backoff = new ExponentialBackoff({ baseMs: this.#opts.baseDelayMs, maxMs: this.#opts.maxDelayMs, jitter: 'half', random: () => clock.random() });
    for (let attempt = 1; ; attempt++) {
      const answer = await this.#attempt(body);
      if (answer.ok) return 'sent';
      if (this.#giveUp.signal.aborted) return 'dropped';
      if (!answer.retryable || attempt >= maxAttempts) {
        this.#log.warn('notification not delivered', { attempts: attempt, status: answer.status, error: answer.error });
        return 'failed';
      }
      // The server's own "not before" wins over the backoff (Slack and Google Chat send it with 429).
      const wait = answer.retryAfterMs === undefined ? backoff.next() : Math.max(MIN_RETRY_AFTER_MS, answer.retryAfterMs);
      this.#log.debug('notification not delivered yet: retrying', { attempt, status: answer.status, retryInMs: Math.round(wait), error: answer.error });
      await this.#sleep(wait);
      if (this.#giveUp.signal.aborted) return 'dropped';
    }
  }

  async #attempt(body: string): Promise<{ ok: boolean; retryable: boolean; status?: number; retryAfterMs?: number; error?: string }> {
    const { clock, timeoutMs } = this.#opts;
    const deadline = new AbortController();
    const timer: Timer = clock.after(timeoutMs, () => deadline.abort());
    const signal = AbortSignal.any([deadline.signal, this.#giveUp.signal]);
    try {
      const { status, retryAfter } = await this.#post(this.#target.url(), body, signal);
      if (status >= 200 && status < 300) return { ok: true, retryable: false, status };
      const retryable = status === 408 || status === 429 || status >= 500;
      const after = retryable ? parseRetryAfter(retryAfter, clock.wallNow()) : undefined;
      return { ok: false, retryable, status, ...(after === undefined ? {} : { retryAfterMs: after }) };
    } catch (err) {
      return { ok: false, retryable: true, error: deadline.signal.aborted ? `no answer within ${timeoutMs} ms` : this.#describe(err) };
    } finally {
      timer.cancel();
    }
  }

  /** Waits `ms` on the clock; stop() past its grace wakes it. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#opts.clock.after(ms, () => {
        this.#wake = undefined;
        resolve();
      });
      this.#wake = () => {
        timer.cancel();
        this.#wake = undefined;
        resolve();
      };
    });
  }

  /** A network error's message and causes, with the URL (and its path and query alone) taken out. */
  #describe(err: unknown): string {
    const parts: string[] = [];
    let e: unknown = err;
    for (let depth = 0; depth < 3 && e instanceof Error; depth++) {
      if (e.message) parts.push(e.message);
      e = e.cause;
    }
    let text = parts.join(': ') || 'request failed';
    const url = new URL(this.#target.url());
    for (const secret of [url.href, `${url.pathname}${url.search}`, url.search.slice(1), url.pathname]) {
      if (secret.length > 1) text = text.replaceAll(secret, '…');
    }
    return text;
  }

  #outcome(outcome: Outcome): void {
    this.#opts.onOutcome?.(this.#target.format, outcome);
  }
}
