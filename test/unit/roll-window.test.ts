// Roll windows (src/core/roll-window.ts): the grammar, and the next opening computed in the zone's
// wall time across the clock changes of Europe/Berlin and America/New_York (2026: Berlin springs
// forward on 29 March at 01:00Z and falls back on 25 October at 01:00Z; New York on 8 March at
// 07:00Z and 1 November at 06:00Z).
import { expect } from 'chai';
import { describeInZone, isOpen, nextOpening, parseWindow } from '../../src/core/roll-window.ts';
import type { RollWindow } from '../../src/core/types.ts';

function win(text: string): RollWindow {
  const w = parseWindow(text);
  if ('problem' in w) throw new Error(w.problem);
  return w;
}

const at = (iso: string) => Date.parse(iso);
const next = (text: string, now: string) => {
  const t = nextOpening(win(text), at(now));
  return t === undefined ? undefined : new Date(t).toISOString();
};

describe('roll windows: grammar', () => {
  it('reads days, ranges and a zone', () => {
    expect(win('Mon-Fri 09:00-17:00 Europe/Berlin')).to.deep.include({ days: [1, 2, 3, 4, 5], ranges: [[540, 1020]], zone: 'Europe/Berlin' });
    expect(win('Sat,Sun 10:00-12:00,14:00-16:00 UTC')).to.deep.include({ days: [0, 6], ranges: [[600, 720], [840, 960]] });
    expect(win('fri-mon 22:00-06:00 America/New_York')).to.deep.include({ days: [0, 1, 5, 6], ranges: [[1320, 360]] });
    expect(win('00:00-24:00 Asia/Kolkata')).to.deep.include({ days: [0, 1, 2, 3, 4, 5, 6], ranges: [[0, 1440]] });
    expect(win(' Mon , Wed  09:00 - 17:00  Europe/Berlin ')).to.deep.include({ days: [1, 3], ranges: [[540, 1020]] });
  });

  it('says what is wrong with a malformed window', () => {
    const problem = (text: string) => {
      const w = parseWindow(text);
      return 'problem' in w ? w.problem : undefined;
    };
    expect(problem('Mon-Fri 09:00-17:00')).to.match(/not a time zone/);
    expect(problem('Mon-Fri 09:00-17:00 Mars/Olympus')).to.match(/"Mars\/Olympus" is not a time zone Intl knows/);
    expect(problem('Mon-Fry 09:00-17:00 UTC')).to.match(/"Mon-Fry" is not a day/);
    expect(problem('Mon 9:00-17:00 UTC')).to.match(/"9:00-17:00" is not a range of times/);
    expect(problem('Mon 09:00-25:00 UTC')).to.match(/not a range of times/);
    expect(problem('Mon 09:60-10:00 UTC')).to.match(/not a range of times/);
    expect(problem('Mon 09:00-09:00 UTC')).to.match(/empty/);
    expect(problem('Mon 00:00-24:00 UTC')).to.equal(undefined);
    expect(problem('UTC')).to.match(/expected \[DAYS\]/);
    expect(problem('Mon Tue 09:00-10:00 UTC')).to.match(/expected \[DAYS\]|not a range/);
    expect(problem('')).to.match(/expected/);
  });
});

