// The GitHub Actions workflows (.github/workflows/): actionlint finds nothing in them — syntax,
// expressions, job outputs and needs, permission names, runner labels, untrusted input in
// scripts, and each `run:` script through shellcheck when one is on the PATH (actionlint's own
// choice) — and they keep what actionlint cannot know of: every action pinned by commit, every
// job given only the permissions it needs, nothing published before the tests and the version
// check pass. actionlint is built from the Go module proxy and cached outside the repository
// (scripts/build-actionlint.sh), as the testbed's tools are.
import { loadYaml } from '@kubernetes/client-node';
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../scratch-dir.ts';
import { ROOT } from '../support/chart.ts';

const WORKFLOWS = path.join(ROOT, '.github', 'workflows');
const files = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort();

interface Step { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }
interface Job {
  'runs-on'?: string; needs?: string | string[]; uses?: string; permissions?: Record<string, string> | string;
  steps?: Step[]; 'timeout-minutes'?: number;
}
interface Workflow { on: Record<string, unknown>; permissions?: Record<string, string> | string; jobs: Record<string, Job> }

const workflow = (file: string) => loadYaml<Workflow>(readFileSync(path.join(WORKFLOWS, file), 'utf8'));

let actionlint: string;
function lint(targets: string[]): { code: number | null; findings: Array<{ message: string; filepath: string; line: number; kind: string }> } {
  const res = spawnSync(actionlint, ['-format', '{{json .}}', ...targets], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  expect(res.stderr, 'actionlint stderr').to.equal('');
  return { code: res.status, findings: JSON.parse(res.stdout || '[]') as never };
}

describe('workflows: actionlint', function () {
  this.timeout(20 * 60_000); // a cold build of actionlint: a minute or two on 2 cores

  before(() => {
    const out = execFileSync('bash', [path.join(ROOT, 'scripts', 'build-actionlint.sh')], { cwd: ROOT, encoding: 'utf8' });
    actionlint = out.trim().split('\n').at(-1)!;
  });

  it('the workflows include ci.yml and release.yml', () => {
    expect(files).to.include.members(['ci.yml', 'release.yml']);
  });

  it('actionlint (the pinned version, built from the module proxy) finds nothing in any workflow', () => {
    expect(execFileSync(actionlint, ['-version'], { encoding: 'utf8' })).to.match(/^v1\.7\.12\n/);
    const { code, findings } = lint(files.map((f) => path.join('.github', 'workflows', f)));
    expect(findings.map((f) => `${f.filepath}:${f.line}: ${f.message} [${f.kind}]`)).to.deep.equal([]);
    expect(code).to.equal(0);
  });

  it('and does find what is wrong: a fixture with an untrusted input in a script, an unknown permission and a bad needs', () => {
    const dir = scratchDir('actionlint');
    const bad = path.join(dir, 'bad.yml');
    writeFileSync(bad, [
      'on: [pull_request]',
      'permissions:',
      '  contents: read',
      '  packagez: write',
      'jobs:',
      '  a:',
      '    runs-on: ubuntu-24.04',
      '    needs: nowhere',
      '    steps:',
      '      - run: echo "${{ github.event.pull_request.title }}"',
      '',
    ].join('\n'));
    const { code, findings } = lint([bad]);
    expect(code).to.equal(1);
    const kinds = findings.map((f) => f.kind);
    expect(kinds).to.include.members(['expression', 'permissions', 'job-needs']);
  });
});

describe('workflows: what actionlint does not check', () => {
  it('every action is pinned by a full commit SHA, with its version tag in a comment', () => {
    for (const file of files) {
      const text = readFileSync(path.join(WORKFLOWS, file), 'utf8');
      const uses = [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)];
      expect(uses.length, file).to.be.greaterThan(0);
      for (const [, ref, rest] of uses) {
        if (ref!.startsWith('./')) continue; // a workflow of this repository, at this commit
        expect(ref, `${file}: ${ref}`).to.match(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
        expect(rest, `${file}: ${ref}: the tag it stands for`).to.match(/^\s+# v\d+\.\d+\.\d+$/);
      }
    }
  });

  it('least privilege: read-only by default, each write held by the job that needs it, no checkout keeps its token', () => {
    for (const file of files) {
      const top = workflow(file).permissions;
      expect(top, `${file}: top-level permissions`).to.be.an('object');
      expect(Object.values(top as Record<string, string>), `${file}: no write by default`).not.to.include('write');
    }
    expect(workflow('ci.yml').permissions).to.deep.equal({ contents: 'read' });
    const release = workflow('release.yml');
    expect(release.permissions, 'release.yml: nothing unless a job asks').to.deep.equal({});
    const writes: Record<string, string[]> = {};
    for (const [name, job] of Object.entries(release.jobs)) {
      expect(job.permissions, `release.yml: job ${name} states its permissions`).to.be.an('object');
      writes[name] = Object.entries(job.permissions as Record<string, string>).filter(([, v]) => v === 'write').map(([k]) => k).sort();
    }
    expect(writes).to.deep.equal({
      version: [],
      test: [],
      image: ['attestations', 'id-token', 'packages'],
      chart: ['attestations', 'id-token', 'packages'],
      release: ['attestations', 'contents', 'id-token'],
    });
    for (const file of files) {
      for (const [name, job] of Object.entries(workflow(file).jobs)) {
        for (const step of job.steps ?? []) {
          if (step.uses?.startsWith('actions/checkout@')) expect(step.with?.['persist-credentials'], `${file}: ${name}`).to.equal(false);
          // Values from the event go through env:, never into the script's text.
          expect(step.run ?? '', `${file}: ${name}`).not.to.match(/\$\{\{\s*(github\.event|github\.head_ref|inputs\.)/);
        }
        if (job.steps) expect(job['timeout-minutes'], `${file}: ${name} has a timeout`).to.be.a('number');
      }
    }
  });

  it('CI runs .ci/run on pushes to main and pull requests, and the release workflow calls it', () => {
    const ci = workflow('ci.yml');
    expect(Object.keys(ci.on).sort()).to.deep.equal(['pull_request', 'push', 'workflow_call']);
    expect(ci.on.push).to.deep.equal({ branches: ['main'] });
    expect(Object.values(ci.jobs).flatMap((j) => j.steps ?? []).map((s) => s.run)).to.include('bash .ci/run');
  });

  it('a release runs on a v* tag; nothing is published before the version check and the tests pass', () => {
    const release = workflow('release.yml');
    expect(release.on).to.deep.equal({ push: { tags: ['v*'] } });
    expect(release.jobs.test?.uses).to.equal('./.github/workflows/ci.yml');
    const needs = (name: string): string[] => {
      const direct = [release.jobs[name]?.needs ?? []].flat();
      return [...new Set([...direct, ...direct.flatMap(needs)])];
    };
    for (const publisher of ['image', 'chart', 'release']) expect(needs(publisher), publisher).to.include.members(['version', 'test']);
    expect(needs('chart')).to.include('image'); // the chart's default image is the one just pushed
  });

  it('the image is built for linux/amd64 and linux/arm64 with QEMU and Buildx, pushed to ghcr.io, signed and attested; the chart is pushed as OCI', () => {
    const release = workflow('release.yml');
    const steps = (job: string) => release.jobs[job]?.steps ?? [];
    const action = (job: string, name: string) => steps(job).filter((s) => s.uses?.startsWith(`${name}@`));
    const scripts = (job: string) => steps(job).map((s) => s.run ?? '').join('\n');
    expect(action('image', 'docker/setup-qemu-action')).to.have.length(1);
    expect(action('image', 'docker/setup-buildx-action')).to.have.length(1);
    const [build] = action('image', 'docker/build-push-action');
    expect(build?.with).to.include({ platforms: 'linux/amd64,linux/arm64', push: true, sbom: true, 'provenance': 'mode=max' });
    expect(build?.with?.['build-args']).to.equal('REVISION=${{ github.sha }}');
    expect(scripts('image')).to.contain('ghcr.io/').and.contain('cosign sign --yes').and.contain('cosign attest --yes --type cyclonedx');
    expect(scripts('chart')).to.contain('scripts/build-chart.sh').and.contain('helm push').and.contain('oci://').and.contain('cosign sign --yes');
    for (const job of ['image', 'chart']) {
      const [attest] = action(job, 'actions/attest-build-provenance');
      expect(attest?.with?.['push-to-registry'], job).to.equal(true);
    }
    expect(scripts('release')).to.contain('scripts/build-plugin.sh').and.contain('cosign sign-blob').and.contain('gh release create');
    expect(action('release', 'actions/attest-build-provenance')).to.have.length(1);
  });
});
