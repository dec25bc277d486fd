// The key budget of one config object (issue 21, point 2; docs/security.md, "Tenant limits"):
// the pure digest at the budget's edges, the decision that holds the consumers, explain's
// account of it, and the controller on the in-memory API and virtual clock — held, said once,
// counted, and decided as usual once the object holds fewer keys again.
import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import winston from 'winston';
import { decide, type DecisionInput } from '../../src/core/decide.ts';
import { DEFAULT_MAX_KEYS_PER_OBJECT, digestKey, OVER_BUDGET_KEY, sourceContent } from '../../src/core/digest.ts';
import { buildExplanation } from '../../src/explain/explanation.ts';
import { renderText } from '../../src/explain/render.ts';
import { parseConfig } from '../../src/config.ts';
import { parseExplainArgs } from '../../src/explain/args.ts';
import { ControllerHarness, NS } from '../support/controller-harness.ts';

const SECRET = Buffer.alloc(32, 7);
const KEY = digestKey(SECRET);
const keysOf = (n: number, value = ''): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${String(i).padStart(5, '0')}`, value]));

describe('key budget: the digest of one config object', () => {
  it('digests key by key up to the budget, and one whole-object entry above it', () => {
    const at = sourceContent('ConfigMap', { data: keysOf(5) }, KEY, 5);
    expect(at.overBudget).to.equal(undefined);
    expect([...at.keyDigests.keys()]).to.have.length(5);
    const over = sourceContent('ConfigMap', { data: keysOf(6) }, KEY, 5);
    expect(over.overBudget).to.deep.equal({ keys: 6, maxKeys: 5 });
    expect([...over.keyDigests.keys()]).to.deep.equal([OVER_BUDGET_KEY]);
  });

  it('counts data and binaryData together (a Secret\'s binaryData is not read, as in its digest)', () => {
    const split = { data: keysOf(3), binaryData: { b1: 'AA==', b2: 'AQ==' } };
    expect(sourceContent('ConfigMap', split, KEY, 4).overBudget).to.deep.equal({ keys: 5, maxKeys: 4 });
    expect(sourceContent('ConfigMap', split, KEY, 5).overBudget).to.equal(undefined);
    expect(sourceContent('Secret', split, KEY, 3).overBudget).to.equal(undefined);
  });

  it('leaves a digest under the budget as it was: the budget changes no recorded digest', () => {
    const data = { a: '1', b: '2' };
    expect(sourceContent('ConfigMap', { data }, KEY, 2).keyDigests).to.deep.equal(sourceContent('ConfigMap', { data }, KEY, 1_000_000).keyDigests);
  });

  it('names its one entry as no ConfigMap or Secret key can be named', () => {
    // The apiserver's rule for data keys (IsConfigMapKey): [-._a-zA-Z0-9]+.
    expect(/^[-._a-zA-Z0-9]+$/.test(OVER_BUDGET_KEY)).to.equal(false);
  });

  it('is an HMAC of length-prefixed fields in code-unit order, whatever order the keys came in', () => {
    const data = { b: 'xy', a: '' };
    const binaryData = { c: 'AA==' };
    // By hand from the definition in src/core/digest.ts (wholeObjectDigest).
    const fields = ['over-budget', 'data', '2', 'a', '', 'b', 'xy', 'binaryData', '1', 'c', 'AA=='];
    const expected = createHmac('sha256', SECRET).update(fields.map((f) => `${f.length}:${f}`).join('')).digest('hex').slice(0, 32);
    const content = sourceContent('ConfigMap', { data, binaryData }, KEY, 2);
    expect(content.keyDigests.get(OVER_BUDGET_KEY)).to.equal(expected);
    expect(sourceContent('ConfigMap', { data: { a: '', b: 'xy' }, binaryData }, KEY, 2).keyDigests).to.deep.equal(content.keyDigests);
  });

  it('changes with any value, with a key moved between sections, and with the digest key', () => {
    const base = sourceContent('ConfigMap', { data: keysOf(10) }, KEY, 5).keyDigests.get(OVER_BUDGET_KEY);
    const edited = keysOf(10);
    edited['k00007'] = 'x';
    expect(sourceContent('ConfigMap', { data: edited }, KEY, 5).keyDigests.get(OVER_BUDGET_KEY)).to.not.equal(base);
    const moved = keysOf(10);
    delete moved['k00009'];
    expect(sourceContent('ConfigMap', { data: moved, binaryData: { k00009: '' } }, KEY, 5).keyDigests.get(OVER_BUDGET_KEY)).to.not.equal(base);
    expect(sourceContent('ConfigMap', { data: keysOf(10) }, digestKey(Buffer.alloc(32, 8)), 5).keyDigests.get(OVER_BUDGET_KEY)).to.not.equal(base);
  });

  it('defaults to 2,000 keys, and --max-keys-per-object (operator and explain) sets it', () => {
    expect(DEFAULT_MAX_KEYS_PER_OBJECT).to.equal(2_000);
    const config = parseConfig(['--max-keys-per-object', '50'], {});
    expect(!config.help && config.config.maxKeysPerObject).to.equal(50);
    const fromEnv = parseConfig([], { CONFIG_RELOAD_MAX_KEYS_PER_OBJECT: '7' });
    expect(!fromEnv.help && fromEnv.config.maxKeysPerObject).to.equal(7);
    expect(() => parseConfig(['--max-keys-per-object', '0'], {})).to.throw(/--max-keys-per-object/);
    const explain = parseExplainArgs(['deploy/web', '--max-keys-per-object', '50'], {});
    expect(!explain.help && explain.args.maxKeysPerObject).to.equal(50);
  });
});

describe('key budget: the decision', () => {
  const base: DecisionInput = {
    optIn: { kind: 'in', referenced: true, extraConfigMaps: [], extraSecrets: [] },
    recordedDigest: undefined, desiredDigest: 'v2-00000000-' + '0'.repeat(64), missingRequired: [],
  };
  const big = { kind: 'ConfigMap' as const, name: 'big', keys: 80_000, maxKeys: 2_000 };

  it('holds the workload, says why with a Warning, and quotes no value', () => {
    const d = decide({ ...base, overBudget: [big] });
    expect(d).to.deep.include({ action: 'none', code: 'source_over_budget', warning: 'ConfigOverBudget', cause: 'ConfigMap big over the key budget' });
    expect(d.reason).to.equal('ConfigMap big holds 80,000 keys, more than the 2,000 the operator digests one by one (--max-keys-per-object): nothing decided until it holds fewer');
  });

  it('comes after a kind that cannot be watched, and before a missing required object or a first sight', () => {
    expect(decide({ ...base, overBudget: [big], unavailable: ['Secret'] }).code).to.equal('source_unavailable');
    expect(decide({ ...base, overBudget: [big], missingRequired: [{ kind: 'Secret', name: 'db' }] }).code).to.equal('source_over_budget');
    expect(decide({ ...base, overBudget: [] }).code).to.equal('first_seen');
  });
});

describe('key budget: explain', () => {
  const workload = {
    metadata: { name: 'web', namespace: 'shop', uid: 'u1', resourceVersion: '10', generation: 1, annotations: { 'config-reload.dev/enabled': 'true' } },
    spec: { template: { spec: { containers: [{ name: 'app', envFrom: [{ configMapRef: { name: 'big' } }] }] } } },
  };
  const read = (n: number) => new Map([['ConfigMap/big', { state: 'found' as const, object: { metadata: { name: 'big', namespace: 'shop', resourceVersion: '9' }, data: keysOf(n) } }]]);
  const explain = (n: number, key: 'loaded' | 'skipped', maxKeysPerObject?: number) => buildExplanation({
    kind: 'Deployment', workload, sources: read(n), key: key === 'loaded' ? { state: 'loaded', key: KEY } : { state: 'skipped' },
    keySecret: { namespace: 'config-reload-system', name: 'config-reload-digest-key' }, sourceKinds: ['ConfigMap', 'Secret'],
    ...(maxKeysPerObject === undefined ? {} : { maxKeysPerObject }),
  });

  it('says the workload is held, by the operator\'s budget, with or without the digest key', () => {
    for (const key of ['loaded', 'skipped'] as const) {
      const e = explain(12, key, 10);
      expect(e.decision, key).to.deep.include({ known: true, action: 'none', code: 'source_over_budget', warning: 'ConfigOverBudget' });
      expect(e.sources[0]!.overBudget, key).to.deep.equal({ keys: 12, maxKeys: 10 });
    }
    const under = explain(12, 'loaded', 12);
    expect(under.decision.code).to.equal('first_seen');
    expect(under.sources[0]!.overBudget).to.equal(null);
  });

  it('prints the key count, not every key name', () => {
    const text = renderText(explain(2_001, 'loaded'));
    expect(text).to.include('all: 2,001 keys, over the operator\'s 2,000');
    expect(text).to.not.include('k01999');
  });
});

describe('key budget: the controller', () => {
  const MAX = 10;
  const deployment = (name: string) => ({
    metadata: { name, namespace: NS, annotations: { 'config-reload.dev/enabled': 'true' } },
    spec: { replicas: 1, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'app:1', envFrom: [{ configMapRef: { name: 'cfg' } }] }] } } },
  });
  const cfg = (data: Record<string, string>) => ({ metadata: { name: 'cfg', namespace: NS }, data });

  async function start() {
    const h = new ControllerHarness();
    const lines: Array<Record<string, unknown>> = [];
    const log = winston.createLogger({ transports: [new winston.transports.Stream({ stream: new Writable({ objectMode: true, write: (line, _e, done) => { lines.push(line as Record<string, unknown>); done(); } }) })] });
    const gauge: Array<[string, number]> = [];
    h.cluster.put('configmaps', cfg({ a: '1' }));
    h.cluster.put('deployments', deployment('web'));
    const controller = await h.leader({ maxKeysPerObject: MAX, log, observer: { sourcesOverBudget: (resource, count) => void gauge.push([resource, count]) } });
    await h.settle();
    expect(h.operatorWrites('web'), 'adopted').to.have.length(1);
    return { h, lines, gauge, controller };
  }

  it('holds the consumers of an object over the budget: no roll, one Warning per workload, one warn line, the gauge', async () => {
    const { h, lines, gauge } = await start();
    h.cluster.put('configmaps', cfg({ a: '2', ...keysOf(MAX) }));
    await h.settle();
    h.cluster.put('configmaps', cfg({ a: '3', ...keysOf(MAX + 5) }));
    await h.settle();
    expect(h.rolled()).to.deep.equal([]);
    expect(h.operatorWrites('web'), 'nothing written while held').to.have.length(1);
    const warnings = h.events.filter((e) => e.reason === 'ConfigOverBudget');
    expect(warnings, 'said once, not per update').to.have.length(1);
    expect(warnings[0]).to.deep.include({ type: 'Warning' });
    expect(warnings[0]!.target).to.deep.include({ kind: 'Deployment', name: 'web' });
    expect(warnings[0]!.message).to.equal(`ConfigMap cfg holds ${MAX + 1} keys, more than the ${MAX} the operator digests one by one (--max-keys-per-object): nothing decided until it holds fewer`);
    expect(lines.filter((l) => l['message'] === 'config object over the key budget'), 'one warn line for the object').to.have.length(1);
    expect(gauge).to.deep.equal([['configmaps', 1]]);
  });

  it('decides as usual once the object holds fewer keys: one roll if the content changed, none if it is back as it was', async () => {
    const changed = await start();
    changed.h.cluster.put('configmaps', cfg({ a: '2', ...keysOf(MAX) }));
    await changed.h.settle();
    changed.h.cluster.put('configmaps', cfg({ a: '2' }));
    await changed.h.settle();
    await changed.h.settle();
    expect(changed.h.rolled(), 'rolled once, to the content under the budget').to.deep.equal(['web']);
    expect(changed.gauge).to.deep.equal([['configmaps', 1], ['configmaps', 0]]);

    const back = await start();
    back.h.cluster.put('configmaps', cfg({ a: '1', ...keysOf(MAX) }));
    await back.h.settle();
    back.h.cluster.put('configmaps', cfg({ a: '1' }));
    await back.h.settle();
    expect(back.h.rolled(), 'the pods run this content already').to.deep.equal([]);
  });

  it('adopts a workload first seen while what it reads is over the budget only once it is under', async () => {
    const h = new ControllerHarness();
    h.cluster.put('configmaps', cfg(keysOf(MAX + 1)));
    h.cluster.put('deployments', deployment('web'));
    await h.leader({ maxKeysPerObject: MAX });
    await h.settle();
    expect(h.operatorWrites('web'), 'not adopted while held').to.have.length(0);
    h.cluster.put('configmaps', cfg({ a: '1' }));
    await h.settle();
    // Its pods started while cfg held the big content, which is not what cfg holds now: one roll (changed_before_adoption).
    expect(h.rolled()).to.deep.equal(['web']);
  });
});
