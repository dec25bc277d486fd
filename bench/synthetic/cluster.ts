// A cluster of any size without an apiserver: the three calls the controller makes (list page,
// watch, merge patch: src/kube/cluster-api.ts) answered from objects generated on demand from
// shapes recorded on the test control plane (./shapes/*.json: `kubectl apply` then `get -o json
// --show-managed-fields`, so last-applied annotations and managedFields are there). Nothing is
// kept per object except what a write changed, so the process's heap is the operator's.
//
// Layout: units of 10 objects — one Deployment, six ConfigMaps, three Secrets — 50 units per
// namespace. The Deployment reads ConfigMap 0 (envFrom and a volume item) and one key of
// Secret 0; the other seven are read by nothing, as most of a real cluster's are.
import { readFileSync } from 'node:fs';
import type {
  ClusterApi, KubeObject, ListPage, ListRequest, MergePatchRequest, ResourceType, WatchEvent, WatchRequest, WatchStream,
} from '../../src/kube/cluster-api.ts';
import { ApiError } from '../../src/kube/api-error.ts';

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> };
type Plural = 'deployments' | 'configmaps' | 'secrets';

export const PER_UNIT: Readonly<Record<Plural, number>> = { deployments: 1, configmaps: 6, secrets: 3 };
export const UNIT_OBJECTS = 10;
const UNITS_PER_NAMESPACE = 50;

/** The recorded shape as text, its names replaced by placeholders, its volatile fields dropped. */
function shape(file: string): string {
  const obj = JSON.parse(readFileSync(new URL(`./shapes/${file}.json`, import.meta.url), 'utf8')) as Obj;
  for (const k of ['uid', 'resourceVersion', 'name', 'namespace']) delete obj.metadata[k];
  return JSON.stringify(obj).replaceAll('"web-config"', '"@CM@"').replaceAll('"web-credentials"', '"@SECRET@"');
}

const SHAPES: Readonly<Record<Plural, string>> = {
  deployments: shape('deployment'), configmaps: shape('configmap'), secrets: shape('secret'),
};

/** What a write changed on one object: all the source keeps. */
interface Written {
  resourceVersion: string;
  generation: number;
  /** JSON of metadata.annotations and spec.template.metadata.annotations as written. */
  annotations: string;
  templateAnnotations: string;
  /** Config objects: how many times their data changed. */
  version: number;
}

interface Watcher {
  plural: string;
  namespace: string | undefined;
  onEvent: (event: WatchEvent<KubeObject>) => void;
  end: () => void;
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete base[k];
    else base[k] = mergePatch(base[k], v);
  }
  return base;
}

export class SyntheticCluster implements ClusterApi {
  readonly units: number;
  #rv: number;
  readonly #written = new Map<string, Written>();
  readonly #watchers = new Set<Watcher>();
  /** Per resource, the version of its last event: a watch from there has missed nothing. */
  readonly #lastEventRv = new Map<string, number>();
  /** Merge patches answered, and how many of them changed a pod template (a roll). */
  readonly patches = { total: 0, rolls: 0, conflicts: 0 };

  constructor(objects: number) {
    this.units = Math.max(1, Math.ceil(objects / UNIT_OBJECTS));
    this.#rv = 10 + this.units * UNIT_OBJECTS;
  }

  count(plural: Plural): number {
    return this.units * PER_UNIT[plural];
  }

  /** Object `j` of `plural`, as the apiserver would send it now. */
  object(plural: Plural, j: number): Obj {
    const unit = Math.floor(j / PER_UNIT[plural]);
    const slot = j % PER_UNIT[plural];
    const namespace = `ns-${Math.floor(unit / UNITS_PER_NAMESPACE)}`;
    const name = plural === 'deployments' ? `web-${unit}` : plural === 'configmaps' ? `web-${unit}-config-${slot}` : `web-${unit}-creds-${slot}`;
    const text = plural === 'deployments'
      ? SHAPES.deployments.replaceAll('"@CM@"', `"web-${unit}-config-0"`).replaceAll('"@SECRET@"', `"web-${unit}-creds-0"`)
      : SHAPES[plural];
    const obj = JSON.parse(text) as Obj;
    const written = this.#written.get(`${plural}/${j}`);
    const meta = obj.metadata;
    meta['name'] = name;
    meta['namespace'] = namespace;
    meta['uid'] = `00000000-0000-4000-8000-${plural.slice(0, 2)}${String(j).padStart(10, '0')}`;
    meta['resourceVersion'] = written?.resourceVersion ?? String(10 + this.#ordinal(plural, j));
    if (plural === 'configmaps') {
      const data = obj['data'] as Record<string, string>;
      data['LOG_LEVEL'] = `info-${unit}-${slot}-v${written?.version ?? 0}`;
    }
    if (plural === 'secrets') {
      const data = obj['data'] as Record<string, string>;
      data['DATABASE_URL'] = Buffer.from(`postgres://web-${unit}-${slot}-v${written?.version ?? 0}@db:5432/web`).toString('base64');
    }
    if (plural === 'deployments' && written) {
      meta['generation'] = written.generation;
      meta['annotations'] = JSON.parse(written.annotations);
      const template = (obj['spec'] as { template: { metadata: Record<string, unknown> } }).template;
      template.metadata['annotations'] = JSON.parse(written.templateAnnotations);
      (obj['status'] as Record<string, unknown>)['observedGeneration'] = written.generation;
    }
    return obj;
  }

