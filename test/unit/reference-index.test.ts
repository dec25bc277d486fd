import { expect } from 'chai';
import { ReferenceIndex } from '../../src/state/reference-index.ts';

describe('reference index: ConfigMap ⇄ workloads', () => {
  it('maps each ConfigMap to the workloads that consume it, both ways', () => {
    const idx = new ReferenceIndex();
    idx.set('Deployment/ns/a', ['ns/cm1', 'ns/cm2']);
    idx.set('Deployment/ns/b', ['ns/cm2']);
    expect([...idx.consumersOf('ns/cm2')].sort()).to.deep.equal(['Deployment/ns/a', 'Deployment/ns/b']);
    expect([...idx.consumersOf('ns/cm1')]).to.deep.equal(['Deployment/ns/a']);
    expect(idx.consumedBy('Deployment/ns/a')).to.deep.equal(['ns/cm1', 'ns/cm2']);
  });

  it('replaces a workload\'s references and drops emptied entries', () => {
    const idx = new ReferenceIndex();
    idx.set('Deployment/ns/a', ['ns/cm1']);
    idx.set('Deployment/ns/a', ['ns/cm3']);
    expect(idx.consumersOf('ns/cm1').size).to.equal(0);
    expect([...idx.consumersOf('ns/cm3')]).to.deep.equal(['Deployment/ns/a']);
    idx.delete('Deployment/ns/a');
    expect(idx.consumersOf('ns/cm3').size).to.equal(0);
    expect(idx.consumedBy('Deployment/ns/a')).to.deep.equal([]);
  });
});
