// Exactness through the controller: histories in which the operator missed a roll or added one,
// replayed on the in-memory API and the virtual clock. Each asserts the outcome by what the pods
// run: a roll is an operator write that changed the pod template, the pods of a workload run
// the configuration of the moment its pod template was last written, and at quiescence every
// opted-in workload runs the current configuration, rolled once per change its pods had not
// seen, never onto what they run already (test/support/exactness-harness.ts).
import { expect } from 'chai';
import type { Controller } from '../../src/controller.ts';
import { ApiError } from '../../src/kube/api-error.ts';
import { configMap, Exactness, NS, secret, setImage, workload } from '../support/exactness-harness.ts';
import { deploymentStatus } from '../support/fake-cluster.ts';
import { flushMicrotasks } from '../support/virtual-clock.ts';

const cfg = (a: string, annotations: Record<string, string> = {}) => configMap('cfg', { a }, annotations);

/** cfg a=1 and a Deployment web reading all of it; with `leader`, a controller adopted it. */
async function adopted(settings: Parameters<Exactness['leader']>[0] = {}): Promise<{ h: Exactness; c: Controller }> {
  const h = new Exactness();
  const c = await h.leader(settings);
  h.cluster.put('configmaps', cfg('1'));
  h.cluster.put('deployments', workload('web', { configMap: 'cfg' }));
  await h.settle();
  expect(h.operatorWrites(), 'adopted').to.have.length(1);
  return { h, c };
}

/** The same, listed before the controller starts, its adoption held back by failing patches. */
async function listedNotAdopted(): Promise<{ h: Exactness; c: Controller; allowPatches: () => void }> {
  const h = new Exactness();
  h.cluster.put('configmaps', cfg('1'));
  h.cluster.put('deployments', workload('web', { configMap: 'cfg' }));
  const allowPatches = h.failPatches();
  const c = await h.leader();
  await flushMicrotasks();
  await h.clock.advance(100);
  return { h, c, allowPatches };
}

