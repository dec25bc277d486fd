// Pauses, roll windows and per-workload debounce on the controller: the in-memory API on the
// virtual clock (test/support/controller-harness.ts). Rolls are counted as the operator's writes
// that changed a pod template.
import { expect } from 'chai';
import { ControllerHarness, NS, testController } from '../support/controller-harness.ts';
import { FakeCluster } from '../support/fake-cluster.ts';
import { flushMicrotasks, VirtualClock } from '../support/virtual-clock.ts';

const PAUSED = 'config-reload.dev/paused';
const WINDOW = 'config-reload.dev/window';

function deployment(name: string, annotations: Record<string, string> = {}) {
  return {
    metadata: { name, namespace: NS, annotations: { 'config-reload.dev/enabled': 'true', ...annotations } },
    spec: { replicas: 1, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'app:1', envFrom: [{ configMapRef: { name: 'cfg' } }] }] } } },
  };
}

const configMap = (a: string) => ({ metadata: { name: 'cfg', namespace: NS }, data: { a } });

/** An adopted Deployment `web` reading ConfigMap cfg (a: "1"), and its leader. */
async function adopted(annotations: Record<string, string> = {}) {
  const h = new ControllerHarness();
  h.cluster.put('configmaps', configMap('1'));
  h.cluster.put('deployments', deployment('web', annotations));
  const controller = await h.leader();
  await h.settle();
  expect(h.operatorWrites('web'), 'adopted').to.have.length(1);
  expect(h.rolled()).to.deep.equal([]);
  return { h, controller };
}

