// The opt-in annotations of Stakater Reloader (v1.4) and Wave (v0.11), honoured with
// --accept-annotations so that a cluster switches over without editing its workloads
// (docs/migrating.md). Each is mapped onto this operator's own opt-in (src/core/annotations.ts);
// the operator's own annotations win: a workload that carries any of them is read by them alone.
// What cannot be mapped exactly is said, one sentence each, in the workload's log line and Event.
import {
  CONFIGMAPS_ANNOTATION, ENABLED_ANNOTATION, IGNORE_ANNOTATION, isObjectName, parseIgnore, parseOptIn, quoteValue, SECRETS_ANNOTATION,
} from './annotations.ts';
import { withHold } from './hold.ts';
import type { OptIn, PeerOptIn, SourceKind } from './types.ts';

export type Peer = 'reloader' | 'wave';
/** The peers whose annotations are honoured (--accept-annotations); empty: none. */
export type AcceptedPeers = ReadonlySet<Peer>;
export const NO_PEERS: AcceptedPeers = new Set();

const RELOADER = 'reloader.stakater.com';
export const RELOADER_AUTO = `${RELOADER}/auto`;
export const RELOADER_SEARCH = `${RELOADER}/search`;
/** On a ConfigMap or Secret: found by workloads annotated reloader.stakater.com/search. */
export const RELOADER_MATCH = `${RELOADER}/match`;
/** On a ConfigMap or Secret: its changes reload nothing. */
export const RELOADER_IGNORE = `${RELOADER}/ignore`;
/** Reloader's marker in the pod template (--reload-strategy=annotations): read by nobody here. */
export const RELOADER_LAST_RELOADED_FROM = `${RELOADER}/last-reloaded-from`;
const TYPED: Record<SourceKind, { auto: string; reload: string; exclude: string }> = {
  ConfigMap: { auto: `configmap.${RELOADER}/auto`, reload: `configmap.${RELOADER}/reload`, exclude: `configmaps.exclude.${RELOADER}/reload` },
  Secret: { auto: `secret.${RELOADER}/auto`, reload: `secret.${RELOADER}/reload`, exclude: `secrets.exclude.${RELOADER}/reload` },
};
/** Reloader annotations on a workload that have no counterpart here: said, not silently dropped. */
const RELOADER_UNSUPPORTED = [
  `deployment.${RELOADER}/pause-period`,
  `secretproviderclass.${RELOADER}/reload`,
  `secretproviderclass.${RELOADER}/auto`,
  `secretproviderclasses.exclude.${RELOADER}/reload`,
];

export const WAVE_OPT_IN = 'wave.pusher.com/update-on-config-change';
const WAVE_EXTRA: Record<SourceKind, string> = { ConfigMap: 'wave.pusher.com/extra-configmaps', Secret: 'wave.pusher.com/extra-secrets' };
/** Wave's marker in the pod template: read by nobody here. */
export const WAVE_CONFIG_HASH = 'wave.pusher.com/config-hash';

const KINDS: readonly SourceKind[] = ['ConfigMap', 'Secret'];
type Annotations = Record<string, string> | undefined;
type Follow = PeerOptIn['follow'][SourceKind];
const RANK: Record<Follow, number> = { none: 0, matched: 1, all: 2 };

/** Go's strconv.ParseBool, which Reloader reads its switches with; undefined: not a boolean. */
function goBool(raw: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false;
  return undefined;
}

interface Reading {
  follow: Record<SourceKind, Follow>;
  named: Record<SourceKind, string[]>;
  excluded: Record<SourceKind, string[]>;
  notes: string[];
  /** A switch was set to something that is no boolean: nothing else opting in, the workload is malformed. */
  malformed?: { annotation: string; value: string; reason: string };
}

function empty(): Reading {
  return { follow: { ConfigMap: 'none', Secret: 'none' }, named: { ConfigMap: [], Secret: [] }, excluded: { ConfigMap: [], Secret: [] }, notes: [] };
}

function badSwitch(r: Reading, annotation: string, value: string, expected: string): void {
  const reason = `expected ${expected}`;
  r.malformed ??= { annotation, value, reason };
  r.notes.push(`annotation ${annotation}=${quoteValue(value)} is not ${expected}: read as "false", as the peer does`);
}

