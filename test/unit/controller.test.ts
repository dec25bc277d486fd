// The controller's state machine against the in-memory API on a virtual clock: the exact API
// actions it takes (as sample-controller's tests assert), one scenario each.
import { expect } from 'chai';
import { Writable } from 'node:stream';
import winston from 'winston';
import type { ControllerSettings } from '../../src/controller.ts';
import { HASH_ANNOTATION } from '../../src/core/annotations.ts';
import { ControllerHarness, NS } from '../support/controller-harness.ts';
import { flushMicrotasks } from '../support/virtual-clock.ts';

function deployment(name: string, configMap: string, image = 'app:1') {
  return {
    metadata: { name, namespace: NS, annotations: { 'config-reload.dev/enabled': 'true' } },
    spec: { replicas: 1, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image, envFrom: [{ configMapRef: { name: configMap } }] }] } } },
  };
}

const configMap = (name: string, data: Record<string, string>) => ({ metadata: { name, namespace: NS }, data });

/** A leader on an empty cluster (test/support/controller-harness.ts); patches: the operator's writes. */
async function harness(settings: Partial<ControllerSettings> = {}, leadership?: AbortSignal) {
  const h = new ControllerHarness();
  const controller = await h.leader(settings, leadership);
  return { clock: h.clock, cluster: h.cluster, controller, patches: () => h.operatorWrites(), settle: () => h.settle() };
}

