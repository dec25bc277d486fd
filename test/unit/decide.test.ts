// The decision chain (src/core/decide.ts): the checks that need no parts (opt-in, malformed
// annotations, unwatchable and missing config objects, digests of another format or key, first
// sight). What the pods run per consumed object is in test/unit/decide-parts.test.ts.
import { expect } from 'chai';
import { CONFIGMAPS_ANNOTATION, ENABLED_ANNOTATION } from '../../src/core/annotations.ts';
import { type DecisionInput, decide, type PartInput } from '../../src/core/decide.ts';
import { digestKey, sourceContent, workloadDigest } from '../../src/core/digest.ts';
import type { OptIn } from '../../src/core/types.ts';

const KEY = digestKey(Buffer.alloc(32, 7));
const OTHER_KEY = digestKey(Buffer.alloc(32, 8));
const optedIn: OptIn = { kind: 'in', referenced: true, extraConfigMaps: [], extraSecrets: [] };
const consumed = [{ kind: 'ConfigMap' as const, name: 'cm', optional: false, keys: null }];
const oldDigest = workloadDigest(consumed, () => sourceContent('ConfigMap', { data: { k: 'old' } }, KEY), KEY);
const newDigest = workloadDigest(consumed, () => sourceContent('ConfigMap', { data: { k: 'new' } }, KEY), KEY);
const cm = (name: string) => ({ kind: 'ConfigMap' as const, name });
const OLD = '0'.repeat(16);
const NEW = '1'.repeat(16);
const part = (name: string, current: string, running: string | undefined): PartInput =>
  ({ kind: 'ConfigMap', name, id: `ConfigMap/${name}`, current, running, ignored: false });

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
        parts: [part('cm', NEW, OLD)],
      }),
    );
    expect(decision.action).to.equal('none');
    expect(decision.warning).to.equal('MalformedAnnotation');
  });

  it('adopts a first-seen workload without rolling, recording what its pods run', () => {
    const decision = decide(input({ recordedDigest: undefined, parts: [part('cm', NEW, NEW)] }));
    expect(decision).to.deep.equal({
      action: 'adopt', code: 'first_seen', digest: newDigest, reason: 'first seen; recorded digest, no roll',
      parts: new Map([['ConfigMap/cm', NEW]]),
    });
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
    const decision = decide(input({ missingRequired: [cm('b'), cm('a')], hasRecord: true, parts: [part('a', NEW, OLD)] }));
    expect(decision.action).to.equal('none');
    expect(decision.digest).to.equal(undefined);
    expect(decision.parts).to.equal(undefined);
    expect(decision.warning).to.equal('ConfigMapMissing');
    expect(decision.reason).to.include('a, b');
  });

  it('warns about a missing ConfigMap even when the recorded digest is current', () => {
    const decision = decide(input({ recordedDigest: newDigest, missingRequired: [cm('cm')], hasRecord: true, recordCurrent: true }));
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

  it('a digest of another format or key is re-recorded even when what the pods run is unknown', () => {
    const foreign = workloadDigest(consumed, () => sourceContent('ConfigMap', { data: { k: 'old' } }, OTHER_KEY), OTHER_KEY);
    const unknown = [part('cm', NEW, undefined)];
    expect(decide(input({ recordedDigest: foreign, parts: unknown }))).to.include({ action: 'adopt', code: 'key_changed' });
    expect(decide(input({ recordedDigest: `v1-${'ab'.repeat(32)}`, parts: unknown }))).to.include({ action: 'adopt', code: 'format_upgrade' });
    // It records what it adopts: the current part, nothing being known of what runs.
    expect(decide(input({ recordedDigest: foreign, parts: unknown })).parts).to.deep.equal(new Map([['ConfigMap/cm', NEW]]));
  });

  it('decides nothing for a workload consuming a kind that cannot be watched now', () => {
    const decision = decide(input({ unavailable: ['Secret'], recordedDigest: undefined, parts: [part('cm', NEW, OLD)] }));
    expect(decision).to.include({ action: 'none', code: 'source_unavailable', warning: 'SourceUnavailable' });
  });

  it('names a missing Secret as such', () => {
    const decision = decide(input({ missingRequired: [{ kind: 'Secret', name: 'db' }, cm('cfg')] }));
    expect(decision).to.include({ action: 'none', code: 'secret_missing', warning: 'SecretMissing' });
    expect(decision.reason).to.equal('required ConfigMap cfg and Secret db missing: not rolling, the new pods could not start');
  });

  it('does nothing when the record describes the pods as they run', () => {
    const d = decide(input({ recordedDigest: newDigest, hasRecord: true, recordCurrent: true, parts: [part('cm', NEW, NEW)] }));
    expect(d).to.deep.equal({ action: 'none', code: 'up_to_date', reason: 'up to date' });
  });

  it('rolls when what the pods run differs, naming the changed objects', () => {
    const named = decide(input({ hasRecord: true, parts: [part('web-config', NEW, OLD), part('app-config', NEW, OLD), part('same', OLD, OLD)] }));
    expect(named).to.include({ action: 'roll', code: 'config_changed', digest: newDigest });
    expect(named.warning).to.equal(undefined);
    expect(named.reason).to.equal('ConfigMap app-config, ConfigMap web-config changed: rolling');
    expect(named.for).to.deep.equal(['ConfigMap web-config', 'ConfigMap app-config']);
  });

  it('never lets a template change skip adoption or a missing required ConfigMap', () => {
    expect(decide(input({ recordedDigest: undefined, templateMoved: true })).code).to.equal('first_seen');
    expect(decide(input({ missingRequired: [cm('cm')], hasRecord: true, templateMoved: true, parts: [part('cm', NEW, NEW)] })).code)
      .to.equal('configmap_missing');
  });
});
