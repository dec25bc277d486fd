// The waves through the controller (docs/architecture.md, "Waves"): a ConfigMap shared by 8
// Deployments with --wave-threshold 5, against the in-memory API on the virtual clock. The
// FakeCluster runs no controllers: the tests write each Deployment's status by hand, as the
// deployment controller would (by 'kube-controller-manager').
import { expect } from 'chai';
import type { ControllerSettings } from '../../src/controller.ts';
import { contentToken } from '../../src/waves/plan.ts';
import { ControllerHarness, NS, startSettled } from '../support/controller-harness.ts';
import { deploymentStatus } from '../support/fake-cluster.ts';
import { flushMicrotasks } from '../support/virtual-clock.ts';

const NAMES = Array.from({ length: 8 }, (_, i) => `web-${i}`);

function deployment(name: string, canary = false) {
  return {
    metadata: { name, namespace: NS, annotations: { 'config-reload.dev/enabled': 'true', ...(canary ? { 'config-reload.dev/canary': 'true' } : {}) } },
    spec: { replicas: 1, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'app:1', envFrom: [{ configMapRef: { name: 'shared' } }] }] } } },
  };
}

/**
 * The 8 consumers of `shared`, adopted and healthy, and a started controller (with Events and
 * waveHeld reports recorded: test/support/controller-harness.ts); `settle` runs the next second.
 */
async function harness(settings: Partial<ControllerSettings> = {}, canary?: string) {
  const base = new ControllerHarness();
  const { clock, cluster } = base;
  const shared = { metadata: { name: 'shared', namespace: NS }, data: { a: '1' } };
  cluster.put('configmaps', shared);
  for (const name of NAMES) cluster.put('deployments', deployment(name, name === canary));
  const controller = base.controller({ debounceMs: 0, waveThreshold: 5, waveTimeoutMs: 60_000, ...settings });
  /** Writes the status the deployment controller would: observed, and healthy or failed. */
  const status = (name: string, state: 'healthy' | 'failed' | 'progressing') => cluster.writeStatus('deployments', NS, name, (g) => deploymentStatus(state, g));
  for (const name of NAMES) status(name, 'healthy');
  const settle = await startSettled(controller, clock);
  const rolled = () => base.rolled();
  const change = async (value: string) => {
    cluster.update('configmaps', NS, 'shared', (cm) => void ((cm as Record<string, unknown>)['data'] = { a: value }));
    await settle();
  };
  const token = () => contentToken(controller.sources.get('ConfigMap')!.get(`ConfigMap/${NS}/shared` as never)!.content.keyDigests);
  /** Another controller on the same cluster and clock (a restart), not started. */
  const newController = (s: Partial<ControllerSettings>) => base.controller(s);
  return { clock, cluster, controller, events: base.events, held: base.waveHeld, settle, status, rolled, change, token, newController };
}

/**
 * Two shared ConfigMaps, a {x, y} and b {k}, with --wave-threshold 2: a-0 and a-1 read all of a
 * (a-0 is a's canary, first in order); m-w2 reads a's key x only and all of b, and is b's canary
 * (first of b's consumers) but in a's second wave; x-1 and x-2 read all of b.
 */
async function twoSharedHarness() {
  const base = new ControllerHarness();
  const { clock, cluster } = base;
  const a = { metadata: { name: 'a', namespace: NS }, data: { x: '1', y: '1' } };
  const b = { metadata: { name: 'b', namespace: NS }, data: { k: '1' } };
  cluster.put('configmaps', a);
  cluster.put('configmaps', b);
  const whole = (cm: string) => ({ envFrom: [{ configMapRef: { name: cm } }] });
  const consumers: Record<string, Record<string, unknown>> = {
    'a-0': whole('a'),
    'a-1': whole('a'),
    'm-w2': { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'a', key: 'x' } } }], ...whole('b') },
    'x-1': whole('b'),
    'x-2': whole('b'),
  };
  for (const [name, reads] of Object.entries(consumers)) {
    const d = {
      metadata: { name, namespace: NS, annotations: { 'config-reload.dev/enabled': 'true' } },
      spec: { replicas: 1, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'app:1', ...reads }] } } },
    };
    cluster.put('deployments', d);
    cluster.writeStatus('deployments', NS, name, (g) => deploymentStatus('healthy', g));
  }
  const controller = base.controller({ debounceMs: 0, waveThreshold: 2, waveTimeoutMs: 10 * 60_000 });
  const settle = await startSettled(controller, clock);
  const rolled = () => base.rolled();
  return { clock, cluster, controller, settle, rolled };
}

