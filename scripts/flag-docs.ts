// docs/flags.md's flag tables, rendered from the flag tables (src/config/flags.ts for the operator,
// src/explain/args.ts for explain). Each lives in docs/flags.md between marker comments:
//   <!-- flags:NAME begin … -->
//   …the table…
//   <!-- flags:NAME end -->
// `npm run docs:flags` writes them (scripts/docs-flags.ts); test/system/flag-docs.test.ts fails
// when docs/flags.md's differ from these.
import { FLAGS } from '../src/config/flags.ts';
import { flagMarkdown } from '../src/config/help.ts';
import { EXPLAIN_FLAGS, TARGET_HELP } from '../src/explain/args.ts';

/** The page that holds the tables, relative to the repository's root. */
export const FLAG_DOCS = 'docs/flags.md';

/**
 * A flag's help names pages from the repository's root (`docs/x.md`, `README.md`), as --help
 * and the sources read; in docs/flags.md a link is relative to that page.
 */
export function linksFromDocs(markdown: string): string {
  return markdown.replace(/\]\((?![a-z]+:|#|\/)([^)\s]+)\)/g, (_, target: string) =>
    `](${target.startsWith('docs/') ? target.slice('docs/'.length) : `../${target}`})`);
}

export const FLAG_SECTIONS: Readonly<Record<string, () => string>> = {
  operator: () => linksFromDocs(flagMarkdown(FLAGS, { env: true })),
  explain: () => linksFromDocs(flagMarkdown(EXPLAIN_FLAGS, { env: false, leading: [['`KIND/NAME`', '—', TARGET_HELP]] })),
};

const section = (name: string) =>
  new RegExp(`(<!-- flags:${name} begin[^\\n]*-->\\n)([\\s\\S]*?)(\\n<!-- flags:${name} end -->)`);

/** The table the page holds for a section; undefined when its markers are missing. */
export function flagSection(page: string, name: string): string | undefined {
  return section(name).exec(page)?.[2];
}

/** The page with every section's table rendered afresh; throws when a section's markers are missing. */
export function withFlagSections(page: string): string {
  let out = page;
  for (const [name, render] of Object.entries(FLAG_SECTIONS)) {
    if (flagSection(out, name) === undefined) throw new Error(`${FLAG_DOCS} has no <!-- flags:${name} begin --> … <!-- flags:${name} end --> section`);
    out = out.replace(section(name), (_, begin: string, _old: string, end: string) => `${begin}${render()}${end}`);
  }
  return out;
}