describe('exactness: rolls exactly when the pods do not run the current configuration', () => {
  it('a Secret list refused (403), then allowed: every never-adopted workload reading a Secret is adopted (metadata only), none rolled', async () => {
    const h = new Exactness();
    h.cluster.put('secrets', secret('s', { p: 'aHVudGVyMg==' }));
    h.cluster.put('deployments', workload('web', { secret: 's' }));
    h.cluster.put('deployments', workload('api', { secret: 's', key: 'p' }));
    // RBAC not effective yet when the operator starts (its RoleBinding created in the same install).
    let refusals = 1;
    const listPage = h.cluster.listPage.bind(h.cluster);
    h.cluster.listPage = (async (type, req, onItem) => {
      if (type.plural === 'secrets' && refusals-- > 0) throw new ApiError(403, JSON.stringify({ message: 'secrets is forbidden' }), 'LIST');
      return listPage(type, req, onItem);
    }) as typeof h.cluster.listPage;
    const c = await h.leader();
    await h.settle();
    expect(h.operatorWrites().map((w) => w.name).sort(), 'each adopted once').to.deep.equal(['api', 'web']);
    expect(h.rolls(), 'never rolled').to.deep.equal([]);
    await c.stop();
  });

  it('a ConfigMap edited while marked ignore rolls nothing, not after a restart either; unsetting ignore then rolls its consumers once', async () => {
    const h = new Exactness();
    let c = await h.leader();
    const ignored = { 'config-reload.dev/ignore': 'true' };
    h.cluster.put('configmaps', cfg('1'));
    h.cluster.put('deployments', workload('web', { configMap: 'cfg' }));
    h.cluster.put('deployments', workload('api', { configMap: 'cfg', key: 'a' }));
    await h.settle();
    for (const a of ['1', '2', '3']) h.cluster.put('configmaps', cfg(a, ignored)); // the switch set, then its app rewrites it
    await h.settle();
    expect(h.rolls(), 'ignored: nothing rolls').to.deep.equal([]);
    await c.stop();
    c = await h.leader(); // a restart (a new pod, or a standby started after the switch was set)
    await h.settle();
    expect(h.rolls(), 'ignored: a restart rolls nothing either').to.deep.equal([]);
    expect([h.podsRun('web', 'cfg'), h.podsRun('api', 'cfg')], 'the pods run the old content').to.deep.equal([{ a: '1' }, { a: '1' }]);
    h.cluster.put('configmaps', cfg('3'));
    await h.settle();
    expect(h.rolls().map((r) => r.name).sort(), 'ignore unset: each consumer rolls once').to.deep.equal(['api', 'web']);
    expect([h.stale('web'), h.stale('api')]).to.deep.equal([[], []]);
    await c.stop();
  });

  describe('failover and restart after a roll: nothing to roll', () => {
    const histories: Array<[string, (h: Exactness) => Promise<void>]> = [
      ['a=3 and back to a=2 within the debounce', async (h) => {
        h.cluster.put('configmaps', cfg('3'));
        h.cluster.put('configmaps', cfg('2'));
        await h.settle();
      }],
      ['the ConfigMap deleted and re-created with the same content (helm --force)', async (h) => {
        h.cluster.delete('configmaps', NS, 'cfg');
        await h.settle();
        h.cluster.put('configmaps', cfg('2')); // a new uid
        await h.settle();
      }],
    ];
    for (const [what, history] of histories) {
      for (const next of ['a standby with warm stores takes over', 'a fresh operator starts'] as const) {
        it(`adopt, roll a=2, ${what}, then ${next}: no roll`, async () => {
          const h = new Exactness();
          const leader = h.controller();
          const standby = next.startsWith('a standby') ? h.controller() : undefined;
          await leader.start();
          await standby?.start();
          leader.runWorkers();
          h.cluster.put('configmaps', cfg('1'));
          h.cluster.put('deployments', workload('web', { configMap: 'cfg' }));
          await h.settle();
          h.cluster.put('configmaps', cfg('2'));
          await h.settle();
          expect(h.rolls().map((r) => h.podsRunAt(r.rv, 'cfg')), 'one roll, carrying a=2').to.deep.equal([{ a: '2' }]);
          await history(h);
          expect(h.rolls(), 'the leader rightly rolls nothing more').to.have.length(1);
          await leader.stop();
          const successor = standby ?? h.controller();
          if (!standby) await successor.start();
          successor.runWorkers();
          await h.settle();
          expect(h.rolls(), 'the pods run a=2, the configuration is a=2: no roll').to.have.length(1);
          await successor.stop();
        });
      }
    }
  });

  describe('a change seen while the operator\'s roll awaits its answer', () => {
    /** The model test's history, delivery under its control; `hold`: the roll's answer held until a=0 was seen. */
    async function replay(hold: boolean) {
      const h = new Exactness();
      const c = await h.manualLeader({ debounceMs: 0, workers: 1, adoptionQps: 0 });
      const one = (a: string) => () => h.cluster.put('configmaps', configMap('one', { a }));
      await h.step(one('1'));
      h.cluster.put('deployments', workload('web', { configMap: 'one', optional: false }));
      await h.quiesce(c); // adopted at a=1
      await h.step(one('2'));
      if (hold) await h.step(() => (h.cluster.patchMode = 'hold'));
      await h.step(() => h.cluster.deliver('configmaps', 1)); // the roll to a=2, applied
      expect(h.rolls().map((r) => h.podsRunAt(r.rv, 'one')), 'rolled onto a=2').to.deep.equal([{ a: '2' }]);
      await h.step(one('0'));
      await h.step(() => h.cluster.deliver('configmaps', 1)); // seen while the roll's answer is held
      if (hold) {
        await h.step(() => h.cluster.releaseAnswers());
        await h.step(() => (h.cluster.patchMode = 'ok'));
      }
      await h.step(() => h.cluster.update('deployments', NS, 'web', setImage('app:2'))); // someone's rollout
      expect(h.podsRun('web', 'one'), 'the rollout\'s pods read a=0').to.deep.equal({ a: '0' });
      await h.step(one('2'));
      await h.step(() => h.cluster.deliver('configmaps', 1));
      await h.step(() => h.cluster.deliver('deployments', 4));
      await h.quiesce(c);
      expect(h.rolls(), 'pods ran a=0, the configuration is a=2: exactly one more roll').to.have.length(2);
      expect(h.podsRun('web', 'one')).to.deep.equal({ a: '2' });
      await c.stop();
    }

    it('roll to a=2 applied, its answer held while a=0 arrives, an image edit (pods read a=0), then a=2: exactly one more roll', () => replay(true));
    it('control: the same history with the answer not held: exactly one more roll', () => replay(false));
  });

  describe('a template edit between a change and its reversal: the pods run neither, one roll', () => {
    async function replay(relist: boolean) {
      const { h, c } = await adopted();
      h.cluster.autoDeliver = false; // the Deployment watch stalls; ConfigMap events still flow
      h.cluster.put('configmaps', cfg('2'));
      h.cluster.deliver('configmaps');
      h.cluster.update('deployments', NS, 'web', setImage('app:2')); // its pods read a=2
      h.cluster.put('configmaps', cfg('1'));
      h.cluster.deliver('configmaps');
      await flushMicrotasks();
      expect(h.podsRun('web', 'cfg'), 'the pods run a=2, the configuration is a=1').to.deep.equal({ a: '2' });
      if (relist) {
        h.cluster.compact(); // the Deployment watch is lost: 410 on resume, then a relist
        h.cluster.closeWatches('deployments');
      }
      h.cluster.autoDeliver = true;
      h.cluster.deliverAll();
      await h.settle();
      expect(h.rolls(), 'one roll onto a=1').to.have.length(1);
      expect(h.stale('web'), 'at quiescence the pods run the current configuration').to.deep.equal([]);
      await c.stop();
    }

    it('adopted, a=2 seen, an image edit not yet delivered, a=1, then a 410 relist of Deployments: rolls once (pods run a=1)', () => replay(true));
    it('control: the same history without the relist: rolls once (pods run a=1)', () => replay(false));

    it('listed, adoption held back (patches fail 503), a=2, an image edit (pods read a=2), a=1, adoption allowed: rolls once (pods run a=1)', async () => {
      const { h, c, allowPatches } = await listedNotAdopted();
      h.cluster.put('configmaps', cfg('2')); // the pods still run a=1
      await h.clock.advance(100);
      h.cluster.update('deployments', NS, 'web', setImage('app:2')); // a rollout: its pods read a=2
      await h.clock.advance(100);
      h.cluster.put('configmaps', cfg('1'));
      await h.clock.advance(100);
      expect(h.podsRun('web', 'cfg')).to.deep.equal({ a: '2' });
      allowPatches();
      await h.settle();
      expect(h.rolls(), 'the pods ran a=2, the configuration is a=1: one roll').to.have.length(1);
      expect(h.stale('web')).to.deep.equal([]);
      await c.stop();
    });
  });

  describe('relists (410) add no roll: the model test\'s shrunk histories', () => {
    async function history(debounceMs: number, steps: (h: Exactness, c: Controller) => Promise<void>) {
      const h = new Exactness();
      const c = await h.manualLeader({ debounceMs, workers: 1, adoptionQps: 0 });
      await steps(h, c);
      await h.quiesce(c);
      await c.stop();
      return h;
    }

    it('R1: adopted with its required ConfigMap absent, the template edited to read an absent optional one, ConfigMaps relisted: no roll', async () => {
      const h = await history(1000, async (h, c) => {
        h.cluster.put('deployments', workload('web', { configMap: 'three', optional: false }));
        await h.quiesce(c);
        await h.step(() => h.cluster.update('deployments', NS, 'web', (d) => {
          const container = (d as unknown as { spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } }).spec.template.spec.containers[0]!;
          Object.assign(container, { envFrom: [{ configMapRef: { name: 'one', optional: true } }], env: [] });
        }));
        await h.relist('configmaps');
      });
      expect(h.rolls(), 'nothing it reads changed since its template was written').to.deep.equal([]);
      expect(h.stale('web')).to.deep.equal([]);
    });

    it('R2: adopted with its ConfigMap absent, the ConfigMap created, Deployments relisted, an image edit (pods read a=0): no roll', async () => {
      const h = await history(0, async (h, c) => {
        h.cluster.put('deployments', workload('web', { configMap: 'one', optional: false }));
        await h.quiesce(c);
        await h.step(() => h.cluster.put('configmaps', configMap('one', { a: '0' })));
        await h.relist('deployments');
        await h.step(() => h.cluster.update('deployments', NS, 'web', setImage('app:2')));
        await h.step(() => h.cluster.deliver('configmaps', 1));
      });
      expect(h.podsRun('web', 'one')).to.deep.equal({ a: '0' });
      expect(h.rolls(), 'the image edit\'s pods read a=0, the configuration is a=0').to.deep.equal([]);
    });

    it('R3: ConfigMap created, both watches relisted, then the Deployment created: adopted, never rolled', async () => {
      const h = await history(0, async (h, c) => {
        await h.step(() => h.cluster.put('configmaps', configMap('one', { a: '0' })));
        await h.relist('deployments');
        await h.relist('configmaps');
        h.cluster.put('deployments', workload('web', { configMap: 'one', optional: false }));
        await h.quiesce(c);
      });
      expect(h.operatorWrites(), 'adopted').to.have.length(1);
      expect(h.rolls(), 'its pods were created reading a=0').to.deep.equal([]);
    });
  });

  it('waves: a canary whose roll is refused (422) holds the rest with WaveHeld on the ConfigMap; the release token rolls them and clears the hold', async () => {
    const h = new Exactness();
    const names = Array.from({ length: 8 }, (_, i) => `web-${i}`);
    h.cluster.put('configmaps', configMap('shared', { a: '1' }));
    for (const name of names) {
      h.cluster.put('deployments', workload(name, { configMap: 'shared' }));
      h.cluster.writeStatus('deployments', NS, name, (g) => deploymentStatus('healthy', g));
    }
    const mergePatch = h.cluster.mergePatch.bind(h.cluster);
    h.cluster.mergePatch = async (type, req) => {
      // An admission policy refuses the canary's pod template.
      if (req.name === 'web-0' && (req.body as { spec?: unknown }).spec) throw new ApiError(422, JSON.stringify({ message: 'denied by policy' }), 'PATCH');
      return mergePatch(type, req);
    };
    const c = await h.leader({ debounceMs: 0, waveThreshold: 5, waveTimeoutMs: 60_000 });
    await h.settle();
    h.cluster.update('configmaps', NS, 'shared', (cm) => void (cm['data'] = { a: '2' }));
    for (let minute = 0; minute < 30; minute++) {
      await h.clock.advance(60_000);
      await h.settle();
    }
    const warnings = h.events.filter((e) => e.type === 'Warning' && e.reason === 'WaveHeld' && e.target.kind === 'ConfigMap' && e.target.name === 'shared');
    expect(warnings, 'WaveHeld on the ConfigMap').to.have.length(1);
    expect(h.rolls(), 'the rest not rolled until a release').to.deep.equal([]);
    const heldNow = () => h.waveHeld.filter(([name]) => name === 'shared').at(-1)?.[1];
    expect(heldNow(), 'held: waveHeld').to.be.greaterThan(0);
    const message = warnings[0]!.message;
    const token = (/config-reload\.dev\/release[=:]\s*"?([0-9a-f]+)/.exec(message) ?? /content ([0-9a-f]+)/.exec(message))?.[1];
    expect(token, 'the release token in the WaveHeld message').to.be.a('string');
    h.cluster.update('configmaps', NS, 'shared', (cm) => void (cm.metadata.annotations = { 'config-reload.dev/release': token! }));
    await h.settle();
    expect(h.rolls().map((r) => r.name).sort(), 'released: the rest roll, once each').to.deep.equal(names.slice(1));
    expect(heldNow(), 'no longer held: waveHeld 0').to.equal(0);
    await c.stop();
  });

  describe('a change and its reversal since the pod template was written (the pods run A): no roll', () => {
    it('--template-order off: a change and its reversal, then an image bump an hour later: no roll at all', async () => {
      const { h, c } = await adopted({ templateOrder: 'off' });
      h.cluster.put('configmaps', cfg('2'));
      h.cluster.put('configmaps', cfg('1'));
      await h.settle();
      expect(h.rolls(), 'a change and its reversal within the debounce').to.deep.equal([]);
      await h.clock.advance(3_600_000);
      h.cluster.update('deployments', NS, 'web', setImage('app:2')); // its pods read a=1
      await h.settle();
      expect(h.rolls(), 'the image bump\'s pods run the current configuration').to.deep.equal([]);
      await c.stop();
    });

    it('adopted at a=1, then a=2 and a=1 again within the debounce: no roll', async () => {
      const { h, c } = await adopted();
      h.cluster.put('configmaps', cfg('2'));
      await h.clock.advance(500);
      h.cluster.put('configmaps', cfg('1'));
      await h.settle();
      expect(h.rolls()).to.deep.equal([]);
      await c.stop();
    });

    it('adopted at a=1, then a=2 past the debounce with its roll failing (503), then a=1 and patches allowed: no roll', async () => {
      const { h, c } = await adopted();
      const allowPatches = h.failPatches();
      h.cluster.put('configmaps', cfg('2'));
      await h.clock.advance(5_000);
      h.cluster.put('configmaps', cfg('1'));
      await h.clock.advance(100);
      allowPatches();
      await h.settle();
      expect(h.rolls()).to.deep.equal([]);
      await c.stop();
    });

    it('listed at a=1, adoption held back (503), a=2 and a=1 before it is adopted: adopted, never rolled', async () => {
      const { h, c, allowPatches } = await listedNotAdopted();
      h.cluster.put('configmaps', cfg('2'));
      await h.clock.advance(100);
      h.cluster.put('configmaps', cfg('1'));
      await h.clock.advance(100);
      allowPatches();
      await h.settle();
      expect(h.operatorWrites(), 'adopted').to.have.length(1);
      expect(h.rolls()).to.deep.equal([]);
      await c.stop();
    });

    it('the judgement these tests use: a roll after A → B → A since the template write is extra; after A → B it is not', () => {
      const h = new Exactness();
      const restart = (value: string) => (w: unknown) => {
        (w as { spec: { template: { metadata: { annotations?: Record<string, string> } } } }).spec.template.metadata.annotations = { restartedAt: value };
      };
      h.cluster.put('configmaps', cfg('1'));
      h.cluster.put('deployments', workload('web', { configMap: 'cfg' }));
      h.cluster.update('deployments', NS, 'web', (w) => void (w.metadata.annotations = { ...w.metadata.annotations, 'config-reload.dev/config-hash': 'h1' }), 'operator');
      h.cluster.put('configmaps', cfg('2'));
      h.cluster.put('configmaps', cfg('1')); // back
      h.cluster.update('deployments', NS, 'web', restart('1'), 'operator'); // a roll onto what the pods run
      expect(h.extraRolls(), 'the pods ran a=1 and still do').to.deep.equal([`rv ${h.rolls()[0]!.rv}: web`]);
      h.cluster.put('configmaps', cfg('2'));
      h.cluster.update('deployments', NS, 'web', restart('2'), 'operator');
      expect(h.extraRolls(), 'a roll onto a=2 is needed').to.have.length(1);
      expect(h.stale('web')).to.deep.equal([]);
    });
  });
});
