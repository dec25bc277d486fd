// --accept-annotations (src/core/peer-annotations.ts): Reloader's and Wave's opt-in annotations
// mapped onto this operator's rules, its own winning; then the controller on the in-memory API:
// adopting workloads a peer rolled (its env var, its annotations in the template) rolls nothing,
// a change rolls each once, search/match, ignore and the per-workload notice.
import { expect } from 'chai';
import { ENABLED_ANNOTATION, HASH_ANNOTATION } from '../../src/core/annotations.ts';
import {
  type AcceptedPeers, followsReference, readIgnore, readOptIn, RELOADER_LAST_RELOADED_FROM, unmatched, WAVE_CONFIG_HASH,
} from '../../src/core/peer-annotations.ts';
import { consumedSources } from '../../src/core/references.ts';
import type { OptIn } from '../../src/core/types.ts';
import { parseConfig } from '../../src/config.ts';
import { parseExplainArgs } from '../../src/explain/args.ts';
import { buildExplanation, needsDigestKey, sourcesToRead } from '../../src/explain/explanation.ts';
import { digestKey } from '../../src/core/digest.ts';
import { ControllerHarness, NS } from '../support/controller-harness.ts';

const BOTH: AcceptedPeers = new Set(['reloader', 'wave']);
const RELOADER: AcceptedPeers = new Set(['reloader']);
const inOf = (o: OptIn) => {
  expect(o.kind, JSON.stringify(o)).to.equal('in');
  return o as OptIn & { kind: 'in' };
};
const podSpec = {
  containers: [{
    name: 'app',
    envFrom: [{ configMapRef: { name: 'cm' } }, { secretRef: { name: 'sec' } }],
    env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'other', key: 'x' } } }],
  }],
};
const consumed = (o: OptIn) => consumedSources(podSpec, inOf(o), new Set(['ConfigMap', 'Secret'])).map((c) => `${c.kind}/${c.name}`);