  #ordinal(plural: Plural, j: number): number {
    return plural === 'deployments' ? j : plural === 'configmaps' ? this.count('deployments') + j : this.count('deployments') + this.count('configmaps') + j;
  }

  /** A change to the data of config object `j`: a new version, delivered to the watches. */
  changeData(plural: 'configmaps' | 'secrets', j: number): void {
    const key = `${plural}/${j}`;
    const before = this.#written.get(key);
    this.#written.set(key, { resourceVersion: String(++this.#rv), generation: 1, annotations: '', templateAnnotations: '', version: (before?.version ?? 0) + 1 });
    this.#deliver(plural, this.#rv, j);
  }

  /** Forgets every write: what the source alone held, for the memory reading. */
  forgetWrites(): void {
    this.#written.clear();
  }

  async listPage<T extends KubeObject>(type: ResourceType, req: ListRequest, onItem: (item: T) => void): Promise<ListPage> {
    const plural = type.plural as Plural;
    // As the apiserver does: a page arrives after I/O, never within the caller's turn.
    await new Promise((resolve) => setImmediate(resolve));
    const count = PER_UNIT[plural] === undefined ? 0 : this.count(plural);
    const [from, listRv] = req.continueToken ? req.continueToken.split(':').map(Number) as [number, number] : [0, this.#rv];
    let to = count;
    let start = from;
    if (req.namespace !== undefined && count > 0) {
      const ns = Number(req.namespace.slice(3));
      const per = PER_UNIT[plural] * UNITS_PER_NAMESPACE;
      start = Math.max(from, ns * per);
      to = Math.min(count, (ns + 1) * per);
    }
    const end = Math.min(to, start + req.limit);
    for (let j = start; j < end; j++) onItem(this.object(plural, j) as unknown as T);
    return { resourceVersion: String(listRv), continueToken: end < to ? `${end}:${listRv}` : undefined };
  }

  watch<T extends KubeObject>(type: ResourceType, req: WatchRequest, onEvent: (event: WatchEvent<T>) => void): WatchStream {
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    const watcher: Watcher = {
      plural: type.plural, namespace: req.namespace, onEvent: onEvent as (event: WatchEvent<KubeObject>) => void,
      end: () => {
        this.#watchers.delete(watcher);
        end();
      },
    };
    this.#watchers.add(watcher);
    // No history is kept: a watch from before the last write is told its version is gone.
    if (Number(req.resourceVersion) < (this.#lastEventRv.get(type.plural) ?? 0)) {
      setImmediate(() => {
        watcher.onEvent({ type: 'ERROR', object: { code: 410, message: 'too old resource version' } as KubeObject & { code: number } });
        watcher.end();
      });
    }
    return { ended, abort: () => watcher.end() };
  }

  async mergePatch(type: ResourceType, req: MergePatchRequest): Promise<KubeObject> {
    const plural = type.plural as Plural;
    const j = this.#indexOf(plural, req.namespace, req.name);
    const current = this.object(plural, j);
    const meta = (req.body as { metadata?: { resourceVersion?: string } }).metadata;
    if (meta?.resourceVersion !== undefined && meta.resourceVersion !== current.metadata['resourceVersion']) {
      this.patches.conflicts++;
      throw new ApiError(409, JSON.stringify({ kind: 'Status', message: 'the object has been modified' }), `PATCH ${req.namespace}/${req.name}`);
    }
    const next = mergePatch(current, req.body) as Obj;
    const template = (o: Obj) => JSON.stringify((o['spec'] as { template: unknown }).template);
    const rolled = template(next) !== template(current);
    this.patches.total++;
    if (rolled) this.patches.rolls++;
    const generation = Number(current.metadata['generation'] ?? 1) + (rolled ? 1 : 0);
    const annotationsOf = (o: Obj) => JSON.stringify((o['spec'] as { template: { metadata: { annotations?: unknown } } }).template.metadata.annotations ?? {});
    this.#written.set(`${plural}/${j}`, {
      resourceVersion: String(++this.#rv), generation, version: 0,
      annotations: JSON.stringify(next.metadata['annotations'] ?? {}), templateAnnotations: annotationsOf(next),
    });
    this.#deliver(plural, this.#rv, j);
    return this.object(plural, j);
  }

  #indexOf(plural: Plural, namespace: string, name: string): number {
    const unit = Number(name.split('-')[1]);
    if (`ns-${Math.floor(unit / UNITS_PER_NAMESPACE)}` !== namespace) throw new Error(`synthetic: no ${plural} ${namespace}/${name}`);
    return unit * PER_UNIT[plural] + (plural === 'deployments' ? 0 : Number(name.split('-')[3]));
  }

  /** The event of write `rv` to object `j`, after I/O as a watch delivers it. */
  #deliver(plural: Plural, rv: number, j: number): void {
    this.#lastEventRv.set(plural, rv);
    const object = this.object(plural, j);
    const namespace = object.metadata['namespace'];
    setImmediate(() => {
      for (const w of this.#watchers) {
        if (w.plural === plural && (w.namespace === undefined || w.namespace === namespace)) w.onEvent({ type: 'MODIFIED', object });
      }
    });
  }
}
