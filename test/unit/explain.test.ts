// explain, the pure part: from the objects as read (or their absence, or a refusal) and the
// digest key (or its refusal) to the explanation — each decision code the operator can reach
// for a workload read once, what cannot be known without the key or an object, and that no
// value or key ever reaches the output. (The command, started as a process:
// test/system/explain-cli.test.ts.)
import { expect } from 'chai';
import { ConfigError } from '../../src/config.ts';
import { digestKey, sourceContent, sourcePart, workloadDigest } from '../../src/core/digest.ts';
import { formatRecord, RECORD_ANNOTATION } from '../../src/core/record.ts';
import type { ConsumedSource, SourceContent, SourceKind } from '../../src/core/types.ts';
import { parseExplainArgs, type WatchFilters, workloadKindOf } from '../../src/explain/args.ts';
import { matchesLabelSelector, parseLabelSelector } from '../../src/core/label-selector.ts';
import {
  buildExplanation, type Explanation, type KeyRead, needsDigestKey, type ReadResult, sourceId, sourcesToRead,
} from '../../src/explain/explanation.ts';
import { renderJson, renderText } from '../../src/explain/render.ts';
import type { SourceLike } from '../../src/state/source-store.ts';
import { fingerprintOf } from '../../src/state/template.ts';
import type { WorkloadLike } from '../../src/state/workload-store.ts';

const KEY = digestKey(Buffer.alloc(32, 7));
const OTHER_KEY = digestKey(Buffer.alloc(32, 8));
const HASH = 'config-reload.dev/config-hash';
const ENABLED = { 'config-reload.dev/enabled': 'true' };
const KEY_SECRET = { namespace: 'config-reload-system', name: 'config-reload-digest-key' };
const BOTH: SourceKind[] = ['ConfigMap', 'Secret'];

type PodSpec = Record<string, unknown>;

function workload(annotations: Record<string, string>, podSpec: PodSpec, extra: { templateHash?: string; kind?: string } = {}): WorkloadLike {
  return {
    metadata: { name: 'web', namespace: 'shop', uid: 'uid-1', resourceVersion: '100', generation: 2, annotations },
    spec: {
      template: {
        metadata: { annotations: extra.templateHash ? { [HASH]: extra.templateHash } : {} },
        spec: podSpec,
      },
    },
  };
}

const envFrom = (cm: string, optional = false): PodSpec => ({
  containers: [{ name: 'app', image: 'x', envFrom: [{ configMapRef: { name: cm, ...(optional ? { optional } : {}) } }] }],
});
const secretEnv = (secret: string, key: string): PodSpec => ({
  containers: [{ name: 'app', image: 'x', env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: secret, key } } }] }],
});

const configMap = (name: string, data: Record<string, string>, rv = '50'): SourceLike => ({ metadata: { name, namespace: 'shop', resourceVersion: rv }, data });
const secret = (name: string, data: Record<string, string>, rv = '60'): SourceLike => ({ metadata: { name, namespace: 'shop', resourceVersion: rv }, data });
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** The digest the operator computes for `consumed`, given the contents by kind/name. */
function digestOf(consumed: ConsumedSource[], contents: Record<string, SourceContent | undefined>, key = KEY): string {
  return workloadDigest(consumed, (kind, name) => contents[sourceId(kind, name)], key);
}
const cmContent = (data: Record<string, string>, key = KEY) => sourceContent('ConfigMap', { data }, key);

/** The operator's record on `w`: its template as the record's (or `template`), made at `at`, with the parts of these contents. */
function recordOf(w: WorkloadLike, consumed: ConsumedSource[], contents: Record<string, SourceContent | undefined>, at: bigint, template?: WorkloadLike): string {
  const parts = new Map(consumed.map((c) => [sourceId(c.kind, c.name), sourcePart(c, contents[sourceId(c.kind, c.name)], KEY)]));
  return formatRecord({ template: fingerprintOf((template ?? w).spec?.template), at, parts });
}

/** `w` with the digest and record an operator wrote when the contents were these. */
function recorded(w: WorkloadLike, consumed: ConsumedSource[], contents: Record<string, SourceContent | undefined>, at = 70n, template?: WorkloadLike): WorkloadLike {
  const annotations = { ...w.metadata?.annotations, [HASH]: digestOf(consumed, contents), [RECORD_ANNOTATION]: recordOf(w, consumed, contents, at, template) };
  return { ...w, metadata: { ...w.metadata, annotations } };
}

