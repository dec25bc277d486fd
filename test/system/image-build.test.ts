// The image as the Dockerfile describes it, checked where no Docker engine runs: its own lines
// are executed (test/system/dockerfile.ts reads them, so this test and the file cannot drift).
// - The build stage: its COPY lines fill a scratch directory from the checkout and its RUN lines
//   run there under /bin/sh, with one change: `npm ci` gets `--offline` (installed from the npm
//   cache, no network). PATH's `node` is a copy of this Node, standing in for the node image's
//   /usr/local/bin/node; no node_modules/.bin is on PATH, and with --ignore-scripts the `node`
//   devDependency's binary is never installed, so nothing else could have run the build.
// - The runtime stage: a root file system assembled from what its COPY lines take from the build
//   stage, on what the distroless base provides (the libraries the binary links, each checked to
//   come from the base's packages libc6, libgcc-s1 and libstdc++6, and its /etc/passwd), and the
//   ENTRYPOINT run in it (chroot) as the USER, with the stage's ENV: no shell, no npm, no corepack
//   in it, the operator answers --version and, with no ServiceAccount mounted, exits 2 with the
//   documented message (docs/troubleshooting.md).
// What this cannot check: the base image's own contents (read from no registry here), BuildKit
// itself, and arm64 (the release builds both platforms).
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scratchDir } from '../scratch-dir.ts';
import { dockerfileStages, parseCopy, stage, type Stage } from './dockerfile.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
const REVISION = 'image-build-test';
// The PATH a container gets: the distroless images set this one, and Docker uses it for an image
// that sets none. The exec-form ENTRYPOINT's `node` is looked up in it.
const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
// What gcr.io/distroless/cc-debian12 provides that the operator uses: glibc, libgcc and libstdc++
// (Debian packages), and the users of /etc/passwd (nonroot is 65532, its home /home/nonroot).
const BASE = /^gcr\.io\/distroless\/cc-debian12:nonroot(@sha256:[0-9a-f]{64})?$/;
const BASE_PACKAGES = ['libc6', 'libgcc-s1', 'libstdc++6'];
const BASE_PASSWD = 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n';
const BASE_GROUP = 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n';
/** Names of a shell, a package manager or Node's package managers: none may be in the image. */
const FORBIDDEN = new Set(['sh', 'bash', 'dash', 'ash', 'busybox', 'npm', 'npx', 'corepack', 'yarn', 'pnpm', 'apt', 'apt-get', 'dpkg']);

/** Docker's COPY: a directory's contents into the destination, files into it when it is a directory. */
function copyInto(sources: string[], dest: string): void {
  const intoDir = sources.length > 1 || dest.endsWith('/');
  for (const src of sources) {
    if (statSync(src).isDirectory()) cpSync(src, dest, { recursive: true });
    else {
      const target = intoDir ? path.join(dest, path.basename(src)) : dest;
      mkdirSync(path.dirname(target), { recursive: true });
      copyFileSync(src, target);
    }
  }
}

/** The Debian package that installed a file (dpkg knows it by one of its paths: merged /usr). */
function debianPackage(file: string): string {
  for (const known of [file, `/usr${file}`, realpathSync(file)]) {
    const r = spawnSync('dpkg', ['-S', known], { encoding: 'utf8' });
    if (r.status === 0) return r.stdout.split(':')[0] as string;
  }
  throw new Error(`${file}: no Debian package installed it`);
}

/** Write permission off (false) or back on for the owner (true), on every file and directory under dir. */
function writable(dir: string, on: boolean): void {
  for (const f of [dir, ...files(dir).map((f) => path.join(dir, f))]) {
    const mode = statSync(f).mode & 0o7777;
    chmodSync(f, on ? mode | 0o200 : mode & ~0o222);
  }
}

function files(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return [path.relative(base, full), ...(e.isDirectory() ? files(full, base) : [])];
  });
}

