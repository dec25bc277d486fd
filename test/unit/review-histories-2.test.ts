// Adversarial histories (review 2) of the features of issue 23/21: pauses, roll windows and the
// per-workload debounce; the key budget; custom pod-template kinds. In-memory API on the virtual
// clock (test/support/controller-harness.ts); rolls are the operator's writes that changed a pod
// template, never generations.
import { expect } from 'chai';
import { nextOpening, parseWindow } from '../../src/core/roll-window.ts';
import type { RollWindow } from '../../src/core/types.ts';
import { ControllerHarness, NS } from '../support/controller-harness.ts';
import { deploymentStatus } from '../support/fake-cluster.ts';
import { flushMicrotasks } from '../support/virtual-clock.ts';

const PAUSED = 'config-reload.dev/paused';
const WINDOW = 'config-reload.dev/window';
const DEBOUNCE = 'config-reload.dev/debounce';

function deployment(name: string, annotations: Record<string, string> = {}, reads: object = { envFrom: [{ configMapRef: { name: 'cfg' } }] }) {
  return {
    metadata: { name, namespace: NS, annotations: { 'config-reload.dev/enabled': 'true', ...annotations } },
    spec: { replicas: 1, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'app:1', ...reads }] } } },
  };
}

const cfg = (data: Record<string, string>, name = 'cfg') => ({ metadata: { name, namespace: NS }, data });

function healthy(h: ControllerHarness, name: string): void {
  h.cluster.writeStatus('deployments', NS, name, (g) => deploymentStatus('healthy', g));
}

const window = (text: string): RollWindow => {
  const w = parseWindow(text);
  if ('problem' in w) throw new Error(w.problem);
  return w;
};

describe('review 2: roll windows at their edges (pure)', () => {
  const mon = Date.parse('2026-01-05T00:00:00Z'); // a Monday
  it('a window whose start and end are equal is refused, never always-closed (Mon 00:00-00:00)', () => {
    expect(parseWindow('Mon 00:00-00:00 UTC')).to.have.property('problem').that.matches(/is empty/);
  });
  it('00:00-24:00 is always open; 24:00 is only an end; 23:00-24:00 closes at midnight', () => {
    expect(nextOpening(window('00:00-24:00 UTC'), mon + 123_456)).to.equal(mon + 123_456);
    expect(parseWindow('24:00-01:00 UTC')).to.have.property('problem');
    expect(parseWindow('Mon 23:00-24:30 UTC')).to.have.property('problem');
    const late = window('Mon 23:00-24:00 UTC');
    expect(nextOpening(late, mon + 23 * 3_600_000 + 59 * 60_000)).to.equal(mon + 23 * 3_600_000 + 59 * 60_000);
    // Tuesday 00:00 is closed: next Monday 23:00.
    expect(nextOpening(late, mon + 24 * 3_600_000)).to.equal(mon + 7 * 86_400_000 + 23 * 3_600_000);
  });
  it('a range crossing midnight opens on the listed day and runs into the next (Sun 23:00-01:00, Monday 00:30 open, Monday 23:30 not)', () => {
    const w = window('Sun 23:00-01:00 UTC');
    expect(nextOpening(w, mon + 30 * 60_000)).to.equal(mon + 30 * 60_000);
    expect(nextOpening(w, mon + 3_600_000)).to.equal(mon + 6 * 86_400_000 + 23 * 3_600_000);
    expect(nextOpening(w, mon + 23.5 * 3_600_000)).to.equal(mon + 6 * 86_400_000 + 23 * 3_600_000);
  });
  it('a zone name is quoted at most 60 characters long in the refusal, and a wrong one is refused at parse time', () => {
    const r = parseWindow(`09:00-17:00 ${'X'.repeat(500)}`) as { problem: string };
    expect(r.problem.length).to.be.lessThan(200);
  });
});

