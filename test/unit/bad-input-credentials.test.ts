// Bad credentials (docs/troubleshooting.md, the bad-input table): an apiserver answering 401,
// or not reached at all. A kubeconfig whose user reads its token from a file that is rotated is
// test/system/bad-input-token-file.test.ts; the end-to-end proof against a real apiserver is in
// test/e2e/bad-input-start.test.ts.
import { expect } from 'chai';
import { ApiError, describeError, isRetryable } from '../../src/kube/api-error.ts';
import { ControllerHarness } from '../support/controller-harness.ts';
import { flushMicrotasks } from '../support/virtual-clock.ts';

describe('bad input: a 401 from the apiserver', () => {
  const unauthorized = () => new ApiError(401, JSON.stringify({ kind: 'Status', message: 'Unauthorized', code: 401 }), 'PATCH x');

  it('is retryable, and its description says what to check', () => {
    expect(isRetryable(401)).to.equal(true);
    expect(describeError(unauthorized())).to.match(/^HTTP 401: Unauthorized: the apiserver rejected the credentials \(an expired or revoked token\?\)/);
  });

  it('on a patch: retried with the key\'s backoff, no PatchRejected Event; once accepted, one roll', async () => {
    const h = new ControllerHarness();
    const { clock, cluster } = h;
    const warnings: string[] = [];
    const events = { normal: async () => undefined, warning: async (_t: unknown, reason: string) => void warnings.push(reason) };
    const controller = h.controller({ debounceMs: 0, workers: 1, events });
    await controller.start();
    controller.runWorkers();
    let revoked = true;
    let refused = 0;
    const mergePatch = cluster.mergePatch.bind(cluster);
    cluster.mergePatch = async (type, req) => {
      if (revoked) {
        refused++;
        throw unauthorized();
      }
      return mergePatch(type, req);
    };
    const cm = { metadata: { name: 'cfg', namespace: 'ns' }, data: { a: '1' } };
    const web = {
      metadata: { name: 'web', namespace: 'ns', annotations: { 'config-reload.dev/enabled': 'true' } },
      spec: { template: { spec: { containers: [{ name: 'c', image: 'i', envFrom: [{ configMapRef: { name: 'cfg' } }] }] } } },
    };
    cluster.put('configmaps', cm);
    cluster.put('deployments', web);
    await flushMicrotasks();
    // Ten seconds of a revoked token: retried with a growing backoff (0.2, 0.4, 0.8, … s), not hot.
    await clock.advance(10_000);
    expect(refused).to.be.within(3, 8);
    expect(warnings).to.deep.equal([]);
    revoked = false; // the token file was rotated
    await flushMicrotasks();
    await clock.runUntilIdle(600_000);
    expect(cluster.writes.filter((w) => w.by === 'operator')).to.have.length(1);
    await controller.stop();
  });
});

describe('bad input: an apiserver that cannot be reached', () => {
  it('says why, from the causes fetch hides behind "fetch failed"', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
    expect(describeError(new TypeError('fetch failed', { cause: refused }))).to.equal('fetch failed: connect ECONNREFUSED 127.0.0.1:6443');
    const both = new AggregateError([refused, new Error('connect ECONNREFUSED ::1:6443')], '');
    expect(describeError(new TypeError('fetch failed', { cause: both }))).to.equal('fetch failed: connect ECONNREFUSED 127.0.0.1:6443');
    expect(describeError(new Error('plain'))).to.equal('plain');
  });
});
