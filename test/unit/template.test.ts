// The fingerprint of a pod template (src/state/template.ts): stable under the order of keys,
// changed by any write, and computable before the operator's roll from the template's base.
import { expect } from 'chai';
import { HASH_ANNOTATION, RESTART_ANNOTATION } from '../../src/core/annotations.ts';
import { hashPatch } from '../../src/reconcile/patch.ts';
import { fingerprintOf, templateBase, templateFingerprint } from '../../src/state/template.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** RFC 7386 JSON merge patch, as the apiserver applies the operator's patch to the template. */
function mergePatch(target: Json | undefined, patch: Json): Json {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: { [key: string]: Json } = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const podTemplate = (extra: Record<string, string> = {}) => ({
  metadata: { labels: { app: 'web', tier: 'front' }, annotations: { team: 'a', ...extra } },
  spec: { containers: [{ name: 'c', image: 'app:1', env: [{ name: 'X', value: '1' }], envFrom: [{ configMapRef: { name: 'cm' } }] }] },
});

describe('template fingerprint', () => {
  it('is stable under the order of keys, at every depth', () => {
    const reordered = {
      spec: { containers: [{ envFrom: [{ configMapRef: { name: 'cm' } }], env: [{ value: '1', name: 'X' }], image: 'app:1', name: 'c' }] },
      metadata: { annotations: { team: 'a' }, labels: { tier: 'front', app: 'web' } },
    };
    expect(fingerprintOf(reordered)).to.equal(fingerprintOf(podTemplate()));
    expect(templateBase(reordered)).to.equal(templateBase(podTemplate()));
    expect(fingerprintOf(podTemplate())).to.match(/^[0-9a-f]{32}$/);
  });

  it('changes when anyone edits the template: spec, order of a list, labels, annotations', () => {
    const base = fingerprintOf(podTemplate());
    const edits = [
      { ...podTemplate(), spec: { containers: [{ ...podTemplate().spec.containers[0]!, image: 'app:2' }] } },
      { ...podTemplate(), spec: { containers: [{ ...podTemplate().spec.containers[0]!, env: [{ name: 'X', value: '2' }] }] } },
      { ...podTemplate(), metadata: { ...podTemplate().metadata, labels: { app: 'web' } } },
      podTemplate({ 'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z' }),
      podTemplate({ [HASH_ANNOTATION]: 'v2-k-d1' }),
      podTemplate({ [RESTART_ANNOTATION]: '42' }),
    ];
    const fingerprints = edits.map((t) => fingerprintOf(t));
    for (const f of fingerprints) expect(f).to.not.equal(base);
    expect(new Set(fingerprints).size).to.equal(edits.length);
    const twoContainers = { spec: { containers: [{ name: 'a' }, { name: 'b' }] } };
    expect(fingerprintOf(twoContainers)).to.not.equal(fingerprintOf({ spec: { containers: [{ name: 'b' }, { name: 'a' }] } }));
  });

  it('the base leaves out the operator\'s two annotations, and only them', () => {
    const base = templateBase(podTemplate());
    expect(templateBase(podTemplate({ [HASH_ANNOTATION]: 'v2-k-d1', [RESTART_ANNOTATION]: '42' }))).to.equal(base);
    expect(templateBase(podTemplate({ other: 'x' }))).to.not.equal(base);
    // A template without metadata, or without annotations, has the base of one with none of ours.
    expect(templateBase({ spec: {} })).to.equal(templateBase({ metadata: { annotations: { [HASH_ANNOTATION]: 'v2-k-d1' } }, spec: {} }));
    expect(templateBase(undefined)).to.equal(templateBase({}));
  });

  it('is the base and the operator\'s annotations: templateFingerprint(base, digest, restart) = fingerprintOf(template)', () => {
    const t = podTemplate({ [HASH_ANNOTATION]: 'v2-k-d1', [RESTART_ANNOTATION]: '42' });
    expect(templateFingerprint(templateBase(t), 'v2-k-d1', '42')).to.equal(fingerprintOf(t));
    expect(templateFingerprint(templateBase(podTemplate()), undefined, undefined)).to.equal(fingerprintOf(podTemplate()));
    // An empty value is a value, not an absence.
    expect(templateFingerprint(templateBase(t), '', undefined)).to.not.equal(templateFingerprint(templateBase(t), undefined, undefined));
  });

  describe('the fingerprint the operator computes before its roll is the template\'s after the patch is merged', () => {
    const cases: Array<[string, Record<string, string>, string]> = [
      ['a template never rolled', {}, 'v2-k-d1'],
      ['a template carrying an older digest', { [HASH_ANNOTATION]: 'v2-k-d0' }, 'v2-k-d1'],
      ['a template carrying the same digest (the restart annotation is added)', { [HASH_ANNOTATION]: 'v2-k-d1' }, 'v2-k-d1'],
      ['a template carrying a restart annotation from an earlier roll', { [HASH_ANNOTATION]: 'v2-k-d0', [RESTART_ANNOTATION]: '7' }, 'v2-k-d1'],
      ['a template carrying the same digest and a restart annotation', { [HASH_ANNOTATION]: 'v2-k-d1', [RESTART_ANNOTATION]: '7' }, 'v2-k-d1'],
    ];
    for (const [what, annotations, digest] of cases) {
      it(what, () => {
        const before = podTemplate(annotations);
        const target = {
          uid: 'u', resourceVersion: '42', template: fingerprintOf(before), templateBase: templateBase(before),
          templateDigest: annotations[HASH_ANNOTATION], templateRestart: annotations[RESTART_ANNOTATION],
        };
        const write = hashPatch('roll', digest, new Map(), target);
        const after = mergePatch(before as unknown as Json, write.patch.spec!.template as unknown as Json);
        expect(write.template).to.equal(fingerprintOf(after));
        expect(write.template).to.not.equal(target.template);
        expect(write.record.template).to.equal(write.template);
      });
    }

    it('an adoption leaves the template and its fingerprint as they are', () => {
      const before = podTemplate({ [HASH_ANNOTATION]: 'v2-k-d0' });
      const target = { uid: 'u', resourceVersion: '42', template: fingerprintOf(before), templateBase: templateBase(before), templateDigest: 'v2-k-d0' };
      const write = hashPatch('adopt', 'v2-k-d1', new Map(), target);
      expect(write.patch.spec).to.equal(undefined);
      expect(write.template).to.equal(fingerprintOf(before));
    });
  });
});
