// Which config objects a pod template consumes, and how: for ConfigMaps and Secrets alike, a
// volume (with `items` selecting keys), a projected volume source, `envFrom` and
// `env[].valueFrom` key references, in containers and initContainers
// (docs/architecture.md, "Rules"). `imagePullSecrets` do not count: a pull secret is read when
// an image is pulled, and changing it needs no restart.
import { CONFIGMAPS_ANNOTATION, SECRETS_ANNOTATION } from './annotations.ts';
import { followsReference } from './peer-annotations.ts';
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

/**
 * One place that names a config object (keys null: the whole object), and where: `via` says it
 * for a person (`volume "cfg"`, `env LEVEL (container app)`); the decisions never read it.
 */
export interface Reference extends ConsumedSource {
  via: string;
}

function reference(kind: SourceKind, name: string | undefined, source: Data | undefined, keys: string[] | null, via: string): Reference | undefined {
  if (name === undefined) return undefined;
  return { kind, name, optional: source?.['optional'] === true, keys, via };
}

/** A mounted source: `items` selects keys, none (or empty) means every key, as the kubelet does. */
function mounted(kind: SourceKind, source: Data | undefined, nameField: 'name' | 'secretName', via: string): Reference | undefined {
  if (source === undefined) return undefined;
  const keys = records(source['items']).flatMap((item) => nonEmptyString(item['key']) ?? []);
  return reference(kind, nonEmptyString(source[nameField]), source, keys.length > 0 ? keys : null, via);
}

function volumeReferences(podSpec: Data): Reference[] {
  const found: Reference[] = [];
  const push = (ref: Reference | undefined) => ref && found.push(ref);
  for (const volume of records(podSpec['volumes'])) {
    const via = `volume ${JSON.stringify(nonEmptyString(volume['name']) ?? '')}`;
    push(mounted('ConfigMap', record(volume['configMap']), 'name', via));
    // A secret volume names its Secret in `secretName`; a projected source in `name`.
    push(mounted('Secret', record(volume['secret']), 'secretName', via));
    for (const source of records(record(volume['projected'])?.['sources'])) {
      push(mounted('ConfigMap', record(source['configMap']), 'name', `projected ${via}`));
      push(mounted('Secret', record(source['secret']), 'name', `projected ${via}`));
    }
  }
  return found;
}

function keyReference(kind: SourceKind, selector: Data | undefined, via: string): Reference | undefined {
  if (selector === undefined) return undefined;
  const key = nonEmptyString(selector['key']);
  // The apiserver requires `key`; should one ever be missing, reading the whole object can only
  // cause an unneeded roll, never a missed one.
  return reference(kind, nonEmptyString(selector['name']), selector, key === undefined ? null : [key], via);
}

function containerReferences(container: Data, role: 'container' | 'initContainer'): Reference[] {
  const found: Reference[] = [];
  const push = (ref: Reference | undefined) => ref && found.push(ref);
  const of = `(${role} ${nonEmptyString(container['name']) ?? '?'})`;
  for (const envFrom of records(container['envFrom'])) {
    const configMap = record(envFrom['configMapRef']);
    push(reference('ConfigMap', nonEmptyString(configMap?.['name']), configMap, null, `envFrom ${of}`));
    const secret = record(envFrom['secretRef']);
    push(reference('Secret', nonEmptyString(secret?.['name']), secret, null, `envFrom ${of}`));
  }
  for (const env of records(container['env'])) {
    const valueFrom = record(env['valueFrom']);
    const via = `env ${nonEmptyString(env['name']) ?? '?'} ${of}`;
    push(keyReference('ConfigMap', record(valueFrom?.['configMapKeyRef']), via));
    push(keyReference('Secret', record(valueFrom?.['secretKeyRef']), via));
  }
  return found;
}

function podSpecReferences(podSpec: Data): Reference[] {
  // ephemeralContainers are left out on purpose: they are never restarted by a rollout.
  return [
    ...volumeReferences(podSpec),
    ...records(podSpec['initContainers']).flatMap((c) => containerReferences(c, 'initContainer')),
    ...records(podSpec['containers']).flatMap((c) => containerReferences(c, 'container')),
  ];
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
 * Every place that names a config object the workload consumes, unmerged, in the order of the
 * pod spec (volumes, initContainers, containers), then the annotations. `explain` shows them;
 * consumedSources merges them.
 */
export function referencesOf(podSpec: unknown, optIn: OptIn & { kind: 'in' }, kinds: ReadonlySet<SourceKind>): Reference[] {
  const spec = record(podSpec);
  // A peer's opt-in (--accept-annotations) may follow one kind only, or leave names out.
  const referenced = optIn.referenced && spec !== undefined ? podSpecReferences(spec).filter((ref) => followsReference(optIn, ref.kind, ref.name)) : [];
  // Named by annotation: the app reads them through the API, so their absence is a state it
  // handles and never keeps a pod from starting.
  const peer = optIn.peer === undefined ? undefined : `${optIn.peer.from.join(' and ')} annotations`;
  const named = [
    ...optIn.extraConfigMaps.map((name): Reference => ({ kind: 'ConfigMap', name, optional: true, keys: null, via: peer ?? `annotation ${CONFIGMAPS_ANNOTATION}` })),
    ...optIn.extraSecrets.map((name): Reference => ({ kind: 'Secret', name, optional: true, keys: null, via: peer ?? `annotation ${SECRETS_ANNOTATION}` })),
  ];
  return [...referenced, ...named].filter((ref) => kinds.has(ref.kind));
}

/**
 * The config objects a workload consumes, one entry per kind and name, sorted by kind then
 * name. `podSpec` is the workload's `spec.template.spec`; `kinds` are the kinds the operator
 * watches (a ConfigMaps-only install ignores Secret references).
 */
export function consumedSources(podSpec: unknown, optIn: OptIn & { kind: 'in' }, kinds: ReadonlySet<SourceKind>): ConsumedSource[] {
  return merge(referencesOf(podSpec, optIn, kinds));
}
