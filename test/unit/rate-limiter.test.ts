import { expect } from 'chai';
import { TokenBucket } from '../../src/queue/rate-limiter.ts';
import { VirtualClock } from '../support/virtual-clock.ts';

describe('rate-limiter: TokenBucket', () => {
  it('allows a burst, then one token per 1/qps seconds', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket(10, 3, clock);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).to.deep.equal([true, true, true, false]);
    expect(bucket.msUntilToken()).to.equal(100);
    await clock.advance(50);
    expect(bucket.tryTake()).to.equal(false);
    expect(bucket.msUntilToken()).to.equal(50);
    await clock.advance(50);
    expect(bucket.tryTake()).to.equal(true);
    expect(bucket.tryTake()).to.equal(false);
  });

  it('refills to the burst and no further', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket(10, 2, clock);
    bucket.tryTake();
    bucket.tryTake();
    await clock.advance(10_000);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).to.deep.equal([true, true, false]);
  });

  it('holds at least one token when the burst is below one', () => {
    const bucket = new TokenBucket(10, 0, new VirtualClock());
    expect([bucket.tryTake(), bucket.tryTake()]).to.deep.equal([true, false]);
  });

  it('is unlimited at 0 qps', () => {
    const bucket = new TokenBucket(0, 1, new VirtualClock());
    expect(bucket.unlimited).to.equal(true);
    for (let i = 0; i < 1000; i++) expect(bucket.tryTake()).to.equal(true);
    expect(bucket.msUntilToken()).to.equal(0);
  });

  it('sets no timer: it only reads the clock', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket(1, 1, clock);
    bucket.tryTake();
    bucket.msUntilToken();
    expect(clock.pendingTimers).to.equal(0);
  });
});
