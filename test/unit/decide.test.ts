import { expect } from 'chai';
import { CONFIGMAPS_ANNOTATION, ENABLED_ANNOTATION } from '../../src/core/annotations.ts';
import { type DecisionInput, decide } from '../../src/core/decide.ts';
import { digestKey, sourceContent, workloadDigest } from '../../src/core/digest.ts';
import type { OptIn } from '../../src/core/types.ts';

const KEY = digestKey(Buffer.alloc(32, 7));
const OTHER_KEY = digestKey(Buffer.alloc(32, 8));
const optedIn: OptIn = { kind: 'in', referenced: true, extraConfigMaps: [], extraSecrets: [] };
const consumed = [{ kind: 'ConfigMap' as const, name: 'cm', optional: false, keys: null }];
const oldDigest = workloadDigest(consumed, () => sourceContent('ConfigMap', { data: { k: 'old' } }, KEY), KEY);
const newDigest = workloadDigest(consumed, () => sourceContent('ConfigMap', { data: { k: 'new' } }, KEY), KEY);
const cm = (name: string) => ({ kind: 'ConfigMap' as const, name });

function input(overrides: Partial<DecisionInput>): DecisionInput {
  return { optIn: optedIn, recordedDigest: oldDigest, desiredDigest: newDigest, missingRequired: [], keyId: KEY.id, ...overrides };
}

describe('decide', () => {
  before(() => expect(oldDigest).to.not.equal(newDigest));

  it('does nothing for a workload that is not opted in', () => {
    const decision = decide(input({ optIn: { kind: 'out' } }));
    expect(decision).to.deep.equal({ action: 'none', code: 'not_opted_in', reason: 'not opted in' });
  });

  it('does nothing but warn on a malformed annotation, quoting it and why', () => {
    const decision = decide(
      input({ optIn: { kind: 'malformed', annotation: ENABLED_ANNOTATION, value: 'yes', reason: 'expected "true" or "false"' } }),
    );
    expect(decision.action).to.equal('none');
    expect(decision.warning).to.equal('MalformedAnnotation');
    expect(decision.digest).to.equal(undefined);
    expect(decision.reason).to.include(ENABLED_ANNOTATION).and.include('"yes"').and.include('expected "true" or "false"');
  });

  it('checks the annotation before anything else', () => {
    const decision = decide(
      input({
        optIn: { kind: 'malformed', annotation: CONFIGMAPS_ANNOTATION, value: 'A', reason: '"A" is not valid' },
        recordedDigest: undefined,
        missingRequired: [cm('cm')],
      }),
    );
    expect(decision.action).to.equal('none');
    expect(decision.warning).to.equal('MalformedAnnotation');
  });

  it('adopts a first-seen workload without rolling', () => {
    const decision = decide(input({ recordedDigest: undefined }));
    expect(decision.action).to.equal('adopt');
    expect(decision.digest).to.equal(newDigest);
    expect(decision.warning).to.equal(undefined);
    expect(decision.reason).to.equal('first seen; recorded digest, no roll');
  });

  it('adopts with a warning when a required ConfigMap is missing and nothing was recorded', () => {
    const decision = decide(input({ recordedDigest: undefined, missingRequired: [cm('cm')] }));
    expect(decision.action).to.equal('adopt');
    // The digest that hashes the ConfigMap as absent is recorded, so its creation rolls.
    expect(decision.digest).to.equal(newDigest);
    expect(decision.warning).to.equal('ConfigMapMissing');
    expect(decision.reason).to.include('cm');
  });

  it('does not roll while a required ConfigMap is missing, and keeps the recorded digest', () => {
    const decision = decide(input({ missingRequired: [cm('b'), cm('a')] }));
    expect(decision.action).to.equal('none');
    expect(decision.digest).to.equal(undefined);
    expect(decision.warning).to.equal('ConfigMapMissing');
    expect(decision.reason).to.include('a, b');
  });

  it('warns about a missing ConfigMap even when the recorded digest is current', () => {
    const decision = decide(input({ recordedDigest: newDigest, missingRequired: [cm('cm')] }));
    expect(decision.action).to.equal('none');
    expect(decision.warning).to.equal('ConfigMapMissing');
  });

  it('re-records a digest of another format version without rolling', () => {
    const decision = decide(input({ recordedDigest: `v0-${'ab'.repeat(20)}` }));
    expect(decision.action).to.equal('adopt');
    expect(decision.digest).to.equal(newDigest);
    expect(decision.reason).to.equal('digest format v0 → v2: re-recorded without rolling');
  });

  it('re-records a value that is not a versioned digest without rolling', () => {
    const decision = decide(input({ recordedDigest: 'hand-edited' }));
    expect(decision.action).to.equal('adopt');
    expect(decision.digest).to.equal(newDigest);
    expect(decision.reason).to.include('unknown').and.include('v2');
  });

  it('re-records an old-format digest with the absence of a missing ConfigMap, so that its creation rolls', () => {
    const decision = decide(input({ recordedDigest: `v0-${'ab'.repeat(20)}`, missingRequired: [cm('cm')] }));
    expect(decision.action).to.equal('adopt');
    expect(decision.digest).to.equal(newDigest);
    expect(decision.warning).to.equal('ConfigMapMissing');
  });

  it('re-records a v1 digest (the unkeyed format) without rolling', () => {
    const decision = decide(input({ recordedDigest: `v1-${'ab'.repeat(32)}` }));
    expect(decision).to.include({ action: 'adopt', code: 'format_upgrade', digest: newDigest });
  });

  it('re-records a digest made with another key without rolling', () => {
    const foreign = workloadDigest(consumed, () => sourceContent('ConfigMap', { data: { k: 'old' } }, OTHER_KEY), OTHER_KEY);
    const decision = decide(input({ recordedDigest: foreign }));
    expect(decision).to.include({ action: 'adopt', code: 'key_changed', digest: newDigest });
  });

  it('decides nothing for a workload consuming a kind that cannot be watched now', () => {
    const decision = decide(input({ unavailable: ['Secret'], recordedDigest: undefined }));
    expect(decision).to.include({ action: 'none', code: 'source_unavailable', warning: 'SourceUnavailable' });
  });

  it('names a missing Secret as such', () => {
    const decision = decide(input({ missingRequired: [{ kind: 'Secret', name: 'db' }, cm('cfg')] }));
    expect(decision).to.include({ action: 'none', code: 'secret_missing', warning: 'SecretMissing' });
    expect(decision.reason).to.equal('required ConfigMap cfg and Secret db missing: not rolling, the new pods could not start');
  });

  it('does nothing when the recorded digest is the desired one', () => {
    expect(decide(input({ recordedDigest: newDigest }))).to.deep.equal({ action: 'none', code: 'up_to_date', reason: 'up to date' });
  });

  it('rolls when the digest changed, naming the changed ConfigMaps when known', () => {
    const named = decide(input({ changed: ['web-config', 'app-config'] }));
    expect(named.action).to.equal('roll');
    expect(named.digest).to.equal(newDigest);
    expect(named.warning).to.equal(undefined);
    expect(named.reason).to.include('app-config, web-config');

    const unnamed = decide(input({}));
    expect(unnamed.action).to.equal('roll');
    expect(unnamed.digest).to.equal(newDigest);
    expect(unnamed.reason).to.be.a('string').and.not.equal('');
  });
});

