// Issue 21's reproduction, on Node's real timers: a watchdog of 1000 h (--watch-idle-timeout=1000h
// before the flag refused it) was armed as a 1 ms setTimeout, so the reflector cut and re-opened
// its watch at once, over and over — 640 watch requests in 2 s against a quiet apiserver. The
// flag is refused at start now (test/unit/config.test.ts); this holds the timer layer under it
// (src/time/clock.ts) on the host's own setTimeout: nothing longer than Node takes is ever armed
// (Node turns such a delay into 1 ms), so the watchdog is the first link of a chain, not 1 ms.
// In test/system because it runs on real timers (the unit tier injects a clock); the API is in memory.
import { expect } from 'chai';
import winston from 'winston';
import { CONFIGMAPS, type KubeObject } from '../../src/kube/cluster-api.ts';
import { MAX_TIMER_MS, systemClock } from '../../src/time/clock.ts';
import { Reflector } from '../../src/watch/reflector.ts';
import { FakeCluster } from '../support/fake-cluster.ts';

const HOURS_1000 = 1000 * 3_600_000;

describe('long timers on the real clock', () => {
  it('a 1000 h watchdog is armed as a chain of host timers none longer than Node takes, not as 1 ms: one watch request', async () => {
    const cluster = new FakeCluster();
    const sink = { beginList: () => ({ add: () => undefined, commit: () => undefined }), upsert: () => undefined, remove: () => undefined };
    const reflector = new Reflector<KubeObject>({
      type: CONFIGMAPS, namespace: 'ns', api: cluster, clock: systemClock, log: winston.createLogger({ silent: true }),
      pageSize: 10, watchdogMs: HOURS_1000,
    }, sink);
    // What the process's own timers are asked to arm while the reflector lists and opens its watch.
    const armed: number[] = [];
    const hostSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      armed.push(ms ?? 0);
      return hostSetTimeout(fn, ms);
    }) as typeof setTimeout;
    const running = reflector.run();
    try {
      await reflector.synced;
      // The watch opens (and arms its watchdog) a few callbacks after the list: until it has.
      for (let turn = 0; turn < 100 && cluster.requests.watch === 0; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(armed.filter((ms) => ms > MAX_TIMER_MS), 'delays Node would arm as 1 ms').to.deep.equal([]);
      expect(armed, 'the watchdog: the first link of its chain, as long as a host timer goes').to.include(MAX_TIMER_MS);
      expect(cluster.requests.watch, 'watch requests').to.equal(1);
      expect(cluster.requests.list, 'lists').to.equal(1);
    } finally {
      globalThis.setTimeout = hostSetTimeout;
      reflector.stop();
      await running;
    }
  });
});