interface Case {
  workload: WorkloadLike;
  sources?: Record<string, SourceLike | 'absent' | { status: number; error: string }>;
  key?: KeyRead;
  sourceKinds?: SourceKind[];
  watchFilters?: WatchFilters;
}

function explain(c: Case): Explanation {
  const kinds = c.sourceKinds ?? BOTH;
  const reads = new Map<string, ReadResult<SourceLike>>();
  for (const s of sourcesToRead('Deployment', c.workload, kinds)) {
    const given = c.sources?.[sourceId(s.kind, s.name)];
    if (given === undefined) throw new Error(`test: no read given for ${s.kind}/${s.name}`);
    reads.set(sourceId(s.kind, s.name), given === 'absent'
      ? { state: 'absent' }
      : 'status' in given ? { state: 'unreadable', status: given.status, error: given.error } : { state: 'found', object: given });
  }
  const key: KeyRead = c.key ?? (needsDigestKey('Deployment', c.workload, kinds) ? { state: 'loaded', key: KEY } : { state: 'skipped' });
  return buildExplanation({
    kind: 'Deployment', workload: c.workload, sources: reads, key, keySecret: KEY_SECRET, sourceKinds: kinds,
    ...(c.watchFilters ? { watchFilters: c.watchFilters } : {}),
  });
}

const FORBIDDEN_KEY: KeyRead = {
  state: 'unreadable', status: 403,
  error: 'HTTP 403: secrets "config-reload-digest-key" is forbidden: User "dev" cannot get resource "secrets" in API group "" in the namespace "config-reload-system"',
};

const APP = [{ kind: 'ConfigMap' as const, name: 'app', optional: false, keys: null }];

