// Issue 21's reproduction, on Node's real timers: a watchdog of 1000 h (--watch-idle-timeout=1000h
// before the flag refused it) was armed as a 1 ms setTimeout, so the reflector cut and re-opened
// its watch at once, over and over — 640 watch requests in 2 s against a quiet apiserver. The
// flag is refused at start now (test/unit/config.test.ts); this holds the timer layer under it
// (src/time/clock.ts): a delay of any length waits, on the real clock, at least that long.
// In test/system because it runs on real time (the unit tier injects a clock); the API is in memory.
import { expect } from 'chai';
import winston from 'winston';
import { CONFIGMAPS, type KubeObject } from '../../src/kube/cluster-api.ts';
import { systemClock } from '../../src/time/clock.ts';
import { Reflector } from '../../src/watch/reflector.ts';
import { FakeCluster } from '../support/fake-cluster.ts';

const HOURS_1000 = 1000 * 3_600_000;

describe('long timers on the real clock', () => {
  it('a 1000 h watchdog leaves a quiet watch open: one watch request in a second, not hundreds', async () => {
    const cluster = new FakeCluster();
    const sink = { beginList: () => ({ add: () => undefined, commit: () => undefined }), upsert: () => undefined, remove: () => undefined };
    const reflector = new Reflector<KubeObject>({
      type: CONFIGMAPS, namespace: 'ns', api: cluster, clock: systemClock, log: winston.createLogger({ silent: true }),
      pageSize: 10, watchdogMs: HOURS_1000,
    }, sink);
    const running = reflector.run();
    try {
      await reflector.synced;
      // An observation window, not a synchronisation: a 1 ms watchdog re-opens the watch a few
      // hundred times in it (measured before the fix: 411); a working one never.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(cluster.requests.watch, 'watch requests in 1 s').to.equal(1);
      expect(cluster.requests.list, 'lists').to.equal(1);
    } finally {
      reflector.stop();
      await running;
    }
  });
});
