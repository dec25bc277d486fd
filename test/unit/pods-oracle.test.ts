// The pods oracle (test/support/pods-oracle.ts) on hand-written write streams: it must flag what
// the model test relies on it to flag, and accept what is correct, before it judges the operator.
import { expect } from 'chai';
import type { WriteRecord } from '../support/fake-cluster.ts';
import { PodsOracle } from '../support/pods-oracle.ts';

const NS = 'ns';
const ENABLED = { 'config-reload.dev/enabled': 'true' };

function workload(rv: number, restart: string, annotations: Record<string, string> = ENABLED, reads: unknown = { envFrom: [{ configMapRef: { name: 'one' } }] }) {
  return {
    metadata: { name: 'web', namespace: NS, uid: 'u1', resourceVersion: String(rv), annotations },
    spec: { template: { metadata: { annotations: { restart } }, spec: { containers: [{ name: 'c', image: 'app:1', ...(reads as object) }] } } },
  };
}
const configMap = (rv: number, data: Record<string, string>, annotations: Record<string, string> = {}) =>
  ({ metadata: { name: 'one', namespace: NS, resourceVersion: String(rv), annotations }, data });

function write(rv: number, plural: string, type: WriteRecord['type'], by: string, object: unknown, templateChanged = false, actor?: string): WriteRecord {
  const name = (object as { metadata: { name: string } }).metadata.name;
  return { rv, plural, namespace: NS, name, type, by, ...(actor ? { actor } : {}), object: object as WriteRecord['object'], templateChanged };
}

/** A config write that the controllers' watches (c1, c2) delivered at once. */
function watched(o: PodsOracle, w: WriteRecord): void {
  o.observe(w);
  for (const actor of ['c1', 'c2']) o.seen(actor, w.plural, w.rv);
}

/** An oracle that has seen `one` a=1 created, `web` created reading all of it, and adopted by controller c1 (which listed at rv 100). */
function adopted(): PodsOracle {
  const o = new PodsOracle();
  for (const plural of ['configmaps', 'secrets', 'deployments']) o.listed('c1', plural, 0, 100);
  watched(o, write(101, 'configmaps', 'ADDED', 'user', configMap(101, { a: '1' })));
  o.observe(write(102, 'deployments', 'ADDED', 'user', workload(102, 'x')));
  o.observe(write(103, 'deployments', 'MODIFIED', 'operator', workload(103, 'x'), false, 'c1'));
  return o;
}

