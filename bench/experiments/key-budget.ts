// What one config object costs the operator per update and while it exists, by key count: the
// digest (sourceContent) with the key budget (--max-keys-per-object, default 2,000) and without
// it (a budget no object reaches: the per-key digest every object got before the budget), the
// JSON parse of its watch line (paid by any reader, budget or not), and the heap its content
// keeps. Pure: no control plane. docs/security.md, "Tenant limits", quotes its figures.
//
//   npx tsx --expose-gc bench/experiments/key-budget.ts [--keys 2000,80000] [--runs 9]
import { parseArgs } from 'node:util';
import { DEFAULT_MAX_KEYS_PER_OBJECT, digestKey, sourceContent } from '../../src/core/digest.ts';

const { values } = parseArgs({ options: { keys: { type: 'string' }, runs: { type: 'string' } } });
const counts = (values.keys ?? '2000,80000').split(',').map(Number);
const runs = Number(values.runs ?? 9);
const gc = globalThis.gc;
if (gc === undefined) throw new Error('run with --expose-gc (npx tsx --expose-gc …)');

const key = digestKey(Buffer.alloc(32, 7));
const ms = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return `median ${sorted[sorted.length >> 1]!.toFixed(1)} ms (min ${sorted[0]!.toFixed(1)}, max ${sorted.at(-1)!.toFixed(1)})`;
};

/**
 * The digest's times over `runs` objects parsed from `line`, and the heap each content keeps:
 * the growth from `runs` kept contents to twice as many, per content, so that what the first
 * ones cost once (V8's string table, compiled code) is not counted.
 */
function measure(line: string, maxKeys: number): { times: number[]; keptKiB: number } {
  const kept: unknown[] = [];
  const times: number[] = [];
  const heap = () => {
    for (let i = 0; i < 3; i++) gc!();
    return process.memoryUsage().heapUsed;
  };
  let middle = 0;
  for (let i = 0; i < 2 * runs; i++) {
    if (i === runs) middle = heap();
    const obj = (JSON.parse(line) as { object: { data: Record<string, string> } }).object;
    const start = performance.now();
    kept.push(sourceContent('ConfigMap', obj, key, maxKeys));
    times.push(performance.now() - start);
  }
  const keptKiB = (heap() - middle) / runs / 1024;
  if (kept.length !== 2 * runs) throw new Error('unreachable');
  return { times, keptKiB };
}

for (const n of counts) {
  // Empty values and short names: the most keys the apiserver's 1 MiB lets one object hold.
  const data: Record<string, string> = {};
  for (let i = 0; i < n; i++) data[`k${String(i).padStart(6, '0')}`] = '';
  const line = JSON.stringify({ type: 'MODIFIED', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wide', namespace: 'tenant' }, data } });
  const parse: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    JSON.parse(line);
    parse.push(performance.now() - start);
  }
  const budget = measure(line, DEFAULT_MAX_KEYS_PER_OBJECT);
  const unbounded = measure(line, Number.MAX_SAFE_INTEGER);
  console.log(`${n.toLocaleString('en-US')} keys, ${(line.length / 1024).toFixed(0)} KiB of JSON:`);
  console.log(`  JSON.parse of the watch line   ${ms(parse)}`);
  console.log(`  digest, budget ${DEFAULT_MAX_KEYS_PER_OBJECT.toLocaleString('en-US')}          ${ms(budget.times)}; heap kept ${budget.keptKiB.toFixed(1)} KiB`);
  console.log(`  digest, no budget (before)     ${ms(unbounded.times)}; heap kept ${unbounded.keptKiB.toFixed(1)} KiB`);
}
