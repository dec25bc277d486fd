import { expect } from 'chai';
import {
  isLeaseValid,
  mayAcquire,
  nextRecord,
  observe,
  recordFromSpec,
  releasedRecord,
  specFromRecord,
  timingProblems,
  type LeaderElectionRecord,
} from '../../src/leader/lease-rules.ts';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0); // 2026-01-01T00:00:00Z

function held(holder: string, over: Partial<LeaderElectionRecord> = {}): LeaderElectionRecord {
  return {
    holderIdentity: holder,
    leaseDurationSeconds: 15,
    acquireTime: new Date(T0),
    renewTime: new Date(T0),
    leaseTransitions: 2,
    ...over,
  };
}

describe('lease-rules: reading and writing the Lease spec', () => {
  it('reads MicroTime fields as the apiserver sends them (strings, six fractional digits); a malformed one reads as none', () => {
    const fromStrings = recordFromSpec({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      acquireTime: '2026-01-01T00:00:00.000000Z',
      renewTime: '2026-01-01T00:00:05.250000Z',
      leaseTransitions: 3,
    });
    expect(fromStrings).to.deep.equal({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      acquireTime: new Date(T0),
      renewTime: new Date(T0 + 5250),
      leaseTransitions: 3,
    });
    expect(recordFromSpec({ holderIdentity: 'a', renewTime: 'not a time' }).renewTime).to.equal(undefined);
  });

  it('treats a missing spec or missing fields as a free lease with no history', () => {
    expect(recordFromSpec(undefined)).to.deep.equal({
      holderIdentity: '',
      leaseDurationSeconds: 0,
      acquireTime: undefined,
      renewTime: undefined,
      leaseTransitions: 0,
    });
  });

  it('serialises times with six fractional digits, the MicroTime format the apiserver accepts', () => {
    const spec = specFromRecord(held('a', { renewTime: new Date(T0 + 123) }));
    const json = JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
    expect(json).to.deep.equal({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      leaseTransitions: 2,
      acquireTime: '2026-01-01T00:00:00.000000Z',
      renewTime: '2026-01-01T00:00:00.123000Z',
    });
  });

  it('round-trips a record through the wire form', () => {
    const record = held('a', { renewTime: new Date(T0 + 999) });
    const wire = JSON.parse(JSON.stringify(specFromRecord(record)));
    expect(recordFromSpec(wire)).to.deep.equal(record);
  });
});

describe('lease-rules: observing and expiry on the local monotonic clock', () => {
  it('keeps the first observation time while the record does not change', () => {
    const first = observe(undefined, held('a'), 1_000);
    const again = observe(first, held('a'), 9_000);
    expect(again.observedAtMs).to.equal(1_000);
  });

  it('restarts the observation time when the holder renews', () => {
    const first = observe(undefined, held('a'), 1_000);
    const renewed = observe(first, held('a', { renewTime: new Date(T0 + 2_000) }), 3_000);
    expect(renewed.observedAtMs).to.equal(3_000);
  });

  it('restarts the observation time on a new resourceVersion even when the record is identical', () => {
    // A holder whose wall clock stepped back can write a renewTime it wrote before: the write
    // still moves the resourceVersion, and it is still a sign of life.
    const first = observe(undefined, held('a'), 1_000, '41');
    expect(observe(first, held('a'), 9_000, '41').observedAtMs).to.equal(1_000);
    expect(observe(first, held('a'), 9_000, '42').observedAtMs).to.equal(9_000);
  });

  it('is valid until leaseDurationSeconds after the last observed change, not after', () => {
    const obs = observe(undefined, held('a', { leaseDurationSeconds: 15 }), 10_000);
    expect(isLeaseValid(obs, 10_000 + 14_999)).to.equal(true);
    expect(isLeaseValid(obs, 10_000 + 15_000)).to.equal(false);
  });

  it('ignores the holder renewTime: a clock skew between nodes cannot expire a live lease', () => {
    // renewTime says an hour ago (the holder's clock is behind), but we saw it change just now.
    const record = held('a', { renewTime: new Date(T0 - 3_600_000) });
    const obs = observe(undefined, record, T0);
    expect(isLeaseValid(obs, T0 + 1_000)).to.equal(true);
  });
});

