import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WorkQueue, type WorkQueueOptions } from '../../src/queue/workqueue.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Unlimited rate and no debounce unless a test asks for them. */
function queue(opts: Partial<WorkQueueOptions> = {}): WorkQueue {
  return new WorkQueue({ debounceMs: 0, qps: 0, ...opts });
}

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

describe('workqueue', () => {
  let queues: WorkQueue[] = [];
  const track = (q: WorkQueue): WorkQueue => {
    queues.push(q);
    return q;
  };
  afterEach(() => {
    for (const q of queues) q.shutDown();
    queues = [];
  });

  describe('de-duplication and order', () => {
    it('holds a key once however often it is added', async () => {
      const q = track(queue());
      q.add('a');
      q.add('a');
      q.addAfter('a', 0);
      q.add('b');
      q.add('a');
      expect(q.length).to.equal(2);
      expect(await takeAll(q)).to.deep.equal(['a', 'b']);
    });

    it('hands keys out first in, first out', async () => {
      const q = track(queue());
      for (const key of ['c', 'a', 'b']) q.add(key);
      expect(await takeAll(q)).to.deep.equal(['c', 'a', 'b']);
    });

    it('wakes a waiting get() when a key becomes ready, one key per worker', async () => {
      const q = track(queue());
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
      const q = track(queue());
      q.add('k');
      expect(await q.get()).to.equal('k');
      q.add('k');
      q.add('k');
      expect(q.length).to.equal(0);
      const next = pendingGet(q);
      await sleep(10);
      expect(next.settled()).to.equal(false);
      q.done('k');
      expect(await next.value).to.equal('k');
      q.done('k');
      expect(q.length).to.equal(0);
      expect(q.processing).to.equal(0);
    });

    it('hands other keys out while one is processed', async () => {
      const q = track(queue());
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
      const q = track(queue());
      q.add('k');
      await q.get();
      q.done('k');
      expect(q.length + q.waiting + q.throttled + q.processing).to.equal(0);
    });

    it('ignores done for a key that is not being processed', () => {
      const q = track(queue());
      q.add('k');
      q.done('k');
      q.done('other');
      expect(q.length).to.equal(1);
    });
  });

  describe('debounce', () => {
    it('makes a key ready debounceMs after its first add, coalescing later adds', async () => {
      const q = track(queue({ debounceMs: 30 }));
      const start = performance.now();
      q.add('k');
      expect(q.length).to.equal(0);
      expect(q.waiting).to.equal(1);
      await sleep(10);
      q.add('k');
      q.add('k');
      expect(q.waiting).to.equal(1);
      expect(await q.get()).to.equal('k');
      const elapsed = performance.now() - start;
      expect(elapsed).to.be.at.least(29);
      expect(q.length + q.waiting).to.equal(0);
    });

    it('has no trailing reset: a writer in a loop cannot starve the key', async () => {
      const q = track(queue({ debounceMs: 40 }));
      const start = performance.now();
      q.add('k');
      const writer = setInterval(() => q.add('k'), 5);
      try {
        expect(await q.get()).to.equal('k');
      } finally {
        clearInterval(writer);
      }
      // With a trailing reset the key would never become ready while the writer runs.
      const elapsed = performance.now() - start;
      expect(elapsed).to.be.at.least(39).and.below(40 + 100);
    });

    it('starts a new window for an add after the key was taken', async () => {
      const q = track(queue({ debounceMs: 20 }));
      q.add('k');
      expect(await q.get()).to.equal('k');
      const start = performance.now();
      q.add('k');
      expect(q.waiting).to.equal(1);
      q.done('k');
      expect(q.length).to.equal(0);
      expect(await q.get()).to.equal('k');
      expect(performance.now() - start).to.be.at.least(19);
    });
  });

  describe('addAfter', () => {
    it('makes the key ready after the delay', async () => {
      const q = track(queue());
      const start = performance.now();
      q.addAfter('k', 20);
      expect(q.waiting).to.equal(1);
      expect(await q.get()).to.equal('k');
      expect(performance.now() - start).to.be.at.least(19);
    });

    it('keeps the earlier deadline when a key is delayed twice', async () => {
      const q = track(queue());
      const start = performance.now();
      q.addAfter('k', 20);
      q.addAfter('k', 10_000);
      expect(await q.get()).to.equal('k');
      expect(performance.now() - start).to.be.below(1000);
      q.done('k');
      expect(q.waiting).to.equal(0);
    });

    it('lets an add cut a long delay short', async () => {
      const q = track(queue({ debounceMs: 5 }));
      q.addAfter('k', 10_000);
      q.add('k');
      const start = performance.now();
      expect(await q.get()).to.equal('k');
      expect(performance.now() - start).to.be.below(1000);
      expect(q.waiting).to.equal(0);
    });

    it('ignores a delay for a key that is already ready', () => {
      const q = track(queue());
      q.add('k');
      q.addAfter('k', 50);
      expect(q.length).to.equal(1);
      expect(q.waiting).to.equal(0);
    });
  });

  describe('backoff', () => {
    it('grows per failure and is reset by forget', async () => {
      const q = track(queue({ baseBackoffMs: 10, maxBackoffMs: 1000 }));
      const delays: number[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const start = performance.now();
        q.addRateLimited('k');
        expect(q.waiting).to.equal(1);
        expect(await q.get()).to.equal('k');
        delays.push(performance.now() - start);
        q.done('k');
      }
      expect(q.numRequeues('k')).to.equal(3);
      // base * 2^failures: 10, 20, 40 ms (timers never fire early).
      expect(delays[0]).to.be.at.least(9);
      expect(delays[1]).to.be.at.least(19);
      expect(delays[2]).to.be.at.least(39);

      q.forget('k');
      expect(q.numRequeues('k')).to.equal(0);
      const start = performance.now();
      q.addRateLimited('k');
      expect(await q.get()).to.equal('k');
      // Back at the 10 ms base; a fourth failure without forget would have waited 80 ms.
      expect(performance.now() - start).to.be.below(75);
      expect(q.numRequeues('k')).to.equal(1);
    });

    it('keeps failure counts per key', () => {
      const q = track(queue({ baseBackoffMs: 1000 }));
      q.addRateLimited('a');
      q.addRateLimited('a');
      q.addRateLimited('b');
      expect(q.numRequeues('a')).to.equal(2);
      expect(q.numRequeues('b')).to.equal(1);
      expect(q.numRequeues('c')).to.equal(0);
      expect(q.waiting).to.equal(2);
    });

    it('re-queues a failed key that is being processed only after done', async () => {
      const q = track(queue({ baseBackoffMs: 5 }));
      q.add('k');
      expect(await q.get()).to.equal('k');
      q.addRateLimited('k');
      await sleep(20);
      expect(q.length).to.equal(0);
      q.done('k');
      expect(q.length).to.equal(1);
    });
  });

  describe('global rate limit', () => {
    it('lets a burst through at once, then keys at qps', async () => {
      const q = track(queue({ qps: 50, burst: 2 }));
      const start = performance.now();
      for (const key of ['a', 'b', 'c', 'd']) q.add(key);
      expect(q.length).to.equal(2);
      expect(q.throttled).to.equal(2);
      expect(await takeAll(q)).to.deep.equal(['a', 'b']);
      expect(await q.get()).to.equal('c');
      expect(await q.get()).to.equal('d');
      // Two tokens after the burst at 50 qps take 40 ms.
      expect(performance.now() - start).to.be.at.least(38);
      expect(q.throttled).to.equal(0);
    });

    it('is unlimited at 0 qps', () => {
      const q = track(queue({ qps: 0, burst: 1 }));
      for (let i = 0; i < 500; i++) q.add(`k${i}`);
      expect(q.length).to.equal(500);
    });

    it('does not let a throttled key be added twice', () => {
      const q = track(queue({ qps: 1, burst: 1 }));
      q.add('a');
      q.add('b');
      q.add('b');
      q.addAfter('b', 5);
      expect(q.length).to.equal(1);
      expect(q.throttled).to.equal(1);
      expect(q.waiting).to.equal(0);
    });
  });

  describe('onTake', () => {
    it('reports how long a due key waited for a worker, not its debounce', async () => {
      const waits: Array<[string, number]> = [];
      const q = track(queue({ debounceMs: 30, onTake: (key, waitedMs) => waits.push([key, waitedMs]) }));
      q.add('slow');
      q.add('fast');
      await sleep(60);
      expect(await q.get()).to.equal('slow');
      expect(await q.get()).to.equal('fast');
      expect(waits.map(([key]) => key)).to.deep.equal(['slow', 'fast']);
      // Both became due at about 30 ms and were taken at about 60 ms: roughly 30 ms of waiting,
      // never the 30 ms debounce on top. Timer lateness allows only loose bounds.
      for (const [, waited] of waits) expect(waited).to.be.at.least(5).and.below(60);
    });

    it('uses the injected clock', async () => {
      let now = 1000;
      const waits: number[] = [];
      const q = track(queue({ now: () => now, onTake: (_key, waitedMs) => waits.push(waitedMs) }));
      q.add('k');
      now = 1250;
      await q.get();
      expect(waits).to.deep.equal([250]);
    });
  });

  describe('shutdown', () => {
    it('resolves waiting get() calls with undefined', async () => {
      const q = track(queue());
      const waiting = [q.get(), q.get()];
      q.shutDown();
      expect(await Promise.all(waiting)).to.deep.equal([undefined, undefined]);
      expect(await q.get()).to.equal(undefined);
      expect(q.shuttingDown).to.equal(true);
    });

    it('accepts no new work and drops delayed and throttled keys', async () => {
      const q = track(queue({ debounceMs: 10, qps: 1, burst: 1 }));
      q.addAfter('a', 0);
      q.addAfter('b', 0);
      q.add('c');
      q.addAfter('d', 5);
      expect([q.length, q.throttled, q.waiting]).to.deep.equal([1, 1, 2]);
      q.shutDown();
      expect([q.throttled, q.waiting]).to.deep.equal([0, 0]);
      q.add('e');
      q.addAfter('f', 0);
      q.addRateLimited('g');
      expect(q.numRequeues('g')).to.equal(0);
      await sleep(25);
      // Keys that were already ready are still handed out, then get() says "shut down".
      expect(await q.get()).to.equal('a');
      expect(await q.get()).to.equal(undefined);
    });

    it('shutDownWithDrain waits for keys being processed', async () => {
      const q = track(queue());
      q.add('a');
      q.add('b');
      expect(await q.get()).to.equal('a');
      expect(await q.get()).to.equal('b');
      let drained = false;
      const drain = q.shutDownWithDrain().then(() => {
        drained = true;
      });
      q.done('a');
      await sleep(5);
      expect(drained).to.equal(false);
      q.done('b');
      await drain;
      expect(drained).to.equal(true);
    });

    it('shutDownWithDrain resolves at once when nothing is processed', async () => {
      const q = track(queue());
      await q.shutDownWithDrain();
    });

    it('does not keep the process alive with pending timers', async function () {
      this.timeout(8000);
      const moduleUrl = new URL('../../src/queue/workqueue.ts', import.meta.url).href;
      const script = `
        const { WorkQueue } = await import(${JSON.stringify(moduleUrl)});
        const q = new WorkQueue({ debounceMs: 60000, qps: 1, burst: 1 });
        q.add('debounced');
        q.addAfter('later', 60000);
        q.addRateLimited('failed');
        q.addAfter('x', 0);
        q.addAfter('y', 0);
      `;
      const started = performance.now();
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
          cwd: fileURLToPath(new URL('../..', import.meta.url)),
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        const killer = setTimeout(() => child.kill('SIGKILL'), 6000);
        child.on('error', reject);
        child.on('exit', (exitCode) => {
          clearTimeout(killer);
          resolve(exitCode);
        });
      });
      expect(code).to.equal(0);
      expect(performance.now() - started).to.be.below(6000);
    });
  });
});
