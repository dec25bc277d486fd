// A reflector's backoff after a watch that had been healthy: the break starts a fresh backoff
// (the fault matrix found a watch reset after minutes of health waiting out the maximum backoff
// of an old failure streak, with every change meanwhile waiting too).
import { expect } from 'chai';
import winston from 'winston';
import { ApiError } from '../../src/kube/api-error.ts';
import { CONFIGMAPS, type ClusterApi, type KubeObject } from '../../src/kube/cluster-api.ts';
import { Reflector } from '../../src/watch/reflector.ts';
import { flushMicrotasks, VirtualClock } from '../support/virtual-clock.ts';

/** A reflector whose first `failFast` watches are refused (503); later ones stay open until broken from outside. */
function harness(failFast: number) {
  const clock = new VirtualClock();
  const watches: number[] = [];
  let open: { deliver: (rv: string) => void; fail: (err: Error) => void } | undefined;
  const api: ClusterApi = {
    listPage: async () => ({ items: [], resourceVersion: '10', continueToken: undefined }),
    mergePatch: async () => ({}),
    watch(_type, _opts, onEvent) {
      watches.push(clock.now());
      if (failFast-- > 0) return { ended: Promise.reject(new ApiError(503, '{}', 'WATCH')), abort: () => undefined };
      let fail!: (err: Error) => void;
      const ended = new Promise<void>((_, reject) => (fail = reject));
      open = {
        deliver: (rv) => onEvent({ type: 'MODIFIED', object: { metadata: { name: 'a', namespace: 'ns', resourceVersion: rv } } as never }),
        fail,
      };
      return { ended, abort: () => fail(new Error('aborted')) };
    },
  };
  const sink = { beginList: () => ({ add: () => undefined, commit: () => undefined }), upsert: () => undefined, remove: () => undefined };
  const reflector = new Reflector<KubeObject>({
    type: CONFIGMAPS, namespace: 'ns', api, clock, log: winston.createLogger({ silent: true }), pageSize: 10, watchdogMs: 3_600_000,
  }, sink);
  /** Runs it through seven refused watches (the backoff at its 30 s cap) until the eighth opened, within the last second. */
  const untilEighthWatch = async () => {
    void reflector.run();
    await flushMicrotasks();
    while (watches.length < 8) await clock.advance(1000);
  };
  return { clock, watches, reflector, open: () => open!, untilEighthWatch };
}

describe('reflector: backoff after a healthy watch breaks', () => {
  it('reconnects within the base delay, however long the streak of failures before it', async () => {
    const clock = new VirtualClock();
    const watches: number[] = [];
    let failFast = 7;
    let breakOpenWatch: ((err: Error) => void) | undefined;
    const api: ClusterApi = {
      listPage: async () => ({ items: [], resourceVersion: '10', continueToken: undefined }),
      mergePatch: async () => ({}),
      watch() {
        watches.push(clock.now());
        if (failFast-- > 0) return { ended: Promise.reject(new ApiError(503, '{}', 'WATCH')), abort: () => undefined };
        // Healthy: open until broken from outside (a reset connection).
        const ended = new Promise<void>((_, reject) => (breakOpenWatch = reject));
        return { ended, abort: () => breakOpenWatch?.(new Error('aborted')) };
      },
    };
    const sink = { beginList: () => ({ add: () => undefined, commit: () => undefined }), upsert: () => undefined, remove: () => undefined };
    const reflector = new Reflector<KubeObject>({
      type: CONFIGMAPS, namespace: 'ns', api, clock, log: winston.createLogger({ silent: true }), pageSize: 10, watchdogMs: 3_600_000,
    }, sink);
    void reflector.run();
    await flushMicrotasks();
    // Seven failures in a row: the backoff has grown to its 30 s cap.
    await clock.advance(120_000);
    expect(watches).to.have.length(8);
    // The eighth watch is healthy for a minute, then the connection is reset.
    await clock.advance(60_000);
    const brokenAt = clock.now();
    breakOpenWatch!(new Error('socket hang up'));
    await flushMicrotasks();
    await clock.advance(1000);
    reflector.stop();
    expect(watches, 'reconnected').to.have.length(9);
    expect(watches[8]! - brokenAt, 'the first step of a fresh backoff (500 ms, half jitter)').to.be.at.most(500);
  });

  it('reconnects within the base delay when the broken watch, however young, had delivered an event', async () => {
    const { clock, watches, reflector, open, untilEighthWatch } = harness(7);
    await untilEighthWatch();
    // At most two seconds old (not "healthy" by age), but it delivered a change before the reset.
    open().deliver('11');
    await clock.advance(1000);
    const brokenAt = clock.now();
    open().fail(new Error('socket hang up'));
    await flushMicrotasks();
    await clock.advance(1000);
    reflector.stop();
    expect(watches, 'reconnected').to.have.length(9);
    expect(watches[8]! - brokenAt, 'the first step of a fresh backoff (500 ms, half jitter)').to.be.at.most(500);
  });

  it('goes on backing off when a young watch breaks before delivering anything', async () => {
    const { clock, watches, reflector, open, untilEighthWatch } = harness(7);
    await untilEighthWatch();
    await clock.advance(1000);
    const brokenAt = clock.now();
    open().fail(new Error('socket hang up'));
    await flushMicrotasks();
    await clock.advance(14_000);
    expect(watches, 'still waiting: the streak goes on at its cap (30 s, half jitter: at least 15 s)').to.have.length(8);
    await clock.advance(16_000);
    reflector.stop();
    expect(watches, 'reconnected within the cap').to.have.length(9);
    expect(watches[8]! - brokenAt).to.be.at.least(15_000);
  });
});
