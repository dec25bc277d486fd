// The shape of the house (docs/architecture.md, "Layers"): dependency-cruiser, with the rules of
// .dependency-cruiser.cjs, finds no import from a lower layer of src/ to a higher one, no cycle
// in src/ or bench/, no test importing bench code — and finds each of those in a fixture tree
// made to break them, so that a rule cannot pass by matching nothing. And no file of src/ is
// over 300 lines without its reason said at its top.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scratchDir } from '../scratch-dir.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CONFIG = path.join(root, '.dependency-cruiser.cjs');
const MAX_LINES = 300;

interface Cruise {
  summary: { totalCruised: number; violations: Array<{ from: string; to: string; rule: { name: string } }> };
}

function cruise(cwd: string, dirs: string[]): Cruise {
  let out: string;
  try {
    out = execFileSync(path.join(root, 'node_modules/.bin/depcruise'), [...dirs, '--config', CONFIG, '--output-type', 'json'], {
      cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    // It exits non-zero when it finds violations; the JSON is on stdout all the same.
    out = (err as { stdout?: string }).stdout ?? '';
  }
  return JSON.parse(out) as Cruise;
}

describe('layers: the import graph', function () {
  this.timeout(120_000);

  it('src/, bench/ and test/ keep the layering: no upward import, no cycle in src/ or bench/, no test importing bench code', () => {
    const result = cruise(root, ['src', 'bench', 'test']);
    // TypeScript itself was parsed (swc), not just the few .js files.
    expect(result.summary.totalCruised).to.be.greaterThan(200);
    expect(result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).to.deep.equal([]);
  });

  it('each rule finds what it forbids in a tree made to break it', () => {
    const dir = scratchDir('layers');
    const file = (rel: string, text: string) => {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), text);
    };
    file('src/core/low.ts', "import { high } from '../controller.ts';\nexport const low = high;\n");
    file('src/controller.ts', 'export const high = 1;\n');
    file('src/state/a.ts', "import { b } from './b.ts';\nexport const a = b;\n");
    file('src/state/b.ts', "import type { a } from './a.ts';\nexport const b = 1 as unknown as typeof a;\n");
    file('src/stray/x.ts', "import { low } from '../core/low.ts';\nexport const x = low;\n");
    file('bench/tool.ts', 'export const tool = 1;\n');
    file('test/t.test.ts', "import { tool } from '../bench/tool.ts';\nexport const t = tool;\n");
    const found = new Set(cruise(dir, ['src', 'bench', 'test']).summary.violations.map((v) => v.rule.name));
    expect([...found].sort()).to.include.members(['layer-core', 'no-cycle', 'test-not-bench', 'every-module-placed']);
  });

  it(`no file of src/ is over ${MAX_LINES} lines without its reason said at its top`, () => {
    const files = readdirSync(path.join(root, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const unexplained = files.filter((f) => {
      const lines = readFileSync(path.join(root, 'src', f), 'utf8').split('\n');
      const header = lines.slice(0, lines.findIndex((l) => !l.startsWith('//')));
      return lines.length > MAX_LINES && !header.some((l) => l.startsWith(`// Longer than ${MAX_LINES} lines: `));
    });
    expect(unexplained).to.deep.equal([]);
  });
});
