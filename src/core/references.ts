// Which ConfigMaps a pod template consumes, and how: the four reference paths (volumes, projected
// volumes, envFrom, env valueFrom) in containers and initContainers (docs/architecture.md, "Rules").
import type { ConsumedConfigMap, OptIn } from './types.ts';

// The pod spec arrives either as a client-node class instance (V1PodSpec) or as plain JSON from
// a watch. Both carry the same field names, so it is read as untyped data and every level is
// checked: a field of the wrong shape is skipped rather than trusted.
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

/** One place in the pod template that names a ConfigMap. keys null: the whole map. */
interface Reference {
  name: string;
  optional: boolean;
  keys: string[] | null;
}

function reference(source: Data | undefined, keys: string[] | null): Reference | undefined {
  const name = nonEmptyString(source?.['name']);
  if (name === undefined) return undefined;
  return { name, optional: source?.['optional'] === true, keys };
}

/** volumes[].configMap and projected sources[].configMap: `items` selects keys, none means all. */
function mountedReference(source: Data | undefined): Reference | undefined {
  if (source === undefined) return undefined;
  const keys = records(source['items']).flatMap((item) => nonEmptyString(item['key']) ?? []);
  // The kubelet projects every key when `items` is absent or empty.
  return reference(source, keys.length > 0 ? keys : null);
}

function volumeReferences(podSpec: Data): Reference[] {
  const found: Reference[] = [];
  for (const volume of records(podSpec['volumes'])) {
    const direct = mountedReference(record(volume['configMap']));
    if (direct) found.push(direct);
    for (const source of records(record(volume['projected'])?.['sources'])) {
      const projected = mountedReference(record(source['configMap']));
      if (projected) found.push(projected);
    }
  }
  return found;
}

function containerReferences(container: Data): Reference[] {
  const found: Reference[] = [];
  for (const envFrom of records(container['envFrom'])) {
    const whole = reference(record(envFrom['configMapRef']), null);
    if (whole) found.push(whole);
  }
  for (const env of records(container['env'])) {
    const selector = record(record(env['valueFrom'])?.['configMapKeyRef']);
    const key = nonEmptyString(selector?.['key']);
    // The apiserver requires `key`; should one ever be missing, reading the whole map can only
    // cause an unneeded roll, never a missed one.
    const selected = reference(selector, key === undefined ? null : [key]);
    if (selected) found.push(selected);
  }
  return found;
}

function podSpecReferences(podSpec: Data): Reference[] {
  // ephemeralContainers are left out on purpose: they are never restarted by a rollout.
  const containers = [...records(podSpec['initContainers']), ...records(podSpec['containers'])];
  return [...volumeReferences(podSpec), ...containers.flatMap(containerReferences)];
}

function merge(references: readonly Reference[]): ConsumedConfigMap[] {
  const byName = new Map<string, { optional: boolean; keys: Set<string> | null }>();
  for (const ref of references) {
    const seen = byName.get(ref.name);
    if (seen === undefined) {
      byName.set(ref.name, { optional: ref.optional, keys: ref.keys === null ? null : new Set(ref.keys) });
      continue;
    }
    // One required reference is enough for the pods to need the ConfigMap to start.
    seen.optional &&= ref.optional;
    if (ref.keys === null) seen.keys = null;
    else if (seen.keys !== null) for (const key of ref.keys) seen.keys.add(key);
  }
  return [...byName]
    .map(([name, { optional, keys }]) => ({ name, optional, keys: keys === null ? null : [...keys].sort() }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The ConfigMaps a workload consumes, one entry per name, sorted by name. `podSpec` is the
 * workload's `spec.template.spec`.
 */
export function consumedConfigMaps(podSpec: unknown, optIn: OptIn & { kind: 'in' }): ConsumedConfigMap[] {
  const spec = record(podSpec);
  const referenced = optIn.referenced && spec !== undefined ? podSpecReferences(spec) : [];
  // Named by annotation: the app reads them through the API, so their absence is a state it
  // handles and never keeps a pod from starting.
  const named = optIn.extraConfigMaps.map((name): Reference => ({ name, optional: true, keys: null }));
  return merge([...referenced, ...named]);
}
