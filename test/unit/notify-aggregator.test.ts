// The aggregation rule of notifications (src/notify/aggregator.ts, docs/notifications.md) on the
// virtual clock: one message per config object (and wave) once its rolls went quiet, capped in
// time; a held wave at once; a refused write once per workload and change.
import { expect } from 'chai';
import type { EventFacts } from '../../src/core/types.ts';
import { Aggregator, type EventTarget, MAX_GATHER_MS, QUIET_MS } from '../../src/notify/aggregator.ts';
import { MAX_LISTED, type Notification } from '../../src/notify/notification.ts';
import { VirtualClock } from '../support/virtual-clock.ts';

const deploy = (name: string, namespace = 'shop'): EventTarget => ({ kind: 'Deployment', namespace, name, uid: `uid-${namespace}-${name}` });
const rolled = (...changed: string[]): EventFacts => ({ kind: 'rolled', changed });

function setup() {
  const clock = new VirtualClock();
  const sent: Notification[] = [];
  const agg = new Aggregator({ clock, emit: (n) => void sent.push(n) });
  return { clock, sent, agg };
}

describe('notifications: aggregation on the clock', () => {
  it('a fan-out of one ConfigMap is one message once its rolls went quiet for QUIET_MS, listing each workload once, in order', async () => {
    const { clock, sent, agg } = setup();
    const startWall = clock.wallNow();
    for (let i = 0; i < 5; i++) {
      agg.observe(deploy(`web-${i}`), rolled('ConfigMap app-config'));
      await clock.advance(1_000);
    }
    agg.observe(deploy('web-2'), rolled('ConfigMap app-config')); // rolled again: listed once
    await clock.advance(QUIET_MS - 1);
    expect(sent).to.deep.equal([]);
    await clock.advance(1);
    expect(sent).to.deep.equal([{
      type: 'rolled', at: startWall, namespace: 'shop', object: { kind: 'ConfigMap', namespace: 'shop', name: 'app-config' }, wave: undefined,
      workloads: [0, 1, 2, 3, 4].map((i) => ({ kind: 'Deployment', namespace: 'shop', name: `web-${i}` })), workloadCount: 5,
    }]);
    expect(agg.open).to.equal(0);
  });

  it('rolls that never go quiet are sent MAX_GATHER_MS after the first, and the rest starts a new message', async () => {
    const { clock, sent, agg } = setup();
    let i = 0;
    const every = QUIET_MS - 1_000;
    while (clock.now() < 1_000_000 + MAX_GATHER_MS + every) {
      agg.observe(deploy(`w-${i++}`), rolled('ConfigMap big'));
      await clock.advance(every);
    }
    expect(sent).to.have.length(1);
    const first = sent[0] as Extract<Notification, { type: 'rolled' }>;
    // Rolls at 0, every, 2·every, … before MAX_GATHER_MS (one falling due with the timer comes after it).
    expect(first.workloadCount).to.equal(Math.ceil(MAX_GATHER_MS / every));
    await clock.advance(QUIET_MS);
    expect(sent).to.have.length(2);
    expect((sent[1] as Extract<Notification, { type: 'rolled' }>).workloadCount).to.equal(i - first.workloadCount);
  });

  it('a roll for two objects is news of each; other namespaces, objects and waves are messages of their own', async () => {
    const { clock, sent, agg } = setup();
    agg.observe(deploy('api'), rolled('ConfigMap app-config', 'Secret db'));
    agg.observe(deploy('web'), rolled('ConfigMap app-config'));
    agg.observe(deploy('web', 'other'), rolled('ConfigMap app-config'));
    agg.observe(deploy('a'), { kind: 'rolled', changed: ['ConfigMap shared'], wave: { source: 'ConfigMap shared', position: 'wave 1 of 2 (canaries)' } });
    agg.observe(deploy('b'), { kind: 'rolled', changed: ['ConfigMap shared'], wave: { source: 'ConfigMap shared', position: 'wave 2 of 2' } });
    agg.observe(deploy('c'), rolled());
    await clock.advance(QUIET_MS);
    const summary = sent.map((n) => n.type === 'rolled' ? [n.namespace, n.object?.name ?? null, n.wave ?? null, n.workloads.map((w) => w.name)] : n.type);
    expect(summary).to.deep.equal([
      ['shop', 'app-config', null, ['api', 'web']],
      ['shop', 'db', null, ['api']],
      ['other', 'app-config', null, ['web']],
      ['shop', 'shared', 'wave 1 of 2 (canaries)', ['a']],
      ['shop', 'shared', 'wave 2 of 2', ['b']],
      ['shop', null, null, ['c']],
    ]);
  });

  it(`lists at most ${MAX_LISTED} workloads and counts them all`, async () => {
    const { clock, sent, agg } = setup();
    for (let i = 0; i < MAX_LISTED + 500; i++) agg.observe(deploy(`w-${i}`), rolled('ConfigMap big'));
    await clock.advance(QUIET_MS);
    const n = sent[0] as Extract<Notification, { type: 'rolled' }>;
    expect(n.workloads).to.have.length(MAX_LISTED);
    expect(n.workloads.at(-1)!.name).to.equal(`w-${MAX_LISTED - 1}`);
    expect(n.workloadCount).to.equal(MAX_LISTED + 500);
  });

  it('a held wave is one message at once, with its failing workloads and the release command', () => {
    const { sent, agg } = setup();
    const release = 'kubectl annotate configmap shared -n shop --overwrite config-reload.dev/release=abc123';
    agg.observe({ kind: 'ConfigMap', namespace: 'shop', name: 'shared', uid: 'u1' }, { kind: 'held', failing: ['Deployment/shop/canary'], held: 7, release });
    expect(sent).to.deep.equal([{
      type: 'wave_held', at: new VirtualClock().wallNow(), object: { kind: 'ConfigMap', namespace: 'shop', name: 'shared' },
      failing: [{ kind: 'Deployment', namespace: 'shop', name: 'canary' }], heldCount: 7, releaseCommand: release,
    }]);
  });

  it('a refused roll is one message per workload and change, however often the retry is refused; a refused adoption none', () => {
    const { sent, agg } = setup();
    const refused = (change: string): EventFacts => ({ kind: 'refused', action: 'roll', status: 403, changed: ['ConfigMap app-config'], change });
    agg.observe(deploy('locked'), refused('v2-k-1'));
    agg.observe(deploy('locked'), refused('v2-k-1'));
    agg.observe(deploy('locked'), refused('v2-k-1'));
    expect(sent).to.deep.equal([{
      type: 'write_refused', at: new VirtualClock().wallNow(), workload: { kind: 'Deployment', namespace: 'shop', name: 'locked' },
      status: 403, objects: [{ kind: 'ConfigMap', namespace: 'shop', name: 'app-config' }],
    }]);
    agg.observe(deploy('locked'), { kind: 'refused', action: 'adopt', status: 403, changed: [], change: 'v2-k-0' });
    agg.observe(deploy('locked'), refused('v2-k-2'));
    agg.observe(deploy('other'), refused('v2-k-1'));
    expect(sent).to.have.length(3);
  });

  it('flush sends what is gathering at once (shutdown), and nothing twice', async () => {
    const { clock, sent, agg } = setup();
    agg.observe(deploy('web'), rolled('ConfigMap app-config'));
    agg.flush();
    expect(sent).to.have.length(1);
    await clock.advance(MAX_GATHER_MS);
    expect(sent).to.have.length(1);
    expect(clock.pendingTimers).to.equal(0);
  });
});
