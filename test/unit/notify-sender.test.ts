// Delivery to one webhook (src/notify/sender.ts) on the virtual clock, with a fake POST: retries
// with backoff and jitter, a 429's Retry-After, a request's deadline, the bounded queue, the stop
// that gives up within its grace, and no URL in what it logs.
import { expect } from 'chai';
import { Writable } from 'node:stream';
import winston from 'winston';
import { parseNotifyTargets } from '../../src/config/notify-targets.ts';
import { type Outcome, type Post, TargetSender } from '../../src/notify/sender.ts';
import { silentLog } from '../support/controller-harness.ts';
import { VirtualClock } from '../support/virtual-clock.ts';

const SECRET_PATH = '/services/T000/B000/sEcReTtOkEn';
const TARGET = parseNotifyTargets(`slack+https://hooks.example.test${SECRET_PATH}?x=qUeRySeCrEt`, '--notify-url')[0]!;

interface Call { at: number; body: string; signal: AbortSignal; answer(status: number, retryAfter?: string): void; fail(err: Error): void }

function setup(opts: { queueLimit?: number; log?: winston.Logger } = {}) {
  const clock = new VirtualClock();
  const calls: Call[] = [];
  const outcomes: Outcome[] = [];
  const post: Post = (url, body, signal) => new Promise((resolve, reject) => {
    expect(url).to.equal(TARGET.url());
    signal.addEventListener('abort', () => reject(new Error('aborted')));
    calls.push({ at: clock.now(), body, signal, answer: (status, retryAfter) => resolve({ status, retryAfter: retryAfter ?? null }), fail: reject });
  });
  const sender = new TargetSender(TARGET, {
    clock, log: opts.log ?? silentLog, post, onOutcome: (format, outcome) => {
      expect(format).to.equal('slack');
      outcomes.push(outcome);
    }, ...(opts.queueLimit === undefined ? {} : { queueLimit: opts.queueLimit }),
  });
  /** Runs what an answer queued, then the next timer (the backoff's wait): the next try starts. */
  const next = async () => {
    await clock.advance(0);
    if (clock.nextDue !== undefined) await clock.advance(clock.nextDue - clock.now());
  };
  return { clock, calls, outcomes, sender, next };
}