/** Reloader's names: a comma list of anchored regular expressions. A plain object name is honoured; a pattern is not. */
function reloaderNames(r: Reading, annotation: string, raw: string): string[] {
  const names: string[] = [];
  for (const item of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    if (isObjectName(item)) names.push(item);
    else r.notes.push(`annotation ${annotation}: ${quoteValue(item)} is a pattern or not an object name; only plain names are honoured, it is skipped`);
  }
  return names;
}

/**
 * Reloader (pkg/common ShouldReload): per kind of object, the workload's metadata annotations
 * are read when they hold any that concern that kind; else those of its pod template.
 */
function readReloader(meta: Annotations, template: Annotations): Reading {
  const r = empty();
  for (const kind of KINDS) {
    const t = TYPED[kind];
    const concerns = (a: Annotations) => a !== undefined && [t.reload, RELOADER_AUTO, t.auto, RELOADER_SEARCH].some((k) => a[k] !== undefined);
    const from = concerns(meta) ? meta : concerns(template) ? template : undefined;
    // Exclusions are read from the metadata only, as Reloader does.
    const exclude = meta?.[t.exclude];
    if (exclude !== undefined) r.excluded[kind] = [...new Set(exclude.split(',').map((s) => s.trim()).filter((s) => s !== ''))].sort();
    if (from === undefined) continue;
    const where = from === meta ? '' : ' (pod template)';
    const reload = from[t.reload];
    if (reload !== undefined) r.named[kind] = reloaderNames(r, t.reload + where, reload);
    let all = false;
    for (const key of [RELOADER_AUTO, t.auto]) {
      const raw = from[key];
      if (raw === undefined || raw === '') continue;
      const on = goBool(raw);
      if (on === undefined) badSwitch(r, key + where, raw, '"true" or "false"');
      all ||= on === true;
    }
    // search is compared with "true" exactly, as Reloader does.
    r.follow[kind] = all ? 'all' : from[RELOADER_SEARCH] === 'true' ? 'matched' : 'none';
  }
  for (const key of RELOADER_UNSUPPORTED) {
    if (meta?.[key] !== undefined) r.notes.push(`annotation ${key} has no counterpart here and is not honoured`);
  }
  return r;
}

/** Wave (pkg/core): the metadata annotation, exactly "true", follows every reference; its extras name more objects. */
function readWave(meta: Annotations, namespace: string): Reading {
  const r = empty();
  const raw = meta?.[WAVE_OPT_IN];
  if (raw === undefined || raw === 'false') return r;
  if (raw !== 'true') {
    badSwitch(r, WAVE_OPT_IN, raw, '"true"');
    return r;
  }
  r.follow = { ConfigMap: 'all', Secret: 'all' };
  for (const kind of KINDS) {
    const extra = meta?.[WAVE_EXTRA[kind]];
    if (extra === undefined) continue;
    for (const item of extra.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      const [ns, name] = item.includes('/') ? item.split('/', 2) as [string, string] : [namespace, item];
      if (ns === namespace && isObjectName(name)) r.named[kind].push(name);
      else r.notes.push(`annotation ${WAVE_EXTRA[kind]}: ${quoteValue(item)} is ${ns === namespace ? 'not an object name' : 'in another namespace'}; skipped`);
    }
  }
  return r;
}

function merge(readings: Reading[]): Reading {
  const r = empty();
  for (const x of readings) {
    for (const kind of KINDS) {
      if (RANK[x.follow[kind]] > RANK[r.follow[kind]]) r.follow[kind] = x.follow[kind];
      r.named[kind] = [...new Set([...r.named[kind], ...x.named[kind]])].sort();
      r.excluded[kind] = [...new Set([...r.excluded[kind], ...x.excluded[kind]])].sort();
    }
    r.notes.push(...x.notes);
    r.malformed ??= x.malformed;
  }
  return r;
}

/**
 * A workload's opt-in: its own annotations (src/core/annotations.ts) when it carries any, else
 * the accepted peers' annotations (metadata, and for Reloader its pod template), mapped.
 */
