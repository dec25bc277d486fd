// The unit tier stays pure (docs/testing.md): no test file under test/unit, nor any test file it
// imports (test/support/…), imports a process, the file system, a socket, the chart's tools or
// the benchmark's process harness, or calls fetch. Those tests belong in test/system. (What
// src/ imports is not checked: a unit test may load a module that can read a file, as long as
// it does not.)
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TEST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FORBIDDEN = [
  /^node:(child_process|fs|fs\/promises|net|http|https|http2|dgram|worker_threads|cluster)$/,
  /\/scratch-dir\.ts$/,
  /(^|\/)(bench|testbed)\//,
];

/** The module specifiers a file imports (static and dynamic). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)]
    .map((m) => (m[1] ?? m[2] ?? m[3])!);
}

describe('test tiers', () => {
  it('the unit tier imports no process, file system, socket, scratch directory, bench or testbed code, and calls no fetch', () => {
    const unit = readdirSync(path.join(TEST, 'unit'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts')).map((f) => path.join(TEST, 'unit', f));
    expect(unit.length, 'unit test files found').to.be.greaterThan(10);
    const seen = new Set<string>();
    const offences: string[] = [];
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      if (/\bfetch\(/.test(readFileSync(file, 'utf8'))) offences.push(`${path.relative(path.dirname(TEST), file)} calls fetch`);
      for (const spec of importsOf(file)) {
        const target = spec.startsWith('.') ? path.resolve(path.dirname(file), spec) : spec;
        const shown = spec.startsWith('.') ? path.relative(path.dirname(TEST), target) : spec;
        if (FORBIDDEN.some((re) => re.test(shown))) offences.push(`${path.relative(path.dirname(TEST), file)} imports ${spec}`);
        // Follow the test's own helpers (test/…), not src/: see the header.
        else if (spec.startsWith('.') && target.startsWith(`${TEST}${path.sep}`) && target.endsWith('.ts')) visit(target);
      }
    };
    for (const file of unit) visit(file);
    expect(offences).to.deep.equal([]);
  });
});
