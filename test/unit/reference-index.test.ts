import { expect } from 'chai';
import { sourceKey, workloadKey } from '../../src/core/keys.ts';
import { ReferenceIndex } from '../../src/state/reference-index.ts';

const w = (name: string) => workloadKey('Deployment', 'ns', name);
const c = (name: string) => sourceKey('ConfigMap', 'ns', name);

describe('reference index: ConfigMap ⇄ workloads', () => {
  it('maps each ConfigMap to the workloads that consume it, both ways', () => {
    const idx = new ReferenceIndex();
    idx.set(w('a'), [c('cm1'), c('cm2')]);
    idx.set(w('b'), [c('cm2')]);
    expect([...idx.consumersOf(c('cm2'))].sort()).to.deep.equal([w('a'), w('b')]);
    expect([...idx.consumersOf(c('cm1'))]).to.deep.equal([w('a')]);
    expect(idx.consumedBy(w('a'))).to.deep.equal([c('cm1'), c('cm2')]);
  });

  it('replaces a workload\'s references and drops emptied entries', () => {
    const idx = new ReferenceIndex();
    idx.set(w('a'), [c('cm1')]);
    idx.set(w('a'), [c('cm3')]);
    expect(idx.consumersOf(c('cm1')).size).to.equal(0);
    expect([...idx.consumersOf(c('cm3'))]).to.deep.equal([w('a')]);
    idx.delete(w('a'));
    expect(idx.consumersOf(c('cm3')).size).to.equal(0);
    expect(idx.consumedBy(w('a'))).to.deep.equal([]);
  });
});