export function readOptIn(meta: Annotations, template: Annotations, accept: AcceptedPeers = NO_PEERS, namespace = ''): OptIn {
  // The pause, window and debounce annotations apply however the workload opted in.
  return withHold(readOptInOnly(meta, template, accept, namespace), meta);
}

function readOptInOnly(meta: Annotations, template: Annotations, accept: AcceptedPeers, namespace: string): OptIn {
  const own = [ENABLED_ANNOTATION, CONFIGMAPS_ANNOTATION, SECRETS_ANNOTATION].some((k) => meta?.[k] !== undefined);
  if (own || accept.size === 0) return parseOptIn(meta);
  const from: Peer[] = [];
  const readings: Reading[] = [];
  for (const peer of ['reloader', 'wave'] as const) {
    if (!accept.has(peer)) continue;
    const reading = peer === 'reloader' ? readReloader(meta, template) : readWave(meta, namespace);
    readings.push(reading);
    if (KINDS.some((k) => reading.follow[k] !== 'none' || reading.named[k].length > 0)) from.push(peer);
  }
  const r = merge(readings);
  const named = (kind: SourceKind) => r.named[kind].filter((n) => !r.excluded[kind].includes(n));
  if (from.length === 0) {
    return r.malformed ? { kind: 'malformed', ...r.malformed } : { kind: 'out' };
  }
  const peer: PeerOptIn = { from, follow: r.follow, excluded: r.excluded, named: r.named, notes: r.notes };
  return {
    kind: 'in', referenced: KINDS.some((k) => r.follow[k] !== 'none'), extraConfigMaps: named('ConfigMap'), extraSecrets: named('Secret'), peer,
  };
}

/** Whether a reference the pod spec makes is followed under a peer's opt-in (by kind, not excluded). */
export function followsReference(optIn: OptIn & { kind: 'in' }, kind: SourceKind, name: string): boolean {
  const peer = optIn.peer;
  return peer === undefined || (peer.follow[kind] !== 'none' && !peer.excluded[kind].includes(name));
}

/**
 * Reloader's search: a referenced object counts only while it carries reloader.stakater.com/match:
 * "true" (an object the workload names by annotation always counts). True: its difference rolls nothing.
 */
export function unmatched(optIn: OptIn, kind: SourceKind, name: string, matched: boolean): boolean {
  const peer = optIn.kind === 'in' ? optIn.peer : undefined;
  return peer !== undefined && peer.follow[kind] === 'matched' && !matched && !peer.named[kind].includes(name);
}

/** Reloader's match switch on a ConfigMap or Secret: "true" exactly, as Reloader compares it. */
export function isMatched(annotations: Annotations): boolean {
  return annotations?.[RELOADER_MATCH] === 'true';
}

/**
 * A config object's ignore switch: its own (src/core/annotations.ts) when set, else Reloader's
 * when accepted, which ignores at exactly "true" and never calls a value malformed.
 */
export function readIgnore(annotations: Annotations, accept: AcceptedPeers = NO_PEERS): ReturnType<typeof parseIgnore> {
  if (annotations?.[IGNORE_ANNOTATION] !== undefined || !accept.has('reloader')) return parseIgnore(annotations);
  return { ignored: annotations?.[RELOADER_IGNORE] === 'true' };
}

const EVERY_PEER: AcceptedPeers = new Set<Peer>(['reloader', 'wave']);

/**
 * The peers, not accepted, whose annotations alone would opt the workload in: one the operator
 * took over with --accept-annotations and that is not opted in now (the flag dropped at a
 * restart) is left alone — nothing written, nothing rolled — and the operator says so.
 */
export function unacceptedOptIn(meta: Annotations, template: Annotations, accept: AcceptedPeers, namespace = ''): Peer[] {
  if (accept.size === EVERY_PEER.size || readOptIn(meta, template, accept, namespace).kind !== 'out') return [];
  const all = readOptIn(meta, template, EVERY_PEER, namespace);
  return all.kind === 'in' && all.peer !== undefined ? all.peer.from.filter((p) => !accept.has(p)) : [];
}