describe('controller: API actions against the in-memory API', () => {
  it('adopts with one metadata-only patch that carries uid and resourceVersion, then rolls once per change', async () => {
    const h = await harness();
    const requests: object[] = [];
    const mergePatch = h.cluster.mergePatch.bind(h.cluster);
    h.cluster.mergePatch = async (type, req) => {
      requests.push(req.body);
      return mergePatch(type, req);
    };
    h.cluster.put('configmaps', configMap('cfg', { a: '1' }));
    h.cluster.put('deployments', deployment('web', 'cfg'));
    const created = h.cluster.get('deployments', NS, 'web')!;
    await h.settle();
    expect(h.patches()).to.have.length(1);
    expect(h.patches()[0]!.templateChanged).to.equal(false);
    const body = requests[0] as { metadata: Record<string, unknown>; spec?: unknown };
    expect(body.metadata['uid']).to.equal(created.metadata.uid);
    expect(body.metadata['resourceVersion']).to.equal(created.metadata.resourceVersion);
    expect(body.spec).to.equal(undefined);

    h.cluster.put('configmaps', configMap('cfg', { a: '2' }));
    await h.settle();
    expect(h.patches()).to.have.length(2);
    expect(h.patches()[1]!.templateChanged).to.equal(true);
    await h.controller.stop();
  });

  it('logs with each write its resourceVersion and how far its watches had reached when it decided (views)', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = winston.createLogger({ transports: [new winston.transports.Stream({ stream: new Writable({ objectMode: true, write: (line, _enc, done) => { lines.push(line as Record<string, unknown>); done(); } }) })] });
    const h = await harness({ log } as Partial<ControllerSettings>);
    h.cluster.put('configmaps', configMap('cfg', { a: '1' }));
    h.cluster.put('deployments', deployment('web', 'cfg'));
    await h.settle();
    h.cluster.put('configmaps', configMap('cfg', { a: '2' }));
    const changedAt = h.cluster.resourceVersion;
    await h.settle();
    const rolled = lines.find((l) => l['message'] === 'rolled')!;
    expect(rolled['resourceVersion']).to.equal(h.cluster.get('deployments', NS, 'web')!.metadata.resourceVersion);
    const views = rolled['views'] as Record<string, string>;
    expect(Number(views['configmaps'])).to.be.at.least(changedAt);
    expect(views).to.have.keys('configmaps', 'secrets', 'deployments');
    expect(lines.find((l) => l['message'] === 'adopted')).to.have.property('views');
  });

  it('a conflict (the workload changed since the snapshot) is decided again once the watch caught up', async () => {
    const h = await harness({ debounceMs: 0 });
    h.cluster.put('configmaps', configMap('cfg', { a: '1' }));
    h.cluster.put('deployments', deployment('web', 'cfg'));
    await h.settle();
    h.cluster.autoDeliver = false;
    h.cluster.put('configmaps', configMap('cfg', { a: '2' }));
    h.cluster.deliver('configmaps');
    // A status write the operator has not seen yet: its patch must be refused, not applied.
    h.cluster.update('deployments', NS, 'web', (d) => void (d['status'] = { replicas: 1 }), 'kube-controller-manager');
    await flushMicrotasks();
    await h.clock.advance(0);
    expect(h.patches()).to.have.length(1); // the adoption only: the roll was refused with 409
    h.cluster.deliverAll();
    h.cluster.autoDeliver = true;
    await h.settle();
    expect(h.patches()).to.have.length(2);
    expect(h.patches()[1]!.templateChanged).to.equal(true);
    expect(h.cluster.requests.patch, 'adoption, the refused roll, the roll').to.equal(3);
    await h.controller.stop();
  });

  it('an image change written after the ConfigMap change carries it: re-recorded, not rolled again', async () => {
    const h = await harness();
    h.cluster.put('configmaps', configMap('cfg', { a: '1' }));
    h.cluster.put('deployments', deployment('web', 'cfg'));
    await h.settle();
    h.cluster.put('configmaps', configMap('cfg', { a: '2' }));
    h.cluster.update('deployments', NS, 'web', (d) => {
      (d as unknown as { spec: { template: { spec: { containers: Array<{ image: string }> } } } }).spec.template.spec.containers[0]!.image = 'app:2';
    });
    await h.settle();
    const [adoption, rerecord, ...rest] = h.patches();
    expect(adoption?.templateChanged).to.equal(false);
    expect(rerecord?.templateChanged).to.equal(false);
    expect(rest).to.have.length(0);
    const d = h.cluster.get('deployments', NS, 'web')!;
    expect(d.metadata.annotations?.[HASH_ANNOTATION]).to.match(/^v2-[0-9a-f]{8}-[0-9a-f]{64}$/);
    await h.controller.stop();
  });

  it('an image change written before the ConfigMap change does not: it rolls', async () => {
    const h = await harness();
    h.cluster.put('configmaps', configMap('cfg', { a: '1' }));
    h.cluster.put('deployments', deployment('web', 'cfg'));
    await h.settle();
    h.cluster.update('deployments', NS, 'web', (d) => {
      (d as unknown as { spec: { template: { spec: { containers: Array<{ image: string }> } } } }).spec.template.spec.containers[0]!.image = 'app:2';
    });
    h.cluster.put('configmaps', configMap('cfg', { a: '2' }));
    await h.settle();
    expect(h.patches().map((p) => p.templateChanged)).to.deep.equal([false, true]);
    await h.controller.stop();
  });

  it('rolls a change ahead of a mass adoption, which goes at its own pace; echoes of its writes cost no token', async () => {
    const h = new ControllerHarness();
    const { clock, cluster } = h;
    for (let i = 0; i < 20; i++) {
      cluster.put('configmaps', configMap(`cfg-${i}`, { a: '1' }));
      cluster.put('deployments', deployment(`web-${i}`, `cfg-${i}`));
    }
    const controller = h.controller({ debounceMs: 0, workers: 2, qps: 1, burst: 1, adoptionQps: 2 });
    await controller.start();
    controller.runWorkers();
    await flushMicrotasks();
    await clock.advance(0);
    const operatorWrites = () => cluster.writes.filter((w) => w.by === 'operator');
    // One second's worth of adoptions went at once; the other 18 wait for their lane's tokens.
    expect(operatorWrites().length).to.equal(2);
    expect(controller.queue.dueIn('housekeeping')).to.equal(18);
    // A change to a workload adopted last: it was seen before the change, so the change rolls it.
    cluster.put('configmaps', configMap('cfg-19', { a: '2' }));
    await flushMicrotasks();
    await clock.advance(0);
    const roll = operatorWrites().find((w) => w.name === 'web-19');
    expect(roll?.templateChanged, 'rolled at once, not after the adoptions').to.equal(true);
    expect(operatorWrites().length).to.equal(3);
    // Adoptions go on at 2 per second: 17 more in 8.5 s, and none is an extra roll.
    await clock.advance(8_500);
    await flushMicrotasks();
    expect(operatorWrites().filter((w) => !w.templateChanged).length).to.equal(19);
    expect(operatorWrites().filter((w) => w.templateChanged).map((w) => w.name)).to.deep.equal(['web-19']);
    expect(cluster.requests.patch).to.equal(20);
    // The watch echoes of 20 writes were evaluated in memory and queued nothing.
    expect(controller.queue.length + controller.queue.waiting).to.equal(0);
    await controller.stop();
  });

  it('after a template edit, a change to a key it does not read, or a change and its reversal, rolls nothing', async () => {
    const h = await harness({ debounceMs: 0 });
    h.cluster.put('configmaps', configMap('cfg', { a: '1', other: 'x' }));
    const d = deployment('web', 'cfg');
    (d.spec.template.spec.containers[0] as Record<string, unknown>)['envFrom'] = [];
    (d.spec.template.spec.containers[0] as Record<string, unknown>)['env'] = [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'a' } } }];
    h.cluster.put('deployments', d);
    await h.settle();
    h.cluster.update('deployments', NS, 'web', (w) => {
      (w as unknown as { spec: { template: { spec: { containers: Array<{ image: string }> } } } }).spec.template.spec.containers[0]!.image = 'app:2';
    });
    await h.settle();
    // The adoption, then the record refreshed for the edited template (metadata only, no roll).
    expect(h.patches().map((p) => p.templateChanged)).to.deep.equal([false, false]);
    h.cluster.put('configmaps', configMap('cfg', { a: '1', other: 'y' }));
    h.cluster.put('configmaps', configMap('cfg', { a: '1', other: 'x' }));
    await h.settle();
    expect(h.patches().map((p) => p.templateChanged)).to.deep.equal([false, false]);
    // The key it reads, changed and changed back after the edit: the edit's pods read the
    // version before both changes, the current one. Nothing to roll (the edit is not between them).
    h.cluster.put('configmaps', configMap('cfg', { a: '2', other: 'x' }));
    h.cluster.put('configmaps', configMap('cfg', { a: '1', other: 'x' }));
    await h.settle();
    expect(h.patches().map((p) => p.templateChanged)).to.deep.equal([false, false]);
    await h.controller.stop();
  });

  it('writes nothing once leadership is lost', async () => {
    const leadership = new AbortController();
    const h = await harness({}, leadership.signal);
    h.cluster.put('configmaps', configMap('cfg', { a: '1' }));
    h.cluster.put('deployments', deployment('web', 'cfg'));
    await h.settle();
    expect(h.patches()).to.have.length(1);
    leadership.abort();
    h.cluster.put('configmaps', configMap('cfg', { a: '2' }));
    await h.settle();
    expect(h.patches()).to.have.length(1);
    await h.controller.stop();
  });

  it('dry-run sends no patch and reports a would-be roll once', async () => {
    const h = await harness({ dryRun: true });
    h.cluster.put('configmaps', configMap('cfg', { a: '1' }));
    h.cluster.put('deployments', deployment('web', 'cfg'));
    await h.settle();
    h.cluster.put('configmaps', configMap('cfg', { a: '2' }));
    await h.settle();
    h.controller.resync('periodic');
    await h.settle();
    expect(h.patches()).to.have.length(0);
    expect(h.cluster.requests.patch).to.equal(0);
    expect(h.controller.queue.length + h.controller.queue.waiting).to.equal(0);
    await h.controller.stop();
  });

  it('is alive while its loops run, and after stop() says nothing is wrong', async () => {
    const h = await harness();
    expect(h.controller.health()).to.deep.equal({ alive: true, problems: [] });
    await h.controller.stop();
    expect(h.controller.health().alive).to.equal(true);
  });
});
