// The README and docs/ hold together: every relative link in README.md and docs/*.md names a
// file that exists, every #anchor names a heading of its page (GitHub's slugs, by
// github-slugger, the library GitHub's own renderer follows), every page of docs/ is linked from
// the README, and the README stays short enough to read (at most 400 lines).
import GithubSlugger from 'github-slugger';
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const README = path.join(ROOT, 'README.md');
const DOCS = path.join(ROOT, 'docs');
const PAGES = [README, ...readdirSync(DOCS).filter((f) => f.endsWith('.md')).sort().map((f) => path.join(DOCS, f))];
const MAX_README_LINES = 400;

/** The page's lines outside fenced code blocks, with their line numbers. */
function prose(text: string): Array<{ line: string; n: number }> {
  const out: Array<{ line: string; n: number }> = [];
  let fence: string | undefined;
  text.split('\n').forEach((line, i) => {
    const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
    if (marker !== undefined && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      return;
    }
    if (fence === undefined) out.push({ line, n: i + 1 });
  });
  return out;
}

/** A heading's text as GitHub slugs it: the inline markup gone, its words kept. */
function headingText(raw: string): string {
  return raw
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link: its text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/`/g, '')
    .replace(/(\*\*|__|\*)/g, '')
    .trim();
}

/** The anchors of a page's headings, with GitHub's numbering of repeated ones. */
function anchorsOf(text: string): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  for (const { line } of prose(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading !== undefined) anchors.add(slugger.slug(headingText(heading)));
  }
  return anchors;
}

/** Every link target of a page (inline links; inline code spans are not links). */
function linksOf(text: string): Array<{ target: string; n: number }> {
  const out: Array<{ target: string; n: number }> = [];
  for (const { line, n } of prose(text)) {
    const withoutCode = line.replace(/`[^`]*`/g, '');
    for (const m of withoutCode.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ target: m[1]!, n });
  }
  return out;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);
const rel = (file: string) => path.relative(ROOT, file);

describe('docs: README.md and docs/*.md', () => {
  const texts = new Map(PAGES.map((p) => [p, readFileSync(p, 'utf8')]));
  const anchors = new Map<string, Set<string>>();
  const anchorsIn = (file: string) => {
    if (!anchors.has(file)) anchors.set(file, anchorsOf(texts.get(file) ?? readFileSync(file, 'utf8')));
    return anchors.get(file)!;
  };

  it(`the README is at most ${MAX_README_LINES} lines`, () => {
    const lines = texts.get(README)!.replace(/\n$/, '').split('\n').length;
    expect(lines, 'README.md lines').to.be.at.most(MAX_README_LINES);
  });

  for (const page of PAGES) {
    it(`${rel(page)}: every relative link names a file that exists, every #anchor a heading`, () => {
      const broken: string[] = [];
      for (const { target, n } of linksOf(texts.get(page)!)) {
        if (isExternal(target)) continue;
        const [file, anchor] = target.split('#', 2) as [string, string | undefined];
        const resolved = file === '' ? page : path.resolve(path.dirname(page), decodeURIComponent(file));
        if (!existsSync(resolved)) {
          broken.push(`${rel(page)}:${n}: ${target}: no such file`);
          continue;
        }
        if (anchor !== undefined && resolved.endsWith('.md') && !anchorsIn(resolved).has(decodeURIComponent(anchor))) {
          broken.push(`${rel(page)}:${n}: ${target}: no heading with that anchor in ${rel(resolved)}`);
        }
      }
      expect(broken).to.deep.equal([]);
    });
  }

  it('every page of docs/ is linked from the README', () => {
    const linked = new Set(linksOf(texts.get(README)!).filter((l) => !isExternal(l.target))
      .map((l) => path.resolve(ROOT, l.target.split('#')[0]!)));
    expect(PAGES.filter((p) => p !== README && !linked.has(p)).map(rel)).to.deep.equal([]);
  });

  it('the anchors follow GitHub\'s slugs (the checker itself)', () => {
    const a = anchorsOf('# Why did (or didn\'t) it roll? — explain\n## Coming from Reloader / Wave\n## `--flag` and **bold**\n## Events\n## Events\n```\n# not a heading\n```\n');
    expect([...a]).to.deep.equal(['why-did-or-didnt-it-roll--explain', 'coming-from-reloader--wave', '--flag-and-bold', 'events', 'events-1']);
  });
});
