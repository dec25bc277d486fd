// A release a user can consume: the licence package.json names, a changelog, one version
// (package.json, the chart's appVersion and its image tag default, the image tag of manifests/,
// --version and what the bundle reports with the revision it was built from), and a chart that
// refuses to render without an image, saying how to build and push one — none is published, and
// a default naming a missing image would end in ImagePullBackOff. The version rule is one
// function (scripts/release-version.ts), which the release workflow runs on its tag; the chart
// a release publishes (scripts/build-chart.sh) defaults to the image pushed with it.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { changelogReleases, checkVersions, readVersionTexts, VERSION_FILES, type VersionTexts } from '../../scripts/release-version.ts';
import { scratchDir } from '../scratch-dir.ts';
import {
  CHART, chartTools, helmEnv, mustFind, operatorContainer, parseObjects, renderChart, renderKustomize, ROOT, run,
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


describe('release: one version rule (scripts/release-version.ts), the workflow\'s tag check', function () {
  this.timeout(120_000);
  const texts = readVersionTexts();
  const v = pkg.version;
  // The repository as a release commit leaves it: the Unreleased notes under a dated heading.
  const released: VersionTexts = { ...texts, changelog: texts.changelog.replace(/^## \[Unreleased\]$/m, `## [Unreleased]\n\n## [${v}] - 2026-12-07`) };
  const other = '9.8.7';

  it('the repository agrees with itself: the chart\'s version and appVersion, the values\' tag, manifests/\' tags, CHANGELOG and --version are package.json\'s version', () => {
    const r = spawnSync(NODE, ['--import', 'tsx', 'scripts/release-version.ts'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).to.equal('');
    expect(r.status).to.equal(0);
    expect(r.stdout).to.equal(`${v}\n`);
    // Read here without the script, so that a wrong reading in it cannot agree with itself.
    const chartYaml = readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8');
    expect(/^version: "?([^"\s]+)"?$/m.exec(chartYaml)?.[1], 'Chart.yaml version').to.equal(v);
    expect(readFileSync(path.join(ROOT, VERSION_FILES.kustomization), 'utf8')).to.match(new RegExp(`^\\s+newTag: "?${v.replace(/\./g, '\\.')}"?$`, 'm'));
    const [latest] = changelogReleases(texts.changelog);
    if (latest !== undefined) expect(latest.version, 'CHANGELOG\'s latest release heading').to.equal(v);
  });

  it('a release: the tag is v + the version, CHANGELOG has its dated heading, every program prints it', () => {
    const line = `config-reload-operator ${v} (revision 0123abc)\n`;
    expect(checkVersions(released, { tag: `v${v}`, versionLines: { plugin: line, 'src/main.ts': `config-reload-operator ${v}\n` } }))
      .to.deep.equal({ version: v, problems: [] });
    const problems = (t: VersionTexts, opts: Parameters<typeof checkVersions>[1] = {}) => checkVersions(t, { tag: `v${v}`, ...opts }).problems;
    expect(problems(released, { tag: v })).to.deep.equal([`the tag "${v}" is not v${v} (package.json's version, v-prefixed)`]);
    expect(problems(released, { tag: `v${other}` })[0]).to.contain(`the tag "v${other}"`);
    expect(problems({ ...released, changelog: texts.changelog.replace(/^## \[Unreleased\]$/m, '## [Unreleased]\n\n## [0.0.1] - 2026-01-01') })[0])
      .to.contain(`CHANGELOG.md: a release needs its heading as the latest: "## [${v}] - YYYY-MM-DD" (the latest is [0.0.1])`);
    expect(problems({ ...released, changelog: released.changelog.replace(` - 2026-12-07`, '') })).to.deep.equal([
      `CHANGELOG.md: the heading of [${v}] needs its date: "## [${v}] - YYYY-MM-DD"`,
    ]);
    expect(problems(released, { versionLines: { 'dist/kubectl-config_reload': `config-reload-operator ${other}\n` } }))
      .to.deep.equal([`dist/kubectl-config_reload --version is "${other}", package.json's version is ${v}`]);
    expect(problems(released, { versionLines: { x: 'Error: boom' } })[0]).to.contain('x --version printed "Error: boom"');
  });

  it('each place that disagrees is named, file and field', () => {
    const bump = (key: keyof VersionTexts, from: RegExp, to: string): VersionTexts => {
      const changed = released[key].replace(from, to);
      expect(changed, `${key}: the edit applies`).not.to.equal(released[key]);
      return { ...released, [key]: changed };
    };
    const cases: Array<[VersionTexts, string]> = [
      [bump('packageJson', /"version": "[^"]+"/, `"version": "${other}"`), 'is "' + v + '", package.json\'s version is ' + other],
      [bump('chartYaml', /^version: .*$/m, `version: ${other}`), `charts/config-reload-operator/Chart.yaml: version is "${other}"`],
      [bump('chartYaml', /^appVersion: .*$/m, `appVersion: "${other}"`), `charts/config-reload-operator/Chart.yaml: appVersion is "${other}"`],
      [bump('valuesYaml', /^ {2}tag: ""$/m, `  tag: "${other}"`), `charts/config-reload-operator/values.yaml: image.tag (empty means appVersion) is "${other}"`],
      [bump('kustomization', /newTag: .*$/m, `newTag: ${other}`), `manifests/base/kustomization.yaml: images[ghcr.io/config-reload/config-reload-operator].newTag is "${other}"`],
      [bump('deployment', /(config-reload-operator):[^\s"]+/, `$1:${other}`), `manifests/base/deployment.yaml: the config-reload-operator image's tag is "${other}"`],
    ];
    for (const [t, expected] of cases) {
      const { problems } = checkVersions(t, { tag: `v${v}` });
      expect(problems.join('\n'), expected).to.contain(expected);
    }
    expect(checkVersions(bump('packageJson', /"version": "[^"]+"/, '"version": "1.2"')).problems[0])
      .to.equal('package.json: version "1.2" is not MAJOR.MINOR.PATCH[-PRERELEASE]');
    // Between releases (no tag), no heading yet is fine; a latest heading names the version still carried.
    expect(checkVersions(texts.changelog.includes(`## [${v}]`) ? released : texts).problems).to.deep.equal([]);
    expect(checkVersions({ ...released, changelog: released.changelog.replace(`## [${v}]`, `## [${other}]`) }).problems)
      .to.deep.equal([`CHANGELOG.md: the latest release heading is "${other}", package.json's version is ${v}`]);
  });

  it('the release workflow checks its tag and the plugin it publishes with this rule, before anything else runs', () => {
    const workflow = readFileSync(path.join(ROOT, '.github', 'workflows', 'release.yml'), 'utf8');
    expect(workflow).to.contain('npx tsx scripts/release-version.ts --tag "$TAG")"');
    expect(workflow).to.contain('npx tsx scripts/release-version.ts --tag "$TAG" --program release/kubectl-config_reload');
    expect(workflow).to.match(/^ {2}test:\n(?: {4}.*\n)*? {4}needs: version\n/m);
  });
});

describe('release: the chart a release publishes (scripts/build-chart.sh)', function () {
  this.timeout(75 * 60_000); // a cold testbed build includes helm

  it('defaults to the image pushed with it, by digest; the repository\'s chart keeps no default', async () => {
    const { helm } = await chartTools();
    const before = readFileSync(path.join(CHART, 'values.yaml'), 'utf8');
    const out = scratchDir('chart-package');
    const image = 'ghcr.io/example-org/config-reload-operator';
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    const build = spawnSync('bash', [path.join(ROOT, 'scripts', 'build-chart.sh'), out, image, digest], {
      cwd: ROOT, encoding: 'utf8', env: { ...helmEnv(), HELM: helm },
    });
    expect(build.status, build.stderr).to.equal(0);
    const tgz = build.stdout.trim().split('\n').at(-1)!;
    expect(tgz).to.equal(path.join(out, `config-reload-operator-${pkg.version}.tgz`));
    expect(readFileSync(path.join(CHART, 'values.yaml'), 'utf8'), 'the repository\'s values.yaml is untouched').to.equal(before);
    const shown = run(helm, ['show', 'chart', tgz], { env: helmEnv() });
    expect(shown).to.match(new RegExp(`^version: ${pkg.version.replace(/\./g, '\\.')}$`, 'm')).and.match(new RegExp(`^appVersion: "?${pkg.version.replace(/\./g, '\\.')}"?$`, 'm'));
    const values = run(helm, ['show', 'values', tgz], { env: helmEnv() });
    expect(values).not.to.contain('no image of this operator is published');
    const rendered = await parseObjects(run(helm, ['template', 'config-reload-operator', tgz, '-n', 'config-reload-system'], { env: helmEnv() }));
    expect(operatorContainer(mustFind(rendered, 'Deployment')).image).to.equal(`${image}@${digest}`);
    // Without a digest, the tag is the version.
    const byTag = spawnSync('bash', [path.join(ROOT, 'scripts', 'build-chart.sh'), scratchDir('chart-package'), image], {
      cwd: ROOT, encoding: 'utf8', env: { ...helmEnv(), HELM: helm },
    });
    expect(byTag.status, byTag.stderr).to.equal(0);
    const tagged = await parseObjects(run(helm, ['template', 'x', byTag.stdout.trim().split('\n').at(-1)!], { env: helmEnv() }));
    expect(operatorContainer(mustFind(tagged, 'Deployment')).image).to.equal(`${image}:${pkg.version}`);
  });

  it('refuses an image that is not a lower-case repository, or a digest that is not sha256', () => {
    for (const args of [['Registry.example/Op'], ['ghcr.io/x/op:1.0'], ['ghcr.io/x/op', 'sha256:abc']]) {
      const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'build-chart.sh'), scratchDir('chart-bad'), ...args], { cwd: ROOT, encoding: 'utf8' });
      expect(r.status, args.join(' ')).to.equal(2);
      expect(r.stderr, args.join(' ')).to.match(/^build-chart\.sh: /);
    }
  });
});
