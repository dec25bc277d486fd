// The decision chain on what the pods run, per consumed object (src/core/decide.ts, the parts
// src/reconcile/pods.ts establishes): pods behind, pods unknown, a record made before records
// carried parts, an ignored object, a template moved by someone else, an object newly named.
import { expect } from 'chai';
import { type DecisionInput, decide, type PartInput } from '../../src/core/decide.ts';
import { digestKey } from '../../src/core/digest.ts';
import { UNKNOWN_PART } from '../../src/core/record.ts';
import type { OptIn } from '../../src/core/types.ts';

const KEY = digestKey(Buffer.alloc(32, 7));
const optIn: OptIn = { kind: 'in', referenced: true, extraConfigMaps: [], extraSecrets: [] };
const recorded = `v2-${KEY.id}-${'a'.repeat(64)}`;
const desired = `v2-${KEY.id}-${'b'.repeat(64)}`;
const OLD = '0'.repeat(16);
const NEW = '1'.repeat(16);
const MID = '2'.repeat(16);

const part = (name: string, current: string, running: string | undefined, ignored = false): PartInput =>
  ({ kind: 'ConfigMap', name, id: `ConfigMap/${name}`, current, running, ignored });

function input(overrides: Partial<DecisionInput>): DecisionInput {
  return { optIn, recordedDigest: recorded, desiredDigest: desired, missingRequired: [], keyId: KEY.id, ...overrides };
}

describe('decide: the pods run other configuration than the current one', () => {
  it('rolls a recorded workload (config_changed), for the objects that differ only, recording the current parts', () => {
    const d = decide(input({ hasRecord: true, parts: [part('a', NEW, OLD), part('b', OLD, OLD)] }));
    expect(d).to.deep.equal({
      action: 'roll', code: 'config_changed', digest: desired, reason: 'ConfigMap a changed: rolling',
      parts: new Map([['ConfigMap/a', NEW], ['ConfigMap/b', OLD]]), for: ['ConfigMap a'],
    });
  });

  it('rolls a workload whose digest an earlier version recorded (config_changed)', () => {
    expect(decide(input({ parts: [part('a', NEW, OLD)] }))).to.include({ action: 'roll', code: 'config_changed' });
  });

  it('rolls a workload not adopted yet whose configuration changed after its pods started (changed_before_adoption)', () => {
    const d = decide(input({ recordedDigest: undefined, parts: [part('b', NEW, OLD), part('a', NEW, OLD)] }));
    expect(d).to.deep.equal({
      action: 'roll', code: 'changed_before_adoption', digest: desired,
      reason: 'ConfigMap a, ConfigMap b changed after the workload\'s pods started, before it was adopted: rolling',
      parts: new Map([['ConfigMap/b', NEW], ['ConfigMap/a', NEW]]), for: ['ConfigMap b', 'ConfigMap a'],
    });
  });

  it('adopts it without a roll when the configuration changed back to what its pods run', () => {
    expect(decide(input({ recordedDigest: undefined, parts: [part('a', NEW, NEW)] })).code).to.equal('first_seen');
  });

  it('rolls even when the digest recorded equals the desired one (a change and its reversal around the pods\' template write)', () => {
    const d = decide(input({ recordedDigest: desired, hasRecord: true, parts: [part('a', NEW, MID)] }));
    expect(d).to.include({ action: 'roll', code: 'config_changed', digest: desired });
  });
});

describe('decide: what the pods run cannot be established', () => {
  it('with a record: rolls (template_between_changes), for the unknown objects only', () => {
    const d = decide(input({ recordedDigest: desired, hasRecord: true, templateMoved: true, parts: [part('a', NEW, undefined), part('b', OLD, OLD)] }));
    expect(d).to.include({ action: 'roll', code: 'template_between_changes', digest: desired });
    expect(d.reason).to.include('ConfigMap a').and.not.include('ConfigMap b');
    expect(d.for).to.deep.equal(['ConfigMap a']);
    expect(d.parts).to.deep.equal(new Map([['ConfigMap/a', NEW], ['ConfigMap/b', OLD]]));
  });

  it('without a record, before adoption (in a relist\'s gap): rolls too', () => {
    expect(decide(input({ recordedDigest: undefined, parts: [part('a', NEW, undefined)] })).code).to.equal('template_between_changes');
  });

  it('a digest recorded by an earlier version, equal to the desired one: the record is completed without a roll (record_upgrade)', () => {
    const d = decide(input({ recordedDigest: desired, parts: [part('a', NEW, undefined)] }));
    expect(d).to.deep.equal({
      action: 'adopt', code: 'record_upgrade', digest: desired,
      reason: 'digest recorded by an earlier version: record completed without rolling',
      parts: new Map([['ConfigMap/a', NEW]]),
    });
  });

  it('a digest recorded by an earlier version, different from the desired one: rolls (config_changed)', () => {
    const d = decide(input({ parts: [part('a', NEW, undefined)] }));
    expect(d).to.include({ action: 'roll', code: 'config_changed', digest: desired });
    expect(d.for).to.deep.equal(['ConfigMap a']);
    expect(d.parts).to.deep.equal(new Map([['ConfigMap/a', NEW]]));
  });

  it('a digest recorded by an earlier version, the pods known to run the current configuration: completed without a roll', () => {
    expect(decide(input({ parts: [part('a', NEW, NEW)] }))).to.include({ action: 'adopt', code: 'record_upgrade' });
  });
});

