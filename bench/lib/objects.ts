// The scenario's objects and how they are written: N ConfigMaps or Secrets of a given size and N
// opted-in Deployments with replicas: 0 (pods would make kwok and the scheduler what is
// measured; the measured point is the template annotation change on the Deployment itself).
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Kube, pool } from './kube.ts';

import { DATA_KEY, ENABLED, HASH, NS } from './constants.ts';

export { BASELINE_KEY, DATA_KEY, ENABLED, HASH, NS } from './constants.ts';

export type SourceKind = 'ConfigMap' | 'Secret';

/** A config object a Deployment of the benchmark consumes. */
export interface Source {
  kind: SourceKind;
  name: string;
}

/** The ConfigMap of a pair: app-<x> → cfg-<x>, bapp-<x> → bcfg-<x>. */
export function cfgOf(app: string): string {
  return app.replace(/^(b?)app-/, '$1cfg-');
}

/** Pairs that consume a Secret are named sapp-<x> and consume Secret sec-<x>. */
export const SECRET_APP_PREFIX = 'sapp-';

/**
 * The one config object a pair's Deployment consumes, by naming convention: app-<x> → ConfigMap
 * cfg-<x>, bapp-<x> → ConfigMap bcfg-<x> (the baseline's), sapp-<x> → Secret sec-<x>.
 */
export function sourceOf(app: string): Source {
  if (app.startsWith(SECRET_APP_PREFIX)) return { kind: 'Secret', name: `sec-${app.slice(SECRET_APP_PREFIX.length)}` };
  return { kind: 'ConfigMap', name: cfgOf(app) };
}

export type Data = Record<string, string>;

/** `bytes` of incompressible text (base64 of random bytes): every ConfigMap and every change differs. */
export function payload(bytes: number): string {
  return randomBytes(Math.ceil((bytes * 3) / 4) + 3).toString('base64').slice(0, bytes);
}

/**
 * A Secret's `data` value as the API carries it: base64 of `bytes` random bytes. A Secret of
 * "1 KiB" holds 1 KiB (what the pod reads), 4/3 of that on the wire and in the JSON.
 */
export function secretPayload(bytes: number): string {
  return randomBytes(bytes).toString('base64');
}

export function configMap(name: string, data: Data): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS }, data };
}

/** `data` is in the API's form: base64 values. */
export function secret(name: string, data: Data, type = 'Opaque', labels?: Data): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: NS, ...(labels ? { labels } : {}) }, type, data };
}

/** Every ConfigMap and Secret mounted as a volume (whole object: every key consumed). */
export function podSpec(configMaps: readonly string[], secrets: readonly string[] = []): Record<string, unknown> {
  const sources = [
    ...configMaps.map((name) => ({ name, volume: { configMap: { name } } })),
    ...secrets.map((name) => ({ name, volume: { secret: { secretName: name } } })),
  ];
  return {
    containers: [{
      name: 'app', image: 'registry.example/app:1',
      volumeMounts: sources.map((s, j) => ({ name: `cfg-${j}`, mountPath: `/etc/cfg/${s.name}` })),
    }],
    volumes: sources.map((s, j) => ({ name: `cfg-${j}`, ...s.volume })),
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

/**
 * `lookup` returns an object's `data` as the API holds it (a Secret's values in base64, as the
 * operator receives them), or undefined when it does not exist.
 */
export type Digester = (spec: Record<string, unknown>, annotations: Data, lookup: (kind: SourceKind, name: string) => Data | undefined) => string;

export async function loadDigester(operatorDir: string): Promise<Digester> {
  const load = <T>(rel: string) => import(pathToFileURL(path.join(operatorDir, rel)).href) as Promise<T>;
  const digest = await load<typeof import('../../src/core/digest.ts')>('src/core/digest.ts');
  const refs = await load<typeof import('../../src/core/references.ts')>('src/core/references.ts');
  const ann = await load<typeof import('../../src/core/annotations.ts')>('src/core/annotations.ts');
  const key = digest.digestKey(BENCH_DIGEST_KEY);
  return (spec, annotations, lookup) => {
    const optIn = ann.parseOptIn(annotations);
    if (optIn.kind !== 'in') throw new Error('not opted in');
    const consumed = refs.consumedSources(spec, optIn, new Set(['ConfigMap', 'Secret']));
    return digest.workloadDigest(consumed, (kind, name) => {
      const data = lookup(kind, name);
      return data === undefined ? undefined : digest.sourceContent(kind, { data }, key);
    }, key);
  };
}

export interface PairSpec {
  /** Deployment name. */
  app: string;
  /** ConfigMaps it consumes (created here unless listed in `existing`). */
  configMaps: string[];
  /** Secrets it consumes (created here, `bytes` of random data each). */
  secrets?: string[];
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
  /** More annotations on every opted-in Deployment: the peers' opt-ins (--peer), so every system sees the same objects. */
  extraAnnotations?: Data;
}

/** Creates every ConfigMap and Secret then its Deployment, pair by pair, `concurrency` pairs at a time. */
export async function createPairs(opts: CreateOptions): Promise<void> {
  let done = 0;
  await pool(opts.pairs, opts.concurrency, async (pair) => {
    const datas = new Map<string, Data>();
    for (const cm of pair.configMaps) {
      const known = opts.existing?.get(cm);
      if (known) {
        datas.set(`ConfigMap/${cm}`, known);
        continue;
      }
      const data = { [DATA_KEY]: payload(opts.bytes) };
      datas.set(`ConfigMap/${cm}`, data);
      await opts.kube.requestRetry('POST', `/api/v1/namespaces/${NS}/configmaps`, configMap(cm, data));
    }
    for (const name of pair.secrets ?? []) {
      const data = { [DATA_KEY]: secretPayload(opts.bytes) };
      datas.set(`Secret/${name}`, data);
      await opts.kube.requestRetry('POST', `/api/v1/namespaces/${NS}/secrets`, secret(name, data));
    }
    const spec = podSpec(pair.configMaps, pair.secrets);
    const optIn = pair.optIn !== false;
    const annotations: Data = optIn ? { [ENABLED]: 'true', ...opts.extraAnnotations } : {};
    if (optIn && opts.digester) annotations[HASH] = opts.digester(spec, annotations, (kind, name) => datas.get(`${kind}/${name}`));
    await opts.kube.requestRetry('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, deployment(pair.app, spec, annotations));
    if (++done % 500 === 0) opts.progress?.(done);
  });
}

/** A change of the ConfigMap's content (merge patch of its one key); resolves when acknowledged. */
export async function changeConfigMap(kube: Kube, name: string, bytes: number): Promise<{ sent: number; acked: number }> {
  return changeSource(kube, { kind: 'ConfigMap', name }, bytes);
}

/** A change of a ConfigMap's or Secret's content (merge patch of its one key); resolves when acknowledged. */
export async function changeSource(kube: Kube, source: Source, bytes: number): Promise<{ sent: number; acked: number }> {
  const value = source.kind === 'Secret' ? secretPayload(bytes) : payload(bytes);
  const body = JSON.stringify({ data: { [DATA_KEY]: value } });
  const collection = source.kind === 'Secret' ? 'secrets' : 'configmaps';
  const sent = performance.now();
  const res = await kube.requestRetry('PATCH', `/api/v1/namespaces/${NS}/${collection}/${source.name}`, body, 'application/merge-patch+json');
  return { sent, acked: res.at };
}