describe('review 2: pauses, windows and debounce on the controller', () => {
  it('a paused canary holds the waves behind it past --wave-timeout (wave_waiting, no wave failed, nothing rolled); unpaused, each rolls exactly once', async () => {
    const h = new ControllerHarness();
    const names = ['w-0', 'w-1', 'w-2', 'w-3', 'w-4', 'w-5'];
    h.cluster.put('configmaps', cfg({ a: '1' }, 'shared'));
    for (const n of names) {
      h.cluster.put('deployments', deployment(n, n === 'w-0' ? { [PAUSED]: 'true', 'config-reload.dev/canary': 'true' } : {}, { envFrom: [{ configMapRef: { name: 'shared' } }] }));
      healthy(h, n);
    }
    const c = await h.leader({ debounceMs: 0, waveThreshold: 5, waveTimeoutMs: 60_000 });
    await h.settle(1000);
    expect(h.operatorWrites().filter((w) => !w.templateChanged)).to.have.length(names.length);
    h.cluster.put('configmaps', cfg({ a: '2' }, 'shared'));
    await h.settle(1000);
    await h.clock.advance(5 * 60_000);
    expect(h.rolled(), 'nothing while the canary is paused, even past the wave timeout').to.deep.equal([]);
    const waiting = c.reconciler.evaluate(c.workloads.get(`Deployment/${NS}/w-1` as never)!);
    expect(waiting.code).to.equal('wave_waiting');
    expect(h.events.filter((e) => e.reason === 'RollPaused').map((e) => e.target.name)).to.deep.equal(['w-0']);
    expect(h.events.filter((e) => /WaveFailed|WaveHeld/.test(e.reason)), 'no wave failed for a pause').to.deep.equal([]);

    h.annotate('w-0', PAUSED, undefined);
    await h.settle(1000);
    expect(h.rolled()).to.deep.equal(['w-0']);
    healthy(h, 'w-0');
    await h.settle(60_000);
    for (const n of names.slice(1)) healthy(h, n);
    await h.settle(60_000);
    for (const n of names.slice(1)) healthy(h, n);
    await h.settle(60_000);
    expect([...h.rolled()].sort(), 'each once').to.deep.equal(names);
    await c.stop();
  });

  it('failover while the window is closed: the new leader holds too and rolls exactly once at the opening (its own timer)', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cfg({ a: '1' }));
    h.cluster.put('deployments', deployment('web', { [WINDOW]: 'Thu 09:00-17:00 Europe/Berlin' }));
    const lease = new AbortController();
    const a = await h.leader({}, lease.signal);
    const b = h.controller();
    await b.start(); // the standby: reflectors warm, no workers
    await h.settle(1000);
    h.cluster.put('configmaps', cfg({ a: '2' }));
    await h.settle(1000);
    expect(h.rolled()).to.deep.equal([]);
    lease.abort();
    await a.stop();
    b.runWorkers();
    await h.settle(1000);
    expect(h.rolled(), 'still closed for the new leader').to.deep.equal([]);
    const opening = Date.parse('2026-01-01T08:00:00Z');
    await h.clock.advance(opening - h.clock.wallNow() + 2000);
    await flushMicrotasks();
    expect(h.rolled()).to.deep.equal(['web']);
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    await b.stop();
  });

  it('failover after the window opened while no replica led: the new leader rolls once at start', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cfg({ a: '1' }));
    h.cluster.put('deployments', deployment('web', { [WINDOW]: 'Thu 09:00-17:00 Europe/Berlin' }));
    const lease = new AbortController();
    const a = await h.leader({}, lease.signal);
    const b = h.controller();
    await b.start();
    await h.settle(1000);
    h.cluster.put('configmaps', cfg({ a: '2' }));
    await h.settle(1000);
    lease.abort();
    await a.stop();
    await h.clock.advance(Date.parse('2026-01-01T10:00:00Z') - h.clock.wallNow());
    expect(h.rolled(), 'nobody leads: nothing written').to.deep.equal([]);
    b.runWorkers();
    await h.settle(5000);
    expect(h.rolled()).to.deep.equal(['web']);
    await b.stop();
  });

  it('unpausing during a roll in progress (pods not yet updated) rolls nothing more', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cfg({ a: '1' }));
    h.cluster.put('deployments', deployment('web'));
    const c = await h.leader();
    await h.settle();
    h.cluster.put('configmaps', cfg({ a: '2' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    h.annotate('web', PAUSED, 'true');
    await h.settle();
    h.annotate('web', PAUSED, 'false');
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    await c.stop();
  });

  it('the debounce annotation removed mid-debounce: the roll goes after --debounce, not after the old 30m', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cfg({ a: '1' }));
    h.cluster.put('deployments', deployment('web', { [DEBOUNCE]: '30m' }));
    const c = await h.leader();
    await h.settle();
    h.cluster.put('configmaps', cfg({ a: '2' }));
    await h.clock.advance(10_000);
    expect(h.rolled()).to.deep.equal([]);
    h.annotate('web', DEBOUNCE, undefined);
    await h.clock.advance(2_000);
    await flushMicrotasks();
    expect(h.rolled()).to.deep.equal(['web']);
    await h.clock.advance(31 * 60_000);
    expect(h.rolled(), 'the old delayed add rolls nothing more').to.deep.equal(['web']);
    await c.stop();
  });

  it('the largest debounce (1h) is kept (arguable: it delays the adoption as much); past it the annotation is malformed and said', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cfg({ a: '1' }));
    h.cluster.put('deployments', deployment('web', { [DEBOUNCE]: '1h' }));
    h.cluster.put('deployments', deployment('big', { [DEBOUNCE]: '3600001ms' }));
    const c = await h.leader();
    await h.settle();
    expect(h.events.filter((e) => e.reason === 'MalformedAnnotation').map((e) => e.target.name)).to.deep.equal(['big']);
    // Arguable, pinned: the workload's debounce delays its adoption too (an hour here).
    expect(h.operatorWrites('web'), 'not adopted within the first minute').to.have.length(0);
    await h.clock.advance(3_600_000);
    await flushMicrotasks();
    expect(h.operatorWrites('web').map((w) => w.templateChanged), 'adopted after its debounce').to.deep.equal([false]);
    h.cluster.put('configmaps', cfg({ a: '2' }));
    await h.clock.advance(3_599_000);
    expect(h.rolled()).to.deep.equal([]);
    await h.clock.advance(2_000);
    await flushMicrotasks();
    expect(h.rolled()).to.deep.equal(['web']);
    await c.stop();
  });

  it('a workload deleted, or opted out, while held outside its window leaves no timer behind and is never written', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cfg({ a: '1' }));
    h.cluster.put('deployments', deployment('gone', { [WINDOW]: 'Thu 09:00-17:00 Europe/Berlin' }));
    h.cluster.put('deployments', deployment('out', { [WINDOW]: 'Thu 09:00-17:00 Europe/Berlin' }));
    const c = await h.leader();
    await h.settle(1000);
    const idle = h.clock.pendingTimers;
    h.cluster.put('configmaps', cfg({ a: '2' }));
    await h.settle(1000);
    expect(h.clock.pendingTimers, 'one window timer per held workload').to.equal(idle + 2);
    h.cluster.delete('deployments', NS, 'gone');
    h.annotate('out', 'config-reload.dev/enabled', 'false');
    await h.settle(1000);
    expect(h.clock.pendingTimers, 'both window timers cancelled').to.equal(idle);
    await h.clock.advance(Date.parse('2026-01-01T10:00:00Z') - h.clock.wallNow());
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    expect(h.operatorWrites('out'), 'only its adoption').to.have.length(1);
    await c.stop();
  });

  it('a window changed while held re-arms the timer to the new opening (the old opening rolls nothing)', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cfg({ a: '1' }));
    h.cluster.put('deployments', deployment('web', { [WINDOW]: 'Thu 09:00-17:00 Europe/Berlin' }));
    const c = await h.leader();
    await h.settle(1000);
    h.cluster.put('configmaps', cfg({ a: '2' }));
    await h.settle(1000);
    h.annotate('web', WINDOW, 'Fri 09:00-17:00 UTC');
    await h.settle(1000);
    await h.clock.advance(Date.parse('2026-01-01T12:00:00Z') - h.clock.wallNow());
    await flushMicrotasks();
    expect(h.rolled(), 'Thursday noon: not the new window').to.deep.equal([]);
    await h.clock.advance(Date.parse('2026-01-02T09:00:02Z') - h.clock.wallNow());
    await flushMicrotasks();
    expect(h.rolled()).to.deep.equal(['web']);
    await c.stop();
  });
});

