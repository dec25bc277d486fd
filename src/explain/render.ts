// `explain`'s two outputs: a text for a person (sections: workload, opt-in, consumed objects,
// digests, decision, assumptions) and the JSON document (the Explanation itself, stable and
// documented in the README). Pure: an Explanation in, a string out.
import type { Explanation, ExplainedSource } from './explanation.ts';

export function renderJson(e: Explanation): string {
  return `${JSON.stringify(e, null, 2)}\n`;
}

export function renderText(e: Explanation): string {
  const out: string[] = [];
  const w = e.workload;
  out.push(`${w.kind} ${w.namespace}/${w.name}`);
  out.push(`  uid ${w.uid || '-'}, resourceVersion ${w.resourceVersion || '-'}, generation ${w.generation}, rollout ${w.rollout}`);
  if (e.namespace !== null) {
    const watched = e.namespace.watched === null ? 'unknown' : e.namespace.watched ? 'watched' : 'not watched';
    out.push(...wrap(`namespace ${watched}: ${e.namespace.reason}`, '  ', '  '));
  }
  out.push('');

  out.push(`Opt-in: ${e.optIn.state === 'in' ? 'opted in' : e.optIn.state === 'out' ? 'not opted in' : 'malformed annotation'}`);
  for (const [name, value] of Object.entries(e.optIn.annotations)) {
    if (value !== null) out.push(`  config-reload.dev/${name}: ${JSON.stringify(value)}`);
  }
  out.push(`  ${e.optIn.summary}`);
  out.push('');

  if (e.optIn.state === 'in') {
    out.push('Consumed objects');
    if (e.sources.length === 0) out.push('  none: the pod template references no ConfigMap or Secret');
    else out.push(...table(['KIND', 'NAME', 'EXISTS', 'NEEDED', 'KEYS THAT COUNT', 'REFERENCED BY'], e.sources.map(row)).map((l) => `  ${l}`));
    const notes = e.sources.flatMap(sourceNotes);
    if (notes.length > 0) out.push(...notes.map((n) => `  ${n}`));
    for (const r of e.unwatchedReferences) out.push(`  not followed: ${r.kind} ${r.name} (${r.via}): ${r.why}`);
    out.push('');

    const d = e.digests;
    out.push('Digests');
    const key = d.key.state === 'loaded'
      ? `${d.key.secret} (key id ${d.key.id})`
      : `${d.key.secret}: cannot read it${d.key.error ? ` (${d.key.error})` : ''}${d.key.missingPermission ? `; you need ${d.key.missingPermission}` : ''}`;
    out.push(...table([], [
      ['recorded (metadata):', d.recorded ?? 'none'],
      ['pod template:', d.template ?? 'none'],
      ['current:', d.current ?? 'unknown'],
      ['digest key:', key],
      ['recorded vs current:', COMPARISON[d.comparison]],
    ]).map((l) => `  ${l}`));
    out.push('');
  }

  if (e.hold !== null) {
    out.push('Hold');
    out.push(...holdLines(e.hold).flatMap((l) => wrap(l, '  ', '    ')));
    out.push('');
  }

  const dec = e.decision;
  const head = dec.known
    ? dec.code === null ? `${dec.action}` : `${dec.action} (${dec.code})`
    : dec.code !== null ? `${dec.code}, action unknown` : 'unknown';
  out.push(`Decision: ${head}`);
  out.push(...wrap(dec.reason, '  ', '  '));
  if (dec.digest !== null) out.push(`  would record: ${dec.digest}`);
  if (dec.warning !== null) out.push(`  the operator says so with a Warning Event ${dec.warning}`);

  if (e.assumptions.length > 0) {
    out.push('');
    out.push('Assumptions');
    for (const a of e.assumptions) out.push(...wrap(a, '  - ', '    '));
  }
  return `${out.join('\n')}\n`;
}

