// One digest key per installation (src/leader/key-custody.ts, src/kube/digest-key.ts), on the
// in-memory API, the in-memory Lease and the virtual clock: two replicas, each with its own
// leader elector, key loading and controller, while the key Secret is deleted, replicas restart
// and leadership fails over. Every key ever stored is the first one, only a replica that may
// lead creates one, and the workload is adopted once and rolled exactly once per real change
// (none dropped by a re-record under another key, none spurious).
import type { Secret as V1Secret } from '../../src/kube/digest-key.ts';
import { expect } from 'chai';
import type { Controller } from '../../src/controller.ts';
import { ApiError } from '../../src/kube/api-error.ts';
import { digestKeyFromSecret, type HeldDigestKey, loadDigestKey, type SecretApi } from '../../src/kube/digest-key.ts';
import { guardKey, keyCreationGate } from '../../src/leader/key-custody.ts';
import { LeaseElector } from '../../src/leader/lease-elector.ts';
import { ControllerHarness, NS, silentLog } from '../support/controller-harness.ts';
import { InMemoryLease, type LeaseClient } from '../support/in-memory-lease.ts';

const WHERE = { namespace: 'ops', name: 'config-reload-digest-key' };
const status = (code: number) => new ApiError(code, JSON.stringify({ message: `status ${code}` }), 'test');
const TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** The key Secret, with who wrote it and every key id it ever held. */
class SecretStore {
  stored: V1Secret | undefined;
  readonly writers: string[] = [];
  readonly idsEverStored = new Set<string>();

  api(who: string): SecretApi {
    return {
      read: async () => {
        if (!this.stored) throw status(404);
        return structuredClone(this.stored);
      },
      create: async (_where, body) => {
        if (this.stored) throw status(409);
        this.stored = structuredClone(body);
        this.writers.push(who);
        this.idsEverStored.add(digestKeyFromSecret(body, WHERE).id);
        return structuredClone(body);
      },
    };
  }
}

function deployment(name: string, configMap: string) {
  return {
    metadata: { name, namespace: NS, annotations: { 'config-reload.dev/enabled': 'true' } },
    spec: { replicas: 1, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'app:1', envFrom: [{ configMapRef: { name: configMap } }] }] } } },
  };
}
const configMap = (data: Record<string, string>) => ({ metadata: { name: 'cfg', namespace: NS }, data });

/** One replica as src/operator.ts assembles it: key (gated by the Lease), controller, elector, key guard. */
class Replica {
  key: HeldDigestKey | undefined;
  controller: Controller | undefined;
  replaced = false;
  readonly leaseApi: LeaseClient;
  readonly elector: LeaseElector;

  constructor(readonly h: ControllerHarness, lease: InMemoryLease, readonly secrets: SecretStore, readonly identity: string) {
    this.leaseApi = lease.client();
    this.elector = new LeaseElector({
      namespace: 'ops', name: 'lease', identity, ...TIMING, log: silentLog, clock: h.clock, api: this.leaseApi,
    });
  }

  /** Starts: loads the key (waiting while another may lead), then the controller and the campaign. */
  async boot(): Promise<void> {
    const gate = { mayCreate: keyCreationGate(this.leaseApi, this.identity, this.h.clock) };
    this.key = await loadDigestKey(this.secrets.api(this.identity), WHERE, silentLog, this.h.clock, undefined, gate);
    const key = this.key!;
    const controller = this.h.controller({ digestKey: key });
    this.controller = controller;
    await controller.start();
    this.elector.run({
      onStartedLeading: (leadership) => void (async () => {
        const ok = await guardKey({ key, clock: this.h.clock, log: silentLog, onReplaced: () => void (this.replaced = true) }, leadership);
        if (ok && !leadership.aborted) controller.runWorkers(leadership);
      })(),
      onStoppedLeading: () => undefined,
    });
  }

  /** Dies without releasing the Lease: the other replica takes over once it expires. */
  async crash(): Promise<void> {
    this.leaseApi.fault = 503;
    await this.controller?.stop();
    void this.elector.stop();
  }
}

