// The only writes the operator makes (src/reconcile/patch.ts): exact bodies.
import { expect } from 'chai';
import { HASH_ANNOTATION, RESTART_ANNOTATION } from '../../src/core/annotations.ts';
import { hashPatch } from '../../src/reconcile/patch.ts';

describe('patch: the operator\'s merge patches', () => {
  const target = { uid: 'u-1', resourceVersion: '42' };

  it('adopts with the metadata annotation only, under uid and resourceVersion preconditions', () => {
    expect(hashPatch('adopt', 'v2-k-d1', target)).to.deep.equal({ metadata: { uid: 'u-1', resourceVersion: '42', annotations: { [HASH_ANNOTATION]: 'v2-k-d1' } } });
  });

  it('rolls by writing the digest into the pod template too', () => {
    expect(hashPatch('roll', 'v2-k-d2', { ...target, templateDigest: 'v2-k-d1' })).to.deep.equal({
      metadata: { uid: 'u-1', resourceVersion: '42', annotations: { [HASH_ANNOTATION]: 'v2-k-d2' } },
      spec: { template: { metadata: { annotations: { [HASH_ANNOTATION]: 'v2-k-d2' } } } },
    });
  });

  it('adds the restart annotation when the template already carries the digest, or the roll would change nothing', () => {
    expect(hashPatch('roll', 'v2-k-d1', { ...target, templateDigest: 'v2-k-d1' }).spec).to.deep.equal({
      template: { metadata: { annotations: { [HASH_ANNOTATION]: 'v2-k-d1', [RESTART_ANNOTATION]: '42' } } },
    });
  });
});