describe('explain: each decision code, from the objects as read', () => {
  it('not_opted_in: nothing read but the workload; says how to opt in', () => {
    const w = workload({}, envFrom('app'));
    expect(sourcesToRead('Deployment', w, BOTH)).to.deep.equal([]);
    expect(needsDigestKey('Deployment', w, BOTH)).to.equal(false);
    const e = explain({ workload: w });
    expect(e.decision).to.deep.include({ known: true, action: 'none', code: 'not_opted_in', reason: 'not opted in' });
    expect(e.optIn.state).to.equal('out');
    expect(e.optIn.summary).to.contain('config-reload.dev/enabled: "true"');
    expect(e.sources).to.deep.equal([]);
    expect(e.digests.key.state).to.equal('skipped');
    expect(e.digests.comparison).to.equal('not_applicable');
  });

  it('malformed_annotation: names the annotation, its value and the problem', () => {
    const e = explain({ workload: workload({ 'config-reload.dev/enabled': 'yes' }, envFrom('app')) });
    expect(e.decision).to.deep.include({ known: true, action: 'none', code: 'malformed_annotation', warning: 'MalformedAnnotation' });
    expect(e.decision.reason).to.contain('config-reload.dev/enabled="yes" is malformed');
    expect(e.optIn).to.deep.include({ state: 'malformed', malformed: { annotation: 'config-reload.dev/enabled', value: 'yes', problem: 'expected "true" or "false"' } });
    expect(e.optIn.annotations.enabled).to.equal('yes');
  });

  it('configmap_missing: adopts with a warning when nothing was recorded, holds when something was', () => {
    const absent = digestOf(APP, {});
    const first = explain({ workload: workload(ENABLED, envFrom('app')), sources: { 'ConfigMap/app': 'absent' } });
    expect(first.decision).to.deep.include({ known: true, action: 'adopt', code: 'configmap_missing', digest: absent, warning: 'ConfigMapMissing' });
    expect(first.decision.reason).to.contain('required ConfigMap app missing');
    expect(first.sources[0]).to.deep.include({ kind: 'ConfigMap', name: 'app', exists: false, optional: false });

    const held = explain({ workload: workload({ ...ENABLED, [HASH]: digestOf(APP, { 'ConfigMap/app': cmContent({ a: '1' }) }) }, envFrom('app')), sources: { 'ConfigMap/app': 'absent' } });
    expect(held.decision).to.deep.include({ known: true, action: 'none', code: 'configmap_missing' });
    expect(held.decision.reason).to.contain('not rolling, the new pods could not start');
  });

  it('secret_missing', () => {
    const e = explain({ workload: workload(ENABLED, secretEnv('db', 'password')), sources: { 'Secret/db': 'absent' } });
    expect(e.decision).to.deep.include({ known: true, action: 'adopt', code: 'secret_missing', warning: 'SecretMissing' });
    expect(e.sources[0]).to.deep.include({ kind: 'Secret', name: 'db', exists: false, selectedKeys: ['password'], missingKeys: ['password'] });
  });

  it('first_seen: adopts, and shows the digest it would record as the current one', () => {
    const e = explain({ workload: workload(ENABLED, envFrom('app')), sources: { 'ConfigMap/app': configMap('app', { level: 'info' }) } });
    const current = digestOf(APP, { 'ConfigMap/app': cmContent({ level: 'info' }) });
    expect(e.decision).to.deep.include({ known: true, action: 'adopt', code: 'first_seen', digest: current });
    expect(e.digests).to.deep.include({ recorded: null, current, comparison: 'none_recorded' });
  });

  it('format_upgrade: a v1 digest is re-recorded', () => {
    const e = explain({ workload: workload({ ...ENABLED, [HASH]: `v1-${'a'.repeat(64)}` }, envFrom('app')), sources: { 'ConfigMap/app': configMap('app', { level: 'info' }) } });
    expect(e.decision).to.deep.include({ known: true, action: 'adopt', code: 'format_upgrade' });
    expect(e.digests).to.deep.include({ recordedFormat: 'v1', comparison: 'other_format' });
  });

  it('key_changed: a digest made with another key is re-recorded, and said to be not comparable', () => {
    const recorded = digestOf(APP, { 'ConfigMap/app': cmContent({ level: 'info' }, OTHER_KEY) }, OTHER_KEY);
    const e = explain({ workload: workload({ ...ENABLED, [HASH]: recorded }, envFrom('app')), sources: { 'ConfigMap/app': configMap('app', { level: 'info' }) } });
    expect(e.decision).to.deep.include({ known: true, action: 'adopt', code: 'key_changed' });
    expect(e.digests).to.deep.include({ recordedKeyId: OTHER_KEY.id, comparison: 'other_key' });
    expect(e.digests.key).to.deep.include({ state: 'loaded', id: KEY.id });
  });

  it('up_to_date: the record describes the pods, and they run the current configuration', () => {
    const info = { 'ConfigMap/app': cmContent({ level: 'info' }) };
    const current = digestOf(APP, info);
    const e = explain({ workload: recorded(workload(ENABLED, envFrom('app')), APP, info), sources: { 'ConfigMap/app': configMap('app', { level: 'info' }) } });
    expect(e.decision).to.deep.include({ known: true, action: 'none', code: 'up_to_date', reason: 'up to date', digest: null });
    expect(e.digests).to.deep.include({ recorded: current, current, comparison: 'equal' });
  });

  it('record_upgrade: a digest an earlier version recorded, equal to the current one, without a record: completed, no roll', () => {
    const current = digestOf(APP, { 'ConfigMap/app': cmContent({ level: 'info' }) });
    const e = explain({ workload: workload({ ...ENABLED, [HASH]: current }, envFrom('app')), sources: { 'ConfigMap/app': configMap('app', { level: 'info' }) } });
    expect(e.decision).to.deep.include({ known: true, action: 'adopt', code: 'record_upgrade', digest: current });
    expect(e.digests).to.deep.include({ recorded: current, current, comparison: 'equal' });
  });

  it('config_changed: rolls, and says that a watched template change would have made it template_changed', () => {
    const old = digestOf(APP, { 'ConfigMap/app': cmContent({ level: 'info' }) });
    const current = digestOf(APP, { 'ConfigMap/app': cmContent({ level: 'debug' }) });
    const e = explain({ workload: workload({ ...ENABLED, [HASH]: old }, envFrom('app'), { templateHash: old }), sources: { 'ConfigMap/app': configMap('app', { level: 'debug' }) } });
    expect(e.decision).to.deep.include({ known: true, action: 'roll', code: 'config_changed', reason: 'consumed configuration changed: rolling', digest: current });
    expect(e.digests).to.deep.include({ recorded: old, template: old, current, comparison: 'different' });
    expect(e.assumptions.join(' ')).to.contain('template_changed').and.contain('config-reload.dev/record');
    // Waves need every consumer and its status: explain says it cannot tell.
    expect(e.assumptions.join(' ')).to.contain('Not evaluated here: waves').and.contain('wave_waiting').and.contain('wave_held');
  });

  it('config_changed from the record: the pods run the recorded part, the object differs', () => {
    const e = explain({
      workload: recorded(workload(ENABLED, envFrom('app')), APP, { 'ConfigMap/app': cmContent({ level: 'info' }) }, 40n),
      sources: { 'ConfigMap/app': configMap('app', { level: 'debug' }, '50') },
    });
    expect(e.decision).to.deep.include({ known: true, action: 'roll', code: 'config_changed', reason: 'ConfigMap app changed: rolling' });
  });

  it('template_changed and template_between_changes from the record: someone wrote the template after it', () => {
    // The record names the template before an image bump; the ConfigMap was last written at 50.
    const before = workload(ENABLED, envFrom('app'));
    const after = workload(ENABLED, { containers: [{ name: 'app', image: 'x:2', envFrom: [{ configMapRef: { name: 'app' } }] }] });
    const debug = { 'ConfigMap/app': cmContent({ level: 'debug' }) };
    const sources = { 'ConfigMap/app': configMap('app', { level: 'debug' }, '50') };
    // Recorded at 70, the ConfigMap not written since: the bump's pods run it as it is.
    const carried = explain({ workload: recorded(after, APP, debug, 70n, before), sources });
    expect(carried.decision).to.deep.include({ known: true, action: 'adopt', code: 'template_changed' });
    // Recorded at 40, the ConfigMap written since (at 50), the bump's moment unknown to one read: roll.
    const between = explain({ workload: recorded(after, APP, { 'ConfigMap/app': cmContent({ level: 'info' }) }, 40n, before), sources });
    expect(between.decision).to.deep.include({ known: true, action: 'roll', code: 'template_between_changes' });
    // A digest recorded without a record: one read cannot order the bump and the change.
    const old = digestOf(APP, { 'ConfigMap/app': cmContent({ level: 'info' }) });
    const legacy = explain({ workload: { ...after, metadata: { ...after.metadata, resourceVersion: '900', annotations: { ...ENABLED, [HASH]: old } } }, sources });
    expect(legacy.decision.code).to.equal('config_changed');
    expect(legacy.assumptions[0]).to.contain('unknown to a one-time read');
  });
});