describe('lease-rules: may I acquire?', () => {
  it('takes a lease nobody holds (never held, or released)', () => {
    const obs = observe(undefined, held(''), T0);
    expect(mayAcquire(obs, 'me', T0)).to.deep.equal({ acquire: true, reason: 'free' });
  });

  it('renews a lease it already holds, even past its expiry', () => {
    const obs = observe(undefined, held('me'), T0);
    expect(mayAcquire(obs, 'me', T0 + 60_000)).to.deep.equal({ acquire: true, reason: 'ours' });
  });

  it('leaves a lease another holder has renewed within its duration', () => {
    const obs = observe(undefined, held('other', { leaseDurationSeconds: 15 }), T0);
    expect(mayAcquire(obs, 'me', T0 + 5_000)).to.deep.equal({ acquire: false, reason: 'held', holder: 'other' });
  });

  it('takes over a lease whose holder stopped renewing for the lease duration', () => {
    const obs = observe(undefined, held('other', { leaseDurationSeconds: 15 }), T0);
    expect(mayAcquire(obs, 'me', T0 + 15_000)).to.deep.equal({ acquire: true, reason: 'expired' });
  });
});

describe('lease-rules: what to write', () => {
  it('creates a lease at zero transitions with both times now', () => {
    const now = new Date(T0 + 7_000);
    expect(nextRecord(undefined, 'me', 15, now)).to.deep.equal({
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    });
  });

  it('on renewal moves only renewTime, keeping acquireTime and the transition count', () => {
    const current = held('me', { acquireTime: new Date(T0), renewTime: new Date(T0 + 2_000), leaseTransitions: 4 });
    const now = new Date(T0 + 4_000);
    expect(nextRecord(current, 'me', 15, now)).to.deep.equal({
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: new Date(T0),
      renewTime: now,
      leaseTransitions: 4,
    });
  });

  it('on takeover counts one more transition and stamps a new acquireTime', () => {
    const current = held('other', { leaseTransitions: 4 });
    const now = new Date(T0 + 30_000);
    expect(nextRecord(current, 'me', 15, now)).to.deep.equal({
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 5,
    });
  });

  it('taking a released lease is a transition too', () => {
    const released = releasedRecord(held('other', { leaseTransitions: 1 }), new Date(T0));
    expect(nextRecord(released, 'me', 15, new Date(T0 + 1)).leaseTransitions).to.equal(2);
  });

  it('releases by clearing the holder and shrinking the duration to one second', () => {
    const now = new Date(T0 + 9_000);
    expect(releasedRecord(held('me', { leaseTransitions: 6 }), now)).to.deep.equal({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 6,
    });
  });
});

describe('lease-rules: timing parameters', () => {
  it('accepts the client-go defaults (15s / 10s / 2s)', () => {
    expect(timingProblems({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).to.deep.equal([]);
  });

  it('rejects a renew deadline that is not shorter than the lease', () => {
    expect(timingProblems({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).to.have.length(1);
  });

  it('rejects a renew deadline with no room for a jittered retry (1.2 × retryPeriod)', () => {
    // 1.2 × 2000 = 2400: 2400 is not enough, 2401 is.
    expect(timingProblems({ leaseDurationMs: 15_000, renewDeadlineMs: 2_400, retryPeriodMs: 2_000 })).to.have.length(1);
    expect(timingProblems({ leaseDurationMs: 15_000, renewDeadlineMs: 2_401, retryPeriodMs: 2_000 })).to.deep.equal([]);
  });

  it('rejects a lease duration the Lease cannot store (whole seconds only)', () => {
    expect(timingProblems({ leaseDurationMs: 15_500, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).to.have.length(1);
  });
});