describe('review 2: the key budget on the controller', () => {
  const MAX = 10;
  const keysOf = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${String(i).padStart(3, '0')}`, '']));
  const oneKey = (key: string) => ({ env: [{ name: 'K', valueFrom: { configMapKeyRef: { name: 'cfg', key } } }] });

  async function start(data: Record<string, string>, workloads: Array<[string, object]>) {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cfg(data));
    for (const [name, reads] of workloads) h.cluster.put('deployments', deployment(name, {}, reads));
    const c = await h.leader({ maxKeysPerObject: MAX });
    await h.settle();
    return { h, c, put: async (d: Record<string, string>) => { h.cluster.put('configmaps', cfg(d)); await h.settle(); await h.settle(); } };
  }

  it('back and forth across the budget with changes between: one roll per difference the pods see when under, none for a revert', async () => {
    const { h, c, put } = await start({ a: '1' }, [['web', { envFrom: [{ configMapRef: { name: 'cfg' } }] }]]);
    expect(h.operatorWrites('web'), 'adopted').to.have.length(1);
    await put({ a: '2', ...keysOf(MAX) }); // over
    await put({ a: '3' }); // under, other content than the pods run
    expect(h.rolled()).to.deep.equal(['web']);
    await put({ a: '4', ...keysOf(MAX) }); // over again
    await put({ a: '5', ...keysOf(MAX) });
    expect(h.rolled(), 'nothing while over').to.deep.equal(['web']);
    await put({ a: '3' }); // back to what the pods run
    expect(h.rolled(), 'a revert rolls nothing').to.deep.equal(['web']);
    await put({ a: '6', ...keysOf(MAX) });
    await put({ a: '1' }); // the adoption's content, not what the pods run
    expect(h.rolled()).to.deep.equal(['web', 'web']);
    await c.stop();
  });

  it('an object of exactly --max-keys-per-object keys is digested key by key: not held, a change rolls', async () => {
    const { h, c, put } = await start({ ...keysOf(MAX - 1), a: '1' }, [['web', { envFrom: [{ configMapRef: { name: 'cfg' } }] }]]);
    expect(h.operatorWrites('web'), 'adopted at the budget').to.have.length(1);
    await put({ ...keysOf(MAX - 1), a: '2' });
    expect(h.rolled()).to.deep.equal(['web']);
    expect(h.events.filter((e) => e.reason === 'ConfigOverBudget')).to.deep.equal([]);
    await c.stop();
  });

  it('a workload reading one key of an object over the budget is held too (documented in docs/rules.md); back under, it rolls only if its key differs', async () => {
    const { h, c, put } = await start({ x: '1', y: '1' }, [['reader', oneKey('x')]]);
    await put({ x: '1', y: '2', ...keysOf(MAX) });
    expect(h.events.filter((e) => e.reason === 'ConfigOverBudget').map((e) => e.target.name)).to.deep.equal(['reader']);
    await put({ x: '1', y: '3' });
    expect(h.rolled(), 'its key is what its pods read').to.deep.equal([]);
    await put({ x: '2', y: '3', ...keysOf(MAX) });
    expect(h.rolled(), 'held while over, even though only its key changed').to.deep.equal([]);
    await put({ x: '2', y: '4' });
    expect(h.rolled()).to.deep.equal(['reader']);
    await c.stop();
  });

  it('a Secret over the budget holds its readers; what is said quotes neither keys nor values', async () => {
    const h = new ControllerHarness();
    const secret = (data: Record<string, string>) => ({ metadata: { name: 'sec', namespace: NS }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) });
    h.cluster.put('secrets', secret({ password: 'hunter2' }));
    h.cluster.put('deployments', deployment('web', {}, { envFrom: [{ secretRef: { name: 'sec' } }] }));
    const c = await h.leader({ maxKeysPerObject: MAX, sourceKinds: ['ConfigMap', 'Secret'] });
    await h.settle();
    expect(h.operatorWrites('web'), 'adopted').to.have.length(1);
    h.cluster.put('secrets', secret({ password: 'swordfish', ...keysOf(MAX) }));
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    const said = h.events.filter((e) => e.reason === 'ConfigOverBudget');
    expect(said).to.have.length(1);
    expect(said[0]!.message).to.match(/^Secret sec holds 11 keys/);
    for (const secretText of ['swordfish', 'hunter2', 'password', 'k000', Buffer.from('swordfish').toString('base64')]) expect(said[0]!.message).to.not.include(secretText);
    h.cluster.put('secrets', secret({ password: 'swordfish' }));
    await h.settle();
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    await c.stop();
  });
});

describe('review 2: custom workload kinds', () => {
  const rollout = (name: string) => ({
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout',
    metadata: { name, namespace: NS, annotations: { 'config-reload.dev/enabled': 'true' } },
    spec: { replicas: 1, strategy: { canary: { steps: [{ setWeight: 50 }] } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'app:1', envFrom: [{ configMapRef: { name: 'cfg' } }] }] } } },
  });

  it('a kind whose CRD is deleted (its Rollouts gone, its watch refused) and installed again with changes between: Deployments served throughout, the new Rollout rolled once on the unknown (arguable, documented relist-gap residual), then one roll per change', async () => {
    const h = new ControllerHarness();
    h.cluster.installCrd('argoproj.io', 'rollouts');
    h.cluster.put('configmaps', cfg({ a: '1' }));
    h.cluster.put('rollouts', rollout('r'));
    h.cluster.put('deployments', deployment('d'));
    const c = await h.leader({ workloadKinds: ['Deployment', 'Rollout'], debounceMs: 0 });
    await h.settle(1000);
    const rolls = (plural: string, name: string) => h.operatorWrites(name).filter((w) => w.plural === plural && w.templateChanged).length;
    expect(h.operatorWrites().map((w) => [w.plural, w.templateChanged])).to.have.deep.members([['rollouts', false], ['deployments', false]]);

    // The CRD is deleted: its objects go, and its list and watch fail from then on.
    h.cluster.delete('rollouts', NS, 'r');
    h.cluster.installCrd('argoproj.io', 'rollouts', []);
    h.cluster.forbid('rollouts', true);
    await h.settle(1000);
    h.cluster.put('configmaps', cfg({ a: '2' }));
    await h.settle(30_000);
    expect([rolls('rollouts', 'r'), rolls('deployments', 'd')], 'the Deployment is served while the Rollout watch fails').to.deep.equal([0, 1]);

    // Installed again; a Rollout created anew reads cfg as it is now (a=2).
    h.cluster.put('configmaps', cfg({ a: '3' }));
    await h.settle(1000);
    h.cluster.forbid('rollouts', false);
    h.cluster.installCrd('argoproj.io', 'rollouts');
    h.cluster.put('rollouts', rollout('r'));
    await h.settle(10 * 60_000);
    // Arguable, documented (docs/rules.md, the table of what cannot be known: "appeared in a
    // relist's gap while a consumed object changed"): its watch was down when it was created and
    // cfg changed, so which content its pods read cannot be known — one roll, never a miss.
    expect(rolls('rollouts', 'r'), 'appeared in the gap of its watch: rolled once on the unknown').to.equal(1);
    h.cluster.put('configmaps', cfg({ a: '4' }));
    await h.settle(1000);
    expect([rolls('rollouts', 'r'), rolls('deployments', 'd')]).to.deep.equal([2, 3]);
    await h.settle(60_000);
    expect([rolls('rollouts', 'r'), rolls('deployments', 'd')], 'exactly once each').to.deep.equal([2, 3]);
    await c.stop();
  });
});

describe('review 2: a window shorter than the workload\'s own debounce', () => {
  it('a change held outside "09:00-09:30 UTC" with debounce 1h rolls once inside the window the day it opens, not never', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cfg({ a: '1' }));
    h.cluster.put('deployments', deployment('web', { [WINDOW]: '09:00-09:30 UTC', [DEBOUNCE]: '1h' }));
    const c = await h.leader();
    await h.clock.advance(2 * 3_600_000); // adopted (its debounce delays that too)
    await flushMicrotasks();
    expect(h.operatorWrites('web'), 'adopted').to.have.length(1);
    h.cluster.put('configmaps', cfg({ a: '2' }));
    await h.clock.advance(Date.parse('2026-01-01T09:00:00Z') - h.clock.wallNow() - 1000);
    expect(h.rolled()).to.deep.equal([]);
    const rolledAt: number[] = [];
    h.cluster.onWrite.push((w) => void (w.by === 'operator' && w.templateChanged && rolledAt.push(h.clock.wallNow())));
    await h.clock.advance(3 * 86_400_000);
    await flushMicrotasks();
    expect(h.rolled(), 'rolled once').to.deep.equal(['web']);
    const at = new Date(rolledAt[0]!);
    expect(at.getUTCHours() === 9 && at.getUTCMinutes() < 30, `inside the window (${at.toISOString()})`).to.equal(true);
    await c.stop();
  });
});

describe('review 2: a paused member in a middle wave', () => {
  it('never rolls while paused, fails no wave past --wave-timeout (no WaveHeld), holds only the waves behind it; unpaused, every consumer rolls exactly once', async () => {
    const h = new ControllerHarness();
    const names = Array.from({ length: 9 }, (_, i) => `m-${i}`);
    h.cluster.put('configmaps', cfg({ a: '1' }, 'shared'));
    for (const n of names) {
      h.cluster.put('deployments', deployment(n, n === 'm-3' ? { [PAUSED]: 'true' } : {}, { envFrom: [{ configMapRef: { name: 'shared' } }] }));
      healthy(h, n);
    }
    const c = await h.leader({ debounceMs: 0, waveThreshold: 5, waves: 3, waveTimeoutMs: 60_000 });
    await h.settle(1000);
    h.cluster.put('configmaps', cfg({ a: '2' }, 'shared'));
    for (let round = 0; round < 60; round++) {
      await h.clock.advance(5000);
      for (const n of new Set(h.rolled())) healthy(h, n);
    }
    const rolledWhilePaused = h.rolled();
    expect(rolledWhilePaused, 'the paused one').to.not.include('m-3');
    expect(rolledWhilePaused.length, 'some waves went, not all').to.be.within(1, names.length - 2);
    expect(new Set(rolledWhilePaused).size, 'each once').to.equal(rolledWhilePaused.length);
    expect(h.events.filter((e) => e.reason === 'WaveHeld'), 'a pause fails no wave').to.deep.equal([]);

    h.annotate('m-3', PAUSED, undefined);
    for (let round = 0; round < 60; round++) {
      await h.clock.advance(5000);
      for (const n of new Set(h.rolled())) healthy(h, n);
    }
    expect([...h.rolled()].sort(), 'every consumer exactly once').to.deep.equal(names);
    await c.stop();
  });
});

describe('review 2: a late kind and --namespace-selector', () => {
  it('a namespace selected after the kind appeared watches the kind too: its Rollout adopted, then rolled once per change', async () => {
    const h = new ControllerHarness();
    const inNs = <T extends { metadata: { namespace?: string } }>(o: T, ns: string): T => ({ ...o, metadata: { ...o.metadata, namespace: ns } });
    const rollout = (ns: string) => inNs({
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout',
      metadata: { name: 'r', namespace: NS, annotations: { 'config-reload.dev/enabled': 'true' } },
      spec: { replicas: 1, template: { metadata: { labels: { app: 'r' } }, spec: { containers: [{ name: 'c', image: 'app:1', envFrom: [{ configMapRef: { name: 'cfg' } }] }] } } },
    }, ns);
    h.cluster.put('namespaces', { metadata: { name: NS, labels: { team: 'a' } } });
    h.cluster.put('namespaces', { metadata: { name: 'late', labels: { team: 'b' } } });
    h.cluster.put('configmaps', cfg({ a: '1' }));
    h.cluster.put('configmaps', inNs(cfg({ a: '1' }), 'late'));
    h.cluster.put('rollouts', rollout(NS));
    h.cluster.put('rollouts', rollout('late'));
    const c = await h.leader({ workloadKinds: ['Deployment', 'Rollout'], namespaces: undefined, namespaceSelector: 'team=a', debounceMs: 0 } as never);
    await h.settle(1000);
    h.cluster.installCrd('argoproj.io', 'rollouts');
    await h.settle(2 * 60_000);
    const rolloutWrites = (ns: string) => h.cluster.writes.filter((w) => w.by === 'operator' && w.plural === 'rollouts' && w.namespace === ns).map((w) => w.templateChanged);
    expect(rolloutWrites(NS), 'adopted in the namespace open when the kind appeared').to.deep.equal([false]);
    expect(rolloutWrites('late'), 'not selected').to.deep.equal([]);
    h.cluster.update('namespaces', '', 'late', (n) => void (n.metadata.labels = { team: 'a' }));
    await h.settle(2 * 60_000);
    expect(rolloutWrites('late'), 'selected later: its Rollout watched and adopted').to.deep.equal([false]);
    h.cluster.update('configmaps', 'late', 'cfg', (cm) => void ((cm as Record<string, unknown>)['data'] = { a: '2' }));
    await h.settle(60_000);
    expect(rolloutWrites('late')).to.deep.equal([false, true]);
    expect(rolloutWrites(NS), 'the other namespace untouched').to.deep.equal([false]);
    await c.stop();
  });
});

describe('review 2: an object over the budget deleted', () => {
  it('an optional reader: deleted while over rolls once (its pods read the content before), re-created as the pods run it rolls once more, then nothing', async () => {
    const h = new ControllerHarness();
    const keys = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, '']));
    h.cluster.put('configmaps', cfg({ a: '1' }));
    h.cluster.put('deployments', deployment('web', {}, { envFrom: [{ configMapRef: { name: 'cfg', optional: true } }] }));
    const c = await h.leader({ maxKeysPerObject: 10 });
    await h.settle();
    expect(h.operatorWrites('web'), 'adopted').to.have.length(1);
    h.cluster.put('configmaps', cfg({ a: '2', ...keys }));
    await h.settle();
    expect(h.rolled(), 'held while over').to.deep.equal([]);
    h.cluster.delete('configmaps', NS, 'cfg');
    await h.settle();
    await h.settle();
    expect(h.rolled(), 'absent: other content than the pods read (a=1)').to.deep.equal(['web']);
    h.cluster.put('configmaps', cfg({ a: '1' }));
    await h.settle();
    await h.settle();
    expect(h.rolled(), 'the pods run "absent" now').to.deep.equal(['web', 'web']);
    await h.settle(600_000);
    expect(h.rolled()).to.deep.equal(['web', 'web']);
    await c.stop();
  });
});

describe('review 2: the key budget across restarts', () => {
  it('held under --max-keys-per-object 10, restarted with 100: one roll (the pods run a=1), then none; restarted with 10 again: nothing', async () => {
    const h = new ControllerHarness();
    const keys = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, '']));
    h.cluster.put('configmaps', cfg({ a: '1' }));
    h.cluster.put('deployments', deployment('web'));
    const a = await h.leader({ maxKeysPerObject: 10 });
    await h.settle();
    h.cluster.put('configmaps', cfg({ a: '2', ...keys }));
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    await a.stop();
    const b = await h.leader({ maxKeysPerObject: 100 });
    await h.settle();
    await h.settle();
    expect(h.rolled(), 'the catch-up roll, once').to.deep.equal(['web']);
    await b.stop();
    const c = await h.leader({ maxKeysPerObject: 10 });
    await h.settle();
    await h.settle();
    expect(h.rolled(), 'held again, nothing written').to.deep.equal(['web']);
    expect(h.operatorWrites('web')).to.have.length(2);
    await c.stop();
  });
});

describe('review 2: a wave member with its own long debounce', () => {
  it('a member with debounce 30m in a wave past --wave-timeout 60s: it rolls once (after its debounce), no wave held for its wait, every consumer once', async () => {
    const h = new ControllerHarness();
    const names = Array.from({ length: 7 }, (_, i) => `d-${i}`);
    h.cluster.put('configmaps', cfg({ a: '1' }, 'shared'));
    for (const n of names) {
      h.cluster.put('deployments', deployment(n, n === 'd-4' ? { [DEBOUNCE]: '30m' } : {}, { envFrom: [{ configMapRef: { name: 'shared' } }] }));
      healthy(h, n);
    }
    const c = await h.leader({ debounceMs: 0, waveThreshold: 5, waves: 2, waveTimeoutMs: 60_000 });
    for (let i = 0; i < 24; i++) await h.clock.advance(5 * 60_000); // adopted, d-4 after its 30m
    expect(h.operatorWrites().filter((w) => !w.templateChanged)).to.have.length(names.length);
    h.cluster.put('configmaps', cfg({ a: '2' }, 'shared'));
    for (let round = 0; round < 600; round++) {
      await h.clock.advance(5000);
      for (const n of new Set(h.rolled())) healthy(h, n);
    }
    expect(h.events.filter((e) => e.reason === 'WaveHeld').map((e) => e.message.slice(0, 120)), 'no wave held').to.deep.equal([]);
    expect([...h.rolled()].sort(), 'every consumer exactly once').to.deep.equal(names);
    await c.stop();
  });
});
