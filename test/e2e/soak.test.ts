// A 2-minute soak on the suite's control plane (bench/soak/): a seeded workload of ConfigMap
// writes, deletes, template edits, opt-in and opt-out, scaling, namespace deletion, operator
// kills, leader failovers and proxy faults, judged by the model test's oracle (test/support/
// pods-oracle.ts) fed from the soak's own watches. Any
// violation fails the test with its kind, workload, detail and replay command; the JSON report
// and the operators' logs stay in bench/results/tmp/ (ignored by git).
import { expect } from 'chai';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSoak } from '../../bench/soak/soak.ts';
import { testbed } from './hooks.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SEED = 20261126;

describe('soak: 2 minutes of a busy cluster, judged by an independent oracle', () => {
  it(`seed ${SEED}: no missed roll, no extra or duplicate roll, no write to an opted-out workload, flat memory`, async function () {
    this.timeout(25 * 60_000);
    const workDir = path.join(root, 'bench/results/tmp', `soak-e2e-${SEED}`);
    rmSync(workDir, { recursive: true, force: true });
    const out = path.join(workDir, 'report.json');
    const report = await runSoak({
      minutes: 2, seed: SEED, rate: 4, windowSeconds: 40, kubeconfig: testbed().kubeconfigPath, workDir, proxy: true,
      log: (line) => process.stderr.write(`[soak] ${line}\n`),
    });
    writeFileSync(out, `${JSON.stringify(report, null, 1)}\n`);
    process.stderr.write(`[soak] report: ${out}\n`);
    const summary = report.violations.map((v) => `- ${v.kind} ${v.workload}: ${v.detail}\n  replay: ${v.replay}`).join('\n');
    expect(report.violations, `soak report ${out}\nviolations:\n${summary}`).to.have.length(0);
    // The soak did what it claims: events were applied (fewer on a loaded machine: each waits
    // for its API calls), and the operator rolled.
    expect(report.events.total).to.be.at.least(30);
    expect(report.rolls.seen).to.be.above(0);
    expect(report.checkpoints.length).to.be.at.least(3);
  });
});
