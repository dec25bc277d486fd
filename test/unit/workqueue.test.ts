// The work queue on a virtual clock: time moves only when a test advances it, so every delay is
// asserted exactly and nothing sleeps.
import { expect } from 'chai';
import { WorkQueue, type WorkQueueOptions } from '../../src/queue/workqueue.ts';
import { every } from '../../src/time/clock.ts';
import { flushMicrotasks, VirtualClock } from '../support/virtual-clock.ts';

/** A get() whose settlement can be inspected without awaiting it. */
function pendingGet(q: WorkQueue): { settled: () => boolean; value: Promise<string | undefined> } {
  let settled = false;
  const value = q.get().then((key) => {
    settled = true;
    return key;
  });
  return { settled: () => settled, value };
}

async function takeAll(q: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (q.length > 0) {
    const key = await q.get();
    if (key !== undefined) keys.push(key);
  }
  return keys;
}

/**
 * Waits for the next key, moving the clock from one timer to the next only until a get() resolves;
 * returns the key and how much virtual time that took. Fails once limitMs of virtual time passed.
 */
async function nextKey(
  q: WorkQueue, clock: VirtualClock, limitMs = 3_600_000,
): Promise<{ key: string | undefined; after: number }> {
  const start = clock.now();
  const next = pendingGet(q);
  await flushMicrotasks();
  while (!next.settled()) {
    const due = clock.nextDue;
    if (due === undefined) throw new Error('no timer left, and no key became ready');
    if (due - start > limitMs) throw new Error(`no key became ready within ${limitMs} ms`);
    await clock.advance(due - clock.now());
  }
  return { key: await next.value, after: clock.now() - start };
}

/** Timers the event loop waits for (unref'd ones are not listed). */
function refTimers(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
}