describe('decide: a pod-template change that carries the configuration', () => {
  const optIn = { kind: 'in' as const, referenced: true, extraConfigMaps: [], extraSecrets: [] };
  const recorded = `v2-${KEY.id}-${'a'.repeat(64)}`;
  const desired = `v2-${KEY.id}-${'b'.repeat(64)}`;

  it('re-records without a second roll when the template was written after the configuration changed', () => {
    const d = decide({ optIn, recordedDigest: recorded, desiredDigest: desired, missingRequired: [], keyId: KEY.id, templateCarriesConfig: true });
    expect(d.action).to.equal('adopt');
    expect(d.code).to.equal('template_changed');
    expect(d.digest).to.equal(desired);
  });

  it('rolls when the order is not established (or the template came first)', () => {
    const d = decide({ optIn, recordedDigest: recorded, desiredDigest: desired, missingRequired: [], keyId: KEY.id, templateCarriesConfig: false });
    expect(d.action).to.equal('roll');
  });

  it('does nothing when the template changed but the digest did not', () => {
    const d = decide({ optIn, recordedDigest: desired, desiredDigest: desired, missingRequired: [], keyId: KEY.id, templateCarriesConfig: true });
    expect(d.action).to.equal('none');
  });

  it('rolls a workload not adopted yet whose configuration changed since it was first seen', () => {
    const d = decide({ optIn, recordedDigest: undefined, desiredDigest: desired, missingRequired: [], keyId: KEY.id, changed: ['ConfigMap b', 'ConfigMap a'] });
    expect(d).to.deep.equal({
      action: 'roll', code: 'changed_before_adoption', digest: desired,
      reason: 'ConfigMap a, ConfigMap b changed after the operator first saw the workload, before it was adopted: rolling',
    });
  });

  it('adopts it without a roll when the configuration changed back to what it was at first sight', () => {
    const d = decide({ optIn, recordedDigest: undefined, desiredDigest: desired, missingRequired: [], keyId: KEY.id, changed: ['ConfigMap a'], firstSeenDigest: desired });
    expect(d.code).to.equal('first_seen');
    const moved = decide({ optIn, recordedDigest: undefined, desiredDigest: desired, missingRequired: [], keyId: KEY.id, changed: ['ConfigMap a'], firstSeenDigest: recorded });
    expect(moved.code).to.equal('changed_before_adoption');
  });

  it('adopts it without a roll when a template change written after that change carried it', () => {
    const d = decide({ optIn, recordedDigest: undefined, desiredDigest: desired, missingRequired: [], keyId: KEY.id, changed: ['ConfigMap a'], templateCarriesConfig: true });
    expect(d.code).to.equal('first_seen');
  });

  it('rolls when the template changed between a change and its reversal (its pods may run the version in between)', () => {
    const input = { optIn, recordedDigest: desired, desiredDigest: desired, missingRequired: [], keyId: KEY.id, changed: ['ConfigMap a'], templateChangedSinceRecord: true };
    expect(decide({ ...input, templateCarriesConfig: false })).to.deep.include({ action: 'roll', code: 'template_between_changes', digest: desired });
    // Written after the last change, the template's pods read the current version: up to date.
    expect(decide({ ...input, templateCarriesConfig: true }).code).to.equal('up_to_date');
    // No change since the record: the template's pods read the recorded version.
    expect(decide({ ...input, changed: [] }).code).to.equal('up_to_date');
    expect(decide({ ...input, templateChangedSinceRecord: false }).code).to.equal('up_to_date');
  });

  it('never lets a template change skip adoption or a missing required ConfigMap', () => {
    expect(decide({ optIn, recordedDigest: undefined, desiredDigest: desired, missingRequired: [], keyId: KEY.id, templateCarriesConfig: true }).code).to.equal('first_seen');
    expect(decide({ optIn, recordedDigest: recorded, desiredDigest: desired, missingRequired: [cm('cm')], keyId: KEY.id, templateCarriesConfig: true }).code).to.equal('configmap_missing');
  });
});