describe('notifications: delivery', () => {
  it('a 2xx is sent once; messages go one at a time, in order', async () => {
    const { clock, calls, outcomes, sender } = setup();
    sender.enqueue('one');
    sender.enqueue('two');
    await clock.advance(0);
    expect(calls.map((c) => c.body)).to.deep.equal(['one']);
    calls[0]!.answer(200);
    await clock.advance(0);
    expect(calls.map((c) => c.body)).to.deep.equal(['one', 'two']);
    calls[1]!.answer(204);
    await clock.advance(0);
    expect(outcomes).to.deep.equal(['sent', 'sent']);
  });

  it('5xx and network errors are retried with exponential backoff, half-jittered (1 s, 2 s, 4 s … steps), then given up after 6 tries', async () => {
    const { clock, calls, outcomes, sender, next } = setup();
    sender.enqueue('m');
    for (let i = 0; i < 6; i++) {
      await (i === 0 ? clock.advance(0) : next());
      expect(calls).to.have.length(i + 1);
      if (i % 2 === 0) calls[i]!.answer(503);
      else calls[i]!.fail(new TypeError('fetch failed'));
    }
    await clock.advance(0);
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i]!.at);
    const steps = [1000, 2000, 4000, 8000, 16000];
    gaps.forEach((gap, i) => expect(gap).to.be.within(steps[i]! / 2, steps[i]!));
    expect(outcomes).to.deep.equal(['failed']);
    await clock.runUntilIdle();
    expect(calls).to.have.length(6);
  });

  it("a 429's Retry-After is the wait (capped at a minute), not the backoff", async () => {
    const { clock, calls, outcomes, sender, next } = setup();
    sender.enqueue('m');
    await clock.advance(0);
    calls[0]!.answer(429, '7');
    await next();
    expect(calls[1]!.at - calls[0]!.at).to.equal(7_000);
    calls[1]!.answer(429, '3600');
    await next();
    expect(calls[2]!.at - calls[1]!.at).to.equal(60_000);
    calls[2]!.answer(200);
    await clock.advance(0);
    expect(outcomes).to.deep.equal(['sent']);
  });

  it('a 4xx other than 408 and 429, and a redirect, fail at once: retrying cannot help', async () => {
    const { clock, calls, outcomes, sender } = setup();
    sender.enqueue('a');
    sender.enqueue('b');
    await clock.advance(0);
    calls[0]!.answer(404);
    await clock.advance(0);
    calls[1]!.answer(302);
    await clock.runUntilIdle();
    expect(calls).to.have.length(2);
    expect(outcomes).to.deep.equal(['failed', 'failed']);
  });

  it('a request with no answer is cut after 10 s and retried', async () => {
    const { clock, calls, sender } = setup();
    sender.enqueue('m');
    await clock.advance(9_999);
    expect(calls[0]!.signal.aborted).to.equal(false);
    await clock.advance(1);
    expect(calls[0]!.signal.aborted).to.equal(true);
    await clock.runUntilIdle(5_000);
    expect(calls).to.have.length(2);
  });

  it('the queue is bounded: past 3 waiting messages the oldest waiting one is dropped and counted', async () => {
    const { clock, calls, outcomes, sender } = setup({ queueLimit: 3 });
    for (const m of ['1', '2', '3', '4', '5', '6']) sender.enqueue(m);
    await clock.advance(0);
    expect(outcomes).to.deep.equal(['dropped', 'dropped']);
    expect(sender.queued).to.equal(3);
    for (let i = 0; i < 4; i++) {
      calls[i]!.answer(200);
      await clock.advance(0);
    }
    // '1' was in flight when the rest came; '2' and '3' were the oldest waiting.
    expect(calls.map((c) => c.body)).to.deep.equal(['1', '4', '5', '6']);
  });

  it('stop gives the webhook its grace period, then cancels the request in flight and drops the rest', async () => {
    const { clock, calls, outcomes, sender } = setup();
    sender.enqueue('a');
    sender.enqueue('b');
    await clock.advance(0);
    let stopped = false;
    void sender.stop(1_500).then(() => void (stopped = true));
    await clock.advance(1_499);
    expect(stopped).to.equal(false);
    await clock.advance(1);
    expect(calls[0]!.signal.aborted).to.equal(true);
    expect(stopped).to.equal(true);
    expect(outcomes).to.deep.equal(['dropped', 'dropped']);
    sender.enqueue('late');
    expect(outcomes).to.deep.equal(['dropped', 'dropped', 'dropped']);
    expect(calls).to.have.length(1);
  });

  it('stop during a backoff wait wakes it and gives up; an idle sender stops at once', async () => {
    const { clock, calls, outcomes, sender } = setup();
    sender.enqueue('a');
    await clock.advance(0);
    calls[0]!.answer(500);
    await clock.advance(0);
    // The first backoff step is at least 500 ms: the grace ends during the wait.
    const done = sender.stop(100);
    await clock.advance(100);
    await done;
    expect(outcomes).to.deep.equal(['dropped']);
    expect(calls).to.have.length(1);
    let idleStopped = false;
    void setup().sender.stop(1_000).then(() => void (idleStopped = true));
    await clock.advance(0);
    expect(idleStopped).to.equal(true);
  });

  it('what it logs names the format and host, never the path or query of the URL, even when an error quotes it', async () => {
    const lines: string[] = [];
    const log = winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream: new Writable({ write: (l, _e, done) => { lines.push(String(l)); done(); } }) })] });
    const { clock, calls, sender, next } = setup({ log });
    sender.enqueue('m');
    for (let i = 0; i < 6; i++) {
      await (i === 0 ? clock.advance(0) : next());
      calls[i]!.fail(new TypeError('fetch failed', { cause: new Error(`connect ECONNREFUSED for ${TARGET.url()} (${SECRET_PATH})`) }));
    }
    await clock.runUntilIdle();
    expect(lines.length).to.be.greaterThan(5);
    const all = lines.join('\n');
    expect(all).to.include('slack hooks.example.test');
    expect(all).to.include('ECONNREFUSED');
    for (const secret of ['sEcReTtOkEn', 'qUeRySeCrEt', 'B000']) expect(all).not.to.include(secret);
  });
});
