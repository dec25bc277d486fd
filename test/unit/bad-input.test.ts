// Bad input the pure core decides (docs/troubleshooting.md, the bad-input table): each case
// states what the operator does with it. Cases that need the API are in
// test/e2e/bad-input.test.ts; cases already covered elsewhere are cited in that table.
import { expect } from 'chai';
import {
  CONFIGMAPS_ANNOTATION, ENABLED_ANNOTATION, HASH_ANNOTATION, parseOptIn, quoteValue,
} from '../../src/core/annotations.ts';
import { type DecisionInput, decide } from '../../src/core/decide.ts';
import { digestKey, sourceContent, workloadDigest } from '../../src/core/digest.ts';
import { consumedSources } from '../../src/core/references.ts';
import type { OptIn } from '../../src/core/types.ts';

const KEY = digestKey(Buffer.alloc(32, 7));
const KINDS = new Set(['ConfigMap', 'Secret'] as const);
const consumed = [{ kind: 'ConfigMap' as const, name: 'cm', optional: false, keys: null }];
const digestOf = (v: string) => workloadDigest(consumed, () => sourceContent('ConfigMap', { data: { k: v } }, KEY), KEY);
const current = digestOf('current');

function decideFor(optIn: OptIn, recordedDigest: string | undefined = digestOf('old')) {
  const input: DecisionInput = { optIn, recordedDigest, desiredDigest: current, missingRequired: [], keyId: KEY.id };
  return decide(input);
}

const inOf = (optIn: OptIn) => {
  if (optIn.kind !== 'in') throw new Error(`expected an opt-in, got ${JSON.stringify(optIn).slice(0, 200)}`);
  return optIn;
};

describe('bad input: annotation values', () => {
  it('a 10 KiB enabled value is malformed, and the reason quotes only its start and says how long it is', () => {
    const value = `true${'x'.repeat(10 * 1024 - 4)}`;
    const decision = decideFor(parseOptIn({ [ENABLED_ANNOTATION]: value }));
    expect(decision).to.include({ action: 'none', code: 'malformed_annotation', warning: 'MalformedAnnotation' });
    expect(decision.reason).to.include('(10240 characters)');
    // One readable log line, not 10 KiB: the quoted part is bounded.
    expect(decision.reason.length).to.be.below(300);
  });

  it('a 10 KiB name in the configmaps annotation is malformed, quoted short', () => {
    const name = 'a'.repeat(10 * 1024);
    const optIn = parseOptIn({ [CONFIGMAPS_ANNOTATION]: `ok, ${name}` });
    expect(optIn.kind).to.equal('malformed');
    const decision = decideFor(optIn);
    expect(decision.code).to.equal('malformed_annotation');
    expect(decision.reason).to.include('(10240 characters)').and.include('is not a valid ConfigMap name');
    expect(decision.reason.length).to.be.below(600);
  });

  it('a 10 KiB list of valid names is accepted: every name is watched', () => {
    const names = Array.from({ length: 1200 }, (_, i) => `cm-${String(i).padStart(5, '0')}`);
    const raw = names.join(',');
    expect(raw.length).to.be.at.least(10 * 1024);
    expect(inOf(parseOptIn({ [CONFIGMAPS_ANNOTATION]: raw })).extraConfigMaps).to.deep.equal(names);
  });

  it('unicode look-alikes of "true" are malformed: full-width, Cyrillic е, a zero-width space', () => {
    for (const value of ['ｔｒｕｅ', 'tru\u0435', 'true\u200b', '\u200btrue', 'тrue', 'true✓']) {
      const optIn = parseOptIn({ [ENABLED_ANNOTATION]: value });
      expect(optIn.kind, JSON.stringify(value)).to.equal('malformed');
      expect(decideFor(optIn).reason, value).to.include(JSON.stringify(value));
    }
  });

  it('whitespace JavaScript trims, a no-break space included, is trimmed like " true "', () => {
    for (const value of ['\u00a0true\u00a0', '\ufefftrue', ' TRUE\n']) {
      expect(parseOptIn({ [ENABLED_ANNOTATION]: value }).kind, JSON.stringify(value)).to.equal('in');
    }
  });

  it('a unicode ConfigMap name is malformed (the apiserver accepts none)', () => {
    for (const name of ['café', 'конфиг', 'cfg-✓', 'ＣＦＧ']) {
      const optIn = parseOptIn({ [CONFIGMAPS_ANNOTATION]: name });
      expect(optIn.kind, name).to.equal('malformed');
      if (optIn.kind === 'malformed') expect(optIn.reason).to.include(JSON.stringify(name));
    }
  });

  it('a namespace-qualified name ("other/cm") is malformed: only the workload\'s own namespace is read', () => {
    const optIn = parseOptIn({ [CONFIGMAPS_ANNOTATION]: 'local, other/cm' });
    expect(optIn.kind).to.equal('malformed');
    if (optIn.kind === 'malformed') expect(optIn.reason).to.include('"other/cm" is not a valid ConfigMap name');
  });

  it('500 names are accepted: 500 optional ConfigMaps read whole, sorted', () => {
    const names = Array.from({ length: 500 }, (_, i) => `cfg-${i}`);
    const optIn = inOf(parseOptIn({ [CONFIGMAPS_ANNOTATION]: [...names].reverse().join(', ') }));
    const sources = consumedSources(undefined, optIn, KINDS);
    expect(sources).to.have.length(500);
    expect(sources.every((s) => s.optional && s.keys === null && s.kind === 'ConfigMap')).to.equal(true);
    expect(sources.map((s) => s.name)).to.deep.equal([...names].sort());
  });

  it('500 names with one invalid among them: malformed, the reason names that one', () => {
    const names = Array.from({ length: 500 }, (_, i) => (i === 321 ? 'Bad_Name' : `cfg-${i}`));
    const optIn = parseOptIn({ [CONFIGMAPS_ANNOTATION]: names.join(',') });
    expect(optIn.kind).to.equal('malformed');
    const decision = decideFor(optIn);
    expect(decision.reason).to.include('"Bad_Name" is not a valid ConfigMap name');
    // The 500-name value is quoted short.
    expect(decision.reason).to.include(`(${names.join(',').length} characters)`);
  });

  it('a typo in the annotation key (config-reload.dev/enable, …/configmap) does not opt in, and is not an error', () => {
    for (const key of ['config-reload.dev/enable', 'config-reload.dev/configmap', 'config-reload/enabled', 'Config-Reload.dev/enabled']) {
      expect(parseOptIn({ [key]: 'true' }), key).to.deep.equal({ kind: 'out' });
    }
  });

  it('quoteValue: JSON-quotes short values whole, long ones cut with their length', () => {
    expect(quoteValue('yes')).to.equal('"yes"');
    expect(quoteValue(' true\n')).to.equal('" true\\n"');
    expect(quoteValue('x'.repeat(101))).to.equal(`"${'x'.repeat(100)}"… (101 characters)`);
  });
});