describe('explain: what it cannot read, it does not guess', () => {
  it('without the digest key: no current digest; a decision that compares digests is unknown, naming the permission', () => {
    const current = digestOf(APP, { 'ConfigMap/app': cmContent({ level: 'info' }) });
    const e = explain({ workload: workload({ ...ENABLED, [HASH]: current }, envFrom('app')), sources: { 'ConfigMap/app': configMap('app', { level: 'info' }) }, key: FORBIDDEN_KEY });
    expect(e.decision).to.deep.include({ known: false, action: null, code: null, digest: null });
    expect(e.decision.reason).to.match(/^unknown: /).and.contain('get on secrets/config-reload-digest-key in namespace config-reload-system');
    expect(e.digests).to.deep.include({ recorded: current, current: null, comparison: 'unknown' });
    expect(e.digests.key).to.deep.include({ state: 'unreadable', id: null, missingPermission: 'get on secrets/config-reload-digest-key in namespace config-reload-system' });
    // Everything else is still there.
    expect(e.sources[0]).to.deep.include({ exists: true, keys: ['level'], countedKeys: ['level'] });
  });

  it('without the digest key: a decision settled before any comparison is given, without the digest', () => {
    const first = explain({ workload: workload(ENABLED, envFrom('app')), sources: { 'ConfigMap/app': configMap('app', { a: '1' }) }, key: FORBIDDEN_KEY });
    expect(first.decision).to.deep.include({ known: true, action: 'adopt', code: 'first_seen', digest: null });
    const upgrade = explain({ workload: workload({ ...ENABLED, [HASH]: `v1-${'b'.repeat(64)}` }, envFrom('app')), sources: { 'ConfigMap/app': configMap('app', { a: '1' }) }, key: FORBIDDEN_KEY });
    expect(upgrade.decision).to.deep.include({ known: true, code: 'format_upgrade', digest: null });
  });

  it('without the digest key: a missing required object never rolls, but whether it re-records is unknown', () => {
    const recorded = digestOf(APP, { 'ConfigMap/app': cmContent({ a: '1' }) });
    const e = explain({ workload: workload({ ...ENABLED, [HASH]: recorded }, envFrom('app')), sources: { 'ConfigMap/app': 'absent' }, key: FORBIDDEN_KEY });
    expect(e.decision).to.deep.include({ known: false, action: null, code: 'configmap_missing', warning: 'ConfigMapMissing' });
    expect(e.decision.reason).to.contain('no roll').and.contain('get on secrets/config-reload-digest-key');
  });

  it('a consumed Secret the caller may not read: unknown, naming the permission; the rest is explained', () => {
    const podSpec = { containers: [{ name: 'app', image: 'x', envFrom: [{ configMapRef: { name: 'app' } }, { secretRef: { name: 'db' } }] }] };
    const e = explain({
      workload: workload(ENABLED, podSpec),
      sources: { 'ConfigMap/app': configMap('app', { a: '1' }), 'Secret/db': { status: 403, error: 'HTTP 403: secrets "db" is forbidden' } },
    });
    expect(e.decision).to.deep.include({ known: false, code: null });
    expect(e.decision.reason).to.contain('cannot read Secret db');
    expect(e.digests.current).to.equal(null);
    const db = e.sources.find((s) => s.name === 'db')!;
    expect(db).to.deep.include({ exists: null, missingPermission: 'get on secrets/db in namespace shop' });
    expect(e.sources.find((s) => s.name === 'app')).to.deep.include({ exists: true });
  });
});

