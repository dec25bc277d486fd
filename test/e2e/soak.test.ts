// A 2-minute soak on the suite's control plane (bench/soak/): a seeded workload of ConfigMap
// writes, deletes, template edits, opt-in and opt-out, scaling, namespace deletion, operator
// kills, leader failovers and proxy faults, judged by the model test's oracle (test/support/
// pods-oracle.ts) fed from the soak's own watches. Any
// violation fails the test with its kind, workload, detail and replay command; the JSON report
// stays in bench/results/tmp/ (ignored by git). It runs the soak as `npm run soak` does, as a
// process (tests import no benchmark code), against the suite's control plane.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testbed } from './hooks.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SEED = 20261126;

describe('soak: 2 minutes of a busy cluster, judged by an independent oracle', () => {
  it(`seed ${SEED}: no missed roll, no extra or duplicate roll, no write to an opted-out workload, flat memory`, async function () {
    this.timeout(25 * 60_000);
    const workDir = path.join(root, 'bench/results/tmp', `soak-e2e-${SEED}`);
    rmSync(workDir, { recursive: true, force: true });
    const out = path.join(workDir, 'report.json');
    const args = ['tsx', 'bench/soak/main.ts', '--minutes', '2', '--seed', String(SEED), '--rate', '4', '--window', '40',
      '--kubeconfig', testbed().kubeconfigPath, '--out', out];
    // It exits 1 on a violation: the report says which, below.
    await new Promise<void>((resolve, reject) => {
      const child = spawn('npx', args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('error', reject);
      child.on('exit', () => resolve());
    });
    const report = JSON.parse(readFileSync(out, 'utf8')) as {
      violations: Array<{ kind: string; workload: string; detail: string; replay: string }>;
      events: { total: number }; rolls: { seen: number }; checkpoints: unknown[];
    };
    const summary = report.violations.map((v) => `- ${v.kind} ${v.workload}: ${v.detail}\n  replay: ${v.replay}`).join('\n');
    expect(report.violations, `soak report ${out}\nviolations:\n${summary}`).to.have.length(0);
    // The soak did what it claims: events were applied (fewer on a loaded machine: each waits
    // for its API calls), and the operator rolled.
    expect(report.events.total).to.be.at.least(30);
    expect(report.rolls.seen).to.be.above(0);
    expect(report.checkpoints.length).to.be.at.least(3);
  });
});
