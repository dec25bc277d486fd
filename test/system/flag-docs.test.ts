// docs/flags.md's flag tables are rendered from the flag tables (src/config/flags.ts, explain's in
// src/explain/args.ts): this fails when they are stale. Fix: npm run docs:flags.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { FLAG_DOCS, FLAG_SECTIONS, flagSection } from '../../scripts/flag-docs.ts';

describe(`${FLAG_DOCS}: the flag tables`, () => {
  const page = readFileSync(new URL(`../../${FLAG_DOCS}`, import.meta.url), 'utf8');
  for (const [name, render] of Object.entries(FLAG_SECTIONS)) {
    it(`${name}: ${FLAG_DOCS}'s table is the one the flag table renders`, () => {
      const held = flagSection(page, name);
      expect(held, `${FLAG_DOCS} has no <!-- flags:${name} begin --> … <!-- flags:${name} end --> section`).to.be.a('string');
      expect(held!.split('\n'), `${FLAG_DOCS}'s ${name} flag table is stale: run npm run docs:flags`).to.deep.equal(render().split('\n'));
    });
  }
});
