// The user-facing annotations (README, "Annotations") and how a workload's opt-in is read from them.
import type { OptIn } from './types.ts';

export const ANNOTATION_PREFIX = 'config-reload.dev/';
export const ENABLED_ANNOTATION = `${ANNOTATION_PREFIX}enabled`;
export const CONFIGMAPS_ANNOTATION = `${ANNOTATION_PREFIX}configmaps`;
export const SECRETS_ANNOTATION = `${ANNOTATION_PREFIX}secrets`;
export const HASH_ANNOTATION = `${ANNOTATION_PREFIX}config-hash`;
/**
 * Pod template only, written only when a roll must restart pods whose template already carries
 * the digest it records (src/reconcile/patch.ts): the value makes the template change.
 */
export const RESTART_ANNOTATION = `${ANNOTATION_PREFIX}restart`;
/** On a workload: it is in the canary wave of every shared config object it consumes (src/waves/plan.ts). */
export const CANARY_ANNOTATION = `${ANNOTATION_PREFIX}canary`;
/** On a ConfigMap or Secret: "<token>" rolls the rest of a held change of that content anyway. */
export const RELEASE_ANNOTATION = `${ANNOTATION_PREFIX}release`;
/** On a workload: "true" holds its rolls until unset (src/core/hold.ts). */
export const PAUSED_ANNOTATION = `${ANNOTATION_PREFIX}paused`;
/** On a workload: it rolls only inside this window, e.g. "Mon-Fri 09:00-17:00 Europe/Berlin" (src/core/roll-window.ts). */
export const WINDOW_ANNOTATION = `${ANNOTATION_PREFIX}window`;
/** On a workload: its own debounce instead of --debounce, e.g. "30s". */
export const DEBOUNCE_ANNOTATION = `${ANNOTATION_PREFIX}debounce`;
/** On a ConfigMap or Secret: its changes never roll anything. */
export const IGNORE_ANNOTATION = `${ANNOTATION_PREFIX}ignore`;

const MAX_CONFIGMAP_NAME_LENGTH = 253;
// The apiserver's own rule for ConfigMap names (IsDNS1123Subdomain): dot-separated labels that
// start and end alphanumeric. Stricter than "alnum, '-' and '.'", which would accept "a..b",
// a name no ConfigMap can ever have.
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isObjectName(name: string): boolean {
  return name.length <= MAX_CONFIGMAP_NAME_LENGTH && DNS1123_SUBDOMAIN.test(name);
}

/** Longest part of an annotation value a log line or Event quotes. */
const QUOTED_MAX = 100;

/**
 * A value as quoted in a reason: JSON, so that whitespace and control characters show, and cut
 * after QUOTED_MAX characters with its length, so that a 10 KiB annotation does not make a
 * 10 KiB log line (the Event recorder would cut it anyway, where the point is lost).
 */
export function quoteValue(value: string): string {
  if (value.length <= QUOTED_MAX) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, QUOTED_MAX))}… (${value.length} characters)`;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

function parseEnabled(raw: string): Parsed<boolean> {
  // Hand-written YAML yields "True", " true" and the like; they mean the same to a person.
  const normalized = raw.trim().toLowerCase();
  if (normalized === 'true') return { ok: true, value: true };
  if (normalized === 'false') return { ok: true, value: false };
  return { ok: false, reason: 'expected "true" or "false"' };
}

function parseNameList(raw: string, what: 'ConfigMap' | 'Secret'): Parsed<string[]> {
  const names = new Set<string>();
  for (const item of raw.split(',')) {
    const name = item.trim();
    if (name === '') continue; // "a, b," and "a,,b" are what people type
    if (!isObjectName(name)) {
      return {
        ok: false,
        reason: `${quoteValue(name)} is not a valid ${what} name (lowercase letters, digits, '-' and '.', ` +
          `starting and ending with a letter or digit, at most ${MAX_CONFIGMAP_NAME_LENGTH} characters)`,
      };
    }
    names.add(name);
  }
  return { ok: true, value: [...names].sort() };
}

/**
 * Reads the ignore switch of a config object. A malformed value ignores it too, and says why:
 * guessing "false" could roll every consumer of an object someone meant to keep out.
 */
export function parseIgnore(annotations: Record<string, string> | undefined): { ignored: boolean; malformed?: { value: string; reason: string } } {
  const raw = annotations?.[IGNORE_ANNOTATION];
  if (raw === undefined) return { ignored: false };
  const parsed = parseEnabled(raw);
  if (parsed.ok) return { ignored: parsed.value };
  return { ignored: true, malformed: { value: raw, reason: parsed.reason } };
}

/**
 * Reads the opt-in from a workload's metadata annotations. A malformed annotation never opts in:
 * guessing what the user meant could roll a workload nobody asked to roll.
 */
export function parseOptIn(annotations: Record<string, string> | undefined): OptIn {
  const enabledRaw = annotations?.[ENABLED_ANNOTATION];

  let enabled: boolean | undefined;
  if (enabledRaw !== undefined) {
    const parsed = parseEnabled(enabledRaw);
    if (!parsed.ok) return { kind: 'malformed', annotation: ENABLED_ANNOTATION, value: enabledRaw, reason: parsed.reason };
    enabled = parsed.value;
  }

  const named: { ConfigMap: string[]; Secret: string[] } = { ConfigMap: [], Secret: [] };
  for (const [annotation, what] of [[CONFIGMAPS_ANNOTATION, 'ConfigMap'], [SECRETS_ANNOTATION, 'Secret']] as const) {
    const raw = annotations?.[annotation];
    if (raw === undefined) continue;
    const parsed = parseNameList(raw, what);
    if (!parsed.ok) return { kind: 'malformed', annotation, value: raw, reason: parsed.reason };
    named[what] = parsed.value;
  }
  const extra = { extraConfigMaps: named.ConfigMap, extraSecrets: named.Secret };

  if (enabled === true) return { kind: 'in', referenced: true, ...extra };
  // The configmaps and secrets annotations opt in by themselves; enabled="false" next to them
  // narrows the watch to the named objects instead of cancelling it.
  if (named.ConfigMap.length > 0 || named.Secret.length > 0) return { kind: 'in', referenced: false, ...extra };
  return { kind: 'out' };
}
