// explain on a paused workload and one with a roll window (src/core/hold.ts): the decision code
// the operator would reach (paused, outside_window), and the hold section of the text and the
// JSON document (what is held, and until when).
import { expect } from 'chai';
import { digestKey, sourceContent, workloadDigest } from '../../src/core/digest.ts';
import type { ConsumedSource } from '../../src/core/types.ts';
import { buildExplanation, type Explanation, sourceId } from '../../src/explain/explanation.ts';
import { renderJson, renderText } from '../../src/explain/render.ts';
import type { WorkloadLike } from '../../src/state/workload-store.ts';

const KEY = digestKey(Buffer.alloc(32, 7));
const HASH = 'config-reload.dev/config-hash';
const APP: ConsumedSource[] = [{ kind: 'ConfigMap', name: 'app', optional: false, keys: null }];
const digest = (level: string) => workloadDigest(APP, () => sourceContent('ConfigMap', { data: { level } }, KEY), KEY);

/** A Deployment that recorded level=info (a digest without a record) while the ConfigMap now says debug: a roll is due. */
function explain(annotations: Record<string, string>, wallNow: number): Explanation {
  const old = digest('info');
  const workload: WorkloadLike = {
    metadata: { name: 'web', namespace: 'shop', uid: 'u', resourceVersion: '100', generation: 1, annotations: { 'config-reload.dev/enabled': 'true', [HASH]: old, ...annotations } },
    spec: { template: { metadata: { annotations: { [HASH]: old } }, spec: { containers: [{ name: 'app', image: 'x', envFrom: [{ configMapRef: { name: 'app' } }] }] } } },
  };
  return buildExplanation({
    kind: 'Deployment', workload, key: { state: 'loaded', key: KEY }, keySecret: { namespace: 'config-reload-system', name: 'config-reload-digest-key' },
    sourceKinds: ['ConfigMap', 'Secret'], wallNow,
    sources: new Map([[sourceId('ConfigMap', 'app'), { state: 'found', object: { metadata: { name: 'app', namespace: 'shop', resourceVersion: '50' }, data: { level: 'debug' } } }]]),
  });
}

const FRIDAY_EVENING = Date.parse('2026-03-27T17:00:00Z');

describe('explain: held rolls', () => {
  it('no hold annotation: hold is null and the roll is shown', () => {
    const e = explain({}, FRIDAY_EVENING);
    expect(e.hold).to.equal(null);
    expect(e.decision).to.deep.include({ action: 'roll', code: 'config_changed' });
    expect(renderText(e)).not.to.contain('Hold');
  });

  it('paused: decision paused (none), the hold says so, in the text and the JSON', () => {
    const e = explain({ 'config-reload.dev/paused': 'true' }, FRIDAY_EVENING);
    expect(e.decision).to.deep.include({ known: true, action: 'none', code: 'paused', digest: null });
    expect(e.decision.reason).to.match(/roll held, the workload is paused/);
    expect(e.hold).to.deep.equal({ paused: true, window: null, debounceMs: null, held: true, heldUntil: null });
    const text = renderText(e);
    expect(text).to.contain('Hold\n  paused (config-reload.dev/paused: "true"): every roll is held until it is unset');
    expect(text).to.contain('Decision: none (paused)');
    expect(JSON.parse(renderJson(e)).hold.paused).to.equal(true);
  });

  it('outside the window: decision outside_window with the next opening (local and UTC); inside: the roll', () => {
    const window = { 'config-reload.dev/window': 'Mon-Fri 09:00-17:00 Europe/Berlin', 'config-reload.dev/debounce': '30s' };
    const e = explain(window, FRIDAY_EVENING);
    expect(e.decision).to.deep.include({ action: 'none', code: 'outside_window' });
    expect(e.hold).to.deep.equal({
      paused: false, debounceMs: 30_000, held: true, heldUntil: '2026-03-30T07:00:00.000Z',
      window: { text: 'Mon-Fri 09:00-17:00 Europe/Berlin', zone: 'Europe/Berlin', open: false, nextOpening: '2026-03-30T07:00:00.000Z', nextOpeningLocal: 'Mon 2026-03-30 09:00 Europe/Berlin' },
    });
    const text = renderText(e).replace(/\n +/g, ' '); // lines wrapped at 100 columns
    expect(text).to.contain('window "Mon-Fri 09:00-17:00 Europe/Berlin": closed now; opens Mon 2026-03-30 09:00 Europe/Berlin (2026-03-30T07:00:00.000Z)');
    expect(text).to.contain('held: a roll is due, looked at again at 2026-03-30T07:00:00.000Z');
    expect(text).to.contain('Decision: none (outside_window)');

    const open = explain(window, Date.parse('2026-03-30T07:00:00Z'));
    expect(open.decision).to.deep.include({ action: 'roll', code: 'config_changed' });
    expect(open.hold).to.deep.include({ held: false, heldUntil: null });
    expect(open.hold?.window?.open).to.equal(true);
  });

  it('a malformed window: the opt-in is malformed, as the operator reads it', () => {
    const e = explain({ 'config-reload.dev/window': 'weekdays' }, FRIDAY_EVENING);
    expect(e.optIn.state).to.equal('malformed');
    expect(e.optIn.malformed).to.deep.include({ annotation: 'config-reload.dev/window', value: 'weekdays' });
    expect(e.decision).to.deep.include({ action: 'none', code: 'malformed_annotation', warning: 'MalformedAnnotation' });
  });
});
