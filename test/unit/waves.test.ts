// The pure wave plan (src/waves/plan.ts) and rollout health (src/core/health.ts): every
// verdict from fixed consumer states.
import { expect } from 'chai';
import { workloadHealth } from '../../src/core/health.ts';
import { assignWaves, contentToken, describeWave, planWaves, type WaveConsumer, type WaveSettings } from '../../src/waves/plan.ts';

const SETTINGS: WaveSettings = { threshold: 5, canarySize: 1, waves: 1, timeoutMs: 600_000 };
const NOW = 1_000_000;

/** n consumers web-00…, every one needing a roll and healthy (the state right after a change). */
function fleet(n: number, patch: (c: WaveConsumer, i: number) => Partial<WaveConsumer> = () => ({})): WaveConsumer[] {
  return Array.from({ length: n }, (_, i) => {
    const name = `web-${String(i).padStart(2, '0')}`;
    const c: WaveConsumer = { key: `Deployment/ns/${name}`, order: `ns/${name}/Deployment`, canary: false, upToDate: false, health: 'healthy' };
    return { ...c, ...patch(c, i) };
  });
}
const key = (i: number) => `Deployment/ns/web-${String(i).padStart(2, '0')}`;
const gates = (plan: ReturnType<typeof planWaves>, n: number) => Array.from({ length: n }, (_, i) => plan.verdict(key(i)).gate);