describe('peer annotations: mapping (--accept-annotations)', () => {
  it('mean nothing unless accepted', () => {
    expect(readOptIn({ 'reloader.stakater.com/auto': 'true' }, undefined)).to.deep.equal({ kind: 'out' });
    expect(readOptIn({ 'wave.pusher.com/update-on-config-change': 'true' }, undefined, RELOADER)).to.deep.equal({ kind: 'out' });
  });

  it('reloader.stakater.com/auto follows every reference; Go booleans as Reloader parses them', () => {
    for (const value of ['true', 'True', '1', 't']) {
      expect(consumed(readOptIn({ 'reloader.stakater.com/auto': value }, undefined, RELOADER)), value)
        .to.deep.equal(['ConfigMap/cm', 'ConfigMap/other', 'Secret/sec']);
    }
    expect(readOptIn({ 'reloader.stakater.com/auto': 'false' }, undefined, RELOADER)).to.deep.equal({ kind: 'out' });
  });

  it('the typed auto annotations follow one kind', () => {
    expect(consumed(readOptIn({ 'configmap.reloader.stakater.com/auto': 'true' }, undefined, RELOADER))).to.deep.equal(['ConfigMap/cm', 'ConfigMap/other']);
    expect(consumed(readOptIn({ 'secret.reloader.stakater.com/auto': 'true' }, undefined, RELOADER))).to.deep.equal(['Secret/sec']);
  });

  it('the reload annotations name objects, referenced or not; a pattern is said, not followed', () => {
    const o = inOf(readOptIn({ 'configmap.reloader.stakater.com/reload': 'b, a,', 'secret.reloader.stakater.com/reload': 'app-.*' }, undefined, RELOADER));
    expect(o.referenced).to.equal(false);
    expect(o.extraConfigMaps).to.deep.equal(['a', 'b']);
    expect(o.extraSecrets).to.deep.equal([]);
    expect(o.peer!.notes).to.have.length(1);
    expect(o.peer!.notes[0]).to.contain('secret.reloader.stakater.com/reload').and.contain('"app-.*"');
    expect(consumed(o)).to.deep.equal(['ConfigMap/a', 'ConfigMap/b']);
  });

  it('reads the pod template when the metadata holds nothing for that kind, per kind as Reloader does', () => {
    const fromTemplate = readOptIn({}, { 'reloader.stakater.com/auto': 'true' }, RELOADER);
    expect(consumed(fromTemplate)).to.deep.equal(['ConfigMap/cm', 'ConfigMap/other', 'Secret/sec']);
    // Secrets from the metadata (named), ConfigMaps from the template (auto).
    const split = inOf(readOptIn({ 'secret.reloader.stakater.com/reload': 'named' }, { 'configmap.reloader.stakater.com/auto': 'true' }, RELOADER));
    expect(consumed(split)).to.deep.equal(['ConfigMap/cm', 'ConfigMap/other', 'Secret/named']);
    // The metadata's auto concerns both kinds: the template is not read at all.
    expect(readOptIn({ 'reloader.stakater.com/auto': 'false' }, { 'reloader.stakater.com/auto': 'true' }, RELOADER)).to.deep.equal({ kind: 'out' });
  });

  it('exclude annotations (metadata) leave names out of references and of named objects', () => {
    const o = readOptIn({
      'reloader.stakater.com/auto': 'true', 'configmaps.exclude.reloader.stakater.com/reload': 'other, a', 'configmap.reloader.stakater.com/reload': 'a,b',
    }, undefined, RELOADER);
    expect(consumed(o)).to.deep.equal(['ConfigMap/b', 'ConfigMap/cm', 'Secret/sec']);
    expect(followsReference(inOf(o), 'ConfigMap', 'other')).to.equal(false);
  });

  it('search follows references, counting only objects with match: "true" (named ones always count)', () => {
    const o = inOf(readOptIn({ 'reloader.stakater.com/search': 'true', 'configmap.reloader.stakater.com/reload': 'other' }, undefined, RELOADER));
    expect(consumed(o)).to.deep.equal(['ConfigMap/cm', 'ConfigMap/other', 'Secret/sec']);
    expect(unmatched(o, 'ConfigMap', 'cm', false)).to.equal(true);
    expect(unmatched(o, 'ConfigMap', 'cm', true)).to.equal(false);
    expect(unmatched(o, 'ConfigMap', 'other', false)).to.equal(false);
    // auto wins over search: everything counts.
    const auto = inOf(readOptIn({ 'reloader.stakater.com/search': 'true', 'reloader.stakater.com/auto': 'true' }, undefined, RELOADER));
    expect(unmatched(auto, 'ConfigMap', 'cm', false)).to.equal(false);
    expect(readOptIn({ 'reloader.stakater.com/search': 'True' }, undefined, RELOADER)).to.deep.equal({ kind: 'out' });
  });

  it('the operator\'s own annotations win: any of them, and the peers\' are not read', () => {
    expect(readOptIn({ [ENABLED_ANNOTATION]: 'false', 'reloader.stakater.com/auto': 'true' }, undefined, BOTH)).to.deep.equal({ kind: 'out' });
    const own = inOf(readOptIn({ 'config-reload.dev/configmaps': 'x', 'reloader.stakater.com/auto': 'true', 'wave.pusher.com/update-on-config-change': 'true' }, undefined, BOTH));
    expect(own).to.deep.equal({ kind: 'in', referenced: false, extraConfigMaps: ['x'], extraSecrets: [] });
  });

  it('a switch that is no boolean: malformed when nothing else opts in, else a notice', () => {
    const bad = readOptIn({ 'reloader.stakater.com/auto': 'yes' }, undefined, RELOADER);
    expect(bad).to.deep.include({ kind: 'malformed', annotation: 'reloader.stakater.com/auto', value: 'yes' });
    const partly = inOf(readOptIn({ 'reloader.stakater.com/auto': 'yes', 'configmap.reloader.stakater.com/reload': 'a' }, undefined, RELOADER));
    expect(partly.extraConfigMaps).to.deep.equal(['a']);
    expect(partly.referenced).to.equal(false);
    expect(partly.peer!.notes.join()).to.contain('reloader.stakater.com/auto');
  });

  it('annotations without a counterpart are said per workload', () => {
    const o = inOf(readOptIn({ 'reloader.stakater.com/auto': 'true', 'deployment.reloader.stakater.com/pause-period': '5m' }, undefined, RELOADER));
    expect(o.peer!.notes).to.deep.equal(['annotation deployment.reloader.stakater.com/pause-period has no counterpart here and is not honoured']);
  });

  it('Wave: exactly "true" follows every reference; extras by name or namespace/name in its own namespace', () => {
    const o = inOf(readOptIn({
      'wave.pusher.com/update-on-config-change': 'true', 'wave.pusher.com/extra-configmaps': 'ns/e1,e2,elsewhere/e3', 'wave.pusher.com/extra-secrets': 's1',
    }, undefined, BOTH, 'ns'));
    expect(consumed(o)).to.deep.equal(['ConfigMap/cm', 'ConfigMap/e1', 'ConfigMap/e2', 'ConfigMap/other', 'Secret/s1', 'Secret/sec']);
    expect(o.peer!.from).to.deep.equal(['wave']);
    expect(o.peer!.notes).to.have.length(1);
    expect(o.peer!.notes[0]).to.contain('"elsewhere/e3"').and.contain('another namespace');
    expect(readOptIn({ 'wave.pusher.com/update-on-config-change': 'True' }, undefined, BOTH)).to.deep.include({ kind: 'malformed' });
    expect(readOptIn({ 'wave.pusher.com/update-on-config-change': 'false' }, undefined, BOTH)).to.deep.equal({ kind: 'out' });
  });

  it('ignore: the operator\'s switch when set, else Reloader\'s at exactly "true"', () => {
    expect(readIgnore({ 'reloader.stakater.com/ignore': 'true' }, RELOADER)).to.deep.equal({ ignored: true });
    expect(readIgnore({ 'reloader.stakater.com/ignore': 'True' }, RELOADER)).to.deep.equal({ ignored: false });
    expect(readIgnore({ 'reloader.stakater.com/ignore': 'true' })).to.deep.equal({ ignored: false });
    expect(readIgnore({ 'reloader.stakater.com/ignore': 'true', 'config-reload.dev/ignore': 'false' }, RELOADER)).to.deep.equal({ ignored: false });
  });

  it('the flag and its variable, for the operator and explain alike', () => {
    const run = (argv: string[], env: Record<string, string> = {}) => {
      const r = parseConfig(argv, env);
      return r.help ? undefined : r.config.acceptAnnotations;
    };
    expect(run([])).to.deep.equal([]);
    expect(run(['--accept-annotations', 'wave, reloader'])).to.deep.equal(['reloader', 'wave']);
    expect(run([], { CONFIG_RELOAD_ACCEPT_ANNOTATIONS: 'reloader' })).to.deep.equal(['reloader']);
    expect(() => run(['--accept-annotations', 'kyverno'])).to.throw(/--accept-annotations "kyverno": expected a comma list of reloader, wave/);
    const explain = parseExplainArgs(['deploy/web'], { CONFIG_RELOAD_ACCEPT_ANNOTATIONS: 'wave' });
    expect(explain.help ? undefined : explain.args.acceptAnnotations).to.deep.equal(['wave']);
  });
});

