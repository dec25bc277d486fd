import { expect } from 'chai';
import { ExponentialBackoff, TokenBucket } from '../../src/queue/rate-limiter.ts';

describe('rate-limiter: ExponentialBackoff', () => {
  it('doubles the delay per failure from the base, up to the cap', () => {
    const backoff = new ExponentialBackoff(10, 100);
    const delays = Array.from({ length: 6 }, () => backoff.next('k'));
    expect(delays).to.deep.equal([10, 20, 40, 80, 100, 100]);
    expect(backoff.failures('k')).to.equal(6);
  });

  it('counts failures per key and forgets one key without touching others', () => {
    const backoff = new ExponentialBackoff(5, 1000);
    backoff.next('a');
    backoff.next('a');
    backoff.next('b');
    backoff.forget('a');
    expect(backoff.failures('a')).to.equal(0);
    expect(backoff.failures('b')).to.equal(1);
    expect(backoff.next('a')).to.equal(5);
    expect(backoff.next('b')).to.equal(10);
  });

  it('stays capped after very many failures', () => {
    const backoff = new ExponentialBackoff(200, 300_000);
    let last = 0;
    for (let i = 0; i < 2000; i++) last = backoff.next('k');
    expect(last).to.equal(300_000);
  });
});

describe('rate-limiter: TokenBucket', () => {
  it('allows a burst, then one token per 1/qps seconds', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 3, () => now);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).to.deep.equal([true, true, true, false]);
    expect(bucket.msUntilToken()).to.equal(100);
    now = 50;
    expect(bucket.tryTake()).to.equal(false);
    expect(bucket.msUntilToken()).to.equal(50);
    now = 100;
    expect(bucket.tryTake()).to.equal(true);
    expect(bucket.tryTake()).to.equal(false);
  });

  it('refills to the burst and no further', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 2, () => now);
    bucket.tryTake();
    bucket.tryTake();
    now = 10_000;
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).to.deep.equal([true, true, false]);
  });

  it('is unlimited at 0 qps', () => {
    const bucket = new TokenBucket(0, 1, () => 0);
    for (let i = 0; i < 1000; i++) expect(bucket.tryTake()).to.equal(true);
    expect(bucket.msUntilToken()).to.equal(0);
  });
});
