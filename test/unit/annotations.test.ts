import { expect } from 'chai';
import {
  ANNOTATION_PREFIX,
  CONFIGMAPS_ANNOTATION,
  ENABLED_ANNOTATION,
  HASH_ANNOTATION,
  parseOptIn,
  quoteValue,
  SECRETS_ANNOTATION,
} from '../../src/core/annotations.ts';

describe('annotations: parseOptIn', () => {
  it('uses the config-reload.dev/ prefix for every annotation', () => {
    expect(ANNOTATION_PREFIX).to.equal('config-reload.dev/');
    expect(ENABLED_ANNOTATION).to.equal('config-reload.dev/enabled');
    expect(CONFIGMAPS_ANNOTATION).to.equal('config-reload.dev/configmaps');
    expect(HASH_ANNOTATION).to.equal('config-reload.dev/config-hash');
  });

  it('is out without annotations', () => {
    expect(parseOptIn(undefined)).to.deep.equal({ kind: 'out' });
    expect(parseOptIn({})).to.deep.equal({ kind: 'out' });
    expect(parseOptIn({ 'other.dev/enabled': 'true' })).to.deep.equal({ kind: 'out' });
  });

  it('opts in to referenced ConfigMaps with enabled=true, case-insensitive and trimmed', () => {
    for (const value of ['true', 'True', 'TRUE', ' true ', '\ttrue\n']) {
      expect(parseOptIn({ [ENABLED_ANNOTATION]: value }), value).to.deep.equal({
        kind: 'in',
        referenced: true,
        extraConfigMaps: [], extraSecrets: [],
      });
    }
  });

  it('is out with enabled=false alone', () => {
    for (const value of ['false', 'False', ' FALSE ']) {
      expect(parseOptIn({ [ENABLED_ANNOTATION]: value }), value).to.deep.equal({ kind: 'out' });
    }
  });

  it('reports any other enabled value as malformed, naming the accepted values', () => {
    for (const value of ['yes', '1', '', 'truee', 't rue']) {
      const optIn = parseOptIn({ [ENABLED_ANNOTATION]: value });
      expect(optIn.kind, value).to.equal('malformed');
      if (optIn.kind !== 'malformed') continue;
      expect(optIn.annotation).to.equal(ENABLED_ANNOTATION);
      expect(optIn.value).to.equal(value);
      expect(optIn.reason).to.include('"true"').and.include('"false"');
    }
  });

  it('opts in by the configmaps annotation alone, watching only the named ConfigMaps', () => {
    expect(parseOptIn({ [CONFIGMAPS_ANNOTATION]: 'b, a' })).to.deep.equal({
      kind: 'in',
      referenced: false,
      extraConfigMaps: ['a', 'b'], extraSecrets: [],
    });
  });

  it('combines enabled=true with the configmaps annotation', () => {
    expect(parseOptIn({ [ENABLED_ANNOTATION]: 'true', [CONFIGMAPS_ANNOTATION]: 'x' })).to.deep.equal({
      kind: 'in',
      referenced: true,
      extraConfigMaps: ['x'], extraSecrets: [],
    });
  });

  it('watches only the named ConfigMaps with enabled=false and configmaps', () => {
    expect(parseOptIn({ [ENABLED_ANNOTATION]: 'false', [CONFIGMAPS_ANNOTATION]: 'x' })).to.deep.equal({
      kind: 'in',
      referenced: false,
      extraConfigMaps: ['x'], extraSecrets: [],
    });
  });

  it('trims items, ignores empty ones, removes duplicates and sorts', () => {
    const optIn = parseOptIn({ [CONFIGMAPS_ANNOTATION]: ' c ,a,, b, a ,' });
    expect(optIn).to.deep.equal({ kind: 'in', referenced: false, extraConfigMaps: ['a', 'b', 'c'], extraSecrets: [] });
  });

  it('treats a configmaps annotation without names as no names', () => {
    expect(parseOptIn({ [CONFIGMAPS_ANNOTATION]: ' , ' })).to.deep.equal({ kind: 'out' });
    expect(parseOptIn({ [ENABLED_ANNOTATION]: 'true', [CONFIGMAPS_ANNOTATION]: '' })).to.deep.equal({
      kind: 'in',
      referenced: true,
      extraConfigMaps: [], extraSecrets: [],
    });
  });

  it('reads config-reload.dev/secrets like the configmaps annotation: opts in by itself, malformed names refused', () => {
    expect(parseOptIn({ [SECRETS_ANNOTATION]: 'db, api-token,' })).to.deep.equal({
      kind: 'in', referenced: false, extraConfigMaps: [], extraSecrets: ['api-token', 'db'],
    });
    expect(parseOptIn({ [ENABLED_ANNOTATION]: 'true', [SECRETS_ANNOTATION]: 'db' })).to.deep.equal({
      kind: 'in', referenced: true, extraConfigMaps: [], extraSecrets: ['db'],
    });
    const bad = parseOptIn({ [SECRETS_ANNOTATION]: 'ok, Not_Valid' });
    expect(bad.kind).to.equal('malformed');
    expect(bad.kind === 'malformed' && bad.reason).to.contain('"Not_Valid" is not a valid Secret name');
  });

  it('accepts valid DNS-1123 subdomain names', () => {
    const longest = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(longest).to.have.length(253);
    const names = ['a', '0', 'app-config', 'app.config.v2', 'a-b.c-d', longest];
    const optIn = parseOptIn({ [CONFIGMAPS_ANNOTATION]: names.join(',') });
    expect(optIn).to.deep.equal({ kind: 'in', referenced: false, extraConfigMaps: [...names].sort(), extraSecrets: [] });
  });

  it('reports an invalid ConfigMap name as malformed, naming the bad item', () => {
    const bad = ['App', 'under_score', '-lead', 'trail-', '.dot', 'dot.', 'a..b', 'a.-b', 'sp ace', 'a'.repeat(254)];
    for (const name of bad) {
      const value = `good, ${name}`;
      const optIn = parseOptIn({ [ENABLED_ANNOTATION]: 'true', [CONFIGMAPS_ANNOTATION]: value });
      expect(optIn.kind, name).to.equal('malformed');
      if (optIn.kind !== 'malformed') continue;
      expect(optIn.annotation).to.equal(CONFIGMAPS_ANNOTATION);
      expect(optIn.value).to.equal(value);
      expect(optIn.reason).to.include(quoteValue(name));
    }
  });

  it('is malformed when either annotation is, even if the other opts in', () => {
    expect(parseOptIn({ [ENABLED_ANNOTATION]: 'maybe', [CONFIGMAPS_ANNOTATION]: 'a' }).kind).to.equal('malformed');
    expect(parseOptIn({ [ENABLED_ANNOTATION]: 'true', [CONFIGMAPS_ANNOTATION]: 'A' }).kind).to.equal('malformed');
  });
});
