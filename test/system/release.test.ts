// A release a user can consume: the licence package.json names, a changelog, one version
// (package.json, the chart's appVersion and its image tag default, the image tag of manifests/,
// --version and what the bundle reports with the revision it was built from), and a chart that
// refuses to render without an image, saying how to build and push one — none is published, and
// a default naming a missing image would end in ImagePullBackOff.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../scratch-dir.ts';
import {
  CHART, chartTools, helmEnv, mustFind, operatorContainer, renderChart, renderKustomize, ROOT, run,
} from '../support/chart.ts';

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string };
const NODE = path.join(ROOT, 'node_modules', '.bin', 'node');

function node(args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(NODE, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('release: licence, changelog, one version', function () {
  this.timeout(120_000);

  it('LICENSE is the Apache License 2.0 that package.json names', () => {
    expect(pkg.license).to.equal('Apache-2.0');
    const licence = readFileSync(path.join(ROOT, 'LICENSE'), 'utf8');
    expect(licence).to.match(/^\s*Apache License\n\s*Version 2\.0, January 2004\n/);
    expect(licence).to.contain('END OF TERMS AND CONDITIONS');
  });

  it('CHANGELOG.md keeps a changelog: an Unreleased section, and package.json\'s version named', () => {
    const changelog = readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8');
    expect(changelog).to.match(/^# Changelog$/m);
    expect(changelog).to.match(/^## \[Unreleased\]$/m);
    expect(changelog).to.contain(pkg.version);
  });

  it('--version prints package.json\'s version and exits 0, whatever else is given; --help says so', () => {
    for (const args of [['--version'], ['--log-level', 'nonsense', '--version']]) {
      const r = node(['--import', 'tsx', 'src/main.ts', ...args]);
      expect(r.code, args.join(' ')).to.equal(0);
      // From source no revision is built in.
      expect(r.stdout, args.join(' ')).to.equal(`config-reload-operator ${pkg.version}\n`);
    }
    expect(node(['--import', 'tsx', 'src/main.ts', '--help']).stdout).to.contain('--version');
  });

  it('the bundle (scripts/build.sh, as the image builds it) carries the revision it was built from (--version; the start-up line and config_reload_build_info show the same constant)', () => {
    const dir = scratchDir('bundle');
    const revision = '0123456789abcdef0123456789abcdef01234567';
    const build = spawnSync('bash', [path.join(ROOT, 'scripts', 'build.sh'), path.join(dir, 'dist')], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, REVISION: revision },
    });
    expect(build.status, build.stderr).to.equal(0);
    copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
    const r = node([path.join(dir, 'dist', 'main.js'), '--version']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(`config-reload-operator ${pkg.version} (revision ${revision})\n`);
    // A revision that is not one is refused, not written into the bundle.
    const bad = spawnSync('bash', [path.join(ROOT, 'scripts', 'build.sh'), path.join(dir, 'bad')], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, REVISION: 'x"; evil' },
    });
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.contain('REVISION');
  });
});

describe('release: the chart\'s version and image', function () {
  this.timeout(75 * 60_000); // a cold testbed build includes helm

  before(async () => {
    await chartTools();
  });

  it('appVersion, the image tag it defaults to and the tag of manifests/ are package.json\'s version', async () => {
    const chartYaml = readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8');
    expect(/^appVersion: "?([^"\s]+)"?$/m.exec(chartYaml)?.[1], 'appVersion').to.equal(pkg.version);
    const { chartCheck } = await chartTools();
    const [values] = JSON.parse(run(chartCheck, ['yaml-to-json'], { input: readFileSync(path.join(CHART, 'values.yaml'), 'utf8') })) as
      Array<{ image: { repository: string; tag: string } }>;
    expect(values!.image.repository, 'no default repository: none is published').to.equal('');
    expect(values!.image.tag, 'values.yaml: no tag (appVersion) or the same version').to.be.oneOf(['', pkg.version]);
    const rendered = await renderChart({ values: { image: { repository: 'registry.example/config-reload-operator' } } });
    expect(operatorContainer(mustFind(rendered, 'Deployment')).image).to.equal(`registry.example/config-reload-operator:${pkg.version}`);
    expect(mustFind(rendered, 'Deployment').metadata.labels?.['app.kubernetes.io/version']).to.equal(pkg.version);
    const manifests = await renderKustomize();
    expect(operatorContainer(mustFind(manifests, 'Deployment')).image).to.match(new RegExp(`:${pkg.version.replace(/\./g, '\\.')}$`));
  });

  it('without image.repository (a digest alone included) it refuses to render, saying how to build and push one', async () => {
    const { helm } = await chartTools();
    for (const set of [[], ['--set', `image.digest=sha256:${'a'.repeat(64)}`]]) {
      let error = '';
      try {
        run(helm, ['template', 'config-reload-operator', CHART, '-n', 'config-reload-system', ...set], { env: helmEnv() });
      } catch (err) {
        error = (err as Error).message;
      }
      expect(error, set.join(' ') || 'the defaults').to.contain('image.repository is not set')
        .and.contain(`docker build -t REGISTRY/config-reload-operator:${pkg.version} .`)
        .and.contain(`docker push REGISTRY/config-reload-operator:${pkg.version}`)
        .and.contain('--set image.repository=REGISTRY/config-reload-operator');
    }
  });
});
