// Pauses, windows and per-workload debounce read from a workload's annotations, and the last step
// of a decision that holds a roll (src/core/hold.ts).
import { expect } from 'chai';
import { holdRoll, parseHold, withHold } from '../../src/core/hold.ts';
import { readOptIn } from '../../src/core/peer-annotations.ts';
import type { Decision } from '../../src/core/types.ts';

const ROLL: Decision = { action: 'roll', code: 'config_changed', reason: 'ConfigMap cfg changed: rolling', digest: 'v2-x-y', parts: new Map(), for: ['ConfigMap cfg'] };
const at = (iso: string) => Date.parse(iso);

describe('hold annotations', () => {
  it('reads paused, window and debounce; nothing set is no hold', () => {
    expect(parseHold({})).to.deep.equal({ ok: true, hold: undefined });
    expect(parseHold({ 'config-reload.dev/paused': 'false' })).to.deep.equal({ ok: true, hold: undefined });
    const read = parseHold({ 'config-reload.dev/paused': ' True', 'config-reload.dev/window': 'Mon-Fri 09:00-17:00 Europe/Berlin', 'config-reload.dev/debounce': '30s' });
    expect(read.ok).to.equal(true);
    const hold = read.ok ? read.hold! : undefined;
    expect(hold?.paused).to.equal(true);
    expect(hold?.window?.zone).to.equal('Europe/Berlin');
    expect(hold?.debounceMs).to.equal(30_000);
    expect(parseHold({ 'config-reload.dev/debounce': '0' })).to.deep.equal({ ok: true, hold: { debounceMs: 0 } });
  });

  it('a malformed value makes the opt-in malformed, naming the annotation and why: the workload is left alone', () => {
    const optIn = (annotations: Record<string, string>) => readOptIn({ 'config-reload.dev/enabled': 'true', ...annotations }, undefined);
    expect(optIn({ 'config-reload.dev/paused': 'yes' })).to.deep.equal({ kind: 'malformed', annotation: 'config-reload.dev/paused', value: 'yes', reason: 'expected "true" or "false"' });
    expect(optIn({ 'config-reload.dev/window': 'weekdays 9-5' })).to.deep.include({ kind: 'malformed', annotation: 'config-reload.dev/window' });
    expect(optIn({ 'config-reload.dev/window': 'Mon 09:00-17:00 Europe/Nowhere' })).to.deep.include({ kind: 'malformed', annotation: 'config-reload.dev/window' });
    expect(optIn({ 'config-reload.dev/debounce': '30' })).to.deep.include({ kind: 'malformed', annotation: 'config-reload.dev/debounce', reason: 'expected a duration from 0 to 1h, such as 500ms, 30s or 5m' });
    expect(optIn({ 'config-reload.dev/debounce': '2h' })).to.deep.include({ kind: 'malformed', annotation: 'config-reload.dev/debounce' });
    // A workload that did not opt in is not read for them at all.
    expect(withHold({ kind: 'out' }, { 'config-reload.dev/paused': 'yes' })).to.deep.equal({ kind: 'out' });
    // Opted in without any: the opt-in is exactly what it was (no hold key).
    expect(optIn({})).to.deep.equal({ kind: 'in', referenced: true, extraConfigMaps: [], extraSecrets: [] });
  });
});

describe('holding a roll', () => {
  const window = (text: string) => {
    const read = parseHold({ 'config-reload.dev/window': text });
    if (!read.ok || read.hold === undefined) throw new Error('window');
    return read.hold;
  };

  it('paused: the roll becomes none (paused) with a notice said once per pause; other decisions pass', () => {
    const held = holdRoll(ROLL, { hold: { paused: true }, pausedSince: '41', wallNow: 0 });
    expect(held).to.deep.include({ action: 'none', code: 'paused', notice: 'RollPaused', cause: 'paused since resourceVersion 41', for: ['ConfigMap cfg'] });
    expect(held.digest).to.equal(undefined);
    expect(held.reason).to.match(/^ConfigMap cfg changed: roll held, the workload is paused/);
    const adopt: Decision = { action: 'adopt', code: 'first_seen', reason: 'first seen', digest: 'd' };
    expect(holdRoll(adopt, { hold: { paused: true }, pausedSince: '41', wallNow: 0 })).to.equal(adopt);
    expect(holdRoll(ROLL, { hold: undefined, pausedSince: undefined, wallNow: 0 })).to.equal(ROLL);
    expect(holdRoll(ROLL, { hold: { debounceMs: 5 }, pausedSince: undefined, wallNow: 0 })).to.equal(ROLL);
  });

  it('outside the window: held until its next opening, with the local time in the reason; inside: the roll goes', () => {
    const hold = window('Mon-Fri 09:00-17:00 Europe/Berlin');
    const held = holdRoll(ROLL, { hold, pausedSince: undefined, wallNow: at('2026-03-27T17:00:00Z') });
    expect(held).to.deep.include({ action: 'none', code: 'outside_window', notice: 'RollOutsideWindow', until: at('2026-03-30T07:00:00Z') });
    expect(held.cause).to.equal('outside window until 2026-03-30T07:00:00.000Z');
    expect(held.reason).to.equal('ConfigMap cfg changed: roll held outside config-reload.dev/window "Mon-Fri 09:00-17:00 Europe/Berlin" until it opens at Mon 2026-03-30 09:00 Europe/Berlin (2026-03-30T07:00:00.000Z)');
    expect(holdRoll(ROLL, { hold, pausedSince: undefined, wallNow: at('2026-03-30T07:00:00Z') })).to.equal(ROLL);
    // Paused and outside the window: the pause says it.
    expect(holdRoll(ROLL, { hold: { ...hold, paused: true }, pausedSince: '1', wallNow: at('2026-03-27T17:00:00Z') }).code).to.equal('paused');
  });
});
