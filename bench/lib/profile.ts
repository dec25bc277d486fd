// Summaries of the operator's --cpu-prof and heap snapshots, small enough for a results file:
// CPU self time by function and by package within time windows; heap self size by constructor.
import { readFileSync } from 'node:fs';

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: CpuNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface CpuRow {
  what: string;
  ms: number;
  percent: number;
}

export interface CpuWindowSummary {
  window: string;
  fromMs: number;
  toMs: number;
  sampledMs: number;
  /** Idle and GC shown separately: (idle) is time the thread had nothing to do. */
  byPackage: CpuRow[];
  byFunction: CpuRow[];
}

/** Where the code of a frame comes from: a package, a file of the operator, or a V8/Node category. */
function packageOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] as string;
  const src = /\/(src\/.*)$/.exec(url);
  if (src) return src[1] as string;
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '');
}

export function summarizeCpuProfile(file: string, windows: ReadonlyArray<{ name: string; fromMs: number; toMs: number }>, top = 15): CpuWindowSummary[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const out: CpuWindowSummary[] = [];
  for (const w of windows) {
    const pkg = new Map<string, number>();
    const fn = new Map<string, number>();
    let t = 0;
    let total = 0;
    for (let i = 0; i < prof.samples.length; i++) {
      const delta = prof.timeDeltas[i] ?? 0;
      t += delta / 1000;
      if (t < w.fromMs || t > w.toMs) continue;
      const node = byId.get(prof.samples[i] as number);
      if (!node) continue;
      const ms = delta / 1000;
      total += ms;
      const cf = node.callFrame;
      const p = packageOf(cf.url, cf.functionName);
      pkg.set(p, (pkg.get(p) ?? 0) + ms);
      const name = `${cf.functionName || '(anonymous)'} ${p}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
      fn.set(name, (fn.get(name) ?? 0) + ms);
    }
    const rows = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([what, ms]) => ({ what, ms: Math.round(ms), percent: Math.round((ms / (total || 1)) * 1000) / 10 }));
    out.push({ window: w.name, fromMs: Math.round(w.fromMs), toMs: Math.round(w.toMs), sampledMs: Math.round(total), byPackage: rows(pkg), byFunction: rows(fn) });
  }
  return out;
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapRow {
  what: string;
  count: number;
  selfMiB: number;
}

/** Self size by node type and constructor/name; strings grouped as one row per string type. */
export function summarizeHeapSnapshot(file: string, top = 20): { totalMiB: number; rows: HeapRow[] } {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const stride = fields.length;
  const fType = fields.indexOf('type');
  const fName = fields.indexOf('name');
  const fSize = fields.indexOf('self_size');
  const agg = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += stride) {
    const type = types[snap.nodes[i + fType] as number] ?? '?';
    const size = snap.nodes[i + fSize] as number;
    total += size;
    let key: string;
    if (type === 'object' || type === 'closure' || type === 'native') key = `${type} ${snap.strings[snap.nodes[i + fName] as number] ?? '?'}`;
    else if (type === 'hidden' || type === 'array' || type === 'code') key = `${type} ${(snap.strings[snap.nodes[i + fName] as number] ?? '?').slice(0, 60)}`;
    else if (type === 'string' || type === 'concatenated string' || type === 'sliced string') {
      // Script sources and source maps are long strings; the objects' own strings are short.
      key = size >= 64 * 1024 ? `(${type} ≥ 64 KiB: script sources, source maps, JSON bodies)` : `(${type} < 64 KiB)`;
    } else key = `(${type})`;
    const a = agg.get(key) ?? { count: 0, bytes: 0 };
    a.count++;
    a.bytes += size;
    agg.set(key, a);
  }
  const rows = [...agg].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)
    .map(([what, a]) => ({ what, count: a.count, selfMiB: Math.round((a.bytes / 1048576) * 100) / 100 }));
  return { totalMiB: Math.round((total / 1048576) * 10) / 10, rows };
}
