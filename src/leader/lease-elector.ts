// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection package
// (client-node has none). Every replica runs one; the one whose identity is in the Lease acts,
// the others keep their watches warm and wait for the Lease to expire or be released.
//
// Safety rests on three things:
// - Writes use optimistic concurrency: a replace carries the resourceVersion we read, so of two
//   candidates racing for a free lease exactly one wins and the other gets 409.
// - Every duration is measured on the local monotonic clock (Clock.now()), never by comparing
//   wall-clock timestamps: a standby counts leaseDuration from the moment *it* saw the record
//   last change, so neither a skewed holder nor a wall clock stepped by NTP can expire a live
//   lease early. The wall clock only stamps the Lease's renewTime/acquireTime, for humans.
// - A leader stops acting before a standby may take over. It steps down on a timer at
//   renewDeadline after the last successful renewal was *sent* (a standby saw that write no
//   earlier, and waits leaseDuration > renewDeadline from then), whether or not the renew
//   request in flight has returned; that request is aborted at the same moment. Stepping down
//   aborts the leadership signal synchronously, so writes guarded by it stop at once.
//
// Longer than 300 lines: the Lease protocol (acquire, renew, step down, release) is one state
// machine whose safety argument above spans all of it.
import type { ObjectMeta } from '../kube/cluster-api.ts';
import type { Logger } from 'winston';
import { describeError, httpStatus, isRetryable } from '../kube/api-error.ts';
import { delay, systemClock, type Clock, type Timer } from '../time/clock.ts';
import type { LeaseApi } from './lease-api.ts';
import {
  JITTER_FACTOR,
  isHeldBy,
  mayAcquire,
  nextRecord,
  observe,
  recordFromSpec,
  releasedRecord,
  specFromRecord,
  timingProblems,
  type Lease,
  type LeaderElectionRecord,
  type Observation,
} from './lease-rules.ts';

export interface LeaseElectorOptions {
  namespace: string;
  name: string;
  /** Unique per replica; the pod name is the usual choice. */
  identity: string;
  /** How long a standby waits, after it last saw the Lease change, before it takes over. */
  leaseDurationMs: number;
  /** How long the leader keeps acting, after its last successful renewal, before it steps down. */
  renewDeadlineMs: number;
  /** Interval between renewals, and between attempts to acquire. */
  retryPeriodMs: number;
  log: Logger;
  /** Time source: deadlines use its monotonic now(), the Lease's timestamps its wallNow(). Default: systemClock. */
  clock?: Clock;
  /** The Lease calls: the cluster's (clusterLeaseApi), or an in-memory Lease in tests. */
  api: LeaseApi;
}

export interface LeaderCallbacks {
  /**
   * This replica became leader. `leadership` is aborted, synchronously, at the moment it stops
   * being leader (renew deadline passed, another holder seen, stop()), and before
   * onStoppedLeading runs: hand it to every write made as leader, and start none once aborted.
   */
  onStartedLeading(leadership: AbortSignal): void;
  /** Leadership was lost (renew deadline passed, or another holder took the Lease). Not called by stop(). */
  onStoppedLeading(): void;
}

/** One read-decide-write round. 'ok' carries the monotonic time the winning write was sent. */
type Attempt = { result: 'ok'; writtenAt: number } | { result: 'held'; holder: string | undefined } | { result: 'failed' };

/** One stretch of leadership, from acquiring the Lease to stepping down. */
interface Term {
  readonly leadership: AbortController;
  /** Monotonic time at which the last successful write was sent: the renew deadline counts from it. */
  renewedAt: number;
  /** Steps down at renewedAt + renewDeadline; re-armed by each successful renewal. */
  deadline: Timer | undefined;
}

export class LeaseElector {
  readonly #api: LeaseApi;
  readonly #clock: Clock;
  readonly #opts: LeaseElectorOptions;
  readonly #log: Logger;
  #observed: Observation | undefined;
  /** The Lease as last read or written: its resourceVersion guards the next write. */
  #lease: Lease | undefined;
  #term: Term | undefined;
  #callbacks: LeaderCallbacks | undefined;
  /** Aborted by stop(): ends every wait at once (stop() must not sit out a retry period). */
  readonly #stopping = new AbortController();
  #campaign: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;

  constructor(opts: LeaseElectorOptions) {
    const problems = timingProblems(opts);
    if (problems.length > 0) throw new Error(`invalid leader election timing: ${problems.join('; ')}`);
    this.#api = opts.api;
    this.#clock = opts.clock ?? systemClock;
    this.#opts = opts;
    this.#log = opts.log.child({ component: 'leader-election', lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
  }

  get isLeader(): boolean {
    return this.#term !== undefined;
  }

