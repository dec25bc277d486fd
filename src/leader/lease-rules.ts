// The decisions of leader election, as pure functions of (what the Lease says, what we have
// observed, the local monotonic time). The elector does the I/O and reads the clock; everything
// that could be wrong in a subtle way lives here, where a test can pin it without a cluster.
// Every `…Ms` time below is monotonic (Clock.now()), never wall-clock: the only wall-clock
// values are the Lease's own timestamps, which are written for people and never measured against a clock.
//
// Modelled on client-go's tools/leaderelection:
// - A lease is judged expired by the *local* clock: it is still valid while we have seen it
//   change within the last leaseDurationSeconds. Comparing the holder's renewTime with our own
//   clock would let a replica whose clock runs ahead steal a live lease; measuring how long the
//   Lease has stood still on our own monotonic clock is immune to skew between nodes and to
//   steps of either wall clock.
// - An empty holderIdentity means the holder released the lease on shutdown: it is free now,
//   no need to wait for expiry.
import type { ObjectMeta } from '../kube/cluster-api.ts';

/**
 * A MicroTime as the apiserver writes and requires it: RFC 3339 with six fractional digits
 * ("2026-01-01T00:00:00.123000Z"); its decoder refuses a Date's three.
 */
export type MicroTime = string;

/** The coordination.k8s.io/v1 Lease, as far as leader election reads and writes it. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: MicroTime;
  renewTime?: MicroTime;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: LeaseSpec;
}

/** A time as a MicroTime (microseconds always 000: a JavaScript time holds milliseconds). */
export function microTime(at: Date | number): MicroTime {
  return new Date(at).toISOString().replace(/Z$/, '000Z');
}

/** The part of a Lease that leader election reads and writes. */
export interface LeaderElectionRecord {
  /** '' when nobody holds the lease (never created, or released). */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: Date | undefined;
  renewTime: Date | undefined;
  leaseTransitions: number;
}

/** What we last saw of the lease and when, on the local monotonic clock (ms). */
export interface Observation {
  record: LeaderElectionRecord;
  /** The Lease's resourceVersion when read: every write moves it, whatever the writer's clock says. */
  resourceVersion?: string | undefined;
  /** Local monotonic time at which the Lease was last seen to change. */
  observedAtMs: number;
}

/** Reads the record out of a Lease spec; a MicroTime that is not a time reads as none. */
export function recordFromSpec(spec: LeaseSpec | undefined): LeaderElectionRecord {
  return {
    holderIdentity: spec?.holderIdentity ?? '',
    leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
    acquireTime: toDate(spec?.acquireTime),
    renewTime: toDate(spec?.renewTime),
    leaseTransitions: spec?.leaseTransitions ?? 0,
  };
}

/** Writes a record as a Lease spec, its times as MicroTimes (six fractional digits). */
export function specFromRecord(record: LeaderElectionRecord): LeaseSpec {
  const spec: LeaseSpec = {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    leaseTransitions: record.leaseTransitions,
  };
  if (record.acquireTime) spec.acquireTime = microTime(record.acquireTime);
  if (record.renewTime) spec.renewTime = microTime(record.renewTime);
  return spec;
}

/**
 * Folds a freshly read Lease into what we had observed, at the monotonic time `nowMs`. The
 * observation time moves only when the Lease changed: a holder that keeps renewing keeps moving
 * it; a dead one stops. A changed resourceVersion counts as a change even when the record looks
 * the same (a holder whose wall clock stepped back may write an old renewTime again).
 */
export function observe(
  previous: Observation | undefined,
  record: LeaderElectionRecord,
  nowMs: number,
  resourceVersion?: string,
): Observation {
  if (previous && previous.resourceVersion === resourceVersion && sameRecord(previous.record, record)) return previous;
  return { record, resourceVersion, observedAtMs: nowMs };
}

export function isFree(record: LeaderElectionRecord): boolean {
  return record.holderIdentity === '';
}