describe('waves through the controller', () => {
  it('rolls the canary first, the rest once it rolled out healthy, each once', async () => {
    const h = await harness();
    expect(h.cluster.writes.filter((w) => w.by === 'operator')).to.have.length(8); // the adoptions
    await h.change('2');
    expect(h.rolled()).to.deep.equal(['web-0']);
    // Its rollout observed but not available yet: the rest still wait.
    h.status('web-0', 'progressing');
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web-0']);
    h.status('web-0', 'healthy');
    await h.settle();
    expect(h.rolled().sort()).to.deep.equal([...NAMES].sort());
    // Their own rollouts finishing changes nothing: one roll each.
    for (const name of NAMES.slice(1)) h.status(name, 'healthy');
    await h.settle();
    expect(h.rolled()).to.have.length(8);
    expect(h.events.filter((e) => e.type === 'Warning')).to.deep.equal([]);
    await h.controller.stop();
  });

  it('a failed canary holds the rest with Events and the gauge; a fixing change rolls the canary, then the rest, once each', async () => {
    const h = await harness();
    await h.change('bad');
    const badToken = h.token();
    h.status('web-0', 'failed');
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web-0']);
    const warnings = h.events.filter((e) => e.reason === 'WaveHeld');
    const onConfigMap = warnings.filter((e) => e.target.kind === 'ConfigMap');
    expect(onConfigMap).to.have.length(1);
    expect(onConfigMap[0]!.message).to.contain(`held at content ${badToken}`).and.contain('Deployment/ns/web-0').and.contain(`config-reload.dev/release=${badToken}`);
    expect(warnings.filter((e) => e.target.kind === 'Deployment').map((e) => e.target.name).sort()).to.deep.equal(NAMES.slice(1));
    expect(h.held.at(-1)).to.deep.equal(['shared', 7]);
    // A resync changes nothing and says nothing again.
    h.controller.resync('periodic');
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web-0']);
    expect(h.events.filter((e) => e.reason === 'WaveHeld')).to.have.length(8);

    await h.change('fixed');
    expect(h.rolled()).to.deep.equal(['web-0', 'web-0']);
    expect(h.held.at(-1)).to.deep.equal(['shared', 0]);
    h.status('web-0', 'healthy');
    await h.settle();
    expect(h.rolled().slice(2).sort()).to.deep.equal(NAMES.slice(1));
    expect(h.rolled()).to.have.length(9);
    await h.controller.stop();
  });

  it('the release annotation with the current token rolls the rest; an older token releases nothing', async () => {
    const h = await harness();
    await h.change('bad');
    const first = h.token();
    h.status('web-0', 'failed');
    await h.settle();
    // The content changes again and its canary fails too: the first token is stale now.
    await h.change('worse');
    h.status('web-0', 'failed');
    await h.settle();
    const annotate = async (value: string) => {
      h.cluster.update('configmaps', NS, 'shared', (cm) => void (cm.metadata.annotations = { 'config-reload.dev/release': value }));
      await h.settle();
    };
    await annotate(first);
    expect(h.rolled()).to.deep.equal(['web-0', 'web-0']);
    await annotate(h.token());
    expect(h.rolled().slice(2).sort()).to.deep.equal(NAMES.slice(1));
    await h.controller.stop();
  });

  it('a canary that does not become healthy within --wave-timeout holds the rest', async () => {
    const h = await harness();
    await h.change('2');
    h.status('web-0', 'progressing');
    await h.settle();
    const since = h.controller.workloads.get('Deployment/ns/web-0' as never)!.progressingSince!;
    await h.clock.advance(since + 59_000 - h.clock.now());
    await flushMicrotasks();
    expect(h.events.filter((e) => e.reason === 'WaveHeld')).to.have.length(0);
    await h.clock.advance(1_000);
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web-0']);
    expect(h.events.filter((e) => e.reason === 'WaveHeld' && e.target.kind === 'ConfigMap')).to.have.length(1);
    await h.controller.stop();
  });

  it('an annotated canary goes first instead of the first in order; a change mid-waves rolls nothing twice', async () => {
    const h = await harness({ waves: 2 }, 'web-5');
    await h.change('2');
    expect(h.rolled()).to.deep.equal(['web-5']);
    h.status('web-5', 'healthy');
    await h.settle();
    // Wave 2/3: web-0…web-3 (the rest in order, halves of 7).
    expect(h.rolled().slice(1).sort()).to.deep.equal(['web-0', 'web-1', 'web-2', 'web-3']);
    // A new content while wave 2 rolls: the canary rolls it, everyone else waits again.
    await h.change('3');
    expect(h.rolled().slice(5)).to.deep.equal(['web-5']);
    h.status('web-5', 'healthy');
    await h.settle();
    const after = h.rolled().slice(6);
    expect(after.sort()).to.deep.equal(['web-0', 'web-1', 'web-2', 'web-3']);
    for (const name of after) h.status(name, 'healthy');
    await h.settle();
    expect(h.rolled().slice(10).sort()).to.deep.equal(['web-4', 'web-6', 'web-7']);
    // Each consumer rolled once per content it was given.
    expect(h.rolled()).to.have.length(13);
    await h.controller.stop();
  });

  it('a restart resumes from the cluster: canary rolled and healthy, so the rest roll; nothing twice', async () => {
    const h = await harness();
    await h.change('2');
    await h.controller.stop();
    h.status('web-0', 'healthy');
    const again = h.newController({ debounceMs: 0, waveThreshold: 5 });
    await again.start();
    again.runWorkers();
    await h.settle();
    expect(h.rolled().sort()).to.deep.equal([...NAMES].sort());
    await again.stop();
  });

  it('dry-run runs the waves it would, treating its simulated canary roll as healthy, and writes nothing', async () => {
    const h = await harness({ dryRun: true });
    const decided: string[] = [];
    const reconcile = h.controller.reconciler.reconcile.bind(h.controller.reconciler);
    h.controller.reconciler.reconcile = async (key, signal) => {
      const result = await reconcile(key, signal);
      if (result.kind === 'done' && result.decision?.action === 'roll') decided.push(`${key}:${result.decision.wave?.position}`);
      return result;
    };
    await h.change('2');
    expect(decided[0]).to.equal('Deployment/ns/web-0:canary wave 1/2');
    expect(decided.slice(1).map((d) => d.split(':')[1])).to.deep.equal(Array(7).fill('wave 2/2'));
    expect(h.cluster.writes.filter((w) => w.by === 'operator')).to.have.length(0);
    await h.controller.stop();
  });

  it('with --wave-threshold 0 every consumer rolls at once', async () => {
    const h = await harness({ waveThreshold: 0 });
    await h.change('2');
    expect(h.rolled()).to.have.length(8);
    await h.controller.stop();
  });

  it('a relist that commits two shared ConfigMaps at once rolls both canaries, though one is in a later wave of the other', async () => {
    // Regression: handling a's change evaluated m-w2 (not changed by a) and, through its gate,
    // planned b before m-w2 was marked changed by b; b's change then skipped m-w2 as evaluated,
    // and b's canary waited for a's wave (its timeout: 10 minutes).
    const h = await twoSharedHarness();
    expect(h.rolled()).to.deep.equal([]);
    const lists = h.cluster.requests.list;
    // The ConfigMap watch breaks; both change meanwhile, and history is compacted: 410, relist.
    h.cluster.closeWatches('configmaps', new Error('connection reset'));
    h.cluster.update('configmaps', NS, 'a', (cm) => void ((cm as Record<string, unknown>)['data'] = { x: '1', y: '2' }));
    h.cluster.update('configmaps', NS, 'b', (cm) => void ((cm as Record<string, unknown>)['data'] = { k: '2' }));
    h.cluster.compact();
    await h.settle();
    expect(h.cluster.requests.list, 'the ConfigMaps were relisted').to.be.greaterThan(lists);
    // The canaries of a and of b roll now, while a's canary is still rolling out; nobody else.
    expect(h.rolled().sort(), "b's canary m-w2 must roll with a's canary a-0, not wait for a's wave").to.deep.equal(['a-0', 'm-w2']);
    await h.controller.stop();
  });
});