function holdLines(h: NonNullable<Explanation['hold']>): string[] {
  const lines: string[] = [];
  if (h.paused) lines.push('paused (config-reload.dev/paused: "true"): every roll is held until it is unset; then it rolls once if the pods run other configuration');
  if (h.window !== null) {
    const state = h.window.open ? 'open now'
      : h.window.nextOpening === null ? 'closed, and does not open in the next 15 days'
        : `closed now; opens ${h.window.nextOpeningLocal} (${h.window.nextOpening})`;
    lines.push(`window ${JSON.stringify(h.window.text)}: ${state}`);
  }
  if (h.debounceMs !== null) lines.push(`debounce ${h.debounceMs} ms (config-reload.dev/debounce), instead of the operator's --debounce`);
  if (h.held) lines.push(`held: a roll is due${h.heldUntil !== null ? `, looked at again at ${h.heldUntil}` : ''}`);
  return lines;
}

const COMPARISON: Record<Explanation['digests']['comparison'], string> = {
  equal: 'equal',
  different: 'different',
  none_recorded: 'nothing recorded yet (not adopted)',
  other_format: 'not comparable: recorded in another digest format',
  other_key: 'not comparable: recorded with another digest key',
  unknown: 'unknown',
  not_applicable: '-',
};

function row(s: ExplainedSource): string[] {
  const exists = s.exists === null ? 'unknown' : !s.exists ? 'no' : s.watched ? 'yes' : 'yes, unwatched';
  const needed = s.optional ? 'optional' : 'required';
  let keys: string;
  if (s.selectedKeys === null) {
    keys = s.keys === null ? 'all' : s.keys.length === 0 ? 'all (none held)'
      // Tens of thousands of names would bury the table: the count says why the workload is held.
      : s.overBudget !== null ? `all: ${s.overBudget.keys.toLocaleString('en-US')} keys, over the operator's ${s.overBudget.maxKeys.toLocaleString('en-US')}`
      : `all: ${s.keys.join(', ')}`;
  } else {
    keys = s.selectedKeys.map((k) => (s.exists === true && s.missingKeys.includes(k) ? `${k} (absent)` : k)).join(', ');
  }
  const via = s.references.map((r) => r.via).join('; ');
  return [s.kind, s.name, exists, needed, keys, via];
}

function sourceNotes(s: ExplainedSource): string[] {
  const notes: string[] = [];
  if (s.error !== null) {
    notes.push(`${s.kind} ${s.name}: cannot read it (${s.error})${s.missingPermission ? `; you need ${s.missingPermission}` : ''}`);
  }
  if (!s.watched) notes.push(`${s.kind} ${s.name}: ${s.notWatchedBecause}: absent to the operator`);
  if (s.malformedIgnore !== null) {
    notes.push(`${s.kind} ${s.name}: config-reload.dev/ignore ${JSON.stringify(s.malformedIgnore.value)} is malformed (${s.malformedIgnore.problem}): ignored, as the operator does`);
  } else if (s.ignored) {
    notes.push(`${s.kind} ${s.name}: config-reload.dev/ignore: its changes roll nothing`);
  }
  if (s.uncountedKeys.length > 0) notes.push(`${s.kind} ${s.name}: a change to ${s.uncountedKeys.join(', ')} rolls nothing (not read by the workload)`);
  return notes;
}

const WIDTH = 100;

/** Prose wrapped at word boundaries to WIDTH columns (a digest or a long name is never cut). */
function wrap(text: string, first: string, rest: string): string[] {
  const lines: string[] = [];
  let line = first;
  for (const word of text.split(' ')) {
    const prefix = lines.length === 0 ? first : rest;
    if (line.length > prefix.length && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = rest + word;
    } else {
      line += (line.length > prefix.length ? ' ' : '') + word;
    }
  }
  lines.push(line);
  return lines;
}

/** Columns padded to the widest cell; no header when `header` is empty. */
function table(header: string[], rows: string[][]): string[] {
  const all = header.length > 0 ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const r of all) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}