export function isHeldBy(record: LeaderElectionRecord, identity: string): boolean {
  return record.holderIdentity === identity;
}

/** Whether the observed holder may still be alive: its Lease changed within its lease duration (monotonic `nowMs`). */
export function isLeaseValid(observation: Observation, nowMs: number): boolean {
  return observation.observedAtMs + observation.record.leaseDurationSeconds * 1000 > nowMs;
}

export type AcquireVerdict =
  | { acquire: true; reason: 'free' | 'ours' | 'expired' }
  | { acquire: false; reason: 'held'; holder: string };

/** May `identity` write itself into the lease now (monotonic `nowMs`)? */
export function mayAcquire(observation: Observation, identity: string, nowMs: number): AcquireVerdict {
  const { record } = observation;
  if (isFree(record)) return { acquire: true, reason: 'free' };
  if (isHeldBy(record, identity)) return { acquire: true, reason: 'ours' };
  if (isLeaseValid(observation, nowMs)) return { acquire: false, reason: 'held', holder: record.holderIdentity };
  return { acquire: true, reason: 'expired' };
}

/**
 * The record to write when `identity` acquires or renews. A renewal keeps acquireTime and the
 * transition count; a change of holder (including taking a released or never-held lease)
 * stamps a new acquireTime and counts one more transition. A lease that did not exist yet
 * starts at zero transitions. `now` is wall-clock time: it is for the Lease's readers only.
 */
export function nextRecord(
  current: LeaderElectionRecord | undefined,
  identity: string,
  leaseDurationSeconds: number,
  now: Date,
): LeaderElectionRecord {
  if (current && isHeldBy(current, identity)) {
    return { ...current, leaseDurationSeconds, renewTime: now, acquireTime: current.acquireTime ?? now };
  }
  return {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: now,
    renewTime: now,
    leaseTransitions: current ? current.leaseTransitions + 1 : 0,
  };
}

/**
 * The record written on a graceful release (client-go's ReleaseOnCancel): no holder, and a
 * one-second duration so that even a candidate that does not treat an empty holder as free
 * (older client-go) takes over after a second instead of a full lease duration.
 */
export function releasedRecord(current: LeaderElectionRecord, now: Date): LeaderElectionRecord {
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: now,
    renewTime: now,
    leaseTransitions: current.leaseTransitions,
  };
}

/**
 * Checks the timing parameters the way client-go does: the lease must outlast the renew
 * deadline (or a slow leader would be replaced while it still believes it leads), and the renew
 * deadline must leave room for more than one retry. Returns the problems, empty when valid.
 */
export function timingProblems(t: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number }): string[] {
  const problems: string[] = [];
  if (!(t.retryPeriodMs > 0)) problems.push('retryPeriod must be > 0');
  if (!(t.leaseDurationMs > t.renewDeadlineMs)) problems.push('leaseDuration must be greater than renewDeadline');
  if (!(t.renewDeadlineMs > JITTER_FACTOR * t.retryPeriodMs)) {
    problems.push(`renewDeadline must be greater than ${JITTER_FACTOR} × retryPeriod`);
  }
  if (t.leaseDurationMs % 1000 !== 0 || t.leaseDurationMs < 1000) {
    problems.push('leaseDuration must be a whole number of seconds (the Lease stores seconds)');
  }
  return problems;
}

/** Retries while campaigning wait retryPeriod × [1, 1 + JITTER_FACTOR) so candidates spread out. */
export const JITTER_FACTOR = 1.2;

function sameRecord(a: LeaderElectionRecord, b: LeaderElectionRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.leaseTransitions === b.leaseTransitions &&
    a.renewTime?.getTime() === b.renewTime?.getTime() &&
    a.acquireTime?.getTime() === b.acquireTime?.getTime()
  );
}

function toDate(value: unknown): Date | undefined {
  if (typeof value !== 'string' && !(value instanceof Date)) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
