// What can be checked of the supply chain without an advisory database (see docs/supply-chain.md):
// the image runs the Node the tests run on, the production tree is exactly what
// the lockfile pins, and the SBOM lists the production dependencies and nothing else.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string; dev?: boolean }> };
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

describe('supply chain', function () {
  this.timeout(120_000);

  it('the image runs exactly the Node version of the node devDependency the tests run on', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const images = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    const nodeVersion = lock.packages['node_modules/node']?.version;
    expect(nodeVersion).to.match(/^24\.\d+\.\d+$/);
    expect(images).to.have.length(2);
    for (const image of images) expect(image).to.equal(`node:${nodeVersion}-bookworm-slim`);
    expect(process.versions.node, 'this test runs on the pinned Node too').to.equal(nodeVersion);
  });

  it('scripts/sbom.sh writes a CycloneDX SBOM of the production dependencies only, from a tree npm ls finds clean', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cro-sbom-'));
    try {
      const out = join(dir, 'sbom.cdx.json');
      await run('bash', [join(root, 'scripts/sbom.sh'), out], { cwd: root });
      const sbom = JSON.parse(readFileSync(out, 'utf8')) as { bomFormat: string; components: Array<{ name: string; version: string; group?: string }> };
      expect(sbom.bomFormat).to.equal('CycloneDX');
      const names = new Set(sbom.components.map((c) => (c.group ? `${c.group}/${c.name}` : c.name)));
      for (const dep of Object.keys(pkg.dependencies)) expect(names.has(dep), `production dependency ${dep}`).to.equal(true);
      // A devDependency the production tree also needs (@types/node, which client-node depends
      // on) is shipped and listed; the others are not.
      const devOnly = Object.keys(pkg.devDependencies).filter((dev) => lock.packages[`node_modules/${dev}`]?.dev === true);
      expect(devOnly).to.include.members(['mocha', 'typescript', 'tsx', 'node']);
      for (const dev of devOnly) expect(names.has(dev), `devDependency ${dev}`).to.equal(false);
      // Every component is a production package of the lockfile, at its locked version.
      const production = new Map(Object.entries(lock.packages).filter(([path, p]) => path !== '' && !p.dev)
        .map(([path, p]) => [`${path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${p.version}`, true]));
      for (const c of sbom.components) {
        const id = `${c.group ? `${c.group}/` : ''}${c.name}@${c.version}`;
        expect(production.has(id), `${id} is a locked production package`).to.equal(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
