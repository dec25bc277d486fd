// explain with the operator's --namespace-selector and --exclude-namespaces: a workload in a
// namespace the operator does not watch is decided by nobody, and explain says why.
import { expect } from 'chai';
import { ConfigError } from '../../src/config.ts';
import { parseExplainArgs } from '../../src/explain/args.ts';
import { buildExplanation, type KeyRead } from '../../src/explain/explanation.ts';
import { namespaceWatch, needsNamespace } from '../../src/explain/namespace-scope.ts';
import { renderJson, renderText } from '../../src/explain/render.ts';

const SCOPE = { selector: 'config-reload.dev/watch=true', exclude: ['legacy'] };
const FORBIDDEN_KEY: KeyRead = { state: 'unreadable', status: 403, error: 'HTTP 403: forbidden' };

function explainIn(namespace: string, watch: ReturnType<typeof namespaceWatch>) {
  const workload = {
    metadata: { name: 'web', namespace, uid: 'u1', resourceVersion: '5', generation: 1, annotations: { 'config-reload.dev/enabled': 'true' } },
    spec: { template: { spec: { containers: [{ name: 'c', image: 'app:1' }] } } },
  };
  return buildExplanation({
    kind: 'Deployment', workload, sources: new Map(), key: FORBIDDEN_KEY, keySecret: { namespace: 'config-reload-system', name: 'config-reload-digest-key' },
    sourceKinds: ['ConfigMap', 'Secret'], namespaceWatch: watch,
  });
}

describe('explain: the operator\'s namespace selection', () => {
  it('takes --namespace-selector and --exclude-namespaces with the operator\'s variables and validation', () => {
    const parsed = parseExplainArgs(['deploy/web', '--namespace-selector', 'team in (a,b)', '--exclude-namespaces', 'b,a'], {});
    expect(parsed.help === false && parsed.args.namespaceScope).to.deep.equal({ selector: 'team in (a,b)', exclude: ['a', 'b'] });
    const fromEnv = parseExplainArgs(['deploy/web'], { CONFIG_RELOAD_NAMESPACE_SELECTOR: 'x=y', CONFIG_RELOAD_EXCLUDE_NAMESPACES: 'kube-system' });
    expect(fromEnv.help === false && fromEnv.args.namespaceScope).to.deep.equal({ selector: 'x=y', exclude: ['kube-system'] });
    expect(() => parseExplainArgs(['deploy/web', '--namespace-selector', 'a in (b'], {})).to.throw(ConfigError, /--namespace-selector/);
  });

  it('watched or not: excluded, labels matching or not, the Namespace absent or unreadable; nothing asked without the flags', () => {
    expect(namespaceWatch({ selector: undefined, exclude: [] }, 'shop', undefined)).to.equal(null);
    expect(needsNamespace(SCOPE, 'legacy')).to.equal(false);
    expect(namespaceWatch(SCOPE, 'legacy', undefined)).to.deep.equal({ watched: false, reason: 'namespace legacy is excluded by --exclude-namespaces' });
    expect(needsNamespace(SCOPE, 'shop')).to.equal(true);
    expect(namespaceWatch(SCOPE, 'shop', { state: 'found', labels: { 'config-reload.dev/watch': 'true' } })?.watched).to.equal(true);
    expect(namespaceWatch(SCOPE, 'shop', { state: 'found', labels: { 'config-reload.dev/watch': 'no' } })).to.deep.equal({
      watched: false, reason: 'the labels of namespace shop do not match --namespace-selector "config-reload.dev/watch=true": the operator does not watch it',
    });
    expect(namespaceWatch(SCOPE, 'shop', { state: 'absent' })?.watched).to.equal(false);
    expect(namespaceWatch(SCOPE, 'shop', { state: 'unreadable', error: 'HTTP 403', missingPermission: 'get on namespaces/shop' })).to.deep.equal({
      watched: null, reason: 'cannot tell whether namespace shop matches --namespace-selector "config-reload.dev/watch=true": you need get on namespaces/shop',
    });
  });

  it('a workload in a namespace not watched: decided by nobody, said in the text and the JSON', () => {
    const out = explainIn('legacy', namespaceWatch(SCOPE, 'legacy', undefined));
    expect(out.decision).to.deep.equal({
      known: true, action: 'none', code: null, reason: 'namespace legacy is excluded by --exclude-namespaces: nothing here is adopted or rolled', digest: null, warning: null,
    });
    expect(renderText(out)).to.contain('  namespace not watched: namespace legacy is excluded by --exclude-namespaces\n');
    expect(renderText(out)).to.contain('Decision: none\n');
    expect((JSON.parse(renderJson(out)) as { namespace: unknown }).namespace).to.deep.equal({ watched: false, reason: 'namespace legacy is excluded by --exclude-namespaces' });
    // Watched, or not asked: the operator's own decision stands (here unknown: no digest key).
    const watched = explainIn('shop', namespaceWatch(SCOPE, 'shop', { state: 'found', labels: { 'config-reload.dev/watch': 'true' } }));
    expect(watched.decision.known).to.equal(explainIn('shop', null).decision.known);
    expect(watched.decision.reason).to.equal(explainIn('shop', null).decision.reason);
    expect(explainIn('shop', null).namespace).to.equal(null);
  });
});
