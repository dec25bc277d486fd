// README.md's flag tables are rendered from the flag tables (src/config/flags.ts, explain's in
// src/explain/args.ts): this fails when they are stale. Fix: npm run docs:flags.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { FLAG_SECTIONS, readmeSection } from '../../scripts/flag-docs.ts';

describe('README: the flag tables', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const [name, render] of Object.entries(FLAG_SECTIONS)) {
    it(`${name}: README.md's table is the one the flag table renders`, () => {
      const held = readmeSection(readme, name);
      expect(held, `README.md has no <!-- flags:${name} begin --> … <!-- flags:${name} end --> section`).to.be.a('string');
      expect(held!.split('\n'), `README.md's ${name} flag table is stale: run npm run docs:flags`).to.deep.equal(render().split('\n'));
    });
  }
});