describe('explain: the consumed objects', () => {
  it('says how each is referenced and which keys count', () => {
    const podSpec = {
      volumes: [{ name: 'cfg', configMap: { name: 'app', items: [{ key: 'app.yaml', path: 'app.yaml' }, { key: 'gone', path: 'g' }] } }],
      initContainers: [{ name: 'init', image: 'x', env: [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'app', key: 'mode' } } }] }],
      containers: [{ name: 'app', image: 'x', env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password', optional: true } } }] }],
    };
    const e = explain({
      workload: workload({ ...ENABLED, 'config-reload.dev/configmaps': 'flags' }, podSpec),
      sources: {
        'ConfigMap/app': configMap('app', { 'app.yaml': 'x', mode: 'y', unused: 'z' }),
        'ConfigMap/flags': 'absent',
        'Secret/db': secret('db', { password: b64('pw'), user: b64('u') }),
      },
    });
    expect(e.sources.map((s) => `${s.kind}/${s.name}`)).to.deep.equal(['ConfigMap/app', 'ConfigMap/flags', 'Secret/db']);
    const [app, flags, db] = e.sources;
    expect(app).to.deep.include({
      optional: false, exists: true, resourceVersion: '50',
      selectedKeys: ['app.yaml', 'gone', 'mode'], keys: ['app.yaml', 'mode', 'unused'],
      countedKeys: ['app.yaml', 'mode'], missingKeys: ['gone'], uncountedKeys: ['unused'],
    });
    expect(app!.references.map((r) => r.via)).to.deep.equal(['volume "cfg"', 'env MODE (initContainer init)']);
    expect(flags).to.deep.include({ optional: true, exists: false, selectedKeys: null });
    expect(flags!.references).to.deep.equal([{ via: 'annotation config-reload.dev/configmaps', keys: null, optional: true }]);
    expect(db).to.deep.include({ optional: true, selectedKeys: ['password'], countedKeys: ['password'], uncountedKeys: ['user'] });
    expect(db!.references[0]!.via).to.equal('env PASSWORD (container app)');
    expect(e.optIn).to.deep.include({ state: 'in', referenced: true, namedConfigMaps: ['flags'] });
  });

  it('a ConfigMaps-only operator (--config-sources configmaps) ignores Secret references, and says so', () => {
    const podSpec = { containers: [{ name: 'app', image: 'x', envFrom: [{ configMapRef: { name: 'app' } }, { secretRef: { name: 'db' } }] }] };
    const e = explain({ workload: workload(ENABLED, podSpec), sources: { 'ConfigMap/app': configMap('app', { a: '1' }) }, sourceKinds: ['ConfigMap'] });
    expect(e.sources.map((s) => s.name)).to.deep.equal(['app']);
    expect(e.unwatchedReferences).to.deep.equal([{ kind: 'Secret', name: 'db', via: 'envFrom (container app)', why: 'the operator does not watch secrets (--config-sources configmaps)' }]);
    expect(e.decision.code).to.equal('first_seen');
  });

  it('a StatefulSet with OnDelete says how it rolls', () => {
    const w: WorkloadLike = { ...workload(ENABLED, envFrom('app')), spec: { ...workload(ENABLED, envFrom('app')).spec, updateStrategy: { type: 'OnDelete' } } };
    const reads = new Map<string, ReadResult<SourceLike>>([['ConfigMap/app', { state: 'found', object: configMap('app', { a: '1' }) }]]);
    const e = buildExplanation({ kind: 'StatefulSet', workload: w, sources: reads, key: { state: 'loaded', key: KEY }, keySecret: KEY_SECRET, sourceKinds: BOTH });
    expect(e.workload).to.deep.include({ kind: 'StatefulSet', rollout: 'OnDelete' });
  });
});

