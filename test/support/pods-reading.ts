// What the pods oracle (./pods-oracle.ts) reads off raw objects, written from the rules as the
// README and docs/ state them and sharing no code with src/: which config objects a workload opts in to
// and reads (per key), whether a config object is ignored, and the "view" of a configuration
// that a workload's pods read — the values of the keys they consume, absence being a value.

export type Data = Readonly<Record<string, string>>;

/** One config object as the oracle keeps it: its data (binaryData folded in) and its ignore switch. */
export interface ConfigState {
  data: Data;
  ignored: boolean;
}

/** Every config object at one resourceVersion, by id (`<namespace>/<Kind>/<name>`). */
export type Snapshot = ReadonlyMap<string, ConfigState>;

/** A config object a workload reads, merged over every place that names it. */
export interface Read {
  /** `<namespace>/<Kind>/<name>`. */
  id: string;
  plural: 'configmaps' | 'secrets';
  /** null: every key (a volume without items, envFrom, an annotation naming it). */
  keys: readonly string[] | null;
  /** Pods start without it: every reference to it is optional (annotations always are). */
  optional: boolean;
}

export interface OptIn {
  in: boolean;
  /** What the workload reads, given how it opted in; empty when it did not. */
  reads: Read[];
}

const PREFIX = 'config-reload.dev/';
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function configId(namespace: string, plural: string, name: string): string {
  return `${namespace}/${plural === 'secrets' ? 'Secret' : 'ConfigMap'}/${name}`;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined);
const arr = (v: unknown): Json[] => (Array.isArray(v) ? v.map(obj).filter((x): x is Json => x !== undefined) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** `true`/`false`, trimmed and case-insensitive; anything else is malformed (undefined). */
function bool(raw: string): boolean | undefined {
  const v = raw.trim().toLowerCase();
  return v === 'true' ? true : v === 'false' ? false : undefined;
}

/** The ignore switch: "true" ignores; a malformed value ignores too (docs/annotations.md: guessing "false" could roll everything). */
export function isIgnored(annotations: Record<string, string> | undefined): boolean {
  const raw = annotations?.[`${PREFIX}ignore`];
  return raw !== undefined && bool(raw) !== false;
}

export function configState(object: Json): ConfigState {
  const data = { ...(obj(object['binaryData']) as Data | undefined), ...(obj(object['data']) as Data | undefined) };
  const meta = obj(object['metadata']) as { annotations?: Record<string, string> } | undefined;
  return { data, ignored: isIgnored(meta?.annotations) };
}

/**
 * The opt-in and what it makes the workload read: enabled=true reads the pod template's
 * references plus the named objects; the configmaps/secrets annotations alone (or next to
 * enabled=false) read only the named objects; a malformed value opts nothing in.
 */
export function optInOf(object: Json): OptIn {
  const meta = obj(object['metadata']) ?? {};
  const annotations = (obj(meta['annotations']) ?? {}) as Record<string, string>;
  const namespace = str(meta['namespace']) ?? '';
  const out: OptIn = { in: false, reads: [] };
  const enabledRaw = annotations[`${PREFIX}enabled`];
  const enabled = enabledRaw === undefined ? false : bool(enabledRaw);
  if (enabled === undefined) return out;
  const named: Read[] = [];
  for (const plural of ['configmaps', 'secrets'] as const) {
    const raw = annotations[`${PREFIX}${plural}`];
    if (raw === undefined) continue;
    const names = raw.split(',').map((n) => n.trim()).filter((n) => n !== '');
    if (names.some((n) => !NAME.test(n))) return out;
    for (const n of names) named.push({ id: configId(namespace, plural, n), plural, keys: null, optional: true });
  }
  if (!enabled && named.length === 0) return out;
  const spec = obj(obj(obj(object['spec'])?.['template'])?.['spec']);
  return { in: true, reads: merge([...(enabled && spec ? templateReads(namespace, spec) : []), ...named]) };
}

/** Every reference shape of a pod spec: volumes (items select keys), projected sources, envFrom, env key refs. */
function templateReads(namespace: string, spec: Json): Read[] {
  const found: Read[] = [];
  const add = (plural: 'configmaps' | 'secrets', source: Json | undefined, nameField: string, keys: string[] | null) => {
    const name = str(source?.[nameField]);
    if (source && name) found.push({ id: configId(namespace, plural, name), plural, keys, optional: source['optional'] === true });
  };
  const items = (source: Json | undefined) => {
    const keys = arr(source?.['items']).flatMap((i) => str(i['key']) ?? []);
    return keys.length > 0 ? keys : null;
  };
  for (const volume of arr(spec['volumes'])) {
    add('configmaps', obj(volume['configMap']), 'name', items(obj(volume['configMap'])));
    add('secrets', obj(volume['secret']), 'secretName', items(obj(volume['secret'])));
    for (const source of arr(obj(volume['projected'])?.['sources'])) {
      add('configmaps', obj(source['configMap']), 'name', items(obj(source['configMap'])));
      add('secrets', obj(source['secret']), 'name', items(obj(source['secret'])));
    }
  }
  for (const container of [...arr(spec['initContainers']), ...arr(spec['containers'])]) {
    for (const from of arr(container['envFrom'])) {
      add('configmaps', obj(from['configMapRef']), 'name', null);
      add('secrets', obj(from['secretRef']), 'name', null);
    }
    for (const env of arr(container['env'])) {
      const valueFrom = obj(env['valueFrom']);
      for (const [plural, field] of [['configmaps', 'configMapKeyRef'], ['secrets', 'secretKeyRef']] as const) {
        const ref = obj(valueFrom?.[field]);
        const key = str(ref?.['key']);
        add(plural, ref, 'name', key === undefined ? null : [key]);
      }
    }
  }
  return found;
}

/** One entry per object: every key any reference reads (null wins), required if any reference is. */
function merge(reads: Read[]): Read[] {
  const byId = new Map<string, Read>();
  for (const r of reads) {
    const seen = byId.get(r.id);
    if (!seen) byId.set(r.id, { ...r });
    else {
      const keys = seen.keys === null || r.keys === null ? null : [...new Set([...seen.keys, ...r.keys])];
      byId.set(r.id, { ...seen, keys, optional: seen.optional && r.optional });
    }
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * What pods started at `snapshot` read through `reads`, over the objects `counted` admits:
 * per object, the keys read and their values (∅: key absent), or that the object is absent.
 */
export function view(reads: readonly Read[], snapshot: Pick<Snapshot, 'get'>, counted: (id: string) => boolean): string {
  return reads.filter((r) => counted(r.id)).map((r) => {
    const state = snapshot.get(r.id);
    if (state === undefined) return `${r.id}=absent`;
    const keys = r.keys === null ? Object.keys(state.data).sort() : [...r.keys].sort();
    return `${r.id}={${keys.map((k) => `${k}:${state.data[k] ?? '∅'}`).join(',')}}`;
  }).join(' ');
}
