// The one version rule, for the release workflow's tag check and test/system/release.test.ts:
// package.json's version is the version, and every other place that names it agrees — the
// chart's `version` and `appVersion`, its values' image tag (empty: appVersion), the image tag
// of manifests/ (the Deployment and the kustomize `images:` entry), CHANGELOG.md's latest
// released heading, and what `--version` prints. A release tag is `v` + that version, and a
// tagged release needs its CHANGELOG heading (`## [X.Y.Z] - YYYY-MM-DD`); between releases the
// latest heading, if there is one, is the version the files still carry.
//   npx tsx scripts/release-version.ts [--tag vX.Y.Z] [--program FILE]...
// prints the version on stdout and exits 0, or names each disagreement on stderr and exits 1
// (2 on bad usage). Each --program (the bundle, the kubectl plugin) is run with `--version`
// by this Node, like src/main.ts, which always is.
import { loadYaml } from '@kubernetes/client-node';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where the version is written, relative to the repository's root. */
export const VERSION_FILES = {
  packageJson: 'package.json',
  chartYaml: 'charts/config-reload-operator/Chart.yaml',
  valuesYaml: 'charts/config-reload-operator/values.yaml',
  kustomization: 'manifests/base/kustomization.yaml',
  deployment: 'manifests/base/deployment.yaml',
  changelog: 'CHANGELOG.md',
} as const;

export type VersionTexts = Record<keyof typeof VERSION_FILES, string>;

export function readVersionTexts(root: string = ROOT): VersionTexts {
  const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
  return Object.fromEntries(Object.entries(VERSION_FILES).map(([k, file]) => [k, read(file)])) as VersionTexts;
}

// Semantic Versioning 2.0.0, without build metadata (a `+` is not valid in an image tag).
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;
const IMAGE_NAME = 'config-reload-operator';

/** The released versions CHANGELOG.md has headings for, newest (first) first, and the heading's date. */
export function changelogReleases(changelog: string): Array<{ version: string; date: string | undefined }> {
  const found = [];
  for (const m of changelog.matchAll(/^## \[([^\]]+)\](?:\s+-\s+(\S+))?\s*$/gm)) {
    if (m[1]!.toLowerCase() !== 'unreleased') found.push({ version: m[1]!, date: m[2] });
  }
  return found;
}

interface Options {
  /** The git tag being released (`v0.1.0`). */
  tag?: string | undefined;
  /** What each program printed for --version, by its name. */
  versionLines?: Record<string, string>;
}

/** The version and every disagreement with it (empty: they agree). */
export function checkVersions(texts: VersionTexts, opts: Options = {}): { version: string; problems: string[] } {
  const problems: string[] = [];
  const version = String((JSON.parse(texts.packageJson) as { version?: unknown }).version ?? '');
  if (!SEMVER.test(version)) problems.push(`${VERSION_FILES.packageJson}: version ${JSON.stringify(version)} is not MAJOR.MINOR.PATCH[-PRERELEASE]`);
  const differs = (where: string, value: unknown) => {
    if (value !== version) problems.push(`${where} is ${JSON.stringify(value ?? null)}, package.json's version is ${version}`);
  };

  const chart = loadYaml<{ version?: unknown; appVersion?: unknown }>(texts.chartYaml);
  differs(`${VERSION_FILES.chartYaml}: version`, String(chart.version ?? ''));
  differs(`${VERSION_FILES.chartYaml}: appVersion`, String(chart.appVersion ?? ''));

  const values = loadYaml<{ image?: { tag?: unknown } }>(texts.valuesYaml);
  const valuesTag = String(values.image?.tag ?? '');
  if (valuesTag !== '') differs(`${VERSION_FILES.valuesYaml}: image.tag (empty means appVersion)`, valuesTag);

  const kustomization = loadYaml<{ images?: Array<{ name?: string; newTag?: unknown }> }>(texts.kustomization);
  const entry = kustomization.images?.find((i) => i.name?.endsWith(`/${IMAGE_NAME}`));
  if (entry === undefined) problems.push(`${VERSION_FILES.kustomization}: no images: entry for .../${IMAGE_NAME}`);
  else differs(`${VERSION_FILES.kustomization}: images[${entry.name}].newTag`, String(entry.newTag ?? ''));

  const image = new RegExp(`^\\s*image:\\s*"?\\S*/${IMAGE_NAME}:([^"\\s]+)"?\\s*$`, 'm').exec(texts.deployment)?.[1];
  differs(`${VERSION_FILES.deployment}: the ${IMAGE_NAME} image's tag`, image);

  const [latest] = changelogReleases(texts.changelog);
  if (opts.tag !== undefined) {
    if (opts.tag !== `v${version}`) problems.push(`the tag ${JSON.stringify(opts.tag)} is not v${version} (package.json's version, v-prefixed)`);
    if (latest?.version !== version) {
      problems.push(`${VERSION_FILES.changelog}: a release needs its heading as the latest: "## [${version}] - YYYY-MM-DD" ` +
        `(the latest is ${latest ? `[${latest.version}]` : 'none'}): move the Unreleased notes under it`);
    } else if (!/^\d{4}-\d{2}-\d{2}$/.test(latest.date ?? '')) {
      problems.push(`${VERSION_FILES.changelog}: the heading of [${version}] needs its date: "## [${version}] - YYYY-MM-DD"`);
    }
  } else if (latest !== undefined) {
    differs(`${VERSION_FILES.changelog}: the latest release heading`, latest.version);
  }

  for (const [program, line] of Object.entries(opts.versionLines ?? {})) {
    const printed = /^config-reload-operator (\S+)(?: \(revision [0-9A-Za-z._-]+\))?\n?$/.exec(line)?.[1];
    if (printed === undefined) problems.push(`${program} --version printed ${JSON.stringify(line.slice(0, 200))}, not "config-reload-operator VERSION"`);
    else differs(`${program} --version`, printed);
  }
  return { version, problems };
}

function versionLine(args: string[]): string {
  const res = spawnSync(process.execPath, [...args, '--version'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (res.status !== 0) return `(exit ${res.status ?? res.signal}) ${res.stderr.trim()}`;
  return res.stdout;
}

function main(argv: string[]): number {
  let tag: string | undefined;
  const programs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if ((flag === '--tag' || flag === '--program') && value !== undefined) {
      if (flag === '--tag') tag = value;
      else programs.push(value);
      i++;
    } else {
      process.stderr.write('usage: tsx scripts/release-version.ts [--tag vX.Y.Z] [--program FILE]...\n');
      return 2;
    }
  }
  const versionLines: Record<string, string> = { 'src/main.ts': versionLine(['--import', 'tsx', 'src/main.ts']) };
  for (const program of programs) versionLines[program] = versionLine([path.resolve(program)]);
  const { version, problems } = checkVersions(readVersionTexts(), { tag, versionLines });
  for (const problem of problems) process.stderr.write(`release-version: ${problem}\n`);
  if (problems.length > 0) return 1;
  process.stdout.write(`${version}\n`);
  return 0;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
