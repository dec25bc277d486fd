// The installation's digest key: 32 random bytes in a Secret of the operator's own namespace,
// created by the first replica that finds none. Every replica reads the same Secret, so all
// of them (under leader election) make the same digests. The key never leaves this module but
// as a DigestKey (an HMAC factory and a public id): no log line, Event, metric or error message
// carries it.
//
// RBAC: get on that one Secret (resourceNames) and create on Secrets in that namespace (create
// cannot be limited by name). Deleting the Secret makes a new key: every recorded digest is then
// re-recorded without a roll, and changes made while the operator was down are not caught up.
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../core/errors.ts';
import type { Logger } from 'winston';
import { type DigestKey, digestKey } from '../core/digest.ts';
import { type Clock, delay } from '../time/clock.ts';
import { ExponentialBackoff } from '../time/backoff.ts';
import { describeError, httpStatus } from './api-error.ts';
import { requestTimeout } from './request-timeout.ts';

const KEY_FIELD = 'key';
const CALL_TIMEOUT_MS = 15_000;

export interface DigestKeyLocation {
  namespace: string;
  name: string;
}

/** The three calls key management makes; the default goes to the apiserver. */
export interface SecretApi {
  read(location: DigestKeyLocation): Promise<V1Secret>;
  create(location: DigestKeyLocation, body: V1Secret): Promise<V1Secret>;
}

export function clusterSecretApi(kc: KubeConfig): SecretApi {
  const core = kc.makeApiClient(CoreV1Api);
  return {
    read: ({ namespace, name }) => core.readNamespacedSecret({ namespace, name }, requestTimeout(CALL_TIMEOUT_MS)),
    create: ({ namespace }, body) => core.createNamespacedSecret({ namespace, body }, requestTimeout(CALL_TIMEOUT_MS)),
  };
}

/**
 * Reads the key, creating it when absent; retries (with backoff, saying why) until it has one
 * or `signal` aborts. Resolves undefined only when aborted.
 */
export async function loadDigestKey(
  api: SecretApi, where: DigestKeyLocation, log: Logger, clock: Clock, signal?: AbortSignal,
): Promise<DigestKey | undefined> {
  const backoff = new ExponentialBackoff({ baseMs: 1000, maxMs: 30_000, jitter: 'half', random: () => clock.random() });
  const secret = `${where.namespace}/${where.name}`;
  while (!signal?.aborted) {
    try {
      const key = await readOrCreate(api, where, log);
      log.info('digest key loaded', { secret, keyId: key.id });
      return key;
    } catch (err) {
      const status = httpStatus(err);
      const wait = backoff.next();
      log.error('cannot load the digest key: not ready, retrying', {
        secret, error: describeError(err), retryInMs: Math.round(wait),
        ...(status === 403 ? { missingPermission: `get on secrets/${where.name} and create on secrets in namespace ${where.namespace}` } : {}),
        ...(status === 404 ? { hint: `namespace ${where.namespace} must exist (--digest-key-namespace)` } : {}),
      });
      await delay(clock, wait, signal);
    }
  }
  return undefined;
}

async function readOrCreate(api: SecretApi, where: DigestKeyLocation, log: Logger): Promise<DigestKey> {
  try {
    return digestKeyFromSecret(await api.read(where), where);
  } catch (err) {
    if (httpStatus(err) !== 404) throw err;
  }
  const material = randomBytes(32);
  try {
    const created = await api.create(where, {
      metadata: {
        name: where.name, namespace: where.namespace,
        labels: { 'app.kubernetes.io/name': 'config-reload-operator', 'app.kubernetes.io/component': 'digest-key' },
        annotations: { 'config-reload.dev/purpose': 'HMAC key of the config-hash digests; deleting it re-records every digest without rolling and loses the catch-up of changes made while the operator was down' },
      },
      type: 'Opaque',
      data: { [KEY_FIELD]: material.toString('base64') },
    });
    log.warn('created a new digest key: digests recorded under another key will be re-recorded without rolling', {
      secret: `${where.namespace}/${where.name}`,
    });
    return digestKeyFromSecret(created, where);
  } catch (err) {
    // Another replica created it first: use theirs, so that every replica digests alike.
    if (httpStatus(err) === 409) return digestKeyFromSecret(await api.read(where), where);
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
export function digestKeyFromSecret(secret: Pick<V1Secret, 'data'>, where: DigestKeyLocation): DigestKey {
  const encoded: unknown = secret.data?.[KEY_FIELD];
  // The value is never quoted: a malformed one may still be most of a key.
  const value = typeof encoded === 'string' ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
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
