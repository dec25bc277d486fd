// Bad start-up configuration: one clear error line on stderr and exit code 2.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../scratch-dir.ts';

function run(args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    encoding: 'utf8', timeout: 30_000, env: { ...process.env, KUBECONFIG: '', HOME: scratchDir('home'), ...env },
  });
  return { code: res.status, stderr: res.stderr.trim() };
}

describe('cli: start-up errors exit 2 with one line', function () {
  this.timeout(60_000);

  it('an unknown flag', () => {
    const r = run(['--frobnicate']);
    expect(r.code).to.equal(2);
    expect(r.stderr.split('\n')).to.have.length(1);
    expect(r.stderr).to.match(/^config-reload-operator: error: .*frobnicate/);
  });

  it('a kubeconfig that does not exist', () => {
    const r = run(['--kubeconfig', '/nonexistent/kubeconfig']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/kubeconfig \/nonexistent\/kubeconfig: no such file/);
  });

  it('a kubeconfig that is not a kubeconfig', () => {
    const file = path.join(scratchDir('kc'), 'config');
    writeFileSync(file, 'this: [is not\n');
    const r = run(['--kubeconfig', file]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain(file);
  });

  it('no kubeconfig anywhere and not in a cluster', () => {
    const r = run([], { KUBERNETES_SERVICE_HOST: '' });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('no kubeconfig');
  });

  it('--help prints the flags and exits 0', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(res.status).to.equal(0);
    for (const flag of ['--kubeconfig', '--dry-run', '--debounce', '--workers', '--resync-period', '--log-level', '--log-format']) {
      expect(res.stdout).to.contain(flag);
    }
  });
});
