// The kubectl plugin as a user installs it, without this repository: the one file
// scripts/build-plugin.sh bundles (`npm run build:plugin`, a release asset), copied alone into a
// directory outside the repository with no node_modules above it, put on the PATH with nothing
// but a node beside it, and run by name — and by kubectl, which finds it on the PATH.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { scratchDir } from '../scratch-dir.ts';
import { chartTools, ROOT } from '../support/chart.ts';

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; scripts: Record<string, string> };
const REVISION = 'fedcba9876543210fedcba9876543210fedcba98';
const PLUGIN = 'kubectl-config_reload';

/** A loopback port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('kubectl plugin: one bundled file, without this repository', function () {
  this.timeout(5 * 60_000);
  let installDir: string; // holds the plugin alone
  let nodeDir: string; // holds a link to node alone
  let home: string;

  before(() => {
    const build = scratchDir('plugin-build');
    const res = spawnSync('bash', [path.join(ROOT, 'scripts', 'build-plugin.sh'), path.join(build, PLUGIN)], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, REVISION },
    });
    expect(res.status, res.stderr).to.equal(0);
    installDir = scratchDir('plugin-path');
    copyFileSync(path.join(build, PLUGIN), path.join(installDir, PLUGIN));
    // Only the executable bit: as after a download and `chmod +x`.
    spawnSync('chmod', ['755', path.join(installDir, PLUGIN)]);
    nodeDir = scratchDir('plugin-node');
    symlinkSync(realpathSync(path.join(ROOT, 'node_modules', '.bin', 'node')), path.join(nodeDir, 'node'));
    home = scratchDir('plugin-home');
  });

  const env = (extraPath: string[] = []) => ({
    PATH: [installDir, nodeDir, ...extraPath].join(path.delimiter), HOME: home, KUBECONFIG: path.join(home, 'none'),
  });
  const plugin = (args: string[], cwd = installDir) => spawnSync(PLUGIN, args, { cwd, encoding: 'utf8', timeout: 60_000, env: env() });

  it('`npm run build:plugin` builds it; it is one file, outside the repository, with no node_modules reachable', () => {
    expect(pkg.scripts['build:plugin']).to.equal('bash scripts/build-plugin.sh');
    expect(readdirSync(installDir)).to.deep.equal([PLUGIN]);
    expect(path.relative(ROOT, installDir).startsWith('..')).to.equal(true);
    expect(readFileSync(path.join(installDir, PLUGIN), 'utf8').split('\n')[0]).to.equal('#!/usr/bin/env node');
    for (let dir = installDir; ; dir = path.dirname(dir)) {
      expect(existsSync(path.join(dir, 'node_modules')), `${dir}/node_modules`).to.equal(false);
      if (dir === path.dirname(dir)) break;
    }
    expect(os.tmpdir()).not.to.equal(ROOT);
  });

  it('--help and --version (the operator\'s version and the revision it was built from), exit 0', () => {
    const help = plugin(['--help']);
    expect(help.status, help.stderr).to.equal(0);
    expect(help.stdout).to.contain('Usage: kubectl config-reload explain KIND/NAME [flags]');
    const version = plugin(['--version']);
    expect(version.status, version.stderr).to.equal(0);
    expect(version.stdout).to.equal(`config-reload-operator ${pkg.version} (revision ${REVISION})\n`);
    const explainHelp = plugin(['explain', '--help']);
    expect(explainHelp.status, explainHelp.stderr).to.equal(0);
    expect(explainHelp.stdout).to.contain('--digest-key-secret').and.contain('Exit codes: 0 explained');
  });

  it('bad usage: exit 2 and the usage on stderr (no command, an unknown one, a missing kubeconfig)', () => {
    const none = plugin([]);
    expect(none.status).to.equal(2);
    expect(none.stderr).to.contain('Usage: kubectl config-reload');
    const unknown = plugin(['frob']);
    expect(unknown.status).to.equal(2);
    expect(unknown.stderr).to.match(/^kubectl config-reload: unknown command "frob"\n/);
    const noKubeconfig = plugin(['explain', 'deploy/web']);
    expect(noKubeconfig.status).to.equal(2);
    expect(noKubeconfig.stderr.trim()).to.match(/^config-reload-operator explain: error: kubeconfig .*: no such file$/);
  });

  it('explain against an API server that is not there: exit 1, one clear line naming the workload, no credential in it', async () => {
    const port = await closedPort();
    const token = 'secret-token-that-must-not-be-printed';
    const kubeconfig = path.join(home, 'kubeconfig');
    writeFileSync(kubeconfig, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
      clusters: [{ name: 'c', cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u', namespace: 'shop' } }],
    }));
    const r = plugin(['explain', 'deployment/web', '--kubeconfig', kubeconfig]);
    expect(r.status, r.stderr).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.match(/^config-reload-operator explain: error: cannot read Deployment shop\/web: .*ECONNREFUSED.*\n$/);
    expect(r.stderr).not.to.contain(token);
  });

  it('runs whatever the nearest package.json says about modules ("type": "module", "commonjs", none)', () => {
    for (const type of ['module', 'commonjs']) {
      const dir = scratchDir(`plugin-${type}`);
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type }));
      copyFileSync(path.join(installDir, PLUGIN), path.join(dir, PLUGIN));
      const r = spawnSync('node', [path.join(dir, PLUGIN), '--version'], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: env() });
      expect(r.status, `${type}: ${r.stderr.slice(-2000)}`).to.equal(0);
      expect(r.stdout, type).to.equal(`config-reload-operator ${pkg.version} (revision ${REVISION})\n`);
    }
  });

  it('on a Node older than 22.19 it says so and exits 2 (the banner\'s check, its threshold raised past this Node)', () => {
    const text = readFileSync(path.join(installDir, PLUGIN), 'utf8');
    expect(text).to.contain('< 22019)');
    const dir = scratchDir('plugin-old-node');
    writeFileSync(path.join(dir, PLUGIN), text.replace('< 22019)', '< 999019)'));
    const r = spawnSync('node', [path.join(dir, PLUGIN), '--version'], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: env() });
    expect(r.status).to.equal(2);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.equal(`kubectl config-reload: error: Node >= 22.19 is needed, this is ${process.version}\n`);
  });

  it('kubectl finds it on the PATH: `kubectl plugin list`, `kubectl config-reload --version`', async function () {
    this.timeout(75 * 60_000); // a cold testbed build includes kubectl
    const { kubectl } = await chartTools();
    const run = (args: string[]) => spawnSync(kubectl, args, { cwd: home, encoding: 'utf8', timeout: 60_000, env: env() });
    const list = run(['plugin', 'list', '--name-only']);
    expect(list.status, list.stderr).to.equal(0);
    expect(list.stdout.split('\n').filter((line) => line.startsWith('kubectl-'))).to.deep.equal([PLUGIN]);
    const version = run(['config-reload', '--version']);
    expect(version.status, version.stderr).to.equal(0);
    expect(version.stdout).to.equal(`config-reload-operator ${pkg.version} (revision ${REVISION})\n`);
  });

  it('the checkout\'s launcher, bin/kubectl-config_reload, still works and answers --help and --version the same way', () => {
    const launcher = path.join(ROOT, 'bin', PLUGIN);
    const opts = { cwd: home, encoding: 'utf8' as const, timeout: 60_000, env: { ...process.env, HOME: home } };
    const version = spawnSync(launcher, ['--version'], opts);
    expect(version.status, version.stderr).to.equal(0);
    expect(version.stdout).to.equal(`config-reload-operator ${pkg.version}\n`); // from source: no revision built in
    const help = spawnSync(launcher, ['--help'], opts);
    expect(help.status).to.equal(0);
    expect(help.stdout).to.contain('Usage: kubectl config-reload explain KIND/NAME [flags]').and.contain('kubectl config-reload --version');
    const bundled = plugin(['--help']);
    expect(bundled.stdout.split('\n').slice(0, 2)).to.deep.equal(help.stdout.split('\n').slice(0, 2));
  });
});
