// explain as a command: `config-reload-operator explain` started as its own process (the pure
// part, from the objects as read to the explanation, is test/unit/explain.test.ts).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { scratchDir } from '../scratch-dir.ts';

describe('explain: arguments', () => {
  it('config-reload-operator explain: exit 2 on bad usage and on a missing kubeconfig, one line on stderr', function () {
    this.timeout(90_000);
    const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'explain', ...args], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, KUBECONFIG: '', HOME: scratchDir('home') },
    });
    const usage = run(['frob/web']);
    expect(usage.status).to.equal(2);
    expect(usage.stderr.trim()).to.match(/^config-reload-operator explain: error: "frob" is not a kind/);
    const noKubeconfig = run(['deploy/web', '--kubeconfig', '/nonexistent/kubeconfig']);
    expect(noKubeconfig.status).to.equal(2);
    expect(noKubeconfig.stderr).to.contain('no such file');
  });
});
