// `npm run model -- --histories N --seed S [--out FILE]`: the model test's property
// (test/unit/model.test.ts) over many more histories, without stopping at the first failure.
// Every failing history is kept — shrunk by fast-check when that is cheap (a few per kind of
// violation, within a time limit each), raw otherwise — and written, with what was generated,
// to a JSON report (bench/results/model/<commit>-s<seed>-n<N>.json unless --out is given).
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { judgeHistory, type Op, opsArb, type Settings, settingsArb } from '../test/support/model-histories.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = `Usage: npm run model -- [--histories N] [--seed S] [--out FILE] [--batch B] [--shrink-per-kind K] [--shrink-ms MS]

  --histories N         histories to run (default 1000)
  --seed S              fast-check seed (default: random, written in the report)
  --out FILE            the JSON report (default bench/results/model/<commit>-s<seed>-n<N>.json)
  --batch B             histories generated and run per batch; progress is printed after each (default 100)
  --shrink-per-kind K   failures shrunk per kind of violation (default 3; 0: none)
  --shrink-ms MS        time limit of one shrink (default 20000)`;

interface Failure {
  index: number;
  kinds: string[];
  violations: string[];
  history: { ops: Op[]; settings: Settings };
  shrunk?: { ops: Op[]; settings: Settings; violations: string[] };
}

/** The kind of a violation, for counting and for choosing which failures to shrink. */
function kindOf(violation: string): string {
  // The oracle's notes on an extra roll: what may explain it (never excuses it).
  if (violation.includes('extra roll') && violation.includes('had not caught up')) return 'extra roll (stale view)';
  if (violation.includes('extra roll') && violation.includes('hidden from')) return 'extra roll (hidden, nothing changed)';
  for (const kind of ['extra roll', 'missed roll', 'never adopted', 'not opted in', 'held without a WaveHeld', 'did not settle', 'dry-run', 'never finished stopping']) {
    if (violation.includes(kind)) return kind;
  }
  return 'other';
}

function count(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}

async function shrink(ops: Op[], settings: Settings, limitMs: number): Promise<Failure['shrunk']> {
  const result = await fc.check(
    fc.asyncProperty(opsArb, settingsArb, async (o, s) => (await judgeHistory(o, s)).violations.length === 0),
    // The example alone (numRuns counts it), then fast-check's shrinking of it, within the time limit.
    { examples: [[ops, settings]], numRuns: 1, interruptAfterTimeLimit: limitMs, markInterruptAsFailure: false },
  );
  if (!result.failed || result.counterexample === null) return undefined;
  const [o, s] = result.counterexample as [Op[], Settings];
  return { ops: o, settings: s, violations: (await judgeHistory(o, s)).violations };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      histories: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, batch: { type: 'string' },
      'shrink-per-kind': { type: 'string' }, 'shrink-ms': { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const histories = Number(values.histories ?? 1000);
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  const batch = Number(values.batch ?? 100);
  const shrinkPerKind = Number(values['shrink-per-kind'] ?? 3);
  const shrinkMs = Number(values['shrink-ms'] ?? 20_000);
  const commit = execSync('git rev-parse HEAD', { cwd: repo, encoding: 'utf8' }).trim();
  const out = values.out ?? path.join(repo, 'bench', 'results', 'model', `${commit.slice(0, 7)}-s${seed}-n${histories}.json`);

  const failures: Failure[] = [];
  const operationCounts: Record<string, number> = {};
  const settingsCounts: Record<string, Record<string, number>> = {};
  const violationKinds: Record<string, number> = {};
  const shrunkPerKind: Record<string, number> = {};
  let runSeconds = 0;
  let shrinkSeconds = 0;
  // One deterministic stream for the seed: batch k is the k-th slice of it.
  const all = fc.sample(fc.tuple(opsArb, settingsArb), { seed, numRuns: histories });
  for (let start = 0; start < histories; start += batch) {
    const began = performance.now();
    for (const [i, [ops, settings]] of all.slice(start, start + batch).entries()) {
      for (const o of ops) count(operationCounts, o.op);
      for (const [k, v] of Object.entries(settings)) count((settingsCounts[k] ??= {}), JSON.stringify(v));
      const { violations } = await judgeHistory(ops, settings);
      if (violations.length > 0) failures.push({ index: start + i, kinds: [...new Set(violations.map(kindOf))], violations, history: { ops, settings } });
    }
    runSeconds += (performance.now() - began) / 1000;
    const done = Math.min(start + batch, histories);
    console.log(`${done}/${histories} histories, ${failures.length} failing, ${(done / runSeconds).toFixed(1)} histories/s`);
  }
  for (const f of failures) {
    for (const kind of f.kinds) count(violationKinds, kind);
    const kind = f.kinds.find((k) => (shrunkPerKind[k] ?? 0) < shrinkPerKind);
    if (kind === undefined) continue;
    count(shrunkPerKind, kind);
    const began = performance.now();
    const shrunk = await shrink(f.history.ops, f.history.settings, shrinkMs);
    if (shrunk) f.shrunk = shrunk;
    shrinkSeconds += (performance.now() - began) / 1000;
    console.log(`shrunk #${f.index} (${kind}): ${f.history.ops.length} → ${shrunk?.ops.length ?? '?'} operations`);
  }
  const report = {
    histories, seed, commit, seconds: Number(runSeconds.toFixed(1)), shrinkSeconds: Number(shrinkSeconds.toFixed(1)),
    historiesPerSecond: Number((histories / runSeconds).toFixed(1)), failing: failures.length, violationKinds,
    operationCounts, settingsCounts, violations: failures,
  };
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 1)}\n`);
  console.log(`${failures.length} of ${histories} histories failing (${JSON.stringify(violationKinds)}); report: ${path.relative(process.cwd(), out)}`);
}

await main();