describe('pause (config-reload.dev/paused)', () => {
  it('pause, change, second change: no roll; unpause: exactly one roll, to the current content; said once per pause', async () => {
    const { h, controller } = await adopted();
    h.annotate('web', PAUSED, 'true');
    await h.settle();
    h.cluster.put('configmaps', configMap('2'));
    await h.settle();
    h.cluster.put('configmaps', configMap('3'));
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    expect(h.operatorWrites('web'), 'nothing written while paused').to.have.length(1);
    const notices = h.events.filter((e) => e.reason === 'RollPaused');
    expect(notices, 'one Event for the pause, not one per change').to.have.length(1);
    expect(notices[0]!.type).to.equal('Normal');
    expect(notices[0]!.message).to.match(/ConfigMap cfg changed: roll held, the workload is paused/);

    h.annotate('web', PAUSED, 'false');
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    await h.settle();
    expect(h.rolled(), 'exactly once').to.deep.equal(['web']);
    // The roll carried the current content: another evaluation finds nothing to do.
    h.cluster.update('deployments', NS, 'web', (o) => void (o.metadata.labels = { touched: 'yes' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);

    // A second pause is a new hold: said again.
    h.annotate('web', PAUSED, 'true');
    h.cluster.put('configmaps', configMap('4'));
    await h.settle();
    expect(h.events.filter((e) => e.reason === 'RollPaused')).to.have.length(2);
    expect(h.rolled()).to.deep.equal(['web']);
    await controller.stop();
  });

  it('pause, change, revert, unpause: no roll (the pods run the current content)', async () => {
    const { h, controller } = await adopted();
    h.annotate('web', PAUSED, 'true');
    h.cluster.put('configmaps', configMap('2'));
    await h.settle();
    h.cluster.put('configmaps', configMap('1'));
    await h.settle();
    h.annotate('web', PAUSED, undefined);
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    expect(h.operatorWrites('web')).to.have.length(1);
    await controller.stop();
  });

  it('a workload first seen paused is adopted (adoption never rolls) and its changes held', async () => {
    const { h, controller } = await adopted({ [PAUSED]: 'true' });
    h.cluster.put('configmaps', configMap('2'));
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    h.annotate('web', PAUSED, 'false');
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    await controller.stop();
  });

  it('a malformed value is reported (MalformedAnnotation) and the workload left alone', async () => {
    const { h, controller } = await adopted();
    h.annotate('web', PAUSED, 'yes please');
    h.cluster.put('configmaps', configMap('2'));
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    const warning = h.events.find((e) => e.reason === 'MalformedAnnotation');
    expect(warning?.message).to.equal('annotation config-reload.dev/paused="yes please" is malformed: expected "true" or "false"; ignoring the workload');
    h.annotate('web', PAUSED, 'false');
    await h.settle();
    expect(h.rolled(), 'fixed: the change rolls').to.deep.equal(['web']);
    await controller.stop();
  });
});

describe('roll window (config-reload.dev/window)', () => {
  // The harness's wall clock starts at 2026-01-01T00:00Z, a Thursday: 01:00 in Berlin.
  it('closed: a change is held (outside_window, said once) until the window opens, then rolls exactly once at the opening', async () => {
    const { h, controller } = await adopted({ [WINDOW]: 'Thu 09:00-17:00 Europe/Berlin' });
    const opening = Date.parse('2026-01-01T08:00:00Z');
    h.cluster.put('configmaps', configMap('2'));
    await h.settle();
    h.cluster.put('configmaps', configMap('3'));
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    const notices = h.events.filter((e) => e.reason === 'RollOutsideWindow');
    expect(notices).to.have.length(1);
    expect(notices[0]!.message).to.match(/until it opens at Thu 2026-01-01 09:00 Europe\/Berlin \(2026-01-01T08:00:00.000Z\)$/);

    // Just before the opening: still nothing.
    await h.clock.advance(opening - h.clock.wallNow() - 1000);
    expect(h.rolled()).to.deep.equal([]);
    // At the opening, and one --debounce (1 s) after it: the roll.
    await h.clock.advance(2000);
    await flushMicrotasks();
    expect(h.clock.wallNow() - opening).to.equal(1000);
    expect(h.rolled()).to.deep.equal(['web']);
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    await controller.stop();
  });

  it('inside the window a change rolls at once; a change reverted before the opening rolls nothing then', async () => {
    const { h, controller } = await adopted({ [WINDOW]: '00:00-06:00 UTC' });
    h.cluster.put('configmaps', configMap('2'));
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    await h.clock.advance(6 * 3_600_000); // closed from 06:00
    h.cluster.put('configmaps', configMap('3'));
    await h.settle();
    h.cluster.put('configmaps', configMap('2'));
    await h.settle();
    await h.clock.advance(18 * 3_600_000 + 60_000); // past the next opening
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    await controller.stop();
  });
});

describe('roll window across clock changes, on the virtual clock', () => {
  /** A leader on a cluster whose wall clock starts at `wallStart`; `web` adopted. */
  async function at(wallStart: string, window: string) {
    const clock = new VirtualClock(1_000_000, Date.parse(wallStart));
    const cluster = new FakeCluster();
    cluster.autoDeliver = true;
    cluster.put('configmaps', configMap('1'));
    cluster.put('deployments', deployment('web', { [WINDOW]: window }));
    const controller = testController({ api: cluster, clock });
    await controller.start();
    controller.runWorkers();
    await flushMicrotasks();
    await clock.runUntilIdle(1_000);
    const rolls = () => cluster.writes.filter((w) => w.by === 'operator' && w.templateChanged).length;
    expect(cluster.writes.filter((w) => w.by === 'operator'), 'adopted').to.have.length(1);
    return { clock, cluster, controller, rolls };
  }

  for (const c of [
    { what: 'Europe/Berlin spring forward: a 02:30 start in the skipped hour opens at 03:00 CEST', start: '2026-03-28T12:00:00Z', window: 'Sun 02:30-04:00 Europe/Berlin', opens: '2026-03-29T01:00:00Z' },
    { what: 'Europe/Berlin fall back: 02:00-02:30 opens again at its second showing', start: '2026-10-25T00:45:00Z', window: 'Sun 02:00-02:30 Europe/Berlin', opens: '2026-10-25T01:00:00Z' },
    { what: 'America/New_York spring forward: Sunday 09:00 is 13:00Z', start: '2026-03-07T23:00:00Z', window: '09:00-17:00 America/New_York', opens: '2026-03-08T13:00:00Z' },
    { what: 'America/New_York fall back: 01:00-01:30 opens again at 01:00 EST', start: '2026-11-01T05:45:00Z', window: 'Sun 01:00-01:30 America/New_York', opens: '2026-11-01T06:00:00Z' },
  ]) {
    it(`${c.what}: held until then, one roll at the opening`, async () => {
      const { clock, cluster, controller, rolls } = await at(c.start, c.window);
      cluster.put('configmaps', configMap('2'));
      await flushMicrotasks();
      await clock.advance(Date.parse(c.opens) - clock.wallNow() - 1);
      expect(rolls(), 'nothing before the opening').to.equal(0);
      await clock.advance(1 + 1000); // the opening, then --debounce
      await flushMicrotasks();
      expect(rolls()).to.equal(1);
      await clock.runUntilIdle(60_000);
      expect(rolls()).to.equal(1);
      await controller.stop();
    });
  }
});

describe('per-workload debounce (config-reload.dev/debounce)', () => {
  it('a burst within the workload\'s own 30s rolls once, 30s after the first change', async () => {
    const { h, controller } = await adopted({ 'config-reload.dev/debounce': '30s' });
    const start = h.clock.now();
    h.cluster.put('configmaps', configMap('2'));
    await h.clock.advance(20_000);
    h.cluster.put('configmaps', configMap('3'));
    await h.clock.advance(9_000);
    expect(h.rolled(), 'not before 30s').to.deep.equal([]);
    await h.clock.advance(2_000);
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    expect(h.clock.now() - start).to.be.at.least(30_000);
    await controller.stop();
  });
});
