import { expect } from 'chai';
import fc from 'fast-check';
import { ExponentialBackoff } from '../../src/time/backoff.ts';

/** A random source that returns the given values in turn. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => {
    const value = values[i++ % values.length];
    if (value === undefined) throw new Error('empty sequence');
    return value;
  };
}

describe('backoff: ExponentialBackoff', () => {
  describe('without jitter', () => {
    it('doubles the delay per failure from the base, up to the cap', () => {
      const backoff = new ExponentialBackoff({ baseMs: 10, maxMs: 100 });
      const delays = Array.from({ length: 6 }, () => backoff.next('k'));
      expect(delays).to.deep.equal([10, 20, 40, 80, 100, 100]);
      expect(backoff.failures('k')).to.equal(6);
    });

    it('counts failures per key and forgets one key without touching others', () => {
      const backoff = new ExponentialBackoff({ baseMs: 5, maxMs: 1000 });
      backoff.next('a');
      backoff.next('a');
      backoff.next('b');
      backoff.forget('a');
      expect(backoff.failures('a')).to.equal(0);
      expect(backoff.failures('b')).to.equal(1);
      expect(backoff.failures('never')).to.equal(0);
      expect(backoff.next('a')).to.equal(5);
      expect(backoff.next('b')).to.equal(10);
    });

    it('stays capped, and keeps counting, after very many failures', () => {
      const backoff = new ExponentialBackoff({ baseMs: 200, maxMs: 300_000 });
      let last = 0;
      for (let i = 0; i < 2000; i++) last = backoff.next('k');
      expect(last).to.equal(300_000);
      expect(backoff.failures('k')).to.equal(2000);
    });

    it('is always 0 with a zero base, however many failures', () => {
      const backoff = new ExponentialBackoff({ baseMs: 0, maxMs: 1000 });
      let last = -1;
      for (let i = 0; i < 2000; i++) last = backoff.next('k');
      expect(last).to.equal(0);
    });

    it('never draws from the random source', () => {
      const backoff = new ExponentialBackoff({
        baseMs: 10, maxMs: 100, random: () => expect.fail('random drawn without jitter'),
      });
      expect(backoff.next('k')).to.equal(10);
    });
  });

  describe("with jitter 'half'", () => {
    it('draws step/2 + random * step/2', () => {
      const backoff = new ExponentialBackoff({ baseMs: 100, maxMs: 1000, jitter: 'half', random: sequence(0, 0.5, 0.999, 0) });
      // Steps 100, 200, 400, 800.
      expect([backoff.next('k'), backoff.next('k'), backoff.next('k'), backoff.next('k')])
        .to.deep.equal([50, 150, 200 + 0.999 * 200, 400]);
    });

    it('jitters the capped step too', () => {
      const backoff = new ExponentialBackoff({ baseMs: 500, maxMs: 30_000, jitter: 'half', random: sequence(0.5) });
      let last = 0;
      for (let i = 0; i < 100; i++) last = backoff.next();
      expect(last).to.equal(22_500);
    });

    it('keeps at least half the step and never exceeds it', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 10_000 }),
          fc.integer({ min: 0, max: 1_000_000 }),
          fc.integer({ min: 1, max: 1100 }),
          fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
          (baseMs, extraMs, failures, r) => {
            const maxMs = baseMs + extraMs;
            const plain = new ExponentialBackoff({ baseMs, maxMs });
            const jittered = new ExponentialBackoff({ baseMs, maxMs, jitter: 'half', random: () => r });
            let step = 0;
            let delay = 0;
            for (let i = 0; i < failures; i++) {
              step = plain.next('k');
              delay = jittered.next('k');
            }
            expect(delay).to.be.at.least(step / 2);
            expect(delay).to.be.at.most(step);
          },
        ),
        { numRuns: 200 },
      );
    });
  });

  describe('a single retry loop', () => {
    it('uses one implicit key: next(), failures(), forget()', () => {
      const backoff = new ExponentialBackoff({ baseMs: 500, maxMs: 30_000, jitter: 'half', random: sequence(0) });
      expect([backoff.next(), backoff.next(), backoff.next()]).to.deep.equal([250, 500, 1000]);
      expect(backoff.failures()).to.equal(3);
      backoff.forget();
      expect(backoff.failures()).to.equal(0);
      expect(backoff.next()).to.equal(250);
    });
  });

  it('rejects a negative or non-finite base and a cap below the base', () => {
    expect(() => new ExponentialBackoff({ baseMs: -1, maxMs: 10 })).to.throw(RangeError);
    expect(() => new ExponentialBackoff({ baseMs: Number.NaN, maxMs: 10 })).to.throw(RangeError);
    expect(() => new ExponentialBackoff({ baseMs: Infinity, maxMs: Infinity })).to.throw(RangeError);
    expect(() => new ExponentialBackoff({ baseMs: 10, maxMs: 5 })).to.throw(RangeError);
    expect(() => new ExponentialBackoff({ baseMs: 10, maxMs: Number.NaN })).to.throw(RangeError);
    expect(() => new ExponentialBackoff({ baseMs: 10, maxMs: Infinity })).not.to.throw();
  });
});
