// Which config objects a pod template consumes, and how: for ConfigMaps and Secrets alike, a
// volume (with `items` selecting keys), a projected volume source, `envFrom` and
// `env[].valueFrom` key references, in containers and initContainers
// (docs/architecture.md, "Rules"). `imagePullSecrets` do not count: a pull secret is read when
// an image is pulled, and changing it needs no restart.
import type { ConsumedSource, OptIn, SourceKind } from './types.ts';

// The pod spec arrives as plain JSON from the API. It is read as untyped data and every level
// is checked: a field of the wrong shape is skipped rather than trusted.
type Data = Record<string, unknown>;

function record(value: unknown): Data | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Data) : undefined;
}

function records(value: unknown): Data[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item: unknown): Data[] => {
    const found = record(item);
    return found === undefined ? [] : [found];
  });
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** One place in the pod template that names a config object. keys null: the whole object. */
type Reference = ConsumedSource;

function reference(kind: SourceKind, name: string | undefined, source: Data | undefined, keys: string[] | null): Reference | undefined {
  if (name === undefined) return undefined;
  return { kind, name, optional: source?.['optional'] === true, keys };
}

/** A mounted source: `items` selects keys, none (or empty) means every key, as the kubelet does. */
function mounted(kind: SourceKind, source: Data | undefined, nameField: 'name' | 'secretName'): Reference | undefined {
  if (source === undefined) return undefined;
  const keys = records(source['items']).flatMap((item) => nonEmptyString(item['key']) ?? []);
  return reference(kind, nonEmptyString(source[nameField]), source, keys.length > 0 ? keys : null);
}

function volumeReferences(podSpec: Data): Reference[] {
  const found: Reference[] = [];
  const push = (ref: Reference | undefined) => ref && found.push(ref);
  for (const volume of records(podSpec['volumes'])) {
    push(mounted('ConfigMap', record(volume['configMap']), 'name'));
    // A secret volume names its Secret in `secretName`; a projected source in `name`.
    push(mounted('Secret', record(volume['secret']), 'secretName'));
    for (const source of records(record(volume['projected'])?.['sources'])) {
      push(mounted('ConfigMap', record(source['configMap']), 'name'));
      push(mounted('Secret', record(source['secret']), 'name'));
    }
  }
  return found;
}

function keyReference(kind: SourceKind, selector: Data | undefined): Reference | undefined {
  if (selector === undefined) return undefined;
  const key = nonEmptyString(selector['key']);
  // The apiserver requires `key`; should one ever be missing, reading the whole object can only
  // cause an unneeded roll, never a missed one.
  return reference(kind, nonEmptyString(selector['name']), selector, key === undefined ? null : [key]);
}

function containerReferences(container: Data): Reference[] {
  const found: Reference[] = [];
  const push = (ref: Reference | undefined) => ref && found.push(ref);
  for (const envFrom of records(container['envFrom'])) {
    const configMap = record(envFrom['configMapRef']);
    push(reference('ConfigMap', nonEmptyString(configMap?.['name']), configMap, null));
    const secret = record(envFrom['secretRef']);
    push(reference('Secret', nonEmptyString(secret?.['name']), secret, null));
  }
  for (const env of records(container['env'])) {
    const valueFrom = record(env['valueFrom']);
    push(keyReference('ConfigMap', record(valueFrom?.['configMapKeyRef'])));
    push(keyReference('Secret', record(valueFrom?.['secretKeyRef'])));
  }
  return found;
}

function podSpecReferences(podSpec: Data): Reference[] {
  // ephemeralContainers are left out on purpose: they are never restarted by a rollout.
  const containers = [...records(podSpec['initContainers']), ...records(podSpec['containers'])];
  return [...volumeReferences(podSpec), ...containers.flatMap(containerReferences)];
}

function byKindAndName(a: { kind: string; name: string }, b: { kind: string; name: string }): number {
  const x = `${a.kind}/${a.name}`;
  const y = `${b.kind}/${b.name}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

function merge(references: readonly Reference[]): ConsumedSource[] {
  const byId = new Map<string, { kind: SourceKind; name: string; optional: boolean; keys: Set<string> | null }>();
  for (const ref of references) {
    const id = `${ref.kind}/${ref.name}`;
    const seen = byId.get(id);
    if (seen === undefined) {
      byId.set(id, { kind: ref.kind, name: ref.name, optional: ref.optional, keys: ref.keys === null ? null : new Set(ref.keys) });
      continue;
    }
    // One required reference is enough for the pods to need the object to start.
    seen.optional &&= ref.optional;
    if (ref.keys === null) seen.keys = null;
    else if (seen.keys !== null) for (const key of ref.keys) seen.keys.add(key);
  }
  return [...byId.values()]
    .map(({ kind, name, optional, keys }) => ({ kind, name, optional, keys: keys === null ? null : [...keys].sort() }))
    .sort(byKindAndName);
}

/**
 * The config objects a workload consumes, one entry per kind and name, sorted by kind then
 * name. `podSpec` is the workload's `spec.template.spec`; `kinds` are the kinds the operator
 * watches (a ConfigMaps-only install ignores Secret references).
 */
export function consumedSources(podSpec: unknown, optIn: OptIn & { kind: 'in' }, kinds: ReadonlySet<SourceKind>): ConsumedSource[] {
  const spec = record(podSpec);
  const referenced = optIn.referenced && spec !== undefined ? podSpecReferences(spec) : [];
  // Named by annotation: the app reads them through the API, so their absence is a state it
  // handles and never keeps a pod from starting.
  const named = [
    ...optIn.extraConfigMaps.map((name): Reference => ({ kind: 'ConfigMap', name, optional: true, keys: null })),
    ...optIn.extraSecrets.map((name): Reference => ({ kind: 'Secret', name, optional: true, keys: null })),
  ];
  return merge([...referenced, ...named].filter((ref) => kinds.has(ref.kind)));
}
