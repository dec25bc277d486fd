// API cost, read from the apiserver's audit log: every request of the operator's and the
// baseline's identities (the policy logs nothing else), counted by verb and resource within
// the time windows of the benchmark's phases.
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

interface AuditEvent {
  auditID: string;
  stage: string;
  verb: string;
  requestURI?: string;
  user?: { username?: string };
  objectRef?: { resource?: string; subresource?: string };
  requestReceivedTimestamp: string;
  responseStatus?: { code?: number };
}

export interface Window {
  name: string;
  /** Wall-clock ms (Date.now()). */
  from: number;
  to: number;
}

export interface AuditRequest {
  user: string;
  verb: string;
  resource: string;
  at: number;
  code: number;
  /** The request's path and query, as the apiserver logged it. */
  uri: string;
}

/** Every request once (by auditID), from its first stage logged (ResponseStarted for watches). */
export async function readAudit(file: string): Promise<AuditRequest[]> {
  if (!existsSync(file)) return [];
  const seen = new Set<string>();
  const out: AuditRequest[] = [];
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line) continue;
    let e: AuditEvent;
    try {
      e = JSON.parse(line) as AuditEvent;
    } catch {
      continue;
    }
    if (seen.has(e.auditID)) continue;
    seen.add(e.auditID);
    const resource = [e.objectRef?.resource, e.objectRef?.subresource].filter(Boolean).join('/') || '(none)';
    out.push({
      user: e.user?.username ?? '', verb: e.verb, resource,
      at: Date.parse(e.requestReceivedTimestamp), code: e.responseStatus?.code ?? 0, uri: e.requestURI ?? '',
    });
  }
  return out;
}

/** "verb resource" → count, for one user inside one window. */
export function countByVerb(requests: readonly AuditRequest[], user: string, w: Window): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of requests) {
    if (r.user !== user || r.at < w.from || r.at > w.to) continue;
    const k = `${r.verb} ${r.resource}`;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

export function verbTotal(counts: Record<string, number>, verb: string, resource?: string): number {
  let n = 0;
  for (const [k, v] of Object.entries(counts)) {
    const [kv, kr] = k.split(' ');
    if (kv === verb && (resource === undefined || kr === resource)) n += v;
  }
  return n;
}

export interface SelectorCount {
  verb: string;
  /** The request's fieldSelector, '' when it had none. */
  fieldSelector: string;
  count: number;
}

/**
 * The LIST and WATCH requests of one user on one resource inside a window, grouped by verb and
 * fieldSelector: what proves that a kind of object is never listed or watched.
 */
export function listWatchSelectors(requests: readonly AuditRequest[], user: string, resource: string, w: Window): SelectorCount[] {
  const counts = new Map<string, SelectorCount>();
  for (const r of requests) {
    if (r.user !== user || r.resource !== resource || r.at < w.from || r.at > w.to) continue;
    if (r.verb !== 'list' && r.verb !== 'watch') continue;
    const fieldSelector = new URL(r.uri, 'https://apiserver').searchParams.get('fieldSelector') ?? '';
    const k = `${r.verb} ${fieldSelector}`;
    const c = counts.get(k) ?? { verb: r.verb, fieldSelector, count: 0 };
    c.count++;
    counts.set(k, c);
  }
  return [...counts.values()].sort((a, b) => a.verb.localeCompare(b.verb) || a.fieldSelector.localeCompare(b.fieldSelector));
}
