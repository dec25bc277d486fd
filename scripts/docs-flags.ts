// `npm run docs:flags`: writes README.md's flag tables from the flag tables (scripts/flag-docs.ts).
// `npm run docs:flags -- --check`: writes nothing; exits 1 when README.md's tables are stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withFlagSections } from './flag-docs.ts';

const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));
const readme = readFileSync(readmePath, 'utf8');
const fresh = withFlagSections(readme);
if (process.argv.includes('--check')) {
  if (fresh !== readme) {
    process.stderr.write('README.md: the flag tables are stale; run npm run docs:flags\n');
    process.exit(1);
  }
} else if (fresh !== readme) {
  writeFileSync(readmePath, fresh);
  process.stdout.write('README.md: flag tables written\n');
} else {
  process.stdout.write('README.md: flag tables up to date\n');
}
