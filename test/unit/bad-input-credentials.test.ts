// Bad credentials (README, "Troubleshooting", the bad-input table): a kubeconfig whose user
// reads its token from a file that is rotated, and an apiserver answering 401. The end-to-end
// proof against a real apiserver is in test/e2e/bad-input-start.test.ts.
import { HttpMethod, RequestContext } from '@kubernetes/client-node';
import { expect } from 'chai';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { ConfigError } from '../../src/config.ts';
import { digestKey } from '../../src/core/digest.ts';
import { Controller } from '../../src/controller.ts';
import { ApiError, describeError, isRetryable } from '../../src/kube/api-error.ts';
import { loadKubeConfig } from '../../src/kube/kubeconfig.ts';
import { FakeCluster } from '../support/fake-cluster.ts';
import { flushMicrotasks, VirtualClock } from '../support/virtual-clock.ts';

function kubeconfigWith(dir: string, user: string): string {
  const file = path.join(dir, 'kubeconfig');
  writeFileSync(file, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: ${user}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`);
  return file;
}

async function authorization(kc: ReturnType<typeof loadKubeConfig>): Promise<string | undefined> {
  const ctx = new RequestContext('https://127.0.0.1:1/api', HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  return ctx.getHeaders()['Authorization'];
}

describe('bad input: a kubeconfig tokenFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cro-token-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is used (relative to the kubeconfig), and a rotated token is used from the next request on', async () => {
    writeFileSync(path.join(dir, 'token'), 'first-token\n');
    const kc = loadKubeConfig(kubeconfigWith(dir, '{tokenFile: token}'), {});
    expect(await authorization(kc)).to.equal('Bearer first-token');
    // Rotated as the kubelet does: a new file swapped in.
    writeFileSync(path.join(dir, 'token.new'), 'second-token');
    renameSync(path.join(dir, 'token.new'), path.join(dir, 'token'));
    expect(await authorization(kc)).to.equal('Bearer second-token');
  });

  it('wins over a token beside it (client-go\'s rule)', async () => {
    writeFileSync(path.join(dir, 'token'), 'from-file');
    const kc = loadKubeConfig(kubeconfigWith(dir, '{token: inline, tokenFile: token}'), {});
    expect(await authorization(kc)).to.equal('Bearer from-file');
  });

  it('keeps the last token while the file is briefly missing (mid-rotation)', async () => {
    writeFileSync(path.join(dir, 'token'), 'kept');
    const kc = loadKubeConfig(kubeconfigWith(dir, '{tokenFile: token}'), {});
    rmSync(path.join(dir, 'token'));
    expect(await authorization(kc)).to.equal('Bearer kept');
  });

  it('missing or empty at start: bad start-up configuration (exit 2)', () => {
    expect(() => loadKubeConfig(kubeconfigWith(dir, '{tokenFile: nowhere}'), {})).to.throw(ConfigError, /nowhere/);
    writeFileSync(path.join(dir, 'empty'), '\n');
    expect(() => loadKubeConfig(kubeconfigWith(dir, '{tokenFile: empty}'), {})).to.throw(ConfigError, /empty/);
  });
});

describe('bad input: a 401 from the apiserver', () => {
  const unauthorized = () => new ApiError(401, JSON.stringify({ kind: 'Status', message: 'Unauthorized', code: 401 }), 'PATCH x');

  it('is retryable, and its description says what to check', () => {
    expect(isRetryable(401)).to.equal(true);
    expect(describeError(unauthorized())).to.match(/^HTTP 401: Unauthorized: the apiserver rejected the credentials \(an expired or revoked token\?\)/);
  });

  it('on a patch: retried with the key\'s backoff, no PatchRejected Event; once accepted, one roll', async () => {
    const clock = new VirtualClock();
    const cluster = new FakeCluster();
    cluster.autoDeliver = true;
    const warnings: string[] = [];
    const events = { normal: async () => undefined, warning: async (_t: unknown, reason: string) => void warnings.push(reason) };
    const controller = new Controller({
      api: cluster, digestKey: digestKey(Buffer.alloc(32, 3)), clock, log: winston.createLogger({ silent: true }), namespaces: ['ns'],
      dryRun: false, debounceMs: 0, workers: 1, resyncPeriodMs: 0, qps: 0, burst: 1, events,
    });
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