describe('explain: what the operator\'s watches see', () => {
  const filters = (f: Partial<WatchFilters>): WatchFilters => ({ configMapSelector: undefined, secretSelector: undefined, excludedSecretTypes: [], ...f });
  const labelled = (labels: Record<string, string>): SourceLike => ({ ...configMap('app', { a: '1' }), metadata: { name: 'app', namespace: 'shop', resourceVersion: '5', labels } as never });

  it('a ConfigMap outside the operator\'s --configmap-selector is absent to it: configmap_missing, and said why', () => {
    const e = explain({
      workload: workload(ENABLED, envFrom('app')), sources: { 'ConfigMap/app': labelled({ team: 'b' }) },
      watchFilters: filters({ configMapSelector: 'team=a' }),
    });
    expect(e.decision).to.deep.include({ known: true, action: 'adopt', code: 'configmap_missing', digest: digestOf(APP, {}) });
    expect(e.sources[0]).to.deep.include({ exists: true, watched: false, notWatchedBecause: 'outside the operator\'s --configmap-selector "team=a"' });
    const text = renderText(e);
    expect(text).to.match(/ConfigMap\s+app\s+yes, unwatched\s+required/);
    expect(text).to.contain('ConfigMap app: outside the operator\'s --configmap-selector "team=a": absent to the operator');

    const inside = explain({ workload: workload(ENABLED, envFrom('app')), sources: { 'ConfigMap/app': labelled({ team: 'a' }) }, watchFilters: filters({ configMapSelector: 'team=a' }) });
    expect(inside.decision.code).to.equal('first_seen');
    expect(inside.sources[0]!.watched).to.equal(true);
  });

  it('a Secret of an excluded type is absent to the operator: secret_missing', () => {
    const helmish = { ...secret('db', { password: b64('x') }), type: 'helm.sh/release.v1' } as SourceLike;
    const e = explain({ workload: workload(ENABLED, secretEnv('db', 'password')), sources: { 'Secret/db': helmish }, watchFilters: filters({ excludedSecretTypes: ['helm.sh/release.v1'] }) });
    expect(e.decision).to.deep.include({ code: 'secret_missing', action: 'adopt' });
    expect(e.sources[0]!.notWatchedBecause).to.equal('of type helm.sh/release.v1, which the operator\'s --exclude-secret-types leaves out');
  });

  it('config-reload.dev/ignore: shown, and what a running operator would digest instead is said', () => {
    const ignoredCm: SourceLike = { metadata: { name: 'app', namespace: 'shop', resourceVersion: '5', annotations: { 'config-reload.dev/ignore': 'true' } }, data: { level: 'debug' } };
    const old = digestOf(APP, { 'ConfigMap/app': cmContent({ level: 'info' }) });
    const e = explain({ workload: workload({ ...ENABLED, [HASH]: old }, envFrom('app')), sources: { 'ConfigMap/app': ignoredCm } });
    // As an operator starting now: its difference is left out; the record is completed, no roll.
    expect(e.decision).to.deep.include({ action: 'adopt', code: 'record_upgrade' });
    expect(e.sources[0]).to.deep.include({ ignored: true, malformedIgnore: null });
    expect(e.assumptions.join(' ')).to.contain('ConfigMap app carries config-reload.dev/ignore: its changes roll nothing by themselves')
      .and.contain('a difference from what the pods run (the record\'s part) rolls once the switch is unset.');
    // With a record naming what the pods run: up to date while it is ignored, a roll once it is not.
    const withRecord = recorded(workload(ENABLED, envFrom('app')), APP, { 'ConfigMap/app': cmContent({ level: 'info' }) }, 4n);
    expect(explain({ workload: withRecord, sources: { 'ConfigMap/app': ignoredCm } }).decision.code).to.equal('up_to_date');
    const unset = { ...ignoredCm, metadata: { ...ignoredCm.metadata, annotations: {} } };
    expect(explain({ workload: withRecord, sources: { 'ConfigMap/app': unset } }).decision.code).to.equal('config_changed');
    expect(renderText(e)).to.contain('ConfigMap app: config-reload.dev/ignore: its changes roll nothing');

    const malformed = explain({ workload: workload(ENABLED, envFrom('app')), sources: { 'ConfigMap/app': { ...ignoredCm, metadata: { ...ignoredCm.metadata, annotations: { 'config-reload.dev/ignore': 'yes' } } } } });
    expect(malformed.sources[0]).to.deep.include({ ignored: true, malformedIgnore: { value: 'yes', problem: 'expected "true" or "false"' } });
  });

  it('label selectors as the apiserver reads them', () => {
    const cases: Array<[string, Record<string, string> | undefined, boolean]> = [
      ['team=a', { team: 'a' }, true], ['team==a', { team: 'b' }, false], ['team!=a', {}, true], ['team!=a', { team: 'a' }, false],
      ['team in (a, b),env', { team: 'b', env: '' }, true], ['team notin (a,b)', undefined, true], ['team notin (a,b)', { team: 'a' }, false],
      ['!legacy', { legacy: 'x' }, false], ['app.kubernetes.io/name=web,tier', { 'app.kubernetes.io/name': 'web', tier: 'x' }, true],
      ['replicas>2', { replicas: '3' }, true], ['replicas<2', { replicas: 'x' }, false],
    ];
    for (const [selector, labels, expected] of cases) expect(matchesLabelSelector(parseLabelSelector(selector), labels), `${selector} on ${JSON.stringify(labels)}`).to.equal(expected);
    for (const bad of ['a=b,', 'a in (b', 'a=b c', 'A B', '=x']) expect(() => parseLabelSelector(bad), bad).to.throw();
  });
});

