// README.md's flag tables, rendered from the flag tables (src/config/flags.ts for the operator,
// src/explain/args.ts for explain). Each lives in README.md between marker comments:
//   <!-- flags:NAME begin … -->
//   …the table…
//   <!-- flags:NAME end -->
// `npm run docs:flags` writes them (scripts/docs-flags.ts); test/system/flag-docs.test.ts fails
// when README.md's differ from these.
import { FLAGS } from '../src/config/flags.ts';
import { flagMarkdown } from '../src/config/help.ts';
import { EXPLAIN_FLAGS, TARGET_HELP } from '../src/explain/args.ts';

export const FLAG_SECTIONS: Readonly<Record<string, () => string>> = {
  operator: () => flagMarkdown(FLAGS, { env: true }),
  explain: () => flagMarkdown(EXPLAIN_FLAGS, { env: false, leading: [['`KIND/NAME`', '—', TARGET_HELP]] }),
};

const section = (name: string) =>
  new RegExp(`(<!-- flags:${name} begin[^\\n]*-->\\n)([\\s\\S]*?)(\\n<!-- flags:${name} end -->)`);

/** The table README.md holds for a section; undefined when its markers are missing. */
export function readmeSection(readme: string, name: string): string | undefined {
  return section(name).exec(readme)?.[2];
}

/** README.md with every section's table rendered afresh; throws when a section's markers are missing. */
export function withFlagSections(readme: string): string {
  let out = readme;
  for (const [name, render] of Object.entries(FLAG_SECTIONS)) {
    if (readmeSection(out, name) === undefined) throw new Error(`README.md has no <!-- flags:${name} begin --> … <!-- flags:${name} end --> section`);
    out = out.replace(section(name), (_, begin: string, _old: string, end: string) => `${begin}${render()}${end}`);
  }
  return out;
}