  /** Runs until stop(); calls onStartedLeading on each acquisition and onStoppedLeading on each loss. */
  run(callbacks: LeaderCallbacks): void {
    if (this.#callbacks) throw new Error('LeaseElector.run() called twice');
    this.#callbacks = callbacks;
    this.#campaign = this.#runCampaign().catch((err: unknown) => {
      // Every API failure is handled inside; reaching here is a bug. Never leave a false leader.
      this.#log.error('leader election loop crashed', { error: describeError(err) });
      this.#stepDown(this.#term, 'leader election loop crashed');
    });
  }

  /** Stops acting at once (the leadership signal aborts), stops campaigning and, if it holds the Lease, releases it. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopping.abort();
    if (this.#endTerm(this.#term, 'stopping')) this.#log.info('stopped leading');
    // Let the attempt in flight (bounded by its deadline) finish, so that the Lease we release
    // is the one it left behind: releasing with an older resourceVersion would get 409.
    await this.#campaign;
    await this.#release();
  }

  get #isStopping(): boolean {
    return this.#stopping.signal.aborted;
  }

  async #runCampaign(): Promise<void> {
    while (!this.#isStopping) {
      const writtenAt = await this.#acquire();
      if (writtenAt === undefined) return;
      await this.#lead(this.#startTerm(writtenAt));
    }
  }

  /** Tries at once, then every retryPeriod (jittered); returns when it holds the lease, or undefined once stopped. */
  async #acquire(): Promise<number | undefined> {
    this.#log.info('waiting to acquire the lease');
    const { renewDeadlineMs, retryPeriodMs } = this.#opts;
    while (!this.#isStopping) {
      const attempt = await this.#tryAcquireOrRenew(this.#clock.now() + renewDeadlineMs);
      // Acquired while stop() was waiting for this attempt: hold it only until stop() releases it.
      if (this.#isStopping) return undefined;
      // A write acknowledged after its own deadline is no basis for leading: try again.
      if (attempt.result === 'ok' && this.#clock.now() < attempt.writtenAt + renewDeadlineMs) return attempt.writtenAt;
      await delay(this.#clock, retryPeriodMs * (1 + this.#clock.random() * JITTER_FACTOR), this.#stopping.signal);
    }
    return undefined;
  }

  #startTerm(writtenAt: number): Term {
    const term: Term = { leadership: new AbortController(), renewedAt: writtenAt, deadline: undefined };
    this.#term = term;
    this.#armDeadline(term);
    this.#log.info('became leader', { transitions: this.#observed?.record.leaseTransitions });
    const callbacks = this.#callbacks;
    if (callbacks) safely(this.#log, 'onStartedLeading', () => callbacks.onStartedLeading(term.leadership.signal));
    return term;
  }

  /** Renews every retryPeriod until the term ends: by its deadline timer, another holder, or stop(). */
  async #lead(term: Term): Promise<void> {
    while (this.#term === term) {
      await delay(this.#clock, this.#opts.retryPeriodMs, term.leadership.signal);
      if (this.#term !== term) return;
      // The request may not outlive the term: a hung renewal must not keep us "leader".
      const attempt = await this.#tryAcquireOrRenew(term.renewedAt + this.#opts.renewDeadlineMs);
      if (this.#term !== term) return;
      if (attempt.result === 'ok') {
        term.renewedAt = attempt.writtenAt;
        this.#armDeadline(term);
      } else if (attempt.result === 'held') {
        this.#stepDown(term, attempt.holder ? `the lease is held by ${attempt.holder}` : 'the lease was changed by another writer');
      }
      // 'failed': try again after retryPeriod; the deadline timer bounds how long that goes on.
    }
  }

  #armDeadline(term: Term): void {
    term.deadline?.cancel();
    const { renewDeadlineMs } = this.#opts;
    term.deadline = this.#clock.after(term.renewedAt + renewDeadlineMs - this.#clock.now(), () => {
      this.#stepDown(term, `could not renew the lease within the renew deadline (${renewDeadlineMs} ms)`);
    });
  }

  /** Ends the term (if it is still the current one) and tells the callbacks. */
  #stepDown(term: Term | undefined, reason: string): void {
    if (!this.#endTerm(term, reason)) return;
    this.#log.warn('lost leadership', { reason });
    const callbacks = this.#callbacks;
    if (callbacks && !this.#isStopping) safely(this.#log, 'onStoppedLeading', () => callbacks.onStoppedLeading());
  }

  /** Aborts the leadership signal; its listeners run synchronously, before this returns. */
  #endTerm(term: Term | undefined, reason: string): boolean {
    if (term === undefined || this.#term !== term) return false;
    this.#term = undefined;
    term.deadline?.cancel();
    term.leadership.abort(new Error(`no longer leader: ${reason}`));
    return true;
  }

  /** One read-decide-write round, aborted if it is still running at the monotonic time `deadlineAt`. */
  #tryAcquireOrRenew(deadlineAt: number): Promise<Attempt> {
    return this.#withDeadline(deadlineAt, (signal) => this.#readDecideWrite(signal));
  }

  /** 'held': someone else has the lease (or beat us to a write); 'failed': the API did not let us find out. */
  async #readDecideWrite(signal: AbortSignal): Promise<Attempt> {
    let lease: Lease;
    try {
      lease = await this.#api.read(signal);
    } catch (err) {
      if (httpStatus(err) === 404) return this.#create(signal);
      return this.#failed('read', err);
    }

    const now = this.#clock.now();
    const record = recordFromSpec(lease.spec);
    this.#observed = observe(this.#observed, record, now, lease.metadata?.resourceVersion);
    this.#lease = lease;
    const verdict = mayAcquire(this.#observed, this.#opts.identity, now);
    if (!verdict.acquire) {
      this.#log.debug('lease held by another replica', { holder: verdict.holder });
      return { result: 'held', holder: verdict.holder };
    }

    const { name, namespace } = this.#opts;
    const next = this.#nextRecord(record);
    const writtenAt = this.#clock.now();
    try {
      this.#lease = await this.#api.replace(leaseBody(lease.metadata ?? { name, namespace }, next), signal);
    } catch (err) {
      // 409: the Lease changed since we read it — someone else renewed or took it. Back off.
      if (httpStatus(err) === 409) return { result: 'held', holder: undefined };
      return this.#failed('update', err);
    }
    if (verdict.reason !== 'ours') {
      this.#log.info('acquired the lease', { reason: verdict.reason, previousHolder: record.holderIdentity || undefined });
    }
    this.#observed = observe(undefined, next, this.#clock.now(), this.#lease?.metadata?.resourceVersion);
    return { result: 'ok', writtenAt };
  }

  async #create(signal: AbortSignal): Promise<Attempt> {
    const { name, namespace } = this.#opts;
    const record = this.#nextRecord(undefined);
    const writtenAt = this.#clock.now();
    try {
      this.#lease = await this.#api.create(leaseBody({ name, namespace }, record), signal);
    } catch (err) {
      // 409: another candidate created it between our read and our create.
      if (httpStatus(err) === 409) return { result: 'held', holder: undefined };
      return this.#failed('create', err);
    }
    this.#observed = observe(undefined, record, this.#clock.now(), this.#lease?.metadata?.resourceVersion);
    this.#log.info('created and acquired the lease');
    return { result: 'ok', writtenAt };
  }

  #nextRecord(current: LeaderElectionRecord | undefined): LeaderElectionRecord {
    // Wall-clock time: renewTime and acquireTime are read by people and other processes.
    return nextRecord(current, this.#opts.identity, this.#opts.leaseDurationMs / 1000, new Date(this.#clock.wallNow()));
  }

  /** Gives the lease up so that a standby takes over at once instead of after leaseDuration. */
  async #release(): Promise<void> {
    const lease = this.#lease;
    const current = recordFromSpec(lease?.spec);
    if (!lease?.metadata || !isHeldBy(current, this.#opts.identity)) return;
    const body = leaseBody(lease.metadata, releasedRecord(current, new Date(this.#clock.wallNow())));
    try {
      this.#lease = await this.#withDeadline(this.#clock.now() + this.#opts.renewDeadlineMs, (signal) => this.#api.replace(body, signal));
      this.#log.info('released the lease');
    } catch (err) {
      // Not fatal: the lease simply expires after leaseDuration and a standby takes it then.
      this.#log.warn('could not release the lease; a standby will take over when it expires', {
        status: httpStatus(err),
        error: describeError(err),
      });
    }
  }

  /** Runs `call` with a signal that aborts at the monotonic time `deadlineAt`. */
  async #withDeadline<T>(deadlineAt: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const request = new AbortController();
    const timer = this.#clock.after(deadlineAt - this.#clock.now(), () => {
      request.abort(new Error('lease request deadline passed'));
    });
    try {
      return await call(request.signal);
    } finally {
      timer.cancel();
    }
  }

  #failed(verb: string, err: unknown): Attempt {
    const status = httpStatus(err);
    // We retry regardless; but a 403 (RBAC) or a 422 will not heal by itself: say so louder.
    this.#log.log(isRetryable(status) ? 'warn' : 'error', `lease ${verb} failed`, { status, error: describeError(err) });
    return { result: 'failed' };
  }
}

/**
 * The body of a create or replace. Metadata is what we read (its resourceVersion is the
 * optimistic-concurrency guard) minus managedFields, which the apiserver keeps when omitted.
 * The spec is rewritten whole: the Lease belongs to this election and nothing else.
 */
function leaseBody(metadata: ObjectMeta & { managedFields?: unknown }, record: LeaderElectionRecord): Lease {
  const { managedFields: _managedFields, ...kept } = metadata;
  return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: kept, spec: specFromRecord(record) };
}

function safely(log: Logger, name: string, callback: () => void): void {
  try {
    callback();
  } catch (err) {
    log.error(`${name} callback threw`, { error: String(err) });
  }
}