describe('digest key custody: one key per installation across deletes, restarts and failovers', () => {
  it('a deleted key Secret is restored by the leader with its key; a restarted replica waits for it; no change dropped, no spurious roll', async () => {
    const h = new ControllerHarness();
    const lease = new InMemoryLease(h.clock, 'ops', 'lease');
    const secrets = new SecretStore();
    h.cluster.put('configmaps', configMap({ a: '1' }));
    h.cluster.put('deployments', deployment('web', 'cfg'));

    // a: the first replica, nobody leads: it creates the key, leads, adopts.
    const a = new Replica(h, lease, secrets, 'a');
    await a.boot();
    await h.clock.advance(5_000);
    expect(lease.holder).to.equal('a');
    expect(secrets.writers).to.deep.equal(['a']);
    const keyId = a.key!.id;
    const b = new Replica(h, lease, secrets, 'b');
    await b.boot();
    expect(b.key!.id).to.equal(keyId);
    await h.clock.advance(5_000);
    expect(h.operatorWrites('web').map((w) => w.templateChanged)).to.deep.equal([false]);

    // The Secret deleted; b restarts as b2 while a leads: b2 creates nothing, and loads the key
    // a restores.
    secrets.stored = undefined;
    await b.crash();
    const b2 = new Replica(h, lease, secrets, 'b2');
    const booting = b2.boot();
    await h.clock.advance(60_000);
    expect(b2.key?.id, 'the restarted replica holds the running key').to.equal(keyId);
    await booting;
    expect(secrets.writers, 'created by a, restored by a').to.deep.equal(['a', 'a']);

    // Deleted again, the leader dies, and a real change is made before the other takes over.
    secrets.stored = undefined;
    await a.crash();
    h.cluster.put('configmaps', configMap({ a: '2' }));
    await h.clock.advance(60_000);
    expect(lease.holder).to.equal('b2');
    expect(secrets.writers, 'the new leader restored it').to.deep.equal(['a', 'a', 'b2']);
    expect(h.operatorWrites('web').map((w) => w.templateChanged), 'adopted, then rolled once: the change is not re-recorded away').to.deep.equal([false, true]);

    // a restarts as a2 and takes over when b2 dies: same key, nothing to write.
    const a2 = new Replica(h, lease, secrets, 'a2');
    await a2.boot();
    expect(a2.key!.id).to.equal(keyId);
    await b2.crash();
    await h.clock.advance(60_000);
    expect(lease.holder).to.equal('a2');
    h.cluster.put('configmaps', configMap({ a: '3' }));
    await h.clock.advance(10_000);
    expect(h.operatorWrites('web').map((w) => w.templateChanged), 'one more roll for one more change').to.deep.equal([false, true, true]);
    expect([...secrets.idsEverStored], 'one key, ever').to.deep.equal([keyId]);
    expect(a2.replaced || b2.replaced || a.replaced).to.equal(false);
    await a2.crash();
  });

  it('a key Secret holding another key (rotated by hand): the leader steps down before writing with its own', async () => {
    const h = new ControllerHarness();
    const lease = new InMemoryLease(h.clock, 'ops', 'lease');
    const secrets = new SecretStore();
    const a = new Replica(h, lease, secrets, 'a');
    await a.boot();
    await h.clock.advance(5_000);
    expect(a.replaced).to.equal(false);
    secrets.stored = { data: { key: Buffer.alloc(32, 8).toString('base64') } };
    await h.clock.advance(15_000);
    expect(a.replaced).to.equal(true);

    // A leader that finds another key when it starts leading never starts its workers.
    const held = a.key!;
    const leadership = new AbortController();
    let replaced = 0;
    expect(await guardKey({ key: held, clock: h.clock, log: silentLog, onReplaced: () => void replaced++ }, leadership.signal)).to.equal(false);
    expect(replaced).to.equal(1);
    await a.crash();
  });

  it('the creation gate: the Lease absent, free or stale for its whole duration allows a new key; a renewing holder does not', async () => {
    const h = new ControllerHarness();
    const lease = new InMemoryLease(h.clock, 'ops', 'lease');
    const gate = keyCreationGate(lease.client(), 'me', h.clock);
    expect(await gate(), 'no Lease').to.equal(true);
    lease.put({ holderIdentity: '', leaseDurationSeconds: 15 });
    expect(await gate(), 'released').to.equal(true);
    lease.put({ holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: new Date(0) as never });
    expect(await gate(), 'just seen held (its wall-clock times are not trusted)').to.equal(false);
    await h.clock.advance(10_000);
    lease.put({ holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: new Date(10_000) as never });
    await h.clock.advance(10_000);
    expect(await gate(), 'renewed 10 s ago').to.equal(false);
    await h.clock.advance(16_000);
    expect(await gate(), 'unchanged for longer than its duration: the holder is gone').to.equal(true);
    lease.put({ holderIdentity: 'me', leaseDurationSeconds: 15 });
    expect(await gate(), 'ours').to.equal(true);
  });
});