describe('explain: output', () => {
  const MARKER = 'hunter2-marker-value';
  const podSpec = { containers: [{ name: 'app', image: 'x', envFrom: [{ configMapRef: { name: 'app' } }, { secretRef: { name: 'db' } }] }] };
  const sources = { 'ConfigMap/app': configMap('app', { level: MARKER }), 'Secret/db': secret('db', { password: b64(MARKER) }) };

  it('never prints a value, a Secret value or the key, in either format', () => {
    const keyBytes = Buffer.alloc(32, 7);
    for (const recorded of [undefined, 'v1-' + 'c'.repeat(64)]) {
      const e = explain({ workload: workload({ ...ENABLED, ...(recorded ? { [HASH]: recorded } : {}) }, podSpec), sources });
      for (const text of [renderText(e), renderJson(e)]) {
        expect(text).to.not.contain(MARKER);
        expect(text).to.not.contain(b64(MARKER));
        expect(text).to.not.contain(keyBytes.toString('base64'));
        expect(text).to.not.contain(keyBytes.toString('hex'));
        expect(text).to.contain('password'); // key names are shown
      }
    }
  });

  it('text: workload, opt-in, consumed objects, digests, decision with code and reason, assumptions', () => {
    const old = digestOf([...APP, { kind: 'Secret', name: 'db', optional: false, keys: null }], {
      'ConfigMap/app': cmContent({ level: 'old' }), 'Secret/db': sourceContent('Secret', { data: { password: b64(MARKER) } }, KEY),
    });
    const text = renderText(explain({ workload: workload({ ...ENABLED, [HASH]: old }, podSpec), sources }));
    expect(text).to.match(/^Deployment shop\/web\n/);
    expect(text).to.contain('Opt-in: opted in\n  config-reload.dev/enabled: "true"');
    expect(text).to.match(/KIND\s+NAME\s+EXISTS\s+NEEDED\s+KEYS THAT COUNT\s+REFERENCED BY/);
    expect(text).to.match(/Secret\s+db\s+yes\s+required\s+all: password\s+envFrom \(container app\)/);
    expect(text).to.contain(`recorded (metadata):  ${old}`);
    expect(text).to.contain('recorded vs current:  different');
    expect(text).to.contain('Decision: roll (config_changed)\n  consumed configuration changed: rolling\n  would record: v2-');
    expect(text).to.contain('Assumptions\n  - When the pod template was last written');
  });

  it('text: an unknown decision says so', () => {
    const text = renderText(explain({ workload: workload({ ...ENABLED, [HASH]: 'v2-00000000-' + 'd'.repeat(64) }, podSpec), sources, key: FORBIDDEN_KEY }));
    expect(text).to.contain('current:              unknown');
    expect(text).to.contain('Decision: unknown\n  unknown: the current digest cannot be computed');
    expect(text).to.contain('you need get on secrets/config-reload-digest-key in namespace config-reload-system');
  });

  it('json: the documented top-level fields', () => {
    const e = JSON.parse(renderJson(explain({ workload: workload(ENABLED, podSpec), sources }))) as Record<string, unknown>;
    expect(Object.keys(e)).to.deep.equal(['explanationVersion', 'workload', 'optIn', 'sources', 'unwatchedReferences', 'digests', 'decision', 'assumptions', 'namespace', 'hold']);
    expect(e.explanationVersion).to.equal(1);
    expect(Object.keys(e.decision as object)).to.deep.equal(['known', 'action', 'code', 'reason', 'digest', 'warning']);
  });
});

