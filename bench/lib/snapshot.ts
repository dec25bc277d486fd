// The operator under test is a snapshot of the working tree taken when the benchmark starts
// (src/, package.json, tsconfig*.json, manifests/), so that edits made while a long run is in
// progress cannot change the code half-way through. node_modules is linked, not copied. The
// snapshot is compiled to dist/ as the image does (`npm run build`), since that is what runs
// in production.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';

export interface OperatorSnapshot {
  dir: string;
  /** git HEAD of the repository when the snapshot was taken. */
  commit: string;
  /** Files under src/ that differ from HEAD (uncommitted work included in the snapshot). */
  dirty: string[];
  /** dist/main.js was built; else only the tsx runtime can run it. */
  built: boolean;
  buildOutput: string;
}

export function snapshotOperator(repo: string, into: string): OperatorSnapshot {
  mkdirSync(into, { recursive: true });
  for (const entry of ['src', 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'manifests', 'scripts/build.sh', 'scripts/revision.sh']) {
    const from = path.join(repo, entry);
    if (existsSync(from)) cpSync(from, path.join(into, entry), { recursive: true });
  }
  symlinkSync(path.join(repo, 'node_modules'), path.join(into, 'node_modules'), 'dir');
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const commit = git('rev-parse', '--short=12', 'HEAD') || 'unknown';
  const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).map((l) => l.trim());
  const buildOutput = buildDist(repo, into);
  return { dir: into, commit, dirty, built: existsSync(path.join(into, 'dist/main.js')), buildOutput };
}

/**
 * Builds dir/dist/main.js as the image does: `scripts/build.sh` (the esbuild bundle) where the
 * tree has it, else tsc file by file (commits before the bundle). Returns the build's complaints.
 */
export function buildDist(repo: string, dir: string): string {
  const [command, args] = existsSync(path.join(dir, 'scripts/build.sh'))
    ? ['bash', ['scripts/build.sh']]
    : [path.join(repo, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json']];
  try {
    execFileSync(command, args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return '';
  } catch (err) {
    // tsc still emits on type errors; what matters is whether dist/main.js exists.
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`.slice(0, 2000) || String(err);
  }
}

/**
 * An operator build for comparisons across commits: the working tree (`.`, a snapshot) or a git
 * ref (`git archive` of what the operator is built from), compiled as the image of its time was.
 */
export function buildRef(repo: string, ref: string, into: string): { dir: string; commit: string; dirty: number } {
  if (ref === '.') {
    const s = snapshotOperator(repo, into);
    if (!s.built) throw new Error(`build of the working tree failed: ${s.buildOutput}`);
    return { dir: s.dir, commit: s.commit, dirty: s.dirty.length };
  }
  mkdirSync(into, { recursive: true });
  const commit = execFileSync('git', ['-C', repo, 'rev-parse', '--short=12', ref], { encoding: 'utf8' }).trim();
  // scripts/build.sh where the commit has it (the bundle), else tsc: the build of its time.
  execFileSync('bash', ['-c', `git -C "${repo}" archive "${commit}" src package.json tsconfig.json tsconfig.build.json manifests `
    + `$(git -C "${repo}" ls-tree --name-only "${commit}" scripts/build.sh scripts/revision.sh) | tar -x -C "${into}"`]);
  symlinkSync(path.join(repo, 'node_modules'), path.join(into, 'node_modules'), 'dir');
  const complaints = buildDist(repo, into);
  if (!existsSync(path.join(into, 'dist/main.js'))) throw new Error(`build of ${ref} failed: ${complaints}`);
  return { dir: into, commit, dirty: 0 };
}
