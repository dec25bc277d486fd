// Retry-After is honoured: an apiserver that answers 429 (priority and fairness) or 503 with
// Retry-After is not asked again before that time — neither by a reflector's list/watch loop nor
// by a workload's patch retries (the fault matrix's 429 storm found both retrying at their own
// backoff, ~250 ms at first).
import { expect } from 'chai';
import { ApiError, MAX_RETRY_AFTER_MS, parseRetryAfter, retryAfterMs } from '../../src/kube/api-error.ts';
import { CONFIGMAPS, type ClusterApi, type KubeObject } from '../../src/kube/cluster-api.ts';
import { Reflector } from '../../src/watch/reflector.ts';
import { ControllerHarness, silentLog as silent } from '../support/controller-harness.ts';
import { FakeCluster } from '../support/fake-cluster.ts';
import { flushMicrotasks, VirtualClock } from '../support/virtual-clock.ts';

const throttled = (what: string, retryAfter: string | null) =>
  new ApiError(429, JSON.stringify({ kind: 'Status', code: 429, message: 'too many requests' }), what, retryAfter);
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

describe('Retry-After', () => {
  it('is read as seconds or an HTTP date, capped, and ignored when malformed', () => {
    expect(parseRetryAfter('2')).to.equal(2000);
    expect(parseRetryAfter(' 0 ')).to.equal(0);
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    expect(parseRetryAfter('Thu, 01 Jan 2026 12:00:05 GMT', now)).to.equal(5000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 11:00:00 GMT', now), 'a date in the past: at once').to.equal(0);
    expect(parseRetryAfter('86400')).to.equal(MAX_RETRY_AFTER_MS);
    for (const bad of ['soon', '-1', '1.5', '', null, undefined]) expect(parseRetryAfter(bad), String(bad)).to.equal(undefined);
    expect(retryAfterMs(throttled('x', '3'))).to.equal(3000);
    // client-node's ApiException carries the answer's headers.
    expect(retryAfterMs({ code: 429, headers: { 'retry-after': '4' } })).to.equal(4000);
    expect(retryAfterMs(new Error('ECONNRESET'))).to.equal(undefined);
  });

  it('a reflector waits at least Retry-After before its next list or watch', async () => {
    const clock = new VirtualClock();
    const cluster = new FakeCluster();
    cluster.autoDeliver = true;
    const watches: number[] = [];
    let refusals = 3;
    const api: ClusterApi = {
      listPage: (type, req, onItem) => cluster.listPage(type, req, onItem),
      mergePatch: (type, req) => cluster.mergePatch(type, req),
      watch(type, req, onEvent) {
        watches.push(clock.now());
        if (refusals-- > 0) return { ended: Promise.reject(throttled('WATCH', '6')), abort: () => undefined };
        return cluster.watch(type, req, onEvent);
      },
    };
    const sink = { beginList: () => ({ add: () => undefined, commit: () => undefined }), upsert: () => undefined, remove: () => undefined };
    const reflector = new Reflector<KubeObject>({ type: CONFIGMAPS, namespace: 'ns', api, clock, log: silent, pageSize: 10 }, sink);
    void reflector.run();
    await flushMicrotasks();
    await clock.advance(30_000);
    reflector.stop();
    expect(watches, 'three refused watches, then one that holds').to.have.length(4);
    for (const gap of gaps(watches)) expect(gap).to.be.at.least(6000);
  });

  it('a throttled patch is retried after Retry-After, not on the key\'s shorter backoff, and rolls once', async () => {
    const h = new ControllerHarness();
    const { clock, cluster } = h;
    const controller = h.controller({ debounceMs: 0, workers: 1 });
    const attempts: number[] = [];
    let refusals = 0;
    const mergePatch = cluster.mergePatch.bind(cluster);
    cluster.mergePatch = async (type, req) => {
      attempts.push(clock.now());
      if (refusals > 0) {
        refusals--;
        throw throttled('PATCH', '5');
      }
      return mergePatch(type, req);
    };
    await controller.start();
    controller.runWorkers();
    const configMap = (a: string) => ({ metadata: { name: 'cfg', namespace: 'ns' }, data: { a } });
    const web = {
      metadata: { name: 'web', namespace: 'ns', annotations: { 'config-reload.dev/enabled': 'true' } },
      spec: { template: { spec: { containers: [{ name: 'c', image: 'app', envFrom: [{ configMapRef: { name: 'cfg' } }] }] } } },
    };
    cluster.put('configmaps', configMap('1'));
    cluster.put('deployments', web);
    await flushMicrotasks();
    await clock.runUntilIdle(60_000);
    attempts.length = 0;
    refusals = 3;
    cluster.put('configmaps', configMap('2'));
    await flushMicrotasks();
    await clock.runUntilIdle(120_000);
    expect(attempts, 'three throttled attempts, then the roll').to.have.length(4);
    for (const gap of gaps(attempts)) expect(gap).to.be.at.least(5000);
    const rolls = cluster.writes.filter((w) => w.by === 'operator' && w.templateChanged);
    expect(rolls).to.have.length(1);
    await controller.stop();
  });
});
