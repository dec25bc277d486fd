// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection package
// (client-node has none). Every replica runs one; the one whose identity is in the Lease acts,
// the others keep their watches warm and wait for the Lease to expire or be released.
//
// Safety rests on two things: writes use optimistic concurrency (a replace carries the
// resourceVersion we read, so of two candidates racing for a free lease exactly one wins and
// the other gets 409), and a leader that cannot renew within renewDeadline steps down on its
// own, before leaseDuration runs out and a standby may take over.
import { ApiException, CoordinationV1Api, type KubeConfig, type V1Lease, type V1ObjectMeta } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { requestTimeout } from '../kube/request-timeout.ts';
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
  type LeaderElectionRecord,
  type Observation,
} from './lease-rules.ts';

export interface LeaseElectorOptions {
  namespace: string;
  name: string;
  /** Unique per replica; the pod name is the usual choice. */
  identity: string;
  /** How long a standby waits, after the leader's last renewal, before it takes over. */
  leaseDurationMs: number;
  /** How long the leader keeps acting without a successful renewal before it steps down. */
  renewDeadlineMs: number;
  /** Interval between renewals, and between attempts to acquire. */
  retryPeriodMs: number;
  log: Logger;
}

export interface LeaderCallbacks {
  onStartedLeading(): void;
  /** Leadership was lost (renewal failed past the deadline, or another holder took the Lease). Not called by stop(). */
  onStoppedLeading(): void;
}

type Attempt = 'ok' | 'held' | 'failed';

export class LeaseElector {
  readonly #api: CoordinationV1Api;
  readonly #opts: LeaseElectorOptions;
  readonly #log: Logger;
  #observed: Observation | undefined;
  /** The Lease as last read or written: its resourceVersion guards the next write. */
  #lease: V1Lease | undefined;
  #leader = false;
  #stopping = false;
  #campaign: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  /** Ends the current wait early (stop() must not sit out a retry period). */
  #wake: (() => void) | undefined;

  constructor(kc: KubeConfig, opts: LeaseElectorOptions) {
    const problems = timingProblems(opts);
    if (problems.length > 0) throw new Error(`invalid leader election timing: ${problems.join('; ')}`);
    this.#api = kc.makeApiClient(CoordinationV1Api);
    this.#opts = opts;
    this.#log = opts.log.child({ component: 'leader-election', lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** Runs until stop(); calls onStartedLeading when it becomes leader and onStoppedLeading when it loses it. */
  run(callbacks: LeaderCallbacks): void {
    if (this.#campaign) throw new Error('LeaseElector.run() called twice');
    this.#campaign = this.#runCampaign(callbacks).catch((err: unknown) => {
      // Every API failure is handled inside; reaching here is a bug. Never leave a false leader.
      this.#leader = false;
      this.#log.error('leader election loop crashed', { error: String(err) });
    });
  }

  /** Stops campaigning and, if leader, releases the Lease. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    // Let the attempt in flight (bounded by its request timeout) finish, so that its outcome
    // is known before we decide whether there is anything to release.
    await this.#campaign;
    if (this.#leader) {
      await this.#release();
      this.#leader = false;
    }
  }

  async #runCampaign(callbacks: LeaderCallbacks): Promise<void> {
    while (!this.#stopping) {
      const acquired = await this.#acquire();
      if (!acquired) return;
      this.#leader = true;
      // Acquired while stop() was waiting: hold it only long enough for stop() to release it.
      if (this.#stopping) return;
      this.#log.info('became leader', { transitions: this.#observed?.record.leaseTransitions });
      safely(this.#log, 'onStartedLeading', callbacks.onStartedLeading);

      await this.#renewWhileLeading();
      if (this.#stopping) return;
      this.#leader = false;
      this.#log.warn('lost leadership');
      safely(this.#log, 'onStoppedLeading', callbacks.onStoppedLeading);
    }
  }

  /** Tries at once, then every retryPeriod (jittered) until it holds the lease or is stopped. */
  async #acquire(): Promise<boolean> {
    this.#log.info('waiting to acquire the lease');
    while (!this.#stopping) {
      if ((await this.#tryAcquireOrRenew(this.#opts.renewDeadlineMs)) === 'ok') return true;
      await this.#sleep(this.#opts.retryPeriodMs * (1 + Math.random() * JITTER_FACTOR));
    }
    return false;
  }

  /** Renews every retryPeriod; returns when stopped or when leadership is lost. */
  async #renewWhileLeading(): Promise<void> {
    let lastRenewMs = Date.now();
    while (!this.#stopping) {
      await this.#sleep(this.#opts.retryPeriodMs);
      if (this.#stopping) return;
      const remainingMs = this.#opts.renewDeadlineMs - (Date.now() - lastRenewMs);
      if (remainingMs <= 0) {
        this.#log.warn('could not renew the lease within the renew deadline', { renewDeadlineMs: this.#opts.renewDeadlineMs });
        return;
      }
      // The request may not outlive the deadline: a hung call must not keep us "leader".
      const result = await this.#tryAcquireOrRenew(remainingMs);
      if (result === 'ok') {
        lastRenewMs = Date.now();
      } else if (result === 'held') {
        this.#log.warn('the lease is held by another replica', { holder: this.#observed?.record.holderIdentity });
        return;
      }
    }
  }

  /**
   * One read-decide-write round. 'held': someone else has the lease (or beat us to a write);
   * 'failed': the API did not let us find out, try again later.
   */
  async #tryAcquireOrRenew(timeoutMs: number): Promise<Attempt> {
    const { namespace, name, identity } = this.#opts;
    const leaseDurationSeconds = this.#opts.leaseDurationMs / 1000;
    const options = requestTimeout(timeoutMs);

    let lease: V1Lease;
    try {
      lease = await this.#api.readNamespacedLease({ namespace, name }, options);
    } catch (err) {
      if (statusOf(err) !== 404) return this.#failed('read', err);
      const record = nextRecord(undefined, identity, leaseDurationSeconds, new Date());
      try {
        this.#lease = await this.#api.createNamespacedLease(
          { namespace, body: leaseBody({ name, namespace }, record) },
          options,
        );
      } catch (createErr) {
        // 409: another candidate created it between our read and our create.
        if (statusOf(createErr) === 409) return 'held';
        return this.#failed('create', createErr);
      }
      this.#observed = { record, observedAtMs: Date.now() };
      this.#log.info('created and acquired the lease');
      return 'ok';
    }

