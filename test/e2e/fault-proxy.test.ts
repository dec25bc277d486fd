// The fault proxy itself (testbed/fault-proxy.ts), against the real apiserver: it passes lists
// and watches through, and each fault does what the matrix relies on.
import { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { Agent, fetch } from 'undici';
import { ApiError } from '../../src/kube/api-error.ts';
import { CONFIGMAPS, type KubeObject, type WatchEvent } from '../../src/kube/cluster-api.ts';
import { HttpClusterApi } from '../../src/kube/http-cluster-api.ts';
import { kubeconfigConnection } from '../../src/kube/kubeconfig-connection.ts';
import { namespaceBehindProxy } from './fault-support.ts';
import { createConfigMap, waitFor } from './support.ts';

describe('testbed: the fault proxy', () => {
  const s = namespaceBehindProxy('fproxy');
  let api: HttpClusterApi;
  before(() => {
    const kc = new KubeConfig();
    kc.loadFromFile(s.kubeconfig);
    api = new HttpClusterApi(kubeconfigConnection(kc));
  });
  afterEach(() => s.proxy.set([]));

  /** One page, its items collected (listPage hands them over one by one). */
  const list = async () => {
    const items: KubeObject[] = [];
    const page = await api.listPage<KubeObject>(CONFIGMAPS, { namespace: s.ns, limit: 50, continueToken: undefined }, (i) => items.push(i));
    return { ...page, items };
  };
  const watch = (resourceVersion: string) => {
    const events: Array<WatchEvent<KubeObject>> = [];
    const stream = api.watch<KubeObject>(CONFIGMAPS, { namespace: s.ns, resourceVersion, timeoutSeconds: 60 }, (e) => events.push(e));
    const ended = stream.ended.then(() => 'ended', (err: unknown) => `failed: ${String(err)}`);
    return { events, stream, ended };
  };

  it('passes a list and a watch through, streaming, and counts them', async () => {
    s.proxy.resetCounts();
    const page = await list();
    const w = watch(page.resourceVersion);
    await createConfigMap(s.ns, 'p1', { v: '1' });
    await waitFor('the ADDED event through the proxy', async () => (w.events.some((e) => e.type === 'ADDED' && e.object.metadata?.name === 'p1') ? true : undefined));
    expect(s.proxy.openWatches({ resource: 'configmaps' })).to.equal(1);
    s.proxy.resetWatches();
    expect(await w.ended).to.match(/^failed|^ended/);
    const c = s.proxy.counts();
    expect(c.byVerb).to.include({ list: 1, watch: 1 });
    expect(c.byStatus['200']).to.equal(2);
  });

  it('answers a share of requests with a status and Retry-After, matched by verb and resource', async () => {
    s.proxy.set([{ kind: 'status', status: 429, share: 1, retryAfterSeconds: 3, match: { verb: 'list', resource: 'configmaps' } }]);
    s.proxy.resetCounts();
    const err = await list().then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(ApiError);
    expect((err as ApiError).status).to.equal(429);
    // Another resource passes.
    await api.listPage({ kind: 'Secret', apiPath: '/api/v1', plural: 'secrets' }, { namespace: s.ns, limit: 5, continueToken: undefined }, () => undefined);
    expect(s.proxy.counts().byStatus).to.include({ 429: 1, 200: 1 });
    // The proxy answers before it forwards: no credentials needed here.
    const res = await fetch(`${s.proxy.url}/api/v1/namespaces/${s.ns}/configmaps`, {
      dispatcher: new Agent({ connect: { ca: Buffer.from(s.proxy.caData, 'base64').toString() } }),
    });
    expect(res.status).to.equal(429);
    expect(res.headers.get('retry-after')).to.equal('3');
    await res.text();
  });

  it('stalls a watch: headers, then no event, until its connection is reset', async () => {
    const page = await list();
    s.proxy.set([{ kind: 'stall-watch', match: { resource: 'configmaps' } }]);
    const w = watch(page.resourceVersion);
    await waitFor('the stalled watch to be open', async () => (s.proxy.openWatches() === 1 ? true : undefined));
    await createConfigMap(s.ns, 'p2', { v: '1' });
    // A watch passing through would deliver p2 long before this second one is listed.
    await waitFor('p2 in a list', async () => ((await list()).items.some((i) => i.metadata?.name === 'p2') ? true : undefined));
    expect(w.events).to.have.length(0);
    s.proxy.resetWatches();
    expect(await w.ended).to.match(/^failed|^ended/);
    expect(s.proxy.openWatches()).to.equal(0);
  });

  it('truncates a body part-way and resets connections', async () => {
    s.proxy.set([{ kind: 'truncate', share: 1, match: { verb: 'list' } }]);
    const cut = await list().then(() => undefined, (e: unknown) => e);
    expect(cut, 'a cut list fails').to.be.instanceOf(Error);
    s.proxy.set([{ kind: 'reset', share: 1, match: { verb: 'list' } }]);
    for (let i = 0; i < 4; i++) {
      const reset = await list().then(() => undefined, (e: unknown) => e);
      expect(reset, 'a reset list fails').to.be.instanceOf(Error);
    }
    s.proxy.set([]);
    expect((await list()).items.length).to.be.greaterThan(0);
  });
});