/** The build stage run in `work` (its WORKDIR); returns the PATH it ran with. */
function runBuildStage(build: Stage, work: string, nodeDir: string): { ran: string[] } {
  const env: Record<string, string> = {
    PATH: [nodeDir, ...(process.env['PATH'] ?? '').split(':').filter((p) => p !== '' && !p.includes('node_modules'))].join(':'),
    HOME: process.env['HOME'] ?? '/root',
  };
  const ran: string[] = [];
  let workdir: string | undefined;
  for (const { op, args } of build.instructions) {
    if (op === 'WORKDIR') {
      expect(args, 'the build stage works in /src (the runtime stage copies from it)').to.equal('/src');
      workdir = work;
    } else if (op === 'COPY') {
      const copy = parseCopy(args);
      expect(copy.from, 'the build stage copies from the context only').to.equal(undefined);
      copyInto(copy.sources.map((s) => path.join(root, s)), path.join(workdir as string, copy.dest));
    } else if (op === 'ARG') {
      const [name, value = ''] = args.split('=') as [string, string?];
      env[name] = name === 'REVISION' ? REVISION : value.replace(/^"(.*)"$/, '$1');
    } else if (op === 'RUN') {
      const command = args.replace(/\bnpm ci\b/, 'npm ci --offline');
      ran.push(command);
      execFileSync('/bin/sh', ['-c', command], { cwd: workdir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    } else throw new Error(`build stage: ${op} is not handled by this test`);
  }
  return { ran };
}

/** Runs argv in the root file system as uid:gid, in wd, with exactly env (as a container runtime would). */
function inImage(rootfs: string, wd: string, user: [number, number], argv: string[], env: Record<string, string>) {
  const [uid, gid] = user;
  // As root: chroot, then the real uid and gid (unshare sets both and drops the supplementary
  // groups). Otherwise a user namespace in which this user is uid:gid (the files then belong to
  // an unmapped owner, read-only all the same).
  const isolate = process.getuid?.() === 0
    ? [`--root=${rootfs}`, `--wd=${wd}`, `--setuid=${uid}`, `--setgid=${gid}`]
    : ['--user', `--map-user=${uid}`, `--map-group=${gid}`, `--root=${rootfs}`, `--wd=${wd}`];
  const r = spawnSync('/usr/bin/unshare', [...isolate, '--', ...argv], { env, encoding: 'utf8', timeout: 60_000 });
  if (/^unshare: /m.test(r.stderr)) {
    throw new Error(`unshare could not isolate the image (${r.stderr.trim()}); run as root, or allow unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu)`);
  }
  return r;
}

describe('image: the Dockerfile\'s stages, run without Docker', function () {
  this.timeout(300_000);
  const stages = dockerfileStages();
  const build = stage('build', stages);
  const runtime = stage('runtime', stages);
  let work: string;
  let nodeBin: string;
  let ran: string[];

  before(() => {
    const scratch = scratchDir('image-build');
    work = path.join(scratch, 'src');
    mkdirSync(work);
    // The node image's /usr/local/bin/node: a copy of this Node, the version both stages name.
    const nodeVersion = /^node:(\d+\.\d+\.\d+)-/.exec(build.image)?.[1];
    expect(process.versions.node, `this test runs on the Node of ${build.image}`).to.equal(nodeVersion);
    const nodeDir = path.join(scratch, 'usr-local-bin');
    mkdirSync(nodeDir);
    nodeBin = path.join(nodeDir, 'node');
    copyFileSync(process.execPath, nodeBin);
    chmodSync(nodeBin, 0o755);
    ({ ran } = runBuildStage(build, work, nodeDir));
  });

  it('the build stage installs no install script\'s download and builds with the image\'s node, not node_modules\' ', () => {
    const install = ran.filter((c) => /\bnpm ci\b/.test(c));
    expect(install, 'one npm ci').to.have.length(1);
    expect(install[0]).to.match(/--ignore-scripts\b/);
    for (const command of ran) expect(command, 'nothing that puts node_modules/.bin first on PATH').not.to.match(/\bnpx\b|\bnpm (run|exec|test|start)\b/);
    // The `node` devDependency's preinstall never ran: there is no second Node in the tree.
    expect(existsSync(path.join(work, 'node_modules/node/package.json')), 'the devDependency is installed').to.equal(true);
    expect(existsSync(path.join(work, 'node_modules/node/bin/node'))).to.equal(false);
    expect(existsSync(path.join(work, 'node_modules/.bin/node'))).to.equal(false);
    // Nor esbuild's postinstall: its bin is still the JavaScript launcher of its platform package.
    expect(readFileSync(path.join(work, 'node_modules/esbuild/bin/esbuild'), 'utf8').startsWith('#!/usr/bin/env node')).to.equal(true);
    const version = execFileSync(nodeBin, [path.join(work, 'dist/main.js'), '--version'], { encoding: 'utf8' }).trim();
    expect(version).to.equal(`config-reload-operator ${pkg.version} (revision ${REVISION})`);
  });

  it('the runtime stage carries node, the bundle, package.json and the SBOM, and no shell or package manager; the operator starts as 65532', () => {
    expect(runtime.image, 'the base whose contents this test provides').to.match(BASE);
    const rootfs = path.join(path.dirname(work), 'rootfs');
    mkdirSync(rootfs, { mode: 0o755 });
    // The base: the shared libraries the node binary links, where ldd finds them, and /etc/passwd.
    const libs = [...execFileSync('ldd', [nodeBin], { encoding: 'utf8' }).matchAll(/(\/\S+) \(0x/g)].map((m) => m[1] as string);
    expect(libs.length).to.be.greaterThan(3);
    for (const lib of libs) {
      const owner = debianPackage(lib);
      expect(BASE_PACKAGES, `${lib} comes from ${owner}`).to.include(owner);
      mkdirSync(path.join(rootfs, path.dirname(lib)), { recursive: true });
      copyFileSync(lib, path.join(rootfs, lib));
    }
    mkdirSync(path.join(rootfs, 'etc'));
    writeFileSync(path.join(rootfs, 'etc/passwd'), BASE_PASSWD);
    writeFileSync(path.join(rootfs, 'etc/group'), BASE_GROUP);

    // The stage's own lines. A path of the build stage is the node image's node or under /src.
    const fromBuild = (p: string) => (p === '/usr/local/bin/node' ? nodeBin : p.startsWith('/src/') ? path.join(work, p.slice('/src/'.length)) : undefined);
    const env: Record<string, string> = { PATH: IMAGE_PATH, HOME: '/home/nonroot', HOSTNAME: 'config-reload-operator-0' };
    let wd = '/';
    // The :nonroot base runs as 65532 until a USER says otherwise.
    let user: [number, number] | undefined = runtime.image.includes(':nonroot') ? [65532, 65532] : [0, 0];
    let entrypoint: string[] | undefined;
    for (const { op, args } of runtime.instructions) {
      if (op === 'ENV') for (const kv of args.split(/\s+/)) env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
      else if (op === 'WORKDIR') {
        // BuildKit creates it as the current user: the process must not own what it runs.
        expect(user, `WORKDIR ${args}: created as root`).to.deep.equal([0, 0]);
        mkdirSync(path.join(rootfs, (wd = args)), { recursive: true });
      }
      else if (op === 'COPY') {
        const copy = parseCopy(args);
        const sources = copy.sources.map((s) => {
          if (copy.from === undefined) return path.join(root, s);
          expect(copy.from).to.equal('build');
          const local = fromBuild(s);
          if (local === undefined) throw new Error(`COPY --from=build ${s}: a path this test does not know the build stage to hold`);
          return local;
        });
        copyInto(sources, path.join(rootfs, path.posix.resolve(wd, copy.dest)) + (copy.dest.endsWith('/') ? '/' : ''));
      } else if (op === 'USER') user = args.split(':').map(Number) as [number, number];
      else if (op === 'ENTRYPOINT') entrypoint = JSON.parse(args) as string[];
      else if (op === 'RUN') throw new Error('a RUN in the runtime stage needs a shell, which the base does not have');
      else if (op !== 'EXPOSE') throw new Error(`runtime stage: ${op} is not handled by this test`);
    }
    expect(user, 'USER: numeric uid:gid, not root').to.deep.equal([65532, 65532]);
    expect(entrypoint?.[0]).to.equal('node');

    const tree = files(rootfs);
    expect(tree.filter((f) => FORBIDDEN.has(path.basename(f)) || path.basename(f) === 'node_modules'), 'shells, package managers').to.deep.equal([]);
    expect(tree.filter((f) => f.startsWith('app/') && !f.startsWith('app/dist/')).sort()).to.deep.equal(['app/dist', 'app/package.json', 'app/sbom.cdx.json']);
    expect(tree.filter((f) => f.startsWith('usr/local'))).to.deep.equal(['usr/local', 'usr/local/bin', 'usr/local/bin/node']);

    // Docker's COPY leaves the files root's. Run by root, this test's files are root's too; run by
    // another user, they are that user's, whom the user namespace maps to 65532: write permission
    // is taken off them instead, so that they are read-only to the process all the same.
    const asRoot = process.getuid?.() === 0;
    if (!asRoot) writable(rootfs, false);
    try {
      runImage(rootfs, wd, user as [number, number], entrypoint as string[], env, runtime.image);
    } finally {
      if (!asRoot) writable(rootfs, true);
    }
  });
});

/** The ENTRYPOINT run in the assembled image: it starts, fails cleanly, runs as 65532, and its SBOM names what it runs. */
function runImage(rootfs: string, wd: string, user: [number, number], entrypoint: string[], env: Record<string, string>, base: string): void {
  const run = (args: string[], extra: Record<string, string> = {}) => inImage(rootfs, wd, user, [...entrypoint, ...args], { ...env, ...extra });
  const version = run(['--version']);
  expect(version.status, version.stderr).to.equal(0);
  expect(version.stdout.trim()).to.equal(`config-reload-operator ${pkg.version} (revision ${REVISION})`);
  // In a pod with no ServiceAccount token mounted: exit 2, the file named, no stack trace.
  const noToken = run([], { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' });
  expect(noToken.status, noToken.stderr).to.equal(2);
  expect(noToken.stderr).to.contain('config-reload-operator: error: in-cluster service account: /var/run/secrets/kubernetes.io/serviceaccount/token: no such file');
  expect(noToken.stderr).not.to.match(/^\s+at /m);

  // The process: uid and gid 65532, no other group; the image's files are read-only to it.
  const probe = inImage(rootfs, wd, user, ['node', '-e', `
    let write = 'written';
    try { require('node:fs').appendFileSync('dist/main.js', ''); } catch (err) { write = err.code; }
    console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(), write, node: process.version }));`], env);
  expect(probe.status, probe.stderr).to.equal(0);
  const seen = JSON.parse(probe.stdout) as { uid: number; gid: number; groups: number[]; write: string; node: string };
  expect(seen).to.deep.include({ uid: 65532, gid: 65532, groups: [65532], write: 'EACCES' });

  // The SBOM the image carries names the Node it runs and its base image.
  const sbom = JSON.parse(readFileSync(path.join(rootfs, 'app/sbom.cdx.json'), 'utf8')) as { components: Array<{ name: string; version: string; type: string }> };
  expect(sbom.components.find((c) => c.name === 'node' && c.type === 'application')?.version).to.equal(seen.node.slice(1));
  const [ref, digest] = base.split('@') as [string, string?];
  const tagAt = ref.lastIndexOf(':');
  expect(sbom.components.filter((c) => c.type === 'container').map((c) => [c.name, c.version]))
    .to.deep.equal([[ref.slice(0, tagAt), digest ?? ref.slice(tagAt + 1)]]);
}