describe('roll windows: open or not, and the next opening', () => {
  const office = 'Mon-Fri 09:00-17:00 Europe/Berlin';

  it('is open inside a range and closed at its end (excluded)', () => {
    expect(isOpen(win(office), at('2026-03-25T08:00:00Z'))).to.equal(true); // Wed 09:00 CET
    expect(isOpen(win(office), at('2026-03-25T07:59:59Z'))).to.equal(false);
    expect(isOpen(win(office), at('2026-03-25T16:00:00Z'))).to.equal(false); // 17:00 CET
    expect(isOpen(win(office), at('2026-03-28T10:00:00Z'))).to.equal(false); // Saturday
    expect(nextOpening(win(office), at('2026-03-25T10:00:00Z'))).to.equal(at('2026-03-25T10:00:00Z'));
  });

  it('Europe/Berlin spring forward: a weekend spanning the change opens Monday 09:00 CEST (07:00Z, an hour earlier in UTC than the week before)', () => {
    expect(next(office, '2026-03-20T17:00:00Z')).to.equal('2026-03-23T08:00:00.000Z'); // Mon 09:00 CET
    expect(next(office, '2026-03-27T17:00:00Z')).to.equal('2026-03-30T07:00:00.000Z'); // Mon 09:00 CEST
  });

  it('Europe/Berlin spring forward: a start in the skipped hour opens when the clocks jump past it', () => {
    // 29 March 2026, 02:00 CET becomes 03:00 CEST at 01:00Z: 02:30 never shows.
    expect(next('Sun 02:30-04:00 Europe/Berlin', '2026-03-29T00:00:00Z')).to.equal('2026-03-29T01:00:00.000Z');
    expect(describeInZone('Europe/Berlin', at('2026-03-29T01:00:00Z'))).to.equal('Sun 2026-03-29 03:00 Europe/Berlin');
    // A range wholly inside the skipped hour does not open that day: the next Sunday.
    expect(next('Sun 02:10-02:50 Europe/Berlin', '2026-03-28T12:00:00Z')).to.equal('2026-04-05T00:10:00.000Z');
  });

  it('Europe/Berlin fall back: a range in the repeated hour opens at its first showing, and again at its second', () => {
    // 25 October 2026: 03:00 CEST becomes 02:00 CET at 01:00Z; 02:00-02:30 shows twice.
    expect(next('Sun 02:00-02:30 Europe/Berlin', '2026-10-24T22:00:00Z')).to.equal('2026-10-25T00:00:00.000Z'); // 02:00 CEST
    expect(next('Sun 02:00-02:30 Europe/Berlin', '2026-10-25T00:30:00Z')).to.equal('2026-10-25T01:00:00.000Z'); // 02:00 CET
    // Back into a range by the change itself (wall 02:59 CEST → 02:00 CET), not at a range start.
    expect(next('Sun 01:30-02:30 Europe/Berlin', '2026-10-25T00:40:00Z')).to.equal('2026-10-25T01:00:00.000Z');
    // After the change: Monday 09:00 CET is 08:00Z.
    expect(next(office, '2026-10-23T16:00:00Z')).to.equal('2026-10-26T08:00:00.000Z');
  });

  it('America/New_York spring forward and fall back: 09:00 local moves in UTC, a skipped 02:30 opens at 03:00 EDT', () => {
    const daily = '09:00-17:00 America/New_York';
    expect(next(daily, '2026-03-07T23:00:00Z')).to.equal('2026-03-08T13:00:00.000Z'); // Sun 09:00 EDT
    expect(next(daily, '2026-03-07T01:00:00Z')).to.equal('2026-03-07T14:00:00.000Z'); // Sat 09:00 EST
    expect(next('Sun 02:30-03:30 America/New_York', '2026-03-08T06:00:00Z')).to.equal('2026-03-08T07:00:00.000Z');
    expect(next(daily, '2026-10-31T22:00:00Z')).to.equal('2026-11-01T14:00:00.000Z'); // Sun 09:00 EST
    // 1 November 2026: 02:00 EDT becomes 01:00 EST at 06:00Z; 01:00-01:30 shows twice.
    expect(next('Sun 01:00-01:30 America/New_York', '2026-11-01T05:45:00Z')).to.equal('2026-11-01T06:00:00.000Z');
  });

  it('overnight ranges open on the days listed and close the next morning', () => {
    const night = 'Fri 22:00-06:00 UTC';
    expect(isOpen(win(night), at('2026-03-27T23:00:00Z'))).to.equal(true); // Fri 23:00
    expect(isOpen(win(night), at('2026-03-28T05:59:00Z'))).to.equal(true); // Sat 05:59
    expect(isOpen(win(night), at('2026-03-28T06:00:00Z'))).to.equal(false);
    expect(isOpen(win(night), at('2026-03-26T23:00:00Z'))).to.equal(false); // Thu 23:00
    expect(next(night, '2026-03-28T06:00:00Z')).to.equal('2026-04-03T22:00:00.000Z');
  });
});
