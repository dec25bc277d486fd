// The installation's digest key: 32 random bytes in a Secret of the operator's own namespace,
// created by the first replica that finds none. Every replica reads the same Secret, so all
// of them (under leader election) make the same digests. The key never leaves this module but
// as a DigestKey (an HMAC factory and a public id): no log line, Event, metric or error message
// carries it.
//
// RBAC: get on that one Secret (resourceNames) and create on Secrets in that namespace (create
// cannot be limited by name; the admission policy limits it to this Secret). One key per
// installation: a replica creates a key only when no other may hold one (the Lease is free or
// expired), and the leader puts a deleted Secret back with the key it holds (confirm), so a
// deleted Secret costs nothing while a replica runs. Deleted while none runs, a new key is
// made: every recorded digest is then re-recorded without a roll, and changes made while the
// operator was down are not caught up.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../core/errors.ts';
import type { Logger } from 'winston';
import { type DigestKey, digestKey } from '../core/digest.ts';
import { type Clock, delay } from '../time/clock.ts';
import { ExponentialBackoff } from '../time/backoff.ts';
import { describeError, httpStatus } from './api-error.ts';
import { type ObjectMeta, SECRETS } from './cluster-api.ts';
import type { HttpClusterApi } from './http-cluster-api.ts';

const KEY_FIELD = 'key';
const CALL_TIMEOUT_MS = 15_000;

/** A core/v1 Secret, as far as key management reads and writes it. */
export interface Secret {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  type?: string;
  data?: Record<string, string>;
}

export interface DigestKeyLocation {
  namespace: string;
  name: string;
}

/** The three calls key management makes; the default goes to the apiserver. */
export interface SecretApi {
  read(location: DigestKeyLocation): Promise<Secret>;
  create(location: DigestKeyLocation, body: Secret): Promise<Secret>;
}

export function clusterSecretApi(api: HttpClusterApi): SecretApi {
  return {
    read: ({ namespace, name }) => api.get<Secret>(SECRETS, namespace, name, AbortSignal.timeout(CALL_TIMEOUT_MS)),
    create: ({ namespace }, body) => api.create<Secret>(SECRETS, namespace, body, AbortSignal.timeout(CALL_TIMEOUT_MS)),
  };
}

/** What the key Secret holds, seen by the leader against the key it works with. */
export type KeyCheck = 'kept' | 'restored' | 'replaced';

/** The installation's key as a replica holds it: the DigestKey, and the leader's check of it. */
export interface HeldDigestKey extends DigestKey {
  /**
   * Reads the key Secret. Gone: puts this key back ('restored'), so that a replica started in
   * the meantime loads the key every running replica holds rather than a new one (which would
   * make each change of leader re-record every digest under the other key, dropping the changes
   * made in between). Holding another key: 'replaced', and the caller must stop acting with
   * this one. Throws when the Secret cannot be read or written (the caller retries).
   */
  confirm(): Promise<KeyCheck>;
}

/** Not an API error: the key is absent and this replica may not create it (another may hold one). */
class KeyAbsent extends Error {}

export interface LoadOptions {
  /**
   * Whether this replica may create the key when the Secret is absent: only when no other
   * replica may be holding one (src/leader/key-gate.ts: the Lease is free, ours or expired).
   * Default: always (one replica, no leader election).
   */
  mayCreate?: () => Promise<boolean>;
}

/**
 * Reads the key, creating it when absent and `mayCreate` allows; retries (with backoff, saying
 * why) until it has one or `signal` aborts. Resolves undefined only when aborted.
 */
export async function loadDigestKey(
  api: SecretApi, where: DigestKeyLocation, log: Logger, clock: Clock, signal?: AbortSignal, opts: LoadOptions = {},
): Promise<HeldDigestKey | undefined> {
  const backoff = new ExponentialBackoff({ baseMs: 1000, maxMs: 30_000, jitter: 'half', random: () => clock.random() });
  const secret = `${where.namespace}/${where.name}`;
  while (!signal?.aborted) {
    try {
      const key = await readOrCreate(api, where, log, opts.mayCreate ?? (async () => true));
      log.info('digest key loaded', { secret, keyId: key.id });
      return key;
    } catch (err) {
      const wait = backoff.next();
      if (err instanceof KeyAbsent) {
        log.warn('the digest key Secret is absent and another replica leads: waiting for the leader to restore it', {
          secret, retryInMs: Math.round(wait),
        });
      } else {
        const status = httpStatus(err);
        log.error('cannot load the digest key: not ready, retrying', {
          secret, error: describeError(err), retryInMs: Math.round(wait),
          ...(status === 403 ? { missingPermission: `get on secrets/${where.name} and create on secrets in namespace ${where.namespace}` } : {}),
          ...(status === 404 ? { hint: `namespace ${where.namespace} must exist (--digest-key-namespace)` } : {}),
        });
      }
      await delay(clock, wait, signal);
    }
  }
  return undefined;
}

function keySecret(where: DigestKeyLocation, value: Buffer): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: where.name, namespace: where.namespace,
      labels: { 'app.kubernetes.io/name': 'config-reload-operator', 'app.kubernetes.io/component': 'digest-key' },
      annotations: { 'config-reload.dev/purpose': 'HMAC key of the config-hash digests; deleting it while no replica runs re-records every digest without rolling and loses the catch-up of changes made while the operator was down' },
    },
    type: 'Opaque',
    data: { [KEY_FIELD]: value.toString('base64') },
  };
}