describe('peer annotations: explain reads them as the operator does', () => {
  const w = {
    metadata: { name: 'web', namespace: 'shop', uid: 'u', resourceVersion: '10', generation: 1, annotations: { 'reloader.stakater.com/search': 'true', 'deployment.reloader.stakater.com/pause-period': '1m' } },
    spec: { template: { metadata: {}, spec: { containers: [{ name: 'app', image: 'x', envFrom: [{ configMapRef: { name: 'a' } }, { configMapRef: { name: 'b' } }] }] } } },
  };
  const cmOf = (name: string, annotations: Record<string, string>) => ({ metadata: { name, namespace: 'shop', resourceVersion: '5', annotations }, data: { k: 'v' } });

  it('opted in only with the flag; a ConfigMap without match: "true" counts as ignored; the notice is in the summary', () => {
    expect(needsDigestKey('Deployment', w, ['ConfigMap', 'Secret'])).to.equal(false);
    expect(needsDigestKey('Deployment', w, ['ConfigMap', 'Secret'], ['reloader'])).to.equal(true);
    expect(sourcesToRead('Deployment', w, ['ConfigMap', 'Secret'], ['reloader']).map((c) => c.name)).to.deep.equal(['a', 'b']);
    const e = buildExplanation({
      kind: 'Deployment', workload: w, key: { state: 'loaded', key: digestKey(Buffer.alloc(32, 1)) }, keySecret: { namespace: 'x', name: 'y' },
      sourceKinds: ['ConfigMap', 'Secret'], acceptAnnotations: ['reloader'],
      sources: new Map([['ConfigMap/a', { state: 'found', object: cmOf('a', { 'reloader.stakater.com/match': 'true' }) }], ['ConfigMap/b', { state: 'found', object: cmOf('b', {}) }]]),
    });
    expect(e.optIn.summary).to.contain('opted in by reloader annotations (--accept-annotations)')
      .and.contain('reloader.stakater.com/match').and.contain('deployment.reloader.stakater.com/pause-period');
    expect(e.sources.map((x) => [x.name, x.ignored])).to.deep.equal([['a', false], ['b', true]]);
  });
});

