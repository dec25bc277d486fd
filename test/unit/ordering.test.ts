import { expect } from 'chai';
import { atOrAfter, parseResourceVersion } from '../../src/core/ordering.ts';

describe('ordering: resourceVersions as etcd revisions', () => {
  it('parses canonical decimal integers only', () => {
    expect(parseResourceVersion('42')).to.equal(42n);
    expect(parseResourceVersion('18446744073709551617')).to.equal(18446744073709551617n);
    for (const bad of [undefined, '', '0', '042', '1e3', ' 1', 'abc', '-1']) expect(parseResourceVersion(bad), String(bad)).to.equal(undefined);
  });

  it('compares numerically, not as text, and refuses what it cannot order', () => {
    expect(atOrAfter('10', '9')).to.equal(true);
    expect(atOrAfter('9', '10')).to.equal(false);
    expect(atOrAfter('10', '10')).to.equal(true);
    expect(atOrAfter('x', '10')).to.equal(undefined);
  });
});
