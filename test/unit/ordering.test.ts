import { expect } from 'chai';
import { atOrAfter, maxVersion, parseResourceVersion, templateCarriesConfig } from '../../src/core/ordering.ts';

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

  it('a template carries the configuration only when written strictly after its last change', () => {
    expect(templateCarriesConfig(11n, 10n)).to.equal(true);
    expect(templateCarriesConfig(10n, 10n)).to.equal(false);
    expect(templateCarriesConfig(9n, 10n)).to.equal(false);
    expect(templateCarriesConfig(undefined, 10n)).to.equal(false);
    expect(templateCarriesConfig(11n, undefined)).to.equal(false);
  });

  it('the latest of several changes is unknown when any is', () => {
    expect(maxVersion([3n, 9n, 5n])).to.equal(9n);
    expect(maxVersion([])).to.equal(0n);
    expect(maxVersion([3n, undefined])).to.equal(undefined);
  });
});
