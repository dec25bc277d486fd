// The digest key the e2e operators use: created by the root hook in its own namespace, with
// bytes the tests know, so that a test computes the digest a correct operator must write from
// the data it wrote. (How the operator makes a key of its own is tested separately.)
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { type DigestKey, digestKey, sourceContent, workloadDigest as keyedWorkloadDigest } from '../../src/core/digest.ts';
import type { ConsumedSource, SourceContent, SourceKind } from '../../src/core/types.ts';
import { testbed } from './hooks.ts';

export const E2E_KEY_NAMESPACE = 'cro-e2e-keys';
export const E2E_KEY_SECRET = 'config-reload-digest-key';
const BYTES = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 7 + 3) & 0xff));

export const E2E_DIGEST_KEY: DigestKey = digestKey(BYTES);
export const E2E_DIGEST_KEY_BASE64 = BYTES.toString('base64');

/** Makes the key namespace and Secret (idempotent). */
export async function installE2eDigestKey(kc: KubeConfig): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: E2E_KEY_NAMESPACE } } }).catch(ignoreConflict);
  await createKeySecret(core, E2E_KEY_NAMESPACE);
}

/** The known key's Secret in `namespace` (which must exist), for an operator whose key lives there. */
export async function installDigestKeyIn(namespace: string): Promise<void> {
  await createKeySecret(testbed().kubeConfig().makeApiClient(CoreV1Api), namespace);
}

async function createKeySecret(core: CoreV1Api, namespace: string): Promise<void> {
  await core.createNamespacedSecret({
    namespace, body: { metadata: { name: E2E_KEY_SECRET }, type: 'Opaque', data: { key: E2E_DIGEST_KEY_BASE64 } },
  }).catch(ignoreConflict);
}

function ignoreConflict(err: unknown): void {
  if ((err as { code?: number }).code !== 409) throw err;
}

/** Per-key digests of a ConfigMap's data, under the e2e key (`maxKeys`: the operator's --max-keys-per-object). */
export function configMapContent(cm: { data?: Record<string, string>; binaryData?: Record<string, string> }, maxKeys?: number): SourceContent {
  return sourceContent('ConfigMap', cm, E2E_DIGEST_KEY, maxKeys);
}

/** Per-key digests of a Secret's data (base64 values, as the API holds them), under the e2e key. */
export function secretContent(data: Record<string, string>): SourceContent {
  return sourceContent('Secret', { data }, E2E_DIGEST_KEY);
}

type Consumed = Omit<ConsumedSource, 'kind'> & { kind?: SourceKind };

/**
 * The digest a correct operator writes. Entries without a kind are ConfigMaps; `lookup` gets
 * the name (and kind) and returns the content, or undefined when absent.
 */
export function workloadDigest(consumed: readonly Consumed[], lookup: (name: string, kind: SourceKind) => SourceContent | undefined): string {
  const sources = consumed.map((c): ConsumedSource => ({ ...c, kind: c.kind ?? 'ConfigMap' }));
  return keyedWorkloadDigest(sources, (kind, name) => lookup(name, kind), E2E_DIGEST_KEY);
}