describe('waves: the plan', () => {
  it('is inactive at or below the threshold, with waves off, or when released: every consumer goes', () => {
    for (const [consumers, settings, released] of [
      [fleet(5), SETTINGS, false], [fleet(20), { ...SETTINGS, threshold: 0 }, false], [fleet(20), SETTINGS, true],
    ] as const) {
      const plan = planWaves(consumers, settings, NOW, released);
      expect(plan.active).to.equal(false);
      expect(new Set(gates(plan, consumers.length))).to.deep.equal(new Set(['go']));
      expect(plan.pending).to.have.length(consumers.length);
    }
    expect(planWaves(fleet(6), SETTINGS, NOW, false).active).to.equal(true);
  });

  it('a change: the first consumer in namespace/name order goes, the rest wait for it (input order does not matter)', () => {
    const plan = planWaves(fleet(8).reverse(), SETTINGS, NOW, false);
    expect(plan.waves).to.deep.equal([[key(0)], [1, 2, 3, 4, 5, 6, 7].map(key)]);
    expect(gates(plan, 8)).to.deep.equal(['go', 'wait', 'wait', 'wait', 'wait', 'wait', 'wait', 'wait']);
    expect(plan.verdict(key(0))).to.deep.equal({ gate: 'go', wave: { index: 0, of: 2 } });
    expect(plan.verdict(key(3))).to.deep.equal({ gate: 'wait', wave: { index: 1, of: 2 }, waitingFor: 0 });
    expect(plan.frontier).to.equal(0);
  });

  it('annotated canaries replace the first --canary-size', () => {
    const plan = planWaves(fleet(8, (_, i) => ({ canary: i === 5 || i === 6 })), { ...SETTINGS, canarySize: 3 }, NOW, false);
    expect(plan.waves[0]).to.deep.equal([key(5), key(6)]);
    expect(gates(plan, 8)).to.deep.equal(['wait', 'wait', 'wait', 'wait', 'wait', 'go', 'go', 'wait']);
  });

  it('--canary-size and --waves: canaries, then waves of equal size in order (the last one shorter)', () => {
    expect(assignWaves(fleet(12), 2, 3).map((w) => w.length)).to.deep.equal([2, 4, 4, 2]);
    expect(assignWaves(fleet(12), 2, 1).map((w) => w.length)).to.deep.equal([2, 10]);
    expect(assignWaves(fleet(7), 1, 10).map((w) => w.length)).to.deep.equal([1, 1, 1, 1, 1, 1, 1]);
    // More canaries than consumers: one wave of them all.
    expect(assignWaves(fleet(7), 50, 2).map((w) => w.length)).to.deep.equal([7]);
  });

  it('a canary rolled but still progressing: the rest wait, and look again when it times out', () => {
    const plan = planWaves(fleet(8, (_, i) => (i === 0 ? { upToDate: true, health: 'progressing', progressingSince: NOW - 1000 } : {})), SETTINGS, NOW, false);
    expect(gates(plan, 8).slice(1)).to.deep.equal(Array(7).fill('wait'));
    expect(plan.verdict(key(1))).to.deep.include({ recheckAt: NOW - 1000 + 600_000 });
    expect(plan.recheckAt).to.equal(NOW - 1000 + 600_000);
    expect(plan.held).to.deep.equal([]);
  });

  it('a canary healthy on the new content: the next wave goes (all of it, with one further wave)', () => {
    const plan = planWaves(fleet(8, (_, i) => (i === 0 ? { upToDate: true } : {})), SETTINGS, NOW, false);
    expect(gates(plan, 8)).to.deep.equal(Array(8).fill('go'));
    expect(plan.frontier).to.equal(1);
    expect(plan.pending).to.have.length(7);
  });

  it('with --waves 3 each wave waits for every earlier one to be up to date and healthy', () => {
    const settings = { ...SETTINGS, waves: 3 };
    // waves: [0] [1,2,3] [4,5,6] [7]
    const partly = planWaves(fleet(8, (_, i) => (i === 0 || i === 1 ? { upToDate: true } : {})), settings, NOW, false);
    expect(gates(partly, 8)).to.deep.equal(['go', 'go', 'go', 'go', 'wait', 'wait', 'wait', 'wait']);
    expect(partly.verdict(key(7))).to.deep.include({ gate: 'wait', waitingFor: 1, wave: { index: 3, of: 4 } });
    const rolling = planWaves(fleet(8, (_, i) => (i <= 3 ? { upToDate: true, health: i === 3 ? 'progressing' : 'healthy', progressingSince: NOW } : {})), settings, NOW, false);
    expect(gates(rolling, 8).slice(4)).to.deep.equal(['wait', 'wait', 'wait', 'wait']);
    const done = planWaves(fleet(8, (_, i) => (i <= 3 ? { upToDate: true } : {})), settings, NOW, false);
    expect(gates(done, 8).slice(4)).to.deep.equal(['go', 'go', 'go', 'wait']);
  });

  it('a canary whose rollout failed (ProgressDeadlineExceeded) holds every consumer not rolled, naming it', () => {
    const plan = planWaves(fleet(8, (_, i) => (i === 0 ? { upToDate: true, health: 'failed' } : {})), SETTINGS, NOW, false);
    expect(gates(plan, 8).slice(1)).to.deep.equal(Array(7).fill('held'));
    expect(plan.verdict(key(4))).to.deep.equal({ gate: 'held', wave: { index: 1, of: 2 }, failing: [key(0)] });
    expect(plan.failing).to.deep.equal([key(0)]);
    expect(plan.held).to.have.length(7);
  });

  it('a canary progressing for --wave-timeout has failed: held (and not a moment before)', () => {
    const at = (since: number) => planWaves(fleet(8, (_, i) => (i === 0 ? { upToDate: true, health: 'progressing', progressingSince: since } : {})), SETTINGS, NOW, false);
    expect(at(NOW - 600_000 + 1).verdict(key(1)).gate).to.equal('wait');
    expect(at(NOW - 600_000).verdict(key(1)).gate).to.equal('held');
    expect(at(NOW - 600_000).recheckAt).to.equal(undefined);
  });

  it('a failure in a later wave holds its not-rolled wave mates and every later wave, not the waves before', () => {
    // waves: [0] [1,2,3] [4,5,6] [7]; web-01 failed, web-02 rolled and healthy, web-03 not rolled yet.
    const plan = planWaves(fleet(8, (_, i) => (i === 0 || i === 2 ? { upToDate: true } : i === 1 ? { upToDate: true, health: 'failed' } : {})), { ...SETTINGS, waves: 3 }, NOW, false);
    expect(gates(plan, 8)).to.deep.equal(['go', 'go', 'go', 'held', 'held', 'held', 'held', 'held']);
    expect(plan.failing).to.deep.equal([key(1)]);
  });

  it('a new content (the fix): the failed canary is no longer up to date, so it rolls again and the rest wait', () => {
    const plan = planWaves(fleet(8, (_, i) => (i === 0 ? { upToDate: false, health: 'failed' } : {})), SETTINGS, NOW, false);
    expect(gates(plan, 8)).to.deep.equal(['go', ...Array(7).fill('wait')]);
    expect(plan.failing).to.deep.equal([]);
  });

  it('a change mid-waves: the canaries roll the new content, consumers that rolled the old one wait again', () => {
    // web-00 canary and web-01..03 had rolled the old content: after the new one nobody is up to date.
    const plan = planWaves(fleet(8), SETTINGS, NOW, false);
    expect(gates(plan, 8)).to.deep.equal(['go', ...Array(7).fill('wait')]);
  });

  it('a consumer with nothing to roll is never gated; an up-to-date one that is unhealthy still holds later waves', () => {
    const plan = planWaves(fleet(8, (_, i) => (i === 7 ? { upToDate: true, health: 'failed' } : i === 0 ? { upToDate: true } : {})), SETTINGS, NOW, false);
    expect(plan.verdict(key(7)).gate).to.equal('go');
    // web-07 is in the last wave with everyone else: its wave mates are held.
    expect(plan.verdict(key(3)).gate).to.equal('held');
    expect(plan.verdict('Deployment/ns/unknown')).to.deep.equal({ gate: 'go' });
  });

  it('every consumer up to date and healthy: complete, nothing pending', () => {
    const plan = planWaves(fleet(8, () => ({ upToDate: true })), SETTINGS, NOW, false);
    expect(plan.frontier).to.equal(2);
    expect(plan.pending).to.deep.equal([]);
  });

  it('describes waves for people, and gives every content a stable short token', () => {
    expect(describeWave({ index: 0, of: 3 })).to.equal('canary wave 1/3');
    expect(describeWave({ index: 2, of: 3 })).to.equal('wave 3/3');
    const a = contentToken(new Map([['k', 'd1'], ['j', 'd2']]));
    expect(a).to.match(/^[0-9a-f]{12}$/);
    expect(contentToken(new Map([['j', 'd2'], ['k', 'd1']]))).to.equal(a);
    expect(contentToken(new Map([['k', 'd3'], ['j', 'd2']]))).to.not.equal(a);
    expect(contentToken(undefined)).to.not.equal(contentToken(new Map()));
  });
});