/** The Secret's value (data.key decoded once) and the key it makes; undefined value: unusable. */
function secretValue(secret: Pick<Secret, 'data'>): Buffer {
  const encoded: unknown = secret.data?.[KEY_FIELD];
  return typeof encoded === 'string' ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
}

/** A held key over the Secret value `value` (kept, to put the same Secret back). */
function held(value: Buffer, api: SecretApi, where: DigestKeyLocation, log: Logger): HeldDigestKey {
  const key = digestKeyFromSecret({ data: { [KEY_FIELD]: value.toString('base64') } }, where);
  const kept = Buffer.from(value);
  const secret = `${where.namespace}/${where.name}`;
  const compare = (stored: Secret): KeyCheck => {
    const value = secretValue(stored);
    try {
      return digestKeyFromSecret({ data: { [KEY_FIELD]: value.toString('base64') } }, where).id === key.id ? 'kept' : 'replaced';
    } finally {
      value.fill(0);
    }
  };
  const confirm = async (): Promise<KeyCheck> => {
    try {
      return compare(await api.read(where));
    } catch (err) {
      if (httpStatus(err) !== 404) throw err;
    }
    try {
      await api.create(where, keySecret(where, kept));
    } catch (err) {
      // Someone created it between the read and the create: compare theirs.
      if (httpStatus(err) === 409) return compare(await api.read(where));
      throw err;
    }
    log.warn('the digest key Secret was gone: restored it with the key this replica holds', { secret, keyId: key.id });
    return 'restored';
  };
  return Object.freeze({ id: key.id, hmac: key.hmac, confirm });
}

async function readOrCreate(api: SecretApi, where: DigestKeyLocation, log: Logger, mayCreate: () => Promise<boolean>): Promise<HeldDigestKey> {
  const fromSecret = (secret: Secret): HeldDigestKey => {
    const value = secretValue(secret);
    try {
      return held(value, api, where, log);
    } finally {
      value.fill(0);
    }
  };
  try {
    return fromSecret(await api.read(where));
  } catch (err) {
    if (httpStatus(err) !== 404) throw err;
  }
  if (!(await mayCreate())) throw new KeyAbsent('absent');
  const material = randomBytes(32);
  try {
    const created = await api.create(where, keySecret(where, material));
    log.warn('created a new digest key: digests recorded under another key will be re-recorded without rolling', {
      secret: `${where.namespace}/${where.name}`,
    });
    return fromSecret(created);
  } catch (err) {
    // Another replica created it first: use theirs, so that every replica digests alike.
    if (httpStatus(err) === 409) return fromSecret(await api.read(where));
    throw err;
  } finally {
    material.fill(0);
  }
}

/**
 * The one decoding rule of the key, for the API and the file alike. `value` is the Secret's
 * `key` item as the kubelet writes it to the file, which is `data.key` decoded once. When that
 * value is base64 text of at least 32 bytes (what `--from-literal=key="$(head -c 32 /dev/urandom
 * | base64)"` stores), the key is what the text decodes to; otherwise it is the value itself (the
 * 32 raw bytes the operator stores when it creates the Secret: 32 bytes are never base64 text
 * of 32 bytes, which takes 44 characters). So operator, `explain` and a file mount of the same
 * Secret see the same key id. Undefined: shorter than 32 bytes either way.
 */
export function keyMaterial(value: Buffer): Buffer | undefined {
  const text = value.toString('latin1').trim();
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    const decoded = Buffer.from(text, 'base64');
    if (decoded.length >= 32 && decoded.toString('base64').replace(/=+$/, '') === text.replace(/=+$/, '')) return decoded;
    decoded.fill(0);
  }
  return value.length >= 32 ? Buffer.from(value) : undefined;
}

/** The key a Secret holds, as read (also by `explain`, with its caller's credentials). */
export function digestKeyFromSecret(secret: Pick<Secret, 'data'>, where: DigestKeyLocation): DigestKey {
  // The value is never quoted: a malformed one may still be most of a key.
  const value = secretValue(secret);
  const bytes = keyMaterial(value);
  value.fill(0);
  try {
    if (bytes === undefined) {
      throw new Error(`Secret ${where.namespace}/${where.name} has no usable "${KEY_FIELD}" (at least 32 bytes, or base64 text of at least 32 bytes): delete it to have a new one made`);
    }
    return digestKey(bytes);
  } finally {
    bytes?.fill(0);
  }
}

/**
 * The key from a file: a Secret the kubelet mounts (its `key` item), for installs that grant the
 * operator no Secret access at all. Read by the same rule as the API path (keyMaterial), so the
 * key id is the same either way: a file of fewer than 32 bytes (or base64 text of fewer) is a
 * start-up error.
 */
export function digestKeyFromFile(file: string): DigestKey {
  let value: Buffer;
  try {
    value = readFileSync(file);
  } catch (err) {
    throw new ConfigError(`--digest-key-file ${file}: ${(err as NodeJS.ErrnoException).code === 'EACCES'
      ? 'permission denied: the file must be readable by the operator\'s user (mount it with defaultMode 0440 and the pod\'s securityContext.fsGroup)'
      : (err as Error).message}`);
  }
  const bytes = keyMaterial(value);
  value.fill(0);
  try {
    if (bytes === undefined) {
      throw new ConfigError(`--digest-key-file ${file}: expected at least 32 bytes, or base64 text of at least 32 bytes (e.g. head -c 32 /dev/urandom | base64)`);
    }
    return digestKey(bytes);
  } finally {
    bytes?.fill(0);
  }
}
