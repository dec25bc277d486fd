// The elector driven by a virtual clock against an in-memory Lease: every duration below is
// exact virtual time, nothing sleeps. The timing is client-go's default (15 s / 10 s / 2 s).
import { type LeaseSpec, microTime } from '../../src/leader/lease-rules.ts';
import { expect } from 'chai';
import winston from 'winston';
import { LeaseElector } from '../../src/leader/lease-elector.ts';
import { JITTER_FACTOR } from '../../src/leader/lease-rules.ts';
import type { Clock, Timer } from '../../src/time/clock.ts';
import { InMemoryLease, type LeaseClient } from '../support/in-memory-lease.ts';
import { VirtualClock } from '../support/virtual-clock.ts';

const LEASE_MS = 15_000;
const RENEW_DEADLINE_MS = 10_000;
const RETRY_MS = 2_000;
/** The longest a candidate waits between two attempts (retryPeriod, jittered). */
const MAX_RETRY_MS = RETRY_MS * (1 + JITTER_FACTOR);
const silent = winston.createLogger({ silent: true });

/** A virtual clock whose wall clock can be stepped (NTP, a VM resumed) while monotonic time flows on. */
class SteppedClock implements Clock {
  wallStepMs = 0;
  constructor(readonly inner: VirtualClock) {}
  now(): number {
    return this.inner.now();
  }
  wallNow(): number {
    return this.inner.wallNow() + this.wallStepMs;
  }
  after(ms: number, fn: () => void): Timer {
    return this.inner.after(ms, fn);
  }
  random(): number {
    return this.inner.random();
  }
}

interface Happening {
  what: 'started' | 'aborted' | 'stopped';
  at: number;
  /** isLeader as seen from inside the callback or abort listener. */
  isLeader: boolean;
}

class Replica {
  readonly elector: LeaseElector;
  readonly api: LeaseClient;
  readonly happenings: Happening[] = [];
  leadership: AbortSignal | undefined;

  constructor(lease: InMemoryLease, clock: Clock, identity: string) {
    this.api = lease.client();
    this.elector = new LeaseElector({
      namespace: lease.namespace, name: lease.name, identity, log: silent, clock, api: this.api,
      leaseDurationMs: LEASE_MS, renewDeadlineMs: RENEW_DEADLINE_MS, retryPeriodMs: RETRY_MS,
    });
    const note = (what: Happening['what']) => this.happenings.push({ what, at: clock.now(), isLeader: this.elector.isLeader });
    this.elector.run({
      onStartedLeading: (leadership) => {
        this.leadership = leadership;
        note('started');
        leadership.addEventListener('abort', () => note('aborted'));
      },
      onStoppedLeading: () => note('stopped'),
    });
  }

  at(what: Happening['what']): number | undefined {
    return this.happenings.find((h) => h.what === what)?.at;
  }

  /** Monotonic send times of this replica's writes that the Lease accepted. */
  get acceptedWrites(): number[] {
    return this.api.calls.filter((c) => c.verb !== 'read' && c.outcome === 'ok').map((c) => c.at);
  }
}

function wallTime(value: unknown): number {
  return new Date(value as string).getTime();
}

