// The scenario's objects and how they are written: N ConfigMaps of a given size and N opted-in
// Deployments with replicas: 0 (pods would make kwok and the scheduler what is measured; the
// measured point is the template annotation change on the Deployment itself).
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Kube, pool } from './kube.ts';

import { DATA_KEY, ENABLED, HASH, NS } from './constants.ts';

export { BASELINE_KEY, DATA_KEY, ENABLED, HASH, NS } from './constants.ts';

/** The ConfigMap of a pair: app-<x> → cfg-<x>, bapp-<x> → bcfg-<x>. */
export function cfgOf(app: string): string {
  return app.replace(/^(b?)app-/, '$1cfg-');
}

export type Data = Record<string, string>;

/** `bytes` of incompressible text (base64 of random bytes): every ConfigMap and every change differs. */
export function payload(bytes: number): string {
  return randomBytes(Math.ceil((bytes * 3) / 4) + 3).toString('base64').slice(0, bytes);
}

export function configMap(name: string, data: Data): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS }, data };
}

export function podSpec(configMaps: readonly string[]): Record<string, unknown> {
  return {
    containers: [{
      name: 'app', image: 'registry.example/app:1',
      volumeMounts: configMaps.map((cm, j) => ({ name: `cfg-${j}`, mountPath: `/etc/cfg/${cm}` })),
    }],
    volumes: configMaps.map((cm, j) => ({ name: `cfg-${j}`, configMap: { name: cm } })),
  };
}

export function deployment(name: string, spec: Record<string, unknown>, annotations: Data): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name, namespace: NS, annotations },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec },
    },
  };
}

/**
 * The digest the operator records for a Deployment, computed with the operator's own functions
 * (from the snapshot under test): used to create Deployments "already adopted", the state after
 * the operator has run once — so a start-up over them measures a restart, not an installation.
 */
/**
 * The digest key every benchmarked operator runs with (--digest-key-file), so that pre-adopted
 * objects carry the digests it would write.
 */
export const BENCH_DIGEST_KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 13 + 5) & 0xff));

export type Digester = (spec: Record<string, unknown>, annotations: Data, configMaps: ReadonlyMap<string, Data>) => string;

export async function loadDigester(operatorDir: string): Promise<Digester> {
  const load = <T>(rel: string) => import(pathToFileURL(path.join(operatorDir, rel)).href) as Promise<T>;
  const digest = await load<typeof import('../../src/core/digest.ts')>('src/core/digest.ts');
  const refs = await load<typeof import('../../src/core/references.ts')>('src/core/references.ts');
  const ann = await load<typeof import('../../src/core/annotations.ts')>('src/core/annotations.ts');
  const key = digest.digestKey(BENCH_DIGEST_KEY);
  return (spec, annotations, configMaps) => {
    const optIn = ann.parseOptIn(annotations);
    if (optIn.kind !== 'in') throw new Error('not opted in');
    const consumed = refs.consumedSources(spec, optIn, new Set(['ConfigMap', 'Secret']));
    return digest.workloadDigest(consumed, (kind, name) => {
      const data = kind === 'ConfigMap' ? configMaps.get(name) : undefined;
      return data === undefined ? undefined : digest.sourceContent('ConfigMap', { data }, key);
    }, key);
  };
}

export interface PairSpec {
  /** Deployment name. */
  app: string;
  /** ConfigMaps it consumes (created here unless listed in `existing`). */
  configMaps: string[];
  /** false: not opted in (the baseline watcher's pairs). Default true. */
  optIn?: boolean;
}

export interface CreateOptions {
  kube: Kube;
  pairs: readonly PairSpec[];
  bytes: number;
  concurrency: number;
  /** Record the digest on the Deployment (pre-adopted) with this function; else leave it to the operator. */
  digester?: Digester;
  /** ConfigMaps that already exist, with their data (shared ones). */
  existing?: ReadonlyMap<string, Data>;
  progress?: (done: number) => void;
}

/** Creates every ConfigMap then its Deployment, pair by pair, `concurrency` pairs at a time. */
export async function createPairs(opts: CreateOptions): Promise<void> {
  let done = 0;
  await pool(opts.pairs, opts.concurrency, async (pair) => {
    const datas = new Map<string, Data>();
    for (const cm of pair.configMaps) {
      const known = opts.existing?.get(cm);
      if (known) {
        datas.set(cm, known);
        continue;
      }
      const data = { [DATA_KEY]: payload(opts.bytes) };
      datas.set(cm, data);
      await opts.kube.requestRetry('POST', `/api/v1/namespaces/${NS}/configmaps`, configMap(cm, data));
    }
    const spec = podSpec(pair.configMaps);
    const optIn = pair.optIn !== false;
    const annotations: Data = optIn ? { [ENABLED]: 'true' } : {};
    if (optIn && opts.digester) annotations[HASH] = opts.digester(spec, annotations, datas);
    await opts.kube.requestRetry('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, deployment(pair.app, spec, annotations));
    if (++done % 500 === 0) opts.progress?.(done);
  });
}

/** A change of the ConfigMap's content (merge patch of its one key); resolves when acknowledged. */
export async function changeConfigMap(kube: Kube, name: string, bytes: number): Promise<{ sent: number; acked: number }> {
  const body = JSON.stringify({ data: { [DATA_KEY]: payload(bytes) } });
  const sent = performance.now();
  const res = await kube.requestRetry('PATCH', `/api/v1/namespaces/${NS}/configmaps/${name}`, body, 'application/merge-patch+json');
  return { sent, acked: res.at };
}
