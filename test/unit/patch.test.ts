// The only writes the operator makes (src/reconcile/patch.ts): exact bodies, and the record and
// template fingerprint each leaves.
import { expect } from 'chai';
import { HASH_ANNOTATION, RESTART_ANNOTATION } from '../../src/core/annotations.ts';
import { formatRecord, parseRecord, RECORD_ANNOTATION } from '../../src/core/record.ts';
import { hashPatch } from '../../src/reconcile/patch.ts';
import { fingerprintOf, templateBase, templateFingerprint } from '../../src/state/template.ts';

describe('patch: the operator\'s merge patches', () => {
  const podTemplate = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'app:1' }] } };
  const base = templateBase(podTemplate);
  const target = { uid: 'u-1', resourceVersion: '42', template: fingerprintOf(podTemplate), templateBase: base };
  const parts = new Map([['Secret/db', 'b'.repeat(16)], ['ConfigMap/app', 'a'.repeat(16)]]);
  const recordText = (template: string) => `template=${template};at=42;ConfigMap/app=${'a'.repeat(16)};Secret/db=${'b'.repeat(16)}`;

  it('adopts with the metadata annotations only (digest and record), under uid and resourceVersion preconditions', () => {
    const write = hashPatch('adopt', 'v2-k-d1', parts, target);
    expect(write.patch).to.deep.equal({
      metadata: { uid: 'u-1', resourceVersion: '42', annotations: { [HASH_ANNOTATION]: 'v2-k-d1', [RECORD_ANNOTATION]: recordText(target.template) } },
    });
    // An adoption leaves the template as it is: the record names it.
    expect(write.template).to.equal(target.template);
    expect(write.record).to.deep.equal({ template: target.template, at: 42n, parts });
    expect(parseRecord(write.patch.metadata.annotations[RECORD_ANNOTATION])).to.deep.equal(write.record);
  });

  it('rolls by writing the digest into the pod template too; the record names the template the roll leaves', () => {
    const before = { ...podTemplate, metadata: { ...podTemplate.metadata, annotations: { [HASH_ANNOTATION]: 'v2-k-d1' } } };
    const write = hashPatch('roll', 'v2-k-d2', parts, { ...target, template: fingerprintOf(before), templateDigest: 'v2-k-d1' });
    const after = { ...podTemplate, metadata: { ...podTemplate.metadata, annotations: { [HASH_ANNOTATION]: 'v2-k-d2' } } };
    expect(write.template).to.equal(fingerprintOf(after)).and.not.equal(fingerprintOf(before));
    expect(write.patch).to.deep.equal({
      metadata: { uid: 'u-1', resourceVersion: '42', annotations: { [HASH_ANNOTATION]: 'v2-k-d2', [RECORD_ANNOTATION]: recordText(write.template) } },
      spec: { template: { metadata: { annotations: { [HASH_ANNOTATION]: 'v2-k-d2' } } } },
    });
  });

  it('adds the restart annotation when the template already carries the digest, or the roll would change nothing', () => {
    const write = hashPatch('roll', 'v2-k-d1', parts, { ...target, templateDigest: 'v2-k-d1' });
    expect(write.patch.spec).to.deep.equal({
      template: { metadata: { annotations: { [HASH_ANNOTATION]: 'v2-k-d1', [RESTART_ANNOTATION]: '42' } } },
    });
    expect(write.template).to.equal(templateFingerprint(base, 'v2-k-d1', '42'));
  });

  it('keeps a restart annotation already in the template in the fingerprint it computes', () => {
    const write = hashPatch('roll', 'v2-k-d2', parts, { ...target, templateDigest: 'v2-k-d1', templateRestart: '7' });
    expect(write.patch.spec?.template.metadata.annotations).to.not.have.property(RESTART_ANNOTATION);
    expect(write.template).to.equal(templateFingerprint(base, 'v2-k-d2', '7'));
  });

  it('a resourceVersion that is not an integer leaves the record without `at`', () => {
    const write = hashPatch('adopt', 'v2-k-d1', new Map(), { ...target, resourceVersion: 'x' });
    expect(write.record.at).to.equal(undefined);
    expect(write.patch.metadata.annotations[RECORD_ANNOTATION]).to.equal(formatRecord(write.record)).and.equal(`template=${target.template}`);
  });
});