// A workload as a peer left it: opted in its way, its marker in the pod template.
function peerRolled(name: string, annotations: Record<string, string>, marker: 'env' | 'annotation' | 'wave') {
  const templateAnnotations: Record<string, string> = {};
  if (marker === 'annotation') templateAnnotations[RELOADER_LAST_RELOADED_FROM] = '{"type":"CONFIGMAP","name":"cfg","hash":"abc"}';
  if (marker === 'wave') templateAnnotations[WAVE_CONFIG_HASH] = 'f00d';
  const env = marker === 'env' ? [{ name: 'STAKATER_CFG_CONFIGMAP', value: 'abc' }] : [];
  return {
    metadata: { name, namespace: NS, annotations },
    spec: {
      replicas: 1,
      template: {
        metadata: { labels: { app: name }, annotations: templateAnnotations },
        spec: { containers: [{ name: 'c', image: 'app:1', envFrom: [{ configMapRef: { name: 'cfg' } }], env }] },
      },
    },
  };
}
const cm = (name: string, data: Record<string, string>, annotations: Record<string, string> = {}) => ({ metadata: { name, namespace: NS, annotations }, data });

describe('peer annotations: the controller on the in-memory API', () => {
  it('adopts what Reloader and Wave rolled without a roll; a change then rolls each exactly once', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cm('cfg', { a: '1' }));
    h.cluster.put('deployments', peerRolled('env', { 'reloader.stakater.com/auto': 'true' }, 'env'));
    h.cluster.put('deployments', peerRolled('ann', { 'configmap.reloader.stakater.com/reload': 'cfg' }, 'annotation'));
    h.cluster.put('deployments', peerRolled('wave', { 'wave.pusher.com/update-on-config-change': 'true' }, 'wave'));
    h.cluster.put('deployments', peerRolled('none', {}, 'env'));
    const c = await h.leader({ acceptAnnotations: ['reloader', 'wave'] });
    await h.settle();
    expect(h.operatorWrites().map((w) => w.name).sort()).to.deep.equal(['ann', 'env', 'wave']);
    expect(h.rolled()).to.deep.equal([]);
    // The peer's marker stays as it was: the operator writes only its own annotations.
    expect((h.cluster.get('deployments', NS, 'wave') as ReturnType<typeof peerRolled>).spec.template.metadata.annotations).to.have.property(WAVE_CONFIG_HASH, 'f00d');

    h.cluster.put('configmaps', cm('cfg', { a: '2' }));
    await h.settle();
    expect(h.rolled().sort()).to.deep.equal(['ann', 'env', 'wave']);
    const env = h.cluster.get('deployments', NS, 'env') as ReturnType<typeof peerRolled> & { spec: { template: { metadata: { annotations: Record<string, string> } } } };
    expect(env.spec.template.spec.containers[0]!.env).to.deep.equal([{ name: 'STAKATER_CFG_CONFIGMAP', value: 'abc' }]);
    expect(env.spec.template.metadata.annotations).to.have.property(HASH_ANNOTATION);
    await h.settle();
    expect(h.rolled()).to.have.length(3);
    await c.stop();
  });

  it('without the flag, peer annotations opt nothing in: no write at all', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cm('cfg', { a: '1' }));
    h.cluster.put('deployments', peerRolled('env', { 'reloader.stakater.com/auto': 'true' }, 'env'));
    const c = await h.leader();
    await h.settle();
    h.cluster.put('configmaps', cm('cfg', { a: '2' }));
    await h.settle();
    expect(h.operatorWrites()).to.deep.equal([]);
    await c.stop();
  });

  it('the operator\'s enabled: "false" wins over reloader.stakater.com/auto', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cm('cfg', { a: '1' }));
    h.cluster.put('deployments', peerRolled('web', { 'reloader.stakater.com/auto': 'true', [ENABLED_ANNOTATION]: 'false' }, 'env'));
    const c = await h.leader({ acceptAnnotations: ['reloader'] });
    await h.settle();
    h.cluster.put('configmaps', cm('cfg', { a: '2' }));
    await h.settle();
    expect(h.operatorWrites()).to.deep.equal([]);
    await c.stop();
  });

  it('search: a change of an object without match: "true" rolls nothing; setting match then rolls what the pods miss; a change rolls once', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cm('cfg', { a: '1' }));
    h.cluster.put('deployments', peerRolled('web', { 'reloader.stakater.com/search': 'true' }, 'env'));
    const c = await h.leader({ acceptAnnotations: ['reloader'] });
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    h.cluster.put('configmaps', cm('cfg', { a: '2' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    // Reloader rolls on a data change only; here the switch set alone rolls the content the pods
    // missed while it was off, as unsetting config-reload.dev/ignore does (docs/migrating.md).
    h.cluster.put('configmaps', cm('cfg', { a: '2' }, { 'reloader.stakater.com/match': 'true' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web']);
    h.cluster.put('configmaps', cm('cfg', { a: '4' }, { 'reloader.stakater.com/match': 'true' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal(['web', 'web']);
    await c.stop();
  });

  it('reloader.stakater.com/ignore on the ConfigMap: its change rolls nothing', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cm('cfg', { a: '1' }, { 'reloader.stakater.com/ignore': 'true' }));
    h.cluster.put('deployments', peerRolled('web', { 'reloader.stakater.com/auto': 'true' }, 'env'));
    const c = await h.leader({ acceptAnnotations: ['reloader'] });
    await h.settle();
    h.cluster.put('configmaps', cm('cfg', { a: '2' }, { 'reloader.stakater.com/ignore': 'true' }));
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    await c.stop();
  });

  it('what is not honoured exactly is one Warning Event per workload, not repeated', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cm('cfg', { a: '1' }));
    h.cluster.put('deployments', peerRolled('web', { 'reloader.stakater.com/auto': 'true', 'deployment.reloader.stakater.com/pause-period': '5m' }, 'env'));
    const c = await h.leader({ acceptAnnotations: ['reloader'] });
    await h.settle();
    h.cluster.put('configmaps', cm('cfg', { a: '2' }));
    await h.settle();
    const notices = h.events.filter((e) => e.reason === 'PeerAnnotationNotHonoured');
    expect(notices).to.have.length(1);
    expect(notices[0]!.type).to.equal('Warning');
    expect(notices[0]!.target.name).to.equal('web');
    expect(notices[0]!.message).to.contain('deployment.reloader.stakater.com/pause-period');
    expect(h.rolled()).to.deep.equal(['web']);
    await c.stop();
  });
});