describe('pods oracle', () => {
  it('flags a roll after A → B → A since the template write: the pods run A already', () => {
    const o = adopted();
    watched(o, write(104, 'configmaps', 'MODIFIED', 'user', configMap(104, { a: '2' })));
    watched(o, write(105, 'configmaps', 'MODIFIED', 'user', configMap(105, { a: '1' })));
    o.observe(write(106, 'deployments', 'MODIFIED', 'operator', workload(106, 'rolled'), true, 'c1'));
    o.checkQuiescent();
    expect(o.violations).to.have.length(1);
    expect(o.violations[0]).to.match(/^rv 106: extra roll of Deployment\/web by c1/);
    expect(o.rolls).to.equal(1);
  });

  it('flags a miss: the configuration changed, nothing rolled', () => {
    const o = adopted();
    watched(o, write(104, 'configmaps', 'MODIFIED', 'user', configMap(104, { a: '2' })));
    o.checkQuiescent();
    expect(o.violations).to.deep.equal(['Deployment/web (u1): missed roll — pods run ns/ConfigMap/one={a:1}, configuration is ns/ConfigMap/one={a:2}']);
  });

  it('accepts a roll onto a changed configuration, and then nothing is missed', () => {
    const o = adopted();
    watched(o, write(104, 'configmaps', 'MODIFIED', 'user', configMap(104, { a: '2' })));
    o.observe(write(105, 'deployments', 'MODIFIED', 'operator', workload(105, 'rolled'), true, 'c1'));
    o.checkQuiescent();
    expect(o.violations).to.deep.equal([]);
    expect(o.rolls).to.equal(1);
  });

  it('judges by the keys read: a change of another key is no reason to roll, and misses nothing', () => {
    const o = new PodsOracle();
    for (const plural of ['configmaps', 'secrets', 'deployments']) o.listed('c1', plural, 0, 100);
    const keyRef = { env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'one', key: 'a' } } }] };
    watched(o, write(101, 'configmaps', 'ADDED', 'user', configMap(101, { a: '1', b: '1' })));
    o.observe(write(102, 'deployments', 'ADDED', 'user', workload(102, 'x', ENABLED, keyRef)));
    o.observe(write(103, 'deployments', 'MODIFIED', 'operator', workload(103, 'x', ENABLED, keyRef), false, 'c1'));
    watched(o, write(104, 'configmaps', 'MODIFIED', 'user', configMap(104, { a: '1', b: '2' })));
    o.checkQuiescent();
    expect(o.violations).to.deep.equal([]);
    o.observe(write(105, 'deployments', 'MODIFIED', 'operator', workload(105, 'rolled', ENABLED, keyRef), true, 'c1'));
    expect(o.violations).to.have.length(1);
  });

  it('excuses a roll only when the template write was hidden from the controller and what it reads changed meanwhile', () => {
    // one went 1 → 2, then a template edit at 105 (its pods read a=2) reached c1 only by a relist
    // at 106: c1 cannot tell whether the edit came before the change.
    const hidden = adopted();
    watched(hidden, write(104, 'configmaps', 'MODIFIED', 'user', configMap(104, { a: '2' })));
    hidden.observe(write(105, 'deployments', 'MODIFIED', 'user', workload(105, 'edited'), true));
    hidden.listed('c1', 'deployments', 103, 106);
    hidden.observe(write(107, 'deployments', 'MODIFIED', 'operator', workload(107, 'rolled'), true, 'c1'));
    expect(hidden.violations, 'an extra roll, excused').to.deep.equal([]);
    // The same roll by a controller that saw the edit live: not excused.
    const live = adopted();
    live.listed('c2', 'deployments', 0, 100);
    watched(live, write(104, 'configmaps', 'MODIFIED', 'user', configMap(104, { a: '2' })));
    live.observe(write(105, 'deployments', 'MODIFIED', 'user', workload(105, 'edited'), true));
    live.observe(write(106, 'deployments', 'MODIFIED', 'operator', workload(106, 'rolled'), true, 'c2'));
    expect(live.violations).to.have.length(1);
    // Hidden, but nothing it reads changed since the adoption: not excused.
    const unchanged = adopted();
    unchanged.observe(write(104, 'deployments', 'MODIFIED', 'user', workload(104, 'edited'), true));
    unchanged.listed('c1', 'deployments', 103, 105);
    unchanged.observe(write(106, 'deployments', 'MODIFIED', 'operator', workload(106, 'rolled'), true, 'c1'));
    expect(unchanged.violations).to.have.length(1);
    expect(unchanged.violations[0], 'the message says why it is not excused').to.include('hidden from c1 by a list, and every object it reads is provably unchanged since rv 103');
    // Changed and back, but seen live (no window): not excused either.
    const seen = adopted();
    seen.observe(write(104, 'deployments', 'MODIFIED', 'user', workload(104, 'edited'), true));
    watched(seen, write(105, 'configmaps', 'MODIFIED', 'user', configMap(105, { a: '2' })));
    watched(seen, write(106, 'configmaps', 'MODIFIED', 'user', configMap(106, { a: '1' })));
    seen.observe(write(107, 'deployments', 'MODIFIED', 'operator', workload(107, 'rolled'), true, 'c1'));
    expect(seen.violations).to.have.length(1);
  });

  it('excuses a roll made on a view the watch had not caught up with: by what it had seen, the pods ran other configuration', () => {
    const o = adopted();
    watched(o, write(104, 'configmaps', 'MODIFIED', 'user', configMap(104, { a: '2' })));
    o.observe(write(105, 'configmaps', 'MODIFIED', 'user', configMap(105, { a: '1' })));
    o.observe(write(106, 'deployments', 'MODIFIED', 'operator', workload(106, 'rolled'), true, 'c1'));
    expect(o.violations).to.deep.equal([]);
    // The same roll once its watch had shown the reversal: extra.
    const caughtUp = adopted();
    watched(caughtUp, write(104, 'configmaps', 'MODIFIED', 'user', configMap(104, { a: '2' })));
    watched(caughtUp, write(105, 'configmaps', 'MODIFIED', 'user', configMap(105, { a: '1' })));
    caughtUp.observe(write(106, 'deployments', 'MODIFIED', 'operator', workload(106, 'rolled'), true, 'c1'));
    expect(caughtUp.violations).to.have.length(1);
  });

  it('counts a workload from its creation; a refused watch moves its adoption point to when it is allowed', () => {
    // Created while c1 watched, its ConfigMap changed before the adoption: the adoption must roll.
    const o = new PodsOracle();
    for (const plural of ['configmaps', 'secrets', 'deployments']) o.listed('c1', plural, 0, 100);
    watched(o, write(101, 'configmaps', 'ADDED', 'user', configMap(101, { a: '1' })));
    o.observe(write(102, 'deployments', 'ADDED', 'user', workload(102, 'x')));
    watched(o, write(103, 'configmaps', 'MODIFIED', 'user', configMap(103, { a: '2' })));
    o.observe(write(104, 'deployments', 'MODIFIED', 'operator', workload(104, 'x'), false, 'c1'));
    o.checkQuiescent();
    expect(o.violations).to.have.length(1);
    // The ConfigMap watch refused from before the creation until 104: the adoption at 105 counts from 104.
    const refused = new PodsOracle();
    for (const plural of ['configmaps', 'secrets', 'deployments']) refused.listed('c1', plural, 0, 100);
    refused.blind('c1', 'configmaps', 100);
    watched(refused, write(101, 'configmaps', 'ADDED', 'user', configMap(101, { a: '1' })));
    refused.observe(write(102, 'deployments', 'ADDED', 'user', workload(102, 'x')));
    watched(refused, write(103, 'configmaps', 'MODIFIED', 'user', configMap(103, { a: '2' })));
    refused.listed('c1', 'configmaps', 100, 104);
    refused.observe(write(105, 'deployments', 'MODIFIED', 'operator', workload(105, 'x'), false, 'c1'));
    refused.checkQuiescent();
    expect(refused.violations).to.deep.equal([]);
  });

  it('flags a write to a workload not opted in (a malformed value opts nothing in), and one never adopted', () => {
    const o = new PodsOracle();
    watched(o, write(101, 'configmaps', 'ADDED', 'user', configMap(101, { a: '1' })));
    o.observe(write(102, 'deployments', 'ADDED', 'user', workload(102, 'x', { 'config-reload.dev/enabled': 'yes' })));
    o.observe(write(103, 'deployments', 'MODIFIED', 'operator', workload(103, 'x', { 'config-reload.dev/enabled': 'yes' }), false, 'c1'));
    expect(o.violations).to.deep.equal(['rv 103: c1 wrote to Deployment/web, which is not opted in']);
    const never = new PodsOracle();
    watched(never, write(101, 'configmaps', 'ADDED', 'user', configMap(101, { a: '1' })));
    never.observe(write(102, 'deployments', 'ADDED', 'user', workload(102, 'x', { 'config-reload.dev/enabled': ' True ' })));
    never.checkQuiescent();
    expect(never.violations).to.deep.equal(['Deployment/web (u1): opted in, never adopted']);
  });

  it('leaves an ignored object out: its changes justify no roll and are no miss, until the switch is unset', () => {
    const o = adopted();
    watched(o, write(104, 'configmaps', 'MODIFIED', 'user', configMap(104, { a: '1' }, { 'config-reload.dev/ignore': 'true' })));
    watched(o, write(105, 'configmaps', 'MODIFIED', 'user', configMap(105, { a: '2' }, { 'config-reload.dev/ignore': 'true' })));
    o.checkQuiescent();
    expect(o.violations, 'ignored: no miss').to.deep.equal([]);
    o.observe(write(106, 'deployments', 'MODIFIED', 'operator', workload(106, 'rolled'), true, 'c1'));
    expect(o.violations, 'ignored: the roll is extra').to.have.length(1);
    const unset = adopted();
    watched(unset, write(104, 'configmaps', 'MODIFIED', 'user', configMap(104, { a: '2' }, { 'config-reload.dev/ignore': 'true' })));
    watched(unset, write(105, 'configmaps', 'MODIFIED', 'user', configMap(105, { a: '2' })));
    unset.checkQuiescent();
    expect(unset.violations, 'unset: the difference is a miss').to.have.length(1);
  });

  it('excuses a miss only as the documented residual: a record written on a view behind the pods\' start, trusted by a controller started cold after it', () => {
    const story = (coldStart: boolean) => {
      const o = new PodsOracle();
      for (const plural of ['configmaps', 'secrets', 'deployments']) o.listed('c1', plural, 0, 100);
      // one a=1 is written, the Deployment created (its pods read a=1); c1 has not seen the ConfigMap event.
      o.observe(write(101, 'configmaps', 'ADDED', 'user', configMap(101, { a: '1' })));
      const optional = { envFrom: [{ configMapRef: { name: 'one', optional: true } }] };
      watched(o, write(102, 'deployments', 'ADDED', 'user', workload(102, 'x', ENABLED, optional)));
      o.observe(write(103, 'deployments', 'MODIFIED', 'operator', workload(103, 'x', ENABLED, optional), false, 'c1'));
      o.observe(write(104, 'configmaps', 'DELETED', 'user', configMap(104, { a: '1' })));
      if (coldStart) for (const plural of ['configmaps', 'secrets', 'deployments']) o.listed('c2', plural, 0, 104);
      o.checkQuiescent({ actor: coldStart ? 'c2' : 'c1' });
      return o.violations;
    };
    expect(story(true)).to.deep.equal([]);
    expect(story(false)).to.have.length(1);
  });

  it('excuses a miss as the other documented residual: an object created and deleted inside a relist window of the controller that recorded', () => {
    const OUT = { 'config-reload.dev/enabled': 'false' };
    const optional = { envFrom: [{ configMapRef: { name: 'one', optional: true } }] };
    const story = (relisted: boolean, leader: 'c1' | 'c2') => {
      const o = new PodsOracle();
      for (const plural of ['configmaps', 'secrets', 'deployments']) o.listed('c1', plural, 0, 100);
      // web created opted out; one created, web opted in (its adoption point: the pods count as reading one), one deleted.
      o.observe(write(101, 'deployments', 'ADDED', 'user', workload(101, 'x', OUT, optional)));
      o.observe(write(102, 'configmaps', 'ADDED', 'user', configMap(102, { a: '1' })));
      o.observe(write(103, 'deployments', 'MODIFIED', 'user', workload(103, 'x', ENABLED, optional)));
      o.observe(write(104, 'configmaps', 'DELETED', 'user', configMap(104, { a: '1' })));
      // c1's ConfigMap watch broke after rv 101 and relisted at 105, or it delivered both events.
      if (relisted) o.listed('c1', 'configmaps', 101, 105);
      else for (const rv of [102, 104]) o.seen('c1', 'configmaps', rv);
      o.observe(write(106, 'deployments', 'MODIFIED', 'operator', workload(106, 'x', ENABLED, optional), false, 'c1'));
      // c2 started cold after that write: it trusts c1's record.
      if (leader === 'c2') for (const plural of ['configmaps', 'secrets', 'deployments']) o.listed('c2', plural, 0, 106);
      o.checkQuiescent({ actor: leader });
      return o.violations;
    };
    expect(story(true, 'c1')).to.deep.equal([]);
    expect(story(true, 'c2')).to.deep.equal([]);
    expect(story(false, 'c1')).to.have.length(1);
    expect(story(false, 'c2')).to.have.length(1);
  });

  it('counts the adoption point as where the pods\' configuration starts: hidden by a relist, a roll there is excused only if an object it reads was written since', () => {
    const OUT = { 'config-reload.dev/enabled': 'false' };
    const story = (written: boolean) => {
      const o = new PodsOracle();
      for (const plural of ['configmaps', 'secrets', 'deployments']) o.listed('c1', plural, 0, 100);
      // web created opted out (its pods wait for one), one created, web opted in at 103 and adopted: its pods count as reading a=1.
      o.observe(write(101, 'deployments', 'ADDED', 'user', workload(101, 'x', OUT)));
      watched(o, write(102, 'configmaps', 'ADDED', 'user', configMap(102, { a: '1' })));
      o.observe(write(103, 'deployments', 'MODIFIED', 'user', workload(103, 'x')));
      o.observe(write(104, 'deployments', 'MODIFIED', 'operator', workload(104, 'x'), false, 'c1'));
      // c1's ConfigMap watch broke after 102 and relisted at 106: a label edit of one at 105 (or nothing) hid what it held at 103.
      if (written) o.observe(write(105, 'configmaps', 'MODIFIED', 'user', configMap(105, { a: '1' }, { edited: 'yes' })));
      o.listed('c1', 'configmaps', 102, 106);
      o.observe(write(107, 'deployments', 'MODIFIED', 'operator', workload(107, 'rolled'), true, 'c1'));
      return o.violations;
    };
    expect(story(true)).to.deep.equal([]);
    expect(story(false)).to.have.length(1);
  });

  it('--template-order off: excuses a miss only where a template write by someone else came before the acting controller\'s first list, with no operator write since', () => {
    const story = (coldStart: boolean, unordered: boolean, changedAfter: boolean) => {
      const o = adopted();
      // one goes to a=2, a template edit at 105 (its pods read a=2), one back to a=1 at 106: a roll was due.
      watched(o, write(104, 'configmaps', 'MODIFIED', 'user', configMap(104, { a: '2' })));
      o.observe(write(105, 'deployments', 'MODIFIED', 'user', workload(105, 'edited'), true));
      watched(o, write(106, 'configmaps', 'MODIFIED', 'user', configMap(106, { a: changedAfter ? '3' : '1' })));
      if (coldStart) for (const plural of ['configmaps', 'secrets', 'deployments']) o.listed('c2', plural, 0, 107);
      o.checkQuiescent({ actor: coldStart ? 'c2' : 'c1', unordered });
      return o.violations;
    };
    // Unordered, c2 started after the edit: it takes the pods to run what c1 recorded (a=1), which is the configuration.
    expect(story(true, true, false)).to.deep.equal([]);
    // The configuration is not what was recorded (a=3): c2 rolls, so a miss is one.
    expect(story(true, true, true)).to.have.length(1);
    // c1 saw the edit; or resourceVersions are ordered: a miss either way.
    expect(story(false, true, false)).to.have.length(1);
    expect(story(true, false, false)).to.have.length(1);
  });
});