describe('LeaseElector (virtual clock, in-memory Lease)', () => {
  let clock: VirtualClock;
  let lease: InMemoryLease;
  let replicas: Replica[];
  const start = (identity: string, on: Clock = clock) => {
    const replica = new Replica(lease, on, identity);
    replicas.push(replica);
    return replica;
  };

  beforeEach(() => {
    clock = new VirtualClock();
    lease = new InMemoryLease(clock);
    replicas = [];
  });

  afterEach(async () => {
    for (const r of replicas) {
      r.api.fault = undefined;
      r.api.latencyMs = 0;
    }
    const stopped = Promise.all(replicas.map((r) => r.elector.stop()));
    await clock.runUntilIdle();
    await stopped;
  });

  describe('acquiring and renewing', () => {
    it('creates the Lease when there is none and leads at once', async () => {
      const t0 = clock.now();
      const a = start('a');
      await clock.advance(0);

      expect(a.elector.isLeader).to.equal(true);
      expect(a.happenings).to.deep.equal([{ what: 'started', at: t0, isLeader: true }]);
      expect(a.leadership?.aborted).to.equal(false);
      const spec = lease.current?.spec;
      expect(spec).to.include({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
      // Timestamps are wall-clock: they are for other processes and people to read.
      expect(wallTime(spec?.renewTime)).to.equal(clock.wallNow());
    });

    it('takes a released Lease at once, counting one more transition', async () => {
      lease.put({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 3 });
      const a = start('a');
      await clock.advance(0);

      expect(a.elector.isLeader).to.equal(true);
      expect(lease.current?.spec).to.include({ holderIdentity: 'a', leaseTransitions: 4 });
    });

    it('renews every retryPeriod and stays leader, moving only renewTime', async () => {
      const a = start('a');
      await clock.advance(0);
      const acquired = lease.current?.spec?.acquireTime;

      for (let i = 1; i <= 30; i++) {
        await clock.advance(RETRY_MS);
        expect(wallTime(lease.current?.spec?.renewTime), `renewal ${i}`).to.equal(clock.wallNow());
      }
      expect(a.elector.isLeader).to.equal(true);
      expect(a.happenings.map((h) => h.what)).to.deep.equal(['started']);
      expect(a.acceptedWrites).to.have.length(31); // the create, then 30 renewals
      expect(lease.current?.spec).to.include({ holderIdentity: 'a', leaseTransitions: 0, acquireTime: acquired });
    });
  });

  describe('stepping down before anyone else may lead', () => {
    it('steps down at renewDeadline after the last successful renewal when a renewal hangs forever: signal first, then onStoppedLeading', async () => {
      const a = start('a');
      await clock.advance(RETRY_MS);
      const lastRenewal = clock.now();
      expect(a.acceptedWrites.at(-1)).to.equal(lastRenewal);

      a.api.fault = 'hang';
      await clock.advance(RENEW_DEADLINE_MS - 1);
      expect(a.elector.isLeader, 'still inside the renew deadline').to.equal(true);
      expect(a.api.calls.at(-1)).to.include({ verb: 'read', outcome: 'pending' });

      const hung = a.api.calls.at(-1)!;
      await clock.advance(1);
      const deadline = lastRenewal + RENEW_DEADLINE_MS;
      expect(a.happenings.slice(1)).to.deep.equal([
        { what: 'aborted', at: deadline, isLeader: false },
        { what: 'stopped', at: deadline, isLeader: false },
      ]);
      expect(a.leadership?.reason).to.be.an('error').with.property('message').that.matches(/renew deadline/);
      // The hung request was cut off too: it cannot land later as a write of a former leader.
      expect(hung.outcome).to.equal('aborted');
    });

    it('steps down at the same deadline when renewals fail fast, having retried every retryPeriod', async () => {
      const a = start('a');
      await clock.advance(0);
      const t0 = clock.now();
      a.api.fault = 500;

      await clock.advance(RENEW_DEADLINE_MS - 1);
      expect(a.elector.isLeader).to.equal(true);
      expect(a.api.calls.filter((c) => c.verb === 'read' && c.outcome === 'error' && c.at > t0).map((c) => c.at - t0)).to.deep.equal([2_000, 4_000, 6_000, 8_000]);
      await clock.advance(1);
      expect(a.happenings.map((h) => [h.what, h.at - t0])).to.deep.equal([['started', 0], ['aborted', RENEW_DEADLINE_MS], ['stopped', RENEW_DEADLINE_MS]]);
    });

    it('counts the deadline from when the last successful write was sent, not from when its answer came back', async () => {
      const t0 = clock.now();
      const a = start('a'); // its first read (404) is already on its way, and answered at once
      a.api.latencyMs = 4_000;
      // The create is sent at +0 and answered at +4 s: leader from +4 s, but the Lease may have
      // been written as early as +0, so the deadline is +10 s, and the renewal sent at +6 s
      // (its answer due at +10 s) is cut off by it.
      await clock.advance(30_000);
      expect(a.happenings.slice(0, 3).map((h) => [h.what, h.at - t0])).to.deep.equal([['started', 4_000], ['aborted', 10_000], ['stopped', 10_000]]);
    });

    it('steps down when it reads another holder in the Lease, and leaves that holder alone', async () => {
      const a = start('a');
      await clock.advance(0);
      lease.put({ holderIdentity: 'usurper', leaseDurationSeconds: 15, leaseTransitions: 9, renewTime: microTime(clock.wallNow()) });
      const seen = clock.now() + RETRY_MS;

      await clock.advance(RETRY_MS);
      expect(a.happenings.map((h) => [h.what, h.at])).to.deep.equal([['started', seen - RETRY_MS], ['aborted', seen], ['stopped', seen]]);
      expect(a.leadership?.reason).to.have.property('message').that.matches(/held by usurper/);
      await clock.advance(LEASE_MS - 1);
      expect(lease.holder).to.equal('usurper');
      expect(a.acceptedWrites).to.have.length(1);
    });

    it('steps down when its renewal meets a conflicting write (409); finding the Lease still its own, it leads again under a new signal', async () => {
      const a = start('a');
      await clock.advance(0);
      const first = a.leadership;
      a.api.failNext('replace', 409);
      await clock.advance(RETRY_MS);
      expect(a.happenings.map((h) => [h.what, h.isLeader])).to.deep.equal([['started', true], ['aborted', false], ['stopped', false], ['started', true]]);
      expect(first?.aborted).to.equal(true);
      expect(a.leadership).to.not.equal(first);
      expect(a.leadership?.aborted).to.equal(false);
      expect(lease.current?.spec).to.include({ holderIdentity: 'a', leaseTransitions: 0 });
    });

    it('two replicas: a leader cut off from the API stops leading before the standby starts', async () => {
      const a = start('a');
      await clock.advance(0);
      const b = start('b');
      await clock.advance(10_000);
      expect([a.elector.isLeader, b.elector.isLeader]).to.deep.equal([true, false]);

      a.api.fault = 'hang';
      const lastRenewal = a.acceptedWrites.at(-1)!;
      await clock.advance(60_000);

      const aStopped = a.at('aborted')!;
      const bStarted = b.at('started')!;
      expect(aStopped).to.equal(lastRenewal + RENEW_DEADLINE_MS);
      expect(bStarted - lastRenewal).to.be.at.least(LEASE_MS);
      expect(bStarted - aStopped).to.be.at.least(LEASE_MS - RENEW_DEADLINE_MS);
      expect(lease.current?.spec).to.include({ holderIdentity: 'b', leaseTransitions: 1 });
      expect([a.elector.isLeader, b.elector.isLeader]).to.deep.equal([false, true]);
    });
  });

  describe('a standby judges expiry on its own monotonic clock', () => {
    for (const [label, stepMs] of [['steady', 0], ['stepped an hour forward', 3_600_000], ['stepped an hour back', -3_600_000]] as const) {
      it(`does not take a silent Lease before leaseDuration after it last saw it change (wall clock ${label})`, async () => {
        const stepped = new SteppedClock(clock);
        // The dead holder's renewTime is an hour old by our wall clock (its clock was behind):
        // that alone must not make the Lease look expired.
        lease.put({ holderIdentity: 'dead', leaseDurationSeconds: 15, leaseTransitions: 2, renewTime: microTime(clock.wallNow() - 3_600_000) });
        const t0 = clock.now();
        const b = start('b', stepped);
        await clock.advance(0);
        stepped.wallStepMs = stepMs;

        await clock.advance(LEASE_MS - 1);
        expect(b.elector.isLeader).to.equal(false);
        expect(lease.holder).to.equal('dead');
        await clock.advance(MAX_RETRY_MS + 1);
        expect(b.elector.isLeader).to.equal(true);
        expect(b.at('started')! - t0).to.be.within(LEASE_MS, LEASE_MS + MAX_RETRY_MS);
        expect(b.api.calls.filter((c) => c.verb !== 'read' && c.at - t0 < LEASE_MS)).to.deep.equal([]);
        expect(lease.current?.spec).to.include({ holderIdentity: 'b', leaseTransitions: 3 });
        // Stamped with the (stepped) wall clock of the moment it took over.
        expect(wallTime(lease.current?.spec?.acquireTime)).to.equal(Math.trunc(b.at('started')! + clock.wallNow() - clock.now() + stepMs));
      });
    }

    it('leaves a Lease alone while its holder keeps writing it, even with a frozen wall clock (identical renewTime)', async () => {
      const frozen: LeaseSpec = { holderIdentity: 'alive', leaseDurationSeconds: 15, leaseTransitions: 0, renewTime: microTime(clock.wallNow()) };
      lease.put(frozen);
      const b = start('b');
      for (let i = 0; i < 12; i++) {
        await clock.advance(5_000);
        lease.put(frozen); // a renewal: same record, new resourceVersion
      }
      const lastWrite = clock.now();
      expect(b.elector.isLeader).to.equal(false);
      expect(lease.holder).to.equal('alive');

      await clock.advance(LEASE_MS + 2 * MAX_RETRY_MS);
      expect(b.at('started')! - lastWrite).to.be.at.least(LEASE_MS);
      expect(lease.holder).to.equal('b');
    });
  });

  describe('stop()', () => {
    it('aborts the signal at once, releases the Lease without calling onStoppedLeading, and a standby takes over at once', async () => {
      const a = start('a');
      await clock.advance(0);
      const b = start('b');
      await clock.advance(3 * RETRY_MS);

      const stopAt = clock.now();
      const stopped = a.elector.stop();
      expect(a.leadership?.aborted, 'aborted synchronously by stop()').to.equal(true);
      expect(a.elector.isLeader).to.equal(false);
      await clock.advance(0);
      await stopped;
      expect(a.happenings.map((h) => [h.what, h.at])).to.deep.equal([['started', stopAt - 3 * RETRY_MS], ['aborted', stopAt]]);
      expect(lease.current?.spec).to.include({ holderIdentity: '', leaseDurationSeconds: 1 });

      await clock.advance(MAX_RETRY_MS);
      expect(b.elector.isLeader).to.equal(true);
      expect(b.at('started')! - stopAt).to.be.below(LEASE_MS);
    });

    it('while a renewal hangs: stops leading at once, and returns once that renewal is cut off at its deadline, releasing the Lease', async () => {
      const a = start('a');
      await clock.advance(0);
      const t0 = clock.now();
      a.api.failNext('read', 'hang');
      await clock.advance(RETRY_MS);

      let returned: number | undefined;
      void a.elector.stop().then(() => (returned = clock.now()));
      expect(a.leadership?.aborted).to.equal(true);
      await clock.advance(RENEW_DEADLINE_MS);
      expect(returned! - t0).to.equal(RENEW_DEADLINE_MS);
      expect(lease.holder).to.equal('');
      expect(a.happenings.map((h) => h.what)).to.deep.equal(['started', 'aborted']);
    });

    it('as a standby writes nothing', async () => {
      lease.put({ holderIdentity: 'other', leaseDurationSeconds: 15, leaseTransitions: 0, renewTime: microTime(clock.wallNow()) });
      const b = start('b');
      await clock.advance(RETRY_MS);
      await b.elector.stop();
      expect(lease.holder).to.equal('other');
      expect(b.api.calls.filter((c) => c.verb !== 'read')).to.deep.equal([]);
      expect(b.happenings).to.deep.equal([]);
    });
  });

  it('refuses timing where the renew deadline is not shorter than the lease', () => {
    expect(() => new LeaseElector({
      namespace: 'ns', name: 'lease', identity: 'a', log: silent, clock, api: lease.client(),
      leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000,
    })).to.throw(/leaseDuration must be greater than renewDeadline/);
  });
});
