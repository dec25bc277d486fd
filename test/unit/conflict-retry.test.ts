// A roll refused with 409 because the workload's controller wrote its status after the
// operator's snapshot (issue 24, point 2: the fan-out's slowest unrelated changes). During a
// fan-out the Deployment controller is seconds behind, so a Deployment changed twice within a few
// seconds often gets its status write from the first roll at the moment of the second. That
// write's event changes nothing a decision reads; before, the roll waited for the reconciler's
// fallback delay (250 ms) and, with --debounce, could be debounced again. Now the event of the
// newer version makes the roll due at once. In-memory API, virtual clock.
import { expect } from 'chai';
import { ControllerHarness, NS } from '../support/controller-harness.ts';
import { flushMicrotasks } from '../support/virtual-clock.ts';

function deployment(name: string, configMap: string) {
  return {
    metadata: { name, namespace: NS, annotations: { 'config-reload.dev/enabled': 'true' } },
    spec: { replicas: 1, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'app:1', envFrom: [{ configMapRef: { name: configMap } }] }] } } },
  };
}

const configMap = (name: string, data: Record<string, string>) => ({ metadata: { name, namespace: NS }, data });
const statusWrite = (d: Record<string, unknown>) => void (d['status'] = { replicas: 1, observedGeneration: 2 });

/** An adopted Deployment `web` reading `cfg`, delivery under the test's control; patches answered with the virtual time they were made at. */
async function adopted(debounceMs: number) {
  const h = new ControllerHarness(true);
  const controller = await h.leader({ debounceMs });
  h.cluster.put('configmaps', configMap('cfg', { a: '1' }));
  h.cluster.put('deployments', deployment('web', 'cfg'));
  await h.settle();
  expect(h.operatorWrites('web'), 'adopted').to.have.length(1);
  const patchedAt: Array<{ at: number; ok: boolean }> = [];
  const mergePatch = h.cluster.mergePatch.bind(h.cluster);
  h.cluster.mergePatch = async (type, req) => {
    try {
      const out = await mergePatch(type, req);
      patchedAt.push({ at: h.clock.now(), ok: true });
      return out;
    } catch (err) {
      patchedAt.push({ at: h.clock.now(), ok: false });
      throw err;
    }
  };
  h.cluster.autoDeliver = false;
  return { h, controller, patchedAt, mergePatch };
}

/** Runs callbacks and timers due up to `ms` of virtual time from now, no further. */
async function run(h: ControllerHarness, ms: number): Promise<void> {
  await flushMicrotasks();
  await h.clock.advance(ms);
  await flushMicrotasks();
}

describe('a roll refused by a status write (409) goes as soon as that write is seen', () => {
  for (const debounceMs of [0, 1000]) {
    it(`with --debounce ${debounceMs} ms: the roll is patched at the status write's event, not after the 250 ms fallback`, async () => {
      const { h, controller, patchedAt } = await adopted(debounceMs);
      h.cluster.put('configmaps', configMap('cfg', { a: '2' }));
      h.cluster.deliver('configmaps');
      // The Deployment controller's status write, not yet seen by the operator: its patch is refused.
      h.cluster.update('deployments', NS, 'web', statusWrite, 'kube-controller-manager');
      await run(h, debounceMs);
      expect(patchedAt.map((p) => p.ok), 'the roll refused once').to.deep.equal([false]);
      const refusedAt = patchedAt[0]!.at;
      // The status write's event arrives 5 ms later: the roll goes then.
      await run(h, 5);
      h.cluster.deliverAll();
      await run(h, 0);
      expect(patchedAt.map((p) => p.ok)).to.deep.equal([false, true]);
      expect(patchedAt[1]!.at - refusedAt, 'ms from the refusal to the roll').to.equal(5);
      expect(h.rolled()).to.deep.equal(['web']);
      h.cluster.autoDeliver = true;
      await h.settle();
      expect(h.rolled(), 'rolled once').to.deep.equal(['web']);
      await controller.stop();
    });
  }

  it('the status write seen before the refusal came back: the roll goes at once', async () => {
    const { h, controller, patchedAt, mergePatch } = await adopted(0);
    h.cluster.put('configmaps', configMap('cfg', { a: '2' }));
    h.cluster.deliver('configmaps');
    h.cluster.update('deployments', NS, 'web', statusWrite, 'kube-controller-manager');
    // The refusal's answer arrives after the watch delivered the write it conflicted with.
    h.cluster.mergePatch = async (type, req) => {
      if (patchedAt.length === 0) {
        try {
          return await mergePatch(type, req);
        } catch (err) {
          patchedAt.push({ at: h.clock.now(), ok: false });
          h.cluster.deliverAll();
          await flushMicrotasks();
          throw err;
        }
      }
      const out = await mergePatch(type, req);
      patchedAt.push({ at: h.clock.now(), ok: true });
      return out;
    };
    await run(h, 0);
    expect(patchedAt.map((p) => p.ok)).to.deep.equal([false, true]);
    expect(patchedAt[1]!.at - patchedAt[0]!.at, 'ms from the refusal to the roll').to.equal(0);
    expect(h.rolled()).to.deep.equal(['web']);
    await controller.stop();
  });

  it('no event after the refusal: the roll goes after the 250 ms fallback, once', async () => {
    const { h, controller, patchedAt, mergePatch } = await adopted(0);
    h.cluster.put('configmaps', configMap('cfg', { a: '2' }));
    h.cluster.deliver('configmaps');
    // Refused once by a precondition the operator could not see coming (and no event follows).
    let refusals = 1;
    h.cluster.mergePatch = async (type, req) => {
      if (refusals-- > 0) {
        patchedAt.push({ at: h.clock.now(), ok: false });
        throw Object.assign(new Error('Conflict'), { statusCode: 409, code: 409 });
      }
      const out = await mergePatch(type, req);
      patchedAt.push({ at: h.clock.now(), ok: true });
      return out;
    };
    await run(h, 0);
    expect(patchedAt.map((p) => p.ok)).to.deep.equal([false]);
    await run(h, 249);
    expect(patchedAt.map((p) => p.ok), 'not before the fallback').to.deep.equal([false]);
    await run(h, 1);
    expect(patchedAt.map((p) => p.ok)).to.deep.equal([false, true]);
    expect(h.rolled()).to.deep.equal(['web']);
    await controller.stop();
  });
});