describe('bad input: the config-hash annotation edited by hand', () => {
  const optIn: OptIn = { kind: 'in', referenced: true, extraConfigMaps: [], extraSecrets: [] };

  it('an empty, unicode, padded or cut value is re-recorded without a roll (format_upgrade)', () => {
    for (const value of ['', '✓', ` ${current}`, `${current}\n`, current.slice(0, 20), 'sha256:abcdef', HASH_ANNOTATION]) {
      expect(decideFor(optIn, value), JSON.stringify(value)).to.include({ action: 'adopt', code: 'format_upgrade', digest: current });
    }
  });

  it('a well-formed digest copied from elsewhere, what the pods run unknown (a listed workload): rolls once', () => {
    const foreign = digestOf('whatever another workload consumes');
    const part = (running: string | undefined) => [{ kind: 'ConfigMap' as const, name: 'cm', id: 'ConfigMap/cm', current: '1'.repeat(16), running, ignored: false }];
    const base = { optIn, desiredDigest: current, missingRequired: [], keyId: KEY.id };
    expect(decide({ ...base, recordedDigest: foreign, parts: part(undefined) })).to.include({ action: 'roll', code: 'config_changed', digest: current });
    // Once rolled, the record describes the pods: up to date.
    expect(decide({ ...base, recordedDigest: current, parts: part('1'.repeat(16)), hasRecord: true, recordCurrent: true }))
      .to.include({ action: 'none', code: 'up_to_date' });
    // With the pods known to run the current configuration (the operator saw the template written): re-recorded.
    expect(decide({ ...base, recordedDigest: foreign, parts: part('1'.repeat(16)) })).to.include({ action: 'adopt', code: 'record_upgrade', digest: current });
  });
});

describe('bad input: a pod template that references 200 ConfigMaps', () => {
  it('consumes all 200 (required), and adopts with every one present; one missing holds it with one warning naming it', () => {
    const names = Array.from({ length: 200 }, (_, i) => `cm-${String(i).padStart(3, '0')}`);
    const spec = {
      containers: [{ name: 'app', image: 'app:1', envFrom: names.map((name) => ({ configMapRef: { name } })) }],
    };
    const optIn = inOf(parseOptIn({ [ENABLED_ANNOTATION]: 'true' }));
    const sources = consumedSources(spec, optIn, KINDS);
    expect(sources.map((s) => s.name)).to.deep.equal(names);
    expect(sources.every((s) => !s.optional)).to.equal(true);
    const desired = workloadDigest(sources, (_kind, name) => sourceContent('ConfigMap', { data: { name } }, KEY), KEY);
    expect(decide({ optIn, recordedDigest: undefined, desiredDigest: desired, missingRequired: [], keyId: KEY.id }))
      .to.include({ action: 'adopt', code: 'first_seen' });
    const held = decide({ optIn, recordedDigest: desired, desiredDigest: desired, missingRequired: [{ kind: 'ConfigMap', name: 'cm-123' }], keyId: KEY.id });
    expect(held).to.include({ action: 'none', code: 'configmap_missing', warning: 'ConfigMapMissing' });
    expect(held.reason).to.equal('required ConfigMap cm-123 missing: not rolling, the new pods could not start');
  });
});