describe('workqueue', () => {
  let clock: VirtualClock;
  let queues: WorkQueue[] = [];

  /** Virtual clock, unlimited rate and no debounce unless a test asks otherwise. */
  const queue = (opts: Partial<WorkQueueOptions> = {}): WorkQueue => {
    const q = new WorkQueue({ debounceMs: 0, qps: 0, burst: 1, clock, ...opts });
    queues.push(q);
    return q;
  };

  beforeEach(() => {
    clock = new VirtualClock();
  });

  afterEach(() => {
    for (const q of queues) q.shutDown();
    queues = [];
  });

  describe('de-duplication and order', () => {
    it('holds a key once however often it is added', async () => {
      const q = queue();
      q.add('a');
      q.add('a');
      q.addAfter('a', 0);
      q.add('b');
      q.add('a');
      expect(q.length).to.equal(2);
      expect(await takeAll(q)).to.deep.equal(['a', 'b']);
    });

    it('hands keys out first in, first out', async () => {
      const q = queue();
      for (const key of ['c', 'a', 'b']) q.add(key);
      expect(await takeAll(q)).to.deep.equal(['c', 'a', 'b']);
    });

    it('wakes a waiting get() when a key becomes ready, one key per worker', async () => {
      const q = queue();
      const first = q.get();
      const second = q.get();
      q.add('x');
      q.add('y');
      expect([await first, await second]).to.deep.equal(['x', 'y']);
      expect(q.processing).to.equal(2);
    });
  });

  describe('one worker per key', () => {
    it('does not hand out a key that is being processed, and re-queues it on done', async () => {
      const q = queue();
      q.add('k');
      expect(await q.get()).to.equal('k');
      q.add('k');
      q.add('k');
      expect(q.length).to.equal(0);
      const next = pendingGet(q);
      await clock.advance(60_000);
      expect(next.settled()).to.equal(false);
      q.done('k');
      expect(await next.value).to.equal('k');
      q.done('k');
      expect(q.length).to.equal(0);
      expect(q.processing).to.equal(0);
    });

    it('hands other keys out while one is processed', async () => {
      const q = queue();
      q.add('a');
      expect(await q.get()).to.equal('a');
      q.add('a');
      q.add('b');
      expect(await q.get()).to.equal('b');
      expect(q.length).to.equal(0);
      q.done('a');
      expect(await q.get()).to.equal('a');
    });

    it('is not re-queued on done when nobody added it meanwhile', async () => {
      const q = queue();
      q.add('k');
      await q.get();
      q.done('k');
      expect(q.length + q.waiting + q.throttled + q.processing).to.equal(0);
    });

    it('ignores done for a key that is not being processed', () => {
      const q = queue();
      q.add('k');
      q.done('k');
      q.done('other');
      expect(q.length).to.equal(1);
    });
  });

  describe('debounce', () => {
    it('makes a key ready debounceMs after its first add, coalescing later adds', async () => {
      const q = queue({ debounceMs: 30 });
      q.add('k');
      expect(q.length).to.equal(0);
      expect(q.waiting).to.equal(1);
      await clock.advance(10);
      q.add('k');
      q.add('k');
      expect(q.waiting).to.equal(1);
      expect(clock.pendingTimers).to.equal(1);
      await clock.advance(19);
      expect(q.length).to.equal(0);
      await clock.advance(1);
      expect(q.length).to.equal(1);
      expect(q.waiting).to.equal(0);
      expect(await q.get()).to.equal('k');
      expect(q.length + q.waiting).to.equal(0);
    });

    it('has no trailing reset: a writer in a loop cannot starve the key', async () => {
      const q = queue({ debounceMs: 40 });
      q.add('k');
      const writer = every(clock, 5, () => q.add('k'));
      try {
        // With a trailing reset the key would never become ready while the writer runs.
        expect(await nextKey(q, clock, 1000)).to.deep.equal({ key: 'k', after: 40 });
      } finally {
        writer.cancel();
      }
    });

    it('starts a new window for an add after the key was taken', async () => {
      const q = queue({ debounceMs: 20 });
      q.add('k');
      await clock.advance(20);
      expect(await q.get()).to.equal('k');
      q.add('k');
      expect(q.waiting).to.equal(1);
      q.done('k');
      expect(q.length).to.equal(0);
      expect(await nextKey(q, clock)).to.deep.equal({ key: 'k', after: 20 });
    });
  });

  describe('addAfter', () => {
    it('makes the key ready after the delay', async () => {
      const q = queue();
      q.addAfter('k', 20);
      expect(q.waiting).to.equal(1);
      await clock.advance(19);
      expect(q.length).to.equal(0);
      await clock.advance(1);
      expect(q.length).to.equal(1);
      expect(q.waiting).to.equal(0);
    });

    it('makes the key ready at once for a delay of 0 or less', () => {
      const q = queue();
      q.addAfter('a', 0);
      q.addAfter('b', -5);
      expect(q.length).to.equal(2);
      expect(clock.pendingTimers).to.equal(0);
    });

    it('keeps the earlier deadline when a key is delayed twice', async () => {
      const q = queue();
      q.addAfter('k', 20);
      q.addAfter('k', 10_000);
      expect(clock.pendingTimers).to.equal(1);
      expect(await nextKey(q, clock)).to.deep.equal({ key: 'k', after: 20 });
      q.done('k');
      expect(q.waiting).to.equal(0);
    });

    it('replaces a later deadline by an earlier one, cancelling the later timer', async () => {
      const q = queue();
      q.addAfter('k', 10_000);
      q.addAfter('k', 20);
      expect(clock.pendingTimers).to.equal(1);
      expect(await nextKey(q, clock)).to.deep.equal({ key: 'k', after: 20 });
      expect(clock.pendingTimers).to.equal(0);
    });

    it('lets an add cut a long delay short', async () => {
      const q = queue({ debounceMs: 5 });
      q.addAfter('k', 10_000);
      q.add('k');
      expect(await nextKey(q, clock)).to.deep.equal({ key: 'k', after: 5 });
      expect(q.waiting).to.equal(0);
      expect(clock.pendingTimers).to.equal(0);
    });

    it('ignores a delay for a key that is already ready', () => {
      const q = queue();
      q.add('k');
      q.addAfter('k', 50);
      expect(q.length).to.equal(1);
      expect(q.waiting).to.equal(0);
    });
  });

  describe('backoff', () => {
    it('grows per failure and is reset by forget', async () => {
      const q = queue({ baseBackoffMs: 10, maxBackoffMs: 1000 });
      const delays: number[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        q.addRateLimited('k');
        expect(q.waiting).to.equal(1);
        const { key, after } = await nextKey(q, clock);
        expect(key).to.equal('k');
        delays.push(after);
        q.done('k');
      }
      // base * 2^failures.
      expect(delays).to.deep.equal([10, 20, 40]);
      expect(q.numRequeues('k')).to.equal(3);

      q.forget('k');
      expect(q.numRequeues('k')).to.equal(0);
      q.addRateLimited('k');
      // Back at the base; a fourth failure without forget would have waited 80 ms.
      expect(await nextKey(q, clock)).to.deep.equal({ key: 'k', after: 10 });
      expect(q.numRequeues('k')).to.equal(1);
    });

    it('is capped at maxBackoffMs', async () => {
      const q = queue({ baseBackoffMs: 10, maxBackoffMs: 30 });
      const delays: number[] = [];
      for (let attempt = 0; attempt < 4; attempt++) {
        q.addRateLimited('k');
        delays.push((await nextKey(q, clock)).after);
        q.done('k');
      }
      expect(delays).to.deep.equal([10, 20, 30, 30]);
    });

    it('starts from 200 ms by default, without jitter', async () => {
      const q = queue();
      q.addRateLimited('k');
      expect(await nextKey(q, clock)).to.deep.equal({ key: 'k', after: 200 });
    });

    it('keeps failure counts per key', () => {
      const q = queue({ baseBackoffMs: 1000 });
      q.addRateLimited('a');
      q.addRateLimited('a');
      q.addRateLimited('b');
      expect(q.numRequeues('a')).to.equal(2);
      expect(q.numRequeues('b')).to.equal(1);
      expect(q.numRequeues('c')).to.equal(0);
      expect(q.waiting).to.equal(2);
    });

    it('lets a new add cut a pending backoff short', async () => {
      const q = queue({ debounceMs: 5, baseBackoffMs: 1000 });
      q.addRateLimited('k');
      q.add('k');
      expect(await nextKey(q, clock)).to.deep.equal({ key: 'k', after: 5 });
      expect(q.numRequeues('k')).to.equal(1);
    });

    it('re-queues a failed key that is being processed only after done', async () => {
      const q = queue({ baseBackoffMs: 5 });
      q.add('k');
      expect(await q.get()).to.equal('k');
      q.addRateLimited('k');
      await clock.advance(20);
      expect(q.length).to.equal(0);
      q.done('k');
      expect(q.length).to.equal(1);
    });
  });

  describe('write budget', () => {
    it('lets a burst through at once, then keys at qps', async () => {
      const q = queue({ qps: 50, burst: 2 });
      for (const key of ['a', 'b', 'c', 'd']) q.add(key);
      expect(q.length).to.equal(4);
      expect(await q.get()).to.equal('a');
      expect(await q.get()).to.equal('b');
      expect(q.throttled).to.equal(2);
      // One token per 20 ms at 50 qps.
      expect(await nextKey(q, clock)).to.deep.equal({ key: 'c', after: 20 });
      expect(await nextKey(q, clock)).to.deep.equal({ key: 'd', after: 20 });
      expect(q.throttled).to.equal(0);
      expect(clock.pendingTimers).to.equal(0);
    });

    it('is unlimited at 0 qps', async () => {
      const q = queue({ qps: 0, burst: 1 });
      for (let i = 0; i < 500; i++) q.add(`k${i}`);
      expect((await takeAll(q)).length).to.equal(500);
    });

    it('costs nothing for a reconcile that wrote nothing: its token goes back', async () => {
      const q = queue({ qps: 1, burst: 2 });
      for (const key of ['a', 'b', 'c', 'd']) q.add(key);
      for (const key of ['a', 'b']) {
        expect(await q.get()).to.equal(key);
        q.done(key, { wrote: false });
      }
      expect(await q.get()).to.equal('c');
      q.done('c'); // wrote: the token is spent
      expect(await q.get()).to.equal('d');
      q.done('d');
      expect(q.throttled).to.equal(0);
      q.add('e');
      // Both tokens spent by c and d: e waits a second for the next one.
      expect(await nextKey(q, clock)).to.deep.equal({ key: 'e', after: 1000 });
    });

    it('never holds more than the burst, however many tokens come back', async () => {
      const q = queue({ qps: 1, burst: 1 });
      q.add('a');
      expect(await q.get()).to.equal('a');
      q.done('a', { wrote: false });
      q.done('a', { wrote: false }); // not processing any more: ignored
      q.add('b');
      q.add('c');
      expect(await q.get()).to.equal('b');
      expect(await nextKey(q, clock)).to.deep.equal({ key: 'c', after: 1000 });
    });

    it('does not let a due key be added twice', () => {
      const q = queue({ qps: 1, burst: 1 });
      q.add('a');
      q.add('b');
      q.add('b');
      q.addAfter('b', 5);
      expect(q.length).to.equal(2);
      expect(q.waiting).to.equal(0);
    });
  });

  describe('lanes and flows', () => {
    const change = (flow: string) => ({ lane: 'change' as const, flow });
    const housekeeping = { lane: 'housekeeping' as const, flow: 'adopt' };

    it('serves every due change before any housekeeping', async () => {
      const q = queue();
      for (let i = 0; i < 3; i++) q.add(`adopt-${i}`, housekeeping);
      q.add('roll-1', change('cm-a'));
      q.add('roll-2', change('cm-b'));
      expect([q.dueIn('change'), q.dueIn('housekeeping')]).to.deep.equal([2, 3]);
      expect(await takeAll(q)).to.deep.equal(['roll-1', 'roll-2', 'adopt-0', 'adopt-1', 'adopt-2']);
    });

    it('takes flows in turn, so one change fanning out does not stand in front of another', async () => {
      const q = queue();
      for (let i = 0; i < 4; i++) q.add(`shared-${i}`, change('cm-shared'));
      q.add('own', change('cm-own'));
      expect(await takeAll(q)).to.deep.equal(['shared-0', 'own', 'shared-1', 'shared-2', 'shared-3']);
    });

    it('gives each lane its own budget: adoptions wait for theirs, rolls do not', async () => {
      const q = queue({ qps: 50, burst: 1, housekeeping: { qps: 1, burst: 1 } });
      for (let i = 0; i < 3; i++) q.add(`adopt-${i}`, housekeeping);
      expect(await q.get()).to.equal('adopt-0');
      q.add('roll', change('cm'));
      expect(await q.get()).to.equal('roll');
      // The next adoption waits for the housekeeping lane's next token, a second later.
      expect(await nextKey(q, clock)).to.deep.equal({ key: 'adopt-1', after: 1000 });
    });

    it('hands a new change the next token even when housekeeping waits for tokens', async () => {
      const q = queue({ qps: 1, burst: 1, housekeeping: { qps: 1, burst: 1 } });
      q.add('adopt-0', housekeeping);
      q.add('adopt-1', housekeeping);
      q.add('roll-0', change('cm-0'));
      expect(await q.get()).to.equal('roll-0');
      expect(await q.get()).to.equal('adopt-0');
      const waiting = pendingGet(q);
      await clock.advance(500);
      q.add('roll-1', change('cm-1'));
      await clock.advance(500);
      // Both lanes get a token at once; the change lane is served first.
      expect(waiting.settled()).to.equal(true);
      expect(await waiting.value).to.equal('roll-1');
    });

    it('keeps housekeeping to its cap of keys in flight, so a change finds a worker while adoptions are slow', async () => {
      const q = queue({ housekeeping: { qps: 0, burst: 1, maxInFlight: 2 } });
      for (let i = 0; i < 4; i++) q.add(`adopt-${i}`, housekeeping);
      expect(await q.get()).to.equal('adopt-0');
      expect(await q.get()).to.equal('adopt-1');
      // Two adoptions in flight: a third worker asking gets nothing until one is done or a change comes.
      const third = pendingGet(q);
      await clock.advance(60_000);
      expect(third.settled(), 'no third adoption while two are in flight').to.equal(false);
      expect(clock.pendingTimers, 'and no timer polling for one').to.equal(0);
      q.add('roll', change('cm'));
      await flushMicrotasks();
      expect(await third.value).to.equal('roll');
      q.done('adopt-0', { wrote: true });
      expect(await q.get()).to.equal('adopt-2');
    });

    it('keeps one flow to its share of the workers, so an unrelated change finds one while a fan-out rolls', async () => {
      const q = queue({ qps: 0, burst: 1, maxInFlightPerFlow: 3 });
      for (let i = 0; i < 10; i++) q.add(`shared-${i}`, change('cm-shared'));
      expect([await q.get(), await q.get(), await q.get()]).to.deep.equal(['shared-0', 'shared-1', 'shared-2']);
      // Three of the fan-out in flight: a fourth worker waits, without a timer polling for work.
      const fourth = pendingGet(q);
      await clock.advance(60_000);
      expect(fourth.settled(), 'no fourth key of the same flow').to.equal(false);
      expect(clock.pendingTimers).to.equal(0);
      q.add('own', change('cm-own'));
      await flushMicrotasks();
      expect(await fourth.value, 'another flow takes the free worker at once').to.equal('own');
      q.done('shared-0', { wrote: true });
      expect(await q.get()).to.equal('shared-3');
    });

    it('moves a key waiting as housekeeping into the change lane when a change needs it', async () => {
      const q = queue();
      q.add('a', housekeeping);
      q.add('w', housekeeping);
      q.add('w', change('cm'));
      expect([q.dueIn('change'), q.dueIn('housekeeping'), q.length]).to.deep.equal([1, 1, 2]);
      expect(await takeAll(q)).to.deep.equal(['w', 'a']);
    });

    it('never moves a change down to housekeeping', async () => {
      const q = queue({ debounceMs: 10 });
      q.add('w', change('cm'));
      q.add('a', housekeeping);
      q.add('w', housekeeping);
      await clock.advance(10);
      expect([q.dueIn('change'), q.dueIn('housekeeping')]).to.deep.equal([1, 1]);
      expect(await takeAll(q)).to.deep.equal(['w', 'a']);
    });

    it('upgrades a debounced key and a key added again while it is processed', async () => {
      const q = queue({ debounceMs: 10 });
      q.add('d', housekeeping);
      q.add('d', change('cm'));
      q.add('p', housekeeping);
      await clock.advance(10);
      expect(await q.get()).to.equal('d');
      expect(await q.get()).to.equal('p');
      q.addAfter('p', 0, housekeeping);
      q.addAfter('p', 0, change('cm'));
      q.add('other', housekeeping);
      await clock.advance(10);
      q.done('p');
      expect([q.dueIn('change'), q.dueIn('housekeeping')]).to.deep.equal([1, 1]);
      expect(await takeAll(q)).to.deep.equal(['p', 'other']);
    });

    it('retries a failed key in the lane it was taken from', async () => {
      const q = queue({ baseBackoffMs: 10 });
      q.add('a', housekeeping);
      expect(await q.get()).to.equal('a');
      q.addRateLimited('a');
      q.done('a');
      await clock.advance(10);
      expect([q.dueIn('change'), q.dueIn('housekeeping')]).to.deep.equal([0, 1]);
    });
  });

  describe('onTake', () => {
    it('reports how long a due key waited for a worker, not its debounce', async () => {
      const waits: Array<[string, number]> = [];
      const q = queue({ debounceMs: 30, onTake: (key, waitedMs) => waits.push([key, waitedMs]) });
      q.add('slow');
      q.add('fast');
      await clock.advance(60);
      expect(await q.get()).to.equal('slow');
      expect(await q.get()).to.equal('fast');
      // Both became due at 30 ms and were taken at 60 ms.
      expect(waits).to.deep.equal([['slow', 30], ['fast', 30]]);
    });

    it('reports the time a key was held by the rate limit', async () => {
      const waits: Array<[string, number]> = [];
      const q = queue({ qps: 50, burst: 1, onTake: (key, waitedMs) => waits.push([key, waitedMs]) });
      q.add('a');
      q.add('b');
      expect(await q.get()).to.equal('a');
      expect(await nextKey(q, clock)).to.deep.equal({ key: 'b', after: 20 });
      expect(waits).to.deep.equal([['a', 0], ['b', 20]]);
    });

    it('reports the time a key waited for its own previous run', async () => {
      const waits: number[] = [];
      const q = queue({ onTake: (_key, waitedMs) => waits.push(waitedMs) });
      q.add('k');
      expect(await q.get()).to.equal('k');
      q.add('k');
      await clock.advance(250);
      q.done('k');
      expect(await q.get()).to.equal('k');
      expect(waits).to.deep.equal([0, 250]);
    });
  });

  describe('shutdown', () => {
    it('resolves waiting get() calls with undefined', async () => {
      const q = queue();
      const waiting = [q.get(), q.get()];
      q.shutDown();
      expect(await Promise.all(waiting)).to.deep.equal([undefined, undefined]);
      expect(await q.get()).to.equal(undefined);
      expect(q.shuttingDown).to.equal(true);
    });

    it('accepts no new work and drops delayed and due keys, cancelling their timers', async () => {
      const q = queue({ debounceMs: 10, qps: 1, burst: 1 });
      q.addAfter('a', 0);
      q.addAfter('b', 0);
      q.add('c');
      q.addAfter('d', 5);
      expect(await q.get()).to.equal('a');
      const waiting = pendingGet(q);
      expect([q.length, q.throttled, q.waiting]).to.deep.equal([1, 1, 2]);
      // c's and d's delays, and the wait for b's token.
      expect(clock.pendingTimers).to.equal(3);
      q.shutDown();
      expect(await waiting.value).to.equal(undefined);
      expect([q.length, q.throttled, q.waiting]).to.deep.equal([0, 0, 0]);
      expect(clock.pendingTimers).to.equal(0);
      q.add('e');
      q.addAfter('f', 0);
      q.addRateLimited('g');
      expect(q.numRequeues('g')).to.equal(0);
      expect(clock.pendingTimers).to.equal(0);
      await clock.advance(60_000);
      expect(await q.get()).to.equal(undefined);
    });

    it('shutDownWithDrain waits for keys being processed', async () => {
      const q = queue();
      q.add('a');
      q.add('b');
      expect(await q.get()).to.equal('a');
      expect(await q.get()).to.equal('b');
      let drained = false;
      const drain = q.shutDownWithDrain().then(() => {
        drained = true;
      });
      q.done('a');
      await flushMicrotasks();
      expect(drained).to.equal(false);
      q.done('b');
      await drain;
      expect(drained).to.equal(true);
    });

    it('shutDownWithDrain resolves at once when nothing is processed', async () => {
      const q = queue();
      await q.shutDownWithDrain();
    });

    it('by default schedules on the system clock, whose pending timers do not keep the process alive', () => {
      const before = refTimers();
      const q = new WorkQueue({ debounceMs: 60_000, qps: 1, burst: 1 });
      queues.push(q);
      q.add('debounced');
      q.addAfter('later', 60_000);
      q.addRateLimited('failed');
      q.addAfter('x', 0);
      q.addAfter('y', 0);
      void q.get();
      void q.get();
      expect([q.waiting, q.throttled, q.length]).to.deep.equal([3, 1, 1]);
      // Four real timers are pending (three delays, one token wait), none of them ref'd.
      expect(refTimers()).to.equal(before);
    });
  });
});
