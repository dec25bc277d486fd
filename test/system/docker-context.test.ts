// The image's build context is an allow-list (.dockerignore): every file the Dockerfile copies
// from the context must be allowed in, or `docker build` fails on a file this machine cannot
// build an image to find missing (no Docker engine here).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);

describe('image: the build context', () => {
  it('every COPY from the context names files .dockerignore lets in', () => {
    const allowed = readFileSync(new URL('.dockerignore', root), 'utf8').split('\n')
      .filter((l) => l.startsWith('!')).map((l) => l.slice(1).trim());
    const copied = readFileSync(new URL('Dockerfile', root), 'utf8').split('\n')
      .filter((l) => /^COPY\s/.test(l) && !/--from=/.test(l))
      .flatMap((l) => l.trim().split(/\s+/).slice(1, -1));
    expect(copied, 'the Dockerfile copies from the context').to.include('package.json');
    const shut = copied.filter((src) => !allowed.some((a) => src === a || (a.endsWith('/') && src.startsWith(a)) || `${src}/` === a));
    expect(shut, 'copied but left out of the context by .dockerignore').to.deep.equal([]);
  });
});
