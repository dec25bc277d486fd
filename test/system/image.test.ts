// The benchmark measures the operator as the image starts it; the figures in docs/figures.md are
// only true of the image if the two start Node the same way.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { IMAGE_ENV, IMAGE_NODE_FLAGS } from '../support/image.ts';

describe('image: Node flags and environment', () => {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');

  it('the ENTRYPOINT runs node with the flags the benchmark uses', () => {
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(entrypoint, 'an exec-form ENTRYPOINT').to.be.a('string');
    expect(JSON.parse(entrypoint as string)).to.deep.equal(['node', ...IMAGE_NODE_FLAGS, 'dist/main.js']);
  });

  it('the runtime stage sets the environment the benchmark uses', () => {
    const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
    const env = Object.fromEntries(
      [...runtimeStage.matchAll(/^ENV (.+)$/gm)].flatMap((m) => (m[1] as string).trim().split(/\s+/).map((kv) => kv.split('=') as [string, string])),
    );
    for (const [key, value] of Object.entries(IMAGE_ENV)) expect(env[key], key).to.equal(value);
  });
});