describe('waves: rollout health as kubectl rollout status reads it', () => {
  const deployment = (status: object, generation = 2, replicas = 3) => workloadHealth('Deployment', { generation, replicas, status });
  it('Deployment', () => {
    expect(deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 })).to.equal('healthy');
    expect(deployment({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 })).to.equal('progressing');
    expect(deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 3 })).to.equal('progressing');
    expect(deployment({ observedGeneration: 2, replicas: 4, updatedReplicas: 3, availableReplicas: 3 })).to.equal('progressing');
    expect(deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 2 })).to.equal('progressing');
    expect(deployment({ observedGeneration: 2, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] })).to.equal('failed');
    // An older rollout's condition says nothing of a spec not observed yet.
    expect(deployment({ observedGeneration: 1, conditions: [{ type: 'Progressing', reason: 'ProgressDeadlineExceeded' }] })).to.equal('progressing');
    expect(deployment({ observedGeneration: 2 }, 2, 0)).to.equal('healthy');
    expect(deployment({})).to.equal('progressing');
  });
  it('StatefulSet', () => {
    const sts = (status: object, extra: object = {}) => workloadHealth('StatefulSet', { generation: 1, replicas: 2, status, ...extra });
    expect(sts({ observedGeneration: 1, readyReplicas: 2, currentRevision: 'a', updateRevision: 'a' })).to.equal('healthy');
    expect(sts({ observedGeneration: 1, readyReplicas: 2, currentRevision: 'a', updateRevision: 'b' })).to.equal('progressing');
    expect(sts({ observedGeneration: 1, readyReplicas: 1, currentRevision: 'a', updateRevision: 'a' })).to.equal('progressing');
    expect(sts({ observedGeneration: 1, readyReplicas: 2, updatedReplicas: 1, currentRevision: 'a', updateRevision: 'b' }, { partition: 1 })).to.equal('healthy');
    expect(sts({ observedGeneration: 1, readyReplicas: 2, updatedReplicas: 0 }, { partition: 1 })).to.equal('progressing');
    expect(sts({}, { updateStrategyType: 'OnDelete' })).to.equal('healthy');
  });
  it('DaemonSet', () => {
    const ds = (status: object, extra: object = {}) => workloadHealth('DaemonSet', { generation: 1, status, ...extra });
    expect(ds({ observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 })).to.equal('healthy');
    expect(ds({ observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 2, numberAvailable: 3 })).to.equal('progressing');
    expect(ds({ observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 })).to.equal('progressing');
    expect(ds({ observedGeneration: 0, desiredNumberScheduled: 0 })).to.equal('progressing');
    expect(ds({}, { updateStrategyType: 'OnDelete' })).to.equal('healthy');
  });
});
