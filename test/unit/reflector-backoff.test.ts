// A reflector's backoff after a watch that had been healthy: the break starts a fresh backoff
// (the fault matrix found a watch reset after minutes of health waiting out the maximum backoff
// of an old failure streak, with every change meanwhile waiting too).
import { expect } from 'chai';
import winston from 'winston';
import { ApiError } from '../../src/kube/api-error.ts';
import { CONFIGMAPS, type ClusterApi, type KubeObject } from '../../src/kube/cluster-api.ts';
import { Reflector } from '../../src/watch/reflector.ts';
import { flushMicrotasks, VirtualClock } from '../support/virtual-clock.ts';

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
});