describe('explain: arguments', () => {
  const parse = (argv: string[], env: Record<string, string> = {}) => {
    const r = parseExplainArgs(argv, env);
    if (r.help) throw new Error('help');
    return r.args;
  };

  it('accepts kind/name in kubectl\'s forms and short names', () => {
    for (const [arg, kind] of [
      ['deployment/web', 'Deployment'], ['deploy/web', 'Deployment'], ['deployments.apps/web', 'Deployment'], ['Deployment/web', 'Deployment'],
      ['sts/web', 'StatefulSet'], ['statefulset/web', 'StatefulSet'], ['ds/web', 'DaemonSet'], ['daemonsets/web', 'DaemonSet'],
    ] as const) {
      expect(parse([arg]), arg).to.deep.include({ kind, name: 'web' });
    }
    expect(parse(['sts', 'db', '-n', 'shop'])).to.deep.include({ kind: 'StatefulSet', name: 'db', namespace: 'shop' });
    expect(workloadKindOf('pod')).to.equal(undefined);
  });

  it('defaults: text, the operator\'s key Secret in config-reload-system, both kinds; the operator\'s variables apply', () => {
    expect(parse(['deploy/web'])).to.deep.include({
      output: 'text', namespace: undefined, digestKeySecret: 'config-reload-digest-key', digestKeyNamespace: 'config-reload-system', sourceKinds: ['ConfigMap', 'Secret'],
    });
    expect(parse(['deploy/web'], { CONFIG_RELOAD_DIGEST_KEY_NAMESPACE: 'ops', CONFIG_RELOAD_CONFIG_SOURCES: 'configmaps' }))
      .to.deep.include({ digestKeyNamespace: 'ops', sourceKinds: ['ConfigMap'] });
    expect(parse(['deploy/web', '-o', 'json', '--digest-key-namespace', 'k', '--digest-key-secret', 's', '--context', 'c', '--kubeconfig', '/k'], { CONFIG_RELOAD_DIGEST_KEY_NAMESPACE: 'ops' }))
      .to.deep.include({ output: 'json', digestKeyNamespace: 'k', digestKeySecret: 's', context: 'c', kubeconfig: '/k' });
  });

  it('the operator\'s watch filters, from flags or its variables', () => {
    expect(parse(['deploy/web']).watchFilters).to.deep.equal({ configMapSelector: undefined, secretSelector: undefined, excludedSecretTypes: ['helm.sh/release.v1'] });
    expect(parse(['deploy/web', '--configmap-selector', 'team in (a,b)', '--exclude-secret-types', ''], { CONFIG_RELOAD_SECRET_SELECTOR: 'team=a' }).watchFilters)
      .to.deep.equal({ configMapSelector: 'team in (a,b)', secretSelector: 'team=a', excludedSecretTypes: [] });
    expect(() => parse(['deploy/web', '--secret-selector', 'a in (b'])).to.throw(ConfigError, /--secret-selector/);
  });

  it('bad usage is a ConfigError (exit 2)', () => {
    for (const argv of [[], ['web'], ['pod/web'], ['deploy/Web'], ['deploy/web', 'extra'], ['deploy/web', '-o', 'yaml'], ['deploy/web', '--dry-run'], ['deploy/web', '--config-sources', 'pods']]) {
      expect(() => parseExplainArgs(argv, {}), argv.join(' ')).to.throw(ConfigError);
    }
    expect(parseExplainArgs(['-h'], {})).to.deep.equal({ help: true });
  });
});
