// The fingerprint of a pod template: a digest that changes whenever anyone writes the template,
// the operator's own rolls included (its roll is a template write like any other: its pods read
// the configuration of that moment). It is split in two so that the operator can compute, before
// sending a roll, the fingerprint the template will have after it: the template without the
// operator's two annotations, then those annotations' values.
import { createHash } from 'node:crypto';
import { HASH_ANNOTATION, RESTART_ANNOTATION } from '../core/annotations.ts';

interface TemplateLike {
  metadata?: { annotations?: Record<string, string> };
}

/** The digest of the template without the operator's annotations, whatever the order of its keys. */
export function templateBase(template: unknown): string {
  const t = (template ?? {}) as TemplateLike & Record<string, unknown>;
  const annotations = { ...(t.metadata?.annotations ?? {}) };
  delete annotations[HASH_ANNOTATION];
  delete annotations[RESTART_ANNOTATION];
  const stripped = { ...t, metadata: { ...(t.metadata ?? {}), annotations } };
  return sha(canonicalJson(stripped));
}

/** The fingerprint of a template with this base and these values of the operator's annotations. */
export function templateFingerprint(base: string, hash: string | undefined, restart: string | undefined): string {
  return sha(`${base}|${hash === undefined ? '-' : JSON.stringify(hash)}|${restart === undefined ? '-' : JSON.stringify(restart)}`);
}

/** The fingerprint of the template as the API sends it. */
export function fingerprintOf(template: unknown): string {
  const annotations = (template as TemplateLike | undefined)?.metadata?.annotations;
  return templateFingerprint(templateBase(template), annotations?.[HASH_ANNOTATION], annotations?.[RESTART_ANNOTATION]);
}

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
