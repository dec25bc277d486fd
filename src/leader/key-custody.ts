// One digest key per installation, across replicas, restarts and a deleted key Secret
// (src/kube/digest-key.ts). Two rules, both tied to the Lease:
// - a replica that finds no key Secret creates one only when no other replica may be leading
//   (the Lease free, ours, or unchanged for its whole duration): a running leader holds a key
//   and puts it back, so a new one would make two keys in one installation;
// - a leader checks the Secret before its workers start and then every KEY_CHECK_INTERVAL_MS:
//   gone, it restores it with the key it holds; holding another key (a rotation by hand), it
//   stops acting with its own and hands over, to restart with the Secret's.
import type { Logger } from 'winston';
import { describeError, httpStatus } from '../kube/api-error.ts';
import type { HeldDigestKey } from '../kube/digest-key.ts';
import { type Clock, delay } from '../time/clock.ts';
import type { LeaseApi } from './lease-api.ts';
import { mayAcquire, type Observation, observe, recordFromSpec } from './lease-rules.ts';

/** How often the leader checks the key Secret (and restores it when deleted). */
export const KEY_CHECK_INTERVAL_MS = 10_000;
const LEASE_READ_TIMEOUT_MS = 15_000;

/**
 * `mayCreate` for loadDigestKey: true when the Lease does not exist, is free, is ours, or has not
 * changed for its whole duration on this replica's clock (the elector's own rule: no wall clock).
 */
export function keyCreationGate(api: LeaseApi, identity: string, clock: Clock): () => Promise<boolean> {
  let seen: Observation | undefined;
  return async () => {
    try {
      const lease = await api.read(AbortSignal.timeout(LEASE_READ_TIMEOUT_MS));
      seen = observe(seen, recordFromSpec(lease.spec), clock.now(), lease.metadata?.resourceVersion);
    } catch (err) {
      if (httpStatus(err) === 404) return true;
      throw err;
    }
    return mayAcquire(seen, identity, clock.now()).acquire;
  };
}

export interface KeyGuardOptions {
  key: Pick<HeldDigestKey, 'id' | 'confirm'>;
  clock: Clock;
  log: Logger;
  /** The Secret holds another key: stop acting (called once). */
  onReplaced: () => void;
  intervalMs?: number;
}

/**
 * Checks the key as leadership starts; resolves true when the workers may start (the Secret
 * holds this key, or was restored with it, or could not be read: a key that was the Secret's
 * stays right until the Secret changes, and an unreadable Secret must not stop the work), false
 * when replaced or when `leadership` ended. Then keeps checking until `leadership` aborts.
 */
export async function guardKey(opts: KeyGuardOptions, leadership: AbortSignal): Promise<boolean> {
  const interval = opts.intervalMs ?? KEY_CHECK_INTERVAL_MS;
  const check = async (): Promise<boolean> => {
    try {
      if ((await opts.key.confirm()) !== 'replaced') return true;
    } catch (err) {
      opts.log.warn('cannot check the digest key Secret: going on with the key held', { keyId: opts.key.id, error: describeError(err) });
      return true;
    }
    if (!leadership.aborted) {
      opts.log.error('the digest key Secret holds another key than this replica: stepping down to load it', { keyId: opts.key.id });
      opts.onReplaced();
    }
    return false;
  };
  if (!(await check()) || leadership.aborted) return false;
  void (async () => {
    while (!leadership.aborted) {
      await delay(opts.clock, interval, leadership);
      if (leadership.aborted || !(await check())) return;
    }
  })();
  return true;
}
