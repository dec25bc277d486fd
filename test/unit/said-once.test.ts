import { expect } from 'chai';
import { SaidOnce } from '../../src/time/said-once.ts';
import { VirtualClock } from '../support/virtual-clock.ts';

describe('SaidOnce', () => {
  it('says a key once, again when what it says changes, and again after forget', () => {
    const said = new SaidOnce();
    expect(said.first('w1')).to.equal(true);
    expect(said.first('w1')).to.equal(false);
    expect(said.said('w1')).to.equal(true);
    expect(said.first('w1', 'another reason')).to.equal(true);
    expect(said.first('w1', 'another reason')).to.equal(false);
    said.forget('w1');
    expect(said.said('w1', 'another reason')).to.equal(false);
    expect(said.first('w1', 'another reason')).to.equal(true);
  });

  it('forgets after its ttl on the injected clock, not on the host clock', async () => {
    const clock = new VirtualClock();
    const said = new SaidOnce({ ttlMs: 60 * 60_000, clock });
    expect(said.first('w1')).to.equal(true);
    await clock.advance(59 * 60_000);
    expect(said.first('w1')).to.equal(false);
    await clock.advance(2 * 60_000);
    expect(said.first('w1')).to.equal(true);
  });

  it('is bounded: the least recently said go first and are said again', () => {
    const said = new SaidOnce({ max: 2 });
    expect([said.first('a'), said.first('b'), said.first('c')]).to.deep.equal([true, true, true]);
    expect(said.first('c')).to.equal(false);
    expect(said.first('a')).to.equal(true);
  });
});