    const nowMs = Date.now();
    const record = recordFromSpec(lease.spec);
    this.#observed = observe(this.#observed, record, nowMs);
    this.#lease = lease;
    const verdict = mayAcquire(this.#observed, identity, nowMs);
    if (!verdict.acquire) {
      this.#log.debug('lease held by another replica', { holder: verdict.holder });
      return 'held';
    }

    const next = nextRecord(record, identity, leaseDurationSeconds, new Date(nowMs));
    try {
      this.#lease = await this.#api.replaceNamespacedLease(
        { namespace, name, body: leaseBody(lease.metadata ?? { name, namespace }, next) },
        options,
      );
    } catch (err) {
      // 409: the Lease changed since we read it — someone else renewed or took it. Back off.
      if (statusOf(err) === 409) return 'held';
      return this.#failed('update', err);
    }
    if (verdict.reason !== 'ours') this.#log.info('acquired the lease', { reason: verdict.reason, previousHolder: record.holderIdentity || undefined });
    this.#observed = { record: next, observedAtMs: Date.now() };
    return 'ok';
  }

  /** Gives the lease up so that a standby takes over at once instead of after leaseDuration. */
  async #release(): Promise<void> {
    const lease = this.#lease;
    const current = recordFromSpec(lease?.spec);
    if (!lease?.metadata || !isHeldBy(current, this.#opts.identity)) return;
    try {
      this.#lease = await this.#api.replaceNamespacedLease(
        {
          namespace: this.#opts.namespace,
          name: this.#opts.name,
          body: leaseBody(lease.metadata, releasedRecord(current, new Date())),
        },
        requestTimeout(this.#opts.renewDeadlineMs),
      );
      this.#log.info('released the lease');
    } catch (err) {
      // Not fatal: the lease simply expires after leaseDuration and a standby takes it then.
      this.#log.warn('could not release the lease; a standby will take over when it expires', {
        status: statusOf(err),
        error: errorMessage(err),
      });
    }
  }

  #failed(verb: string, err: unknown): Attempt {
    this.#log.warn(`lease ${verb} failed`, { status: statusOf(err), error: errorMessage(err) });
    return 'failed';
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }
}

/**
 * The body of a create or replace. Metadata is what we read (its resourceVersion is the
 * optimistic-concurrency guard) minus managedFields, which the apiserver keeps when omitted.
 * The spec is rewritten whole: the Lease belongs to this election and nothing else.
 */
function leaseBody(metadata: V1ObjectMeta, record: LeaderElectionRecord): V1Lease {
  const { managedFields: _managedFields, ...kept } = metadata;
  return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: kept, spec: specFromRecord(record) };
}

function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

function errorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    // client-node 2.x keeps the response body as received: usually a JSON Status in a string.
    const body: unknown = err.body;
    try {
      const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown } | null;
      if (status && typeof status.message === 'string') return status.message;
    } catch {
      // not JSON: fall through to the status code
    }
    return `HTTP ${err.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}

function safely(log: Logger, name: string, callback: () => void): void {
  try {
    callback();
  } catch (err) {
    log.error(`${name} callback threw`, { error: String(err) });
  }
}
