// Bad input where the timing decides (docs/troubleshooting.md, the bad-input table): workloads
// that vanish or come back while their key waits out the debounce. The controller against the
// in-memory API on a virtual clock, asserting the exact API actions and what was logged.
import { expect } from 'chai';
import { Writable } from 'node:stream';
import winston from 'winston';
import { HASH_ANNOTATION } from '../../src/core/annotations.ts';
import { ControllerHarness, NS } from '../support/controller-harness.ts';
import { flushMicrotasks } from '../support/virtual-clock.ts';

const DEBOUNCE_MS = 1000;

function deployment(name: string, configMap: string, annotations: Record<string, string> = {}) {
  return {
    metadata: { name, namespace: NS, annotations: { 'config-reload.dev/enabled': 'true', ...annotations } },
    spec: { replicas: 1, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'app:1', envFrom: [{ configMapRef: { name: configMap } }] }] } } },
  };
}
const configMap = (name: string, data: Record<string, string>) => ({ metadata: { name, namespace: NS }, data });

/** A logger whose JSON lines are kept for assertions. */
function collectingLogger() {
  const lines: Array<{ level: string; message: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: string; message: string });
      done();
    },
  });
  return { lines, log: winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] }) };
}

/** A leader on an empty cluster (test/support/controller-harness.ts) whose log is kept. */
async function harness() {
  const h = new ControllerHarness();
  const logs = collectingLogger();
  const controller = await h.leader({ log: logs.log, debounceMs: DEBOUNCE_MS });
  const complaints = () => logs.lines.filter((l) => l.level === 'warn' || l.level === 'error');
  return { clock: h.clock, cluster: h.cluster, controller, patches: () => h.operatorWrites(), settle: () => h.settle(), complaints, lines: logs.lines };
}

describe('bad input: workloads that vanish while queued', () => {
  it('a workload deleted during the debounce window: no patch, no retry, nothing logged above info', async () => {
    const h = await harness();
    h.cluster.put('configmaps', configMap('cfg', { a: '1' }));
    h.cluster.put('deployments', deployment('web', 'cfg'));
    await h.settle();
    expect(h.patches()).to.have.length(1); // adopted
    expect(h.lines.map((l) => l.message), 'the log is captured').to.include('adopted');

    h.cluster.put('configmaps', configMap('cfg', { a: '2' }));
    await flushMicrotasks();
    expect(h.controller.queue.waiting, 'queued, waiting out the debounce').to.equal(1);
    await h.clock.advance(DEBOUNCE_MS / 2);
    h.cluster.delete('deployments', NS, 'web');
    await h.settle();

    expect(h.patches()).to.have.length(1);
    expect(h.cluster.requests.patch).to.equal(1);
    expect(h.controller.queue.length + h.controller.queue.waiting).to.equal(0);
    expect(h.complaints()).to.deep.equal([]);
    await h.controller.stop();
  });

  it('deleted and re-created under the same name during the window: the new workload is adopted, not rolled', async () => {
    const h = await harness();
    h.cluster.put('configmaps', configMap('cfg', { a: '1' }));
    h.cluster.put('deployments', deployment('web', 'cfg'));
    await h.settle();
    const oldUid = h.cluster.get('deployments', NS, 'web')!.metadata.uid;

    h.cluster.put('configmaps', configMap('cfg', { a: '2' }));
    await flushMicrotasks();
    await h.clock.advance(DEBOUNCE_MS / 2);
    h.cluster.delete('deployments', NS, 'web');
    h.cluster.put('deployments', deployment('web', 'cfg'));
    await h.settle();

    const [, second, ...rest] = h.patches();
    expect(rest).to.have.length(0);
    expect(second?.object.metadata.uid).to.not.equal(oldUid);
    expect(second?.templateChanged, 'adopted: metadata only').to.equal(false);
    expect(h.complaints()).to.deep.equal([]);
    await h.controller.stop();
  });

  it('re-created from a manifest that carries the old config-hash: its creation carries the configuration, re-recorded without a roll', async () => {
    const h = await harness();
    h.cluster.put('configmaps', configMap('cfg', { a: '1' }));
    h.cluster.put('deployments', deployment('web', 'cfg'));
    await h.settle();
    const exported = h.cluster.get('deployments', NS, 'web')!;
    const oldHash = exported.metadata.annotations?.[HASH_ANNOTATION];
    expect(oldHash).to.be.a('string');

    h.cluster.put('configmaps', configMap('cfg', { a: '2' }));
    await flushMicrotasks();
    h.cluster.delete('deployments', NS, 'web');
    // `kubectl get -o yaml` then `kubectl apply` of it: the old digest comes back with it.
    h.cluster.put('deployments', deployment('web', 'cfg', { [HASH_ANNOTATION]: oldHash! }));
    await h.settle();

    const after = h.patches().slice(1);
    expect(after.map((p) => p.templateChanged)).to.deep.equal([false]);
    expect(h.cluster.get('deployments', NS, 'web')!.metadata.annotations?.[HASH_ANNOTATION]).to.not.equal(oldHash);
    await h.controller.stop();
  });

  it('the namespace deleted while its workloads are queued (workloads, then ConfigMaps go): no patch, no retry', async () => {
    const h = await harness();
    h.cluster.put('configmaps', configMap('cfg', { a: '1' }));
    for (let i = 0; i < 20; i++) h.cluster.put('deployments', deployment(`web-${i}`, 'cfg'));
    await h.settle();
    expect(h.patches()).to.have.length(20);

    h.cluster.put('configmaps', configMap('cfg', { a: '2' }));
    await flushMicrotasks();
    expect(h.controller.queue.waiting).to.equal(20);
    // The namespace controller deletes the content in no particular order.
    for (let i = 0; i < 20; i++) h.cluster.delete('deployments', NS, `web-${i}`);
    h.cluster.delete('configmaps', NS, 'cfg');
    await h.settle();

    expect(h.patches()).to.have.length(20);
    expect(h.controller.queue.length + h.controller.queue.waiting).to.equal(0);
    expect(h.controller.workloads.size).to.equal(0);
    expect(h.complaints()).to.deep.equal([]);
    await h.controller.stop();
  });

  it('the namespace deleted with the ConfigMap going first: the queued workloads are held (required ConfigMap missing), never rolled', async () => {
    const h = await harness();
    h.cluster.put('configmaps', configMap('cfg', { a: '1' }));
    for (let i = 0; i < 5; i++) h.cluster.put('deployments', deployment(`web-${i}`, 'cfg'));
    await h.settle();

    h.cluster.put('configmaps', configMap('cfg', { a: '2' }));
    await flushMicrotasks();
    h.cluster.delete('configmaps', NS, 'cfg');
    await h.clock.advance(DEBOUNCE_MS / 2);
    for (let i = 0; i < 5; i++) h.cluster.delete('deployments', NS, `web-${i}`);
    await h.settle();

    expect(h.patches().filter((p) => p.templateChanged)).to.have.length(0);
    expect(h.controller.queue.length + h.controller.queue.waiting).to.equal(0);
    await h.controller.stop();
  });
});
