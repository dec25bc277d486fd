// `npm run soak -- --minutes N [--seed S] [--out FILE]`: starts the testbed's control plane
// (or uses --kubeconfig's), runs the soak, writes the JSON report, and exits 1 on any violation.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ControlPlane } from '../../testbed/controlplane.ts';
import { runSoak } from './soak.ts';

const USAGE = `Usage: npm run soak -- --minutes N [--seed S] [--out FILE] [--rate R] [--window SECONDS]
                       [--until-event I] [--kubeconfig PATH] [--no-proxy]

  --minutes N        load time, checkpoints included (the final checkpoint comes after)
  --seed S           the workload's seed (default: random; the report names it)
  --out FILE         the JSON report (default bench/results/tmp/soak-<seed>.json)
  --rate R           workload events per second (default 4)
  --window SECONDS   load between two checkpoints (default 90, at most a third of the run)
  --until-event I    replay: stop after event I, then the final checkpoint
  --kubeconfig PATH  an admin kubeconfig of a running testbed (default: start one)
  --no-proxy         the operator talks to the apiserver directly; no proxy faults`;

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, rate: { type: 'string' },
    window: { type: 'string' }, 'until-event': { type: 'string' }, kubeconfig: { type: 'string' },
    'no-proxy': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  },
});
if (values.help || !values.minutes) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(values.help ? 0 : 2);
}
const num = (flag: string, raw: string | undefined, fallback: number) => {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`--${flag} ${raw}: expected a non-negative number\n`);
    process.exit(2);
  }
  return n;
};
const minutes = num('minutes', values.minutes, 2);
const seed = num('seed', values.seed, Math.floor(Math.random() * 2 ** 31));
const windowSeconds = num('window', values.window, Math.max(20, Math.min(90, (minutes * 60) / 3)));
const root = path.resolve(import.meta.dirname, '../..');
const out = path.resolve(values.out ?? path.join(root, 'bench/results/tmp', `soak-${seed}.json`));
const workDir = path.join(os.tmpdir(), `cro-soak-${seed}-${process.pid}`);
const log = (line: string) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

let cp: ControlPlane | undefined;
let code = 1;
try {
  let kubeconfig = values.kubeconfig;
  if (!kubeconfig) {
    cp = await ControlPlane.start({ nodes: 2, log: (l) => log(`testbed: ${l}`) });
    kubeconfig = cp.kubeconfigPath;
  }
  const report = await runSoak({
    minutes, seed, rate: num('rate', values.rate, 4), windowSeconds, kubeconfig, workDir, proxy: !values['no-proxy'], log,
    ...(values['until-event'] !== undefined ? { untilEvent: num('until-event', values['until-event'], 0) } : {}),
  });
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 1)}\n`);
  log(`report: ${out}`);
  log(`seed ${seed}: ${report.events.total} events, ${report.faults.injected} faults, rolls ${report.rolls.seen}, other operator writes ${report.rolls.otherWrites}, ${report.violations.length} violation(s)`);
  for (const v of report.violations) log(`  ${v.kind} ${v.workload}: ${v.detail}\n    replay: ${v.replay}`);
  code = report.violations.length === 0 ? 0 : 1;
} catch (err) {
  log(`soak failed: ${err instanceof Error ? err.stack : String(err)}`);
} finally {
  await cp?.stop();
}
process.exit(code);