describe('decide: an ignored object', () => {
  it('a difference in it rolls nothing: up to date while the record describes the pods', () => {
    const d = decide(input({ hasRecord: true, recordCurrent: true, parts: [part('a', NEW, OLD, true), part('b', OLD, OLD)] }));
    expect(d).to.deep.equal({ action: 'none', code: 'up_to_date', reason: 'up to date' });
  });

  it('an unknown in it rolls nothing either, and is recorded as unknown (unsetting the switch then rolls)', () => {
    const d = decide(input({ hasRecord: true, parts: [part('a', NEW, undefined, true)] }));
    expect(d.action).to.equal('adopt');
    expect(d.parts).to.deep.equal(new Map([['ConfigMap/a', UNKNOWN_PART]]));
  });

  it('a roll for another object carries it, and records its current part', () => {
    const d = decide(input({ hasRecord: true, parts: [part('a', NEW, OLD, true), part('b', NEW, OLD)] }));
    expect(d).to.include({ action: 'roll', code: 'config_changed' });
    expect(d.for).to.deep.equal(['ConfigMap b']);
    expect(d.parts).to.deep.equal(new Map([['ConfigMap/a', NEW], ['ConfigMap/b', NEW]]));
  });

  it('an adoption records what its pods run, not what it reads now', () => {
    const d = decide(input({ hasRecord: true, parts: [part('a', NEW, OLD, true)] }));
    expect(d).to.include({ action: 'adopt', code: 're_recorded' });
    expect(d.parts).to.deep.equal(new Map([['ConfigMap/a', OLD]]));
  });
});

describe('decide: the pods run the current configuration, the record does not say so', () => {
  it('someone rolled the template after the configuration changed: re-recorded without a second roll (template_changed)', () => {
    const d = decide(input({ hasRecord: true, templateMoved: true, parts: [part('a', NEW, NEW)] }));
    expect(d).to.deep.equal({
      action: 'adopt', code: 'template_changed', digest: desired,
      reason: 'the pod template was rewritten, and its pods run the current configuration: re-recorded without a roll',
      parts: new Map([['ConfigMap/a', NEW]]),
    });
  });

  it('someone rolled the template, the configuration unchanged: the record is refreshed for the new template, no roll', () => {
    const d = decide(input({ recordedDigest: desired, hasRecord: true, templateMoved: true, parts: [part('a', NEW, NEW)] }));
    expect(d).to.include({ action: 'adopt', code: 'template_changed', digest: desired });
  });

  it('the workload reads an object the record does not name: re-recorded, no roll (re_recorded)', () => {
    const d = decide(input({ recordedDigest: desired, hasRecord: true, parts: [part('a', NEW, NEW), part('new', MID, MID)] }));
    expect(d).to.deep.equal({
      action: 'adopt', code: 're_recorded', digest: desired,
      reason: 'what the workload reads changed without a change of what its pods run: re-recorded, no roll',
      parts: new Map([['ConfigMap/a', NEW], ['ConfigMap/new', MID]]),
    });
  });
});

describe('decide: the order of the checks', () => {
  it('a required object missing holds a roll the pods would need', () => {
    const d = decide(input({ hasRecord: true, missingRequired: [{ kind: 'ConfigMap', name: 'gone' }], parts: [part('a', NEW, OLD)] }));
    expect(d).to.include({ action: 'none', code: 'configmap_missing' });
  });

  it('a watch behind the template write\'s version: nothing decided yet (waiting_for_watch), unless the pods are known behind', () => {
    const behind = { ...part('a', NEW, undefined), behind: true };
    expect(decide(input({ hasRecord: true, parts: [behind, part('b', OLD, OLD)] }))).to.deep.equal({
      action: 'none', code: 'waiting_for_watch',
      reason: 'waiting for the watch of ConfigMap a to show the version the pod template was written at',
    });
    expect(decide(input({ hasRecord: true, parts: [behind, part('b', NEW, OLD)] }))).to.include({ action: 'roll', code: 'config_changed' });
  });

  it('pods behind come before pods unknown: the roll is for both, named for the behind ones', () => {
    const d = decide(input({ hasRecord: true, parts: [part('a', NEW, OLD), part('b', NEW, undefined)] }));
    expect(d).to.include({ action: 'roll', code: 'config_changed' });
    expect(d.for).to.deep.equal(['ConfigMap a']);
    expect(d.parts).to.deep.equal(new Map([['ConfigMap/a', NEW], ['ConfigMap/b', NEW]]));
  });
});
