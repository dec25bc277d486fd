// `npm run docs:flags`: writes docs/flags.md's flag tables from the flag tables (scripts/flag-docs.ts).
// `npm run docs:flags -- --check`: writes nothing; exits 1 when docs/flags.md's tables are stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FLAG_DOCS, withFlagSections } from './flag-docs.ts';

const pagePath = fileURLToPath(new URL(`../${FLAG_DOCS}`, import.meta.url));
const page = readFileSync(pagePath, 'utf8');
const fresh = withFlagSections(page);
if (process.argv.includes('--check')) {
  if (fresh !== page) {
    process.stderr.write(`${FLAG_DOCS}: the flag tables are stale; run npm run docs:flags\n`);
    process.exit(1);
  }
} else if (fresh !== page) {
  writeFileSync(pagePath, fresh);
  process.stdout.write(`${FLAG_DOCS}: flag tables written\n`);
} else {
  process.stdout.write(`${FLAG_DOCS}: flag tables up to date\n`);
}
