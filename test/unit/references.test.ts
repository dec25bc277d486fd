import {
  V1ConfigMapKeySelector,
  V1ConfigMapVolumeSource,
  V1Container,
  V1EnvFromSource,
  V1EnvVar,
  V1EnvVarSource,
  V1KeyToPath,
  V1PodSpec,
  V1Volume,
} from '@kubernetes/client-node';
import { expect } from 'chai';
import { consumedSources } from '../../src/core/references.ts';
import type { OptIn } from '../../src/core/types.ts';

const referenced: OptIn & { kind: 'in' } = { kind: 'in', referenced: true, extraConfigMaps: [], extraSecrets: [] };
const BOTH = new Set(['ConfigMap', 'Secret'] as const);

/** The ConfigMap view of a pod spec, as a ConfigMaps-only install sees it. */
function consumedConfigMaps(spec: unknown, optIn: OptIn & { kind: 'in' }) {
  return consumedSources(spec, optIn, new Set(['ConfigMap'])).map(({ kind: _kind, ...rest }) => rest);
}

function container(fields: Record<string, unknown>): Record<string, unknown> {
  return { name: 'c', image: 'busybox', ...fields };
}

describe('references: consumedConfigMaps', () => {
  it('reads volumes[].configMap: whole map without items, selected keys with items', () => {
    const spec = {
      containers: [container({})],
      volumes: [
        { name: 'v1', configMap: { name: 'whole' } },
        { name: 'v2', configMap: { name: 'some', items: [{ key: 'b', path: 'b' }, { key: 'a', path: 'x/a' }] } },
        { name: 'v3', configMap: { name: 'empty-items', items: [] } },
        { name: 'v4', secret: { secretName: 'not-a-configmap' } },
      ],
    };
    expect(consumedConfigMaps(spec, referenced)).to.deep.equal([
      { name: 'empty-items', optional: false, keys: null },
      { name: 'some', optional: false, keys: ['a', 'b'] },
      { name: 'whole', optional: false, keys: null },
    ]);
  });

  it('reads volumes[].projected.sources[].configMap', () => {
    const spec = {
      containers: [container({})],
      volumes: [
        {
          name: 'p',
          projected: {
            sources: [
              { configMap: { name: 'proj-whole', optional: true } },
              { secret: { name: 's' } },
              { configMap: { name: 'proj-keys', items: [{ key: 'k', path: 'k' }] } },
              { downwardAPI: { items: [] } },
            ],
          },
        },
      ],
    };
    expect(consumedConfigMaps(spec, referenced)).to.deep.equal([
      { name: 'proj-keys', optional: false, keys: ['k'] },
      { name: 'proj-whole', optional: true, keys: null },
    ]);
  });

  it('reads envFrom[].configMapRef (whole map) and env[].valueFrom.configMapKeyRef (one key)', () => {
    const spec = {
      containers: [
        container({
          envFrom: [{ configMapRef: { name: 'env-whole' } }, { secretRef: { name: 's' } }, { prefix: 'X_', configMapRef: { name: 'env-opt', optional: true } }],
          env: [
            { name: 'PLAIN', value: 'v' },
            { name: 'A', valueFrom: { configMapKeyRef: { name: 'env-key', key: 'a' } } },
            { name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'x' } } },
            { name: 'F', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          ],
        }),
      ],
    };
    expect(consumedConfigMaps(spec, referenced)).to.deep.equal([
      { name: 'env-key', optional: false, keys: ['a'] },
      { name: 'env-opt', optional: true, keys: null },
      { name: 'env-whole', optional: false, keys: null },
    ]);
  });

  it('reads initContainers but not ephemeralContainers', () => {
    const spec = {
      initContainers: [container({ envFrom: [{ configMapRef: { name: 'init' } }] })],
      containers: [container({})],
      ephemeralContainers: [container({ envFrom: [{ configMapRef: { name: 'debug' } }] })],
    };
    expect(consumedConfigMaps(spec, referenced)).to.deep.equal([{ name: 'init', optional: false, keys: null }]);
  });

  it('merges references to one name: keys are the union, sorted and unique', () => {
    const spec = {
      containers: [
        container({
          env: [
            { name: 'A', valueFrom: { configMapKeyRef: { name: 'cm', key: 'z' } } },
            { name: 'B', valueFrom: { configMapKeyRef: { name: 'cm', key: 'a' } } },
          ],
        }),
        container({ env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cm', key: 'z' } } }] }),
      ],
      volumes: [{ name: 'v', configMap: { name: 'cm', items: [{ key: 'm', path: 'm' }, { key: 'a', path: 'a2' }] } }],
    };
    expect(consumedConfigMaps(spec, referenced)).to.deep.equal([{ name: 'cm', optional: false, keys: ['a', 'm', 'z'] }]);
  });

  it('merges to the whole map when any reference reads the whole map', () => {
    const spec = {
      containers: [
        container({
          env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cm', key: 'a' } } }],
          envFrom: [{ configMapRef: { name: 'cm' } }],
        }),
      ],
      volumes: [{ name: 'v', configMap: { name: 'cm', items: [{ key: 'b', path: 'b' }] } }],
    };
    expect(consumedConfigMaps(spec, referenced)).to.deep.equal([{ name: 'cm', optional: false, keys: null }]);
  });

  it('is optional only when every reference is optional', () => {
    const spec = {
      containers: [
        container({
          env: [
            { name: 'A', valueFrom: { configMapKeyRef: { name: 'all-opt', key: 'a', optional: true } } },
            { name: 'B', valueFrom: { configMapKeyRef: { name: 'mixed', key: 'b', optional: true } } },
          ],
          envFrom: [{ configMapRef: { name: 'mixed', optional: false } }],
        }),
      ],
      volumes: [
        { name: 'v', configMap: { name: 'all-opt', optional: true } },
        { name: 'w', configMap: { name: 'mixed', optional: true } },
      ],
    };
    expect(consumedConfigMaps(spec, referenced)).to.deep.equal([
      { name: 'all-opt', optional: true, keys: null },
      { name: 'mixed', optional: false, keys: null },
    ]);
  });

  it('ignores references with an empty or missing name and tolerates malformed shapes', () => {
    const spec = {
      containers: [
        container({
          envFrom: [{ configMapRef: { name: '' } }, { configMapRef: {} }, null, 'junk'],
          env: [{ name: 'A', valueFrom: { configMapKeyRef: { key: 'a' } } }, { name: 'B', valueFrom: null }],
        }),
        null,
      ],
      volumes: [{ name: 'v', configMap: { items: [{ key: 'a', path: 'a' }] } }, { name: 'p', projected: { sources: 'nope' } }],
      initContainers: 'not-a-list',
    };
    expect(consumedConfigMaps(spec, referenced)).to.deep.equal([]);
    expect(consumedConfigMaps(undefined, referenced)).to.deep.equal([]);
    expect(consumedConfigMaps(null, referenced)).to.deep.equal([]);
    expect(consumedConfigMaps('spec', referenced)).to.deep.equal([]);
  });

  it('adds ConfigMaps named by annotation as whole and optional', () => {
    const optIn: OptIn & { kind: 'in' } = { kind: 'in', referenced: true, extraConfigMaps: ['api-read', 'ref'], extraSecrets: [] };
    const spec = {
      containers: [container({ env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'ref', key: 'a' } } }] })],
    };
    // 'ref' is also required by the pod template: one required reference makes it required,
    // and the annotation reads the whole map.
    expect(consumedConfigMaps(spec, optIn)).to.deep.equal([
      { name: 'api-read', optional: true, keys: null },
      { name: 'ref', optional: false, keys: null },
    ]);
  });

  it('ignores the pod template when only the named ConfigMaps are watched', () => {
    const optIn: OptIn & { kind: 'in' } = { kind: 'in', referenced: false, extraConfigMaps: ['named'], extraSecrets: [] };
    const spec = { containers: [container({ envFrom: [{ configMapRef: { name: 'referenced' } }] })] };
    expect(consumedConfigMaps(spec, optIn)).to.deep.equal([{ name: 'named', optional: true, keys: null }]);
  });

  it('reads a client-node V1PodSpec instance like the same plain JSON', () => {
    const plain = {
      containers: [
        container({
          envFrom: [{ configMapRef: { name: 'env-whole' } }],
          env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'env-key', key: 'a', optional: true } } }],
        }),
      ],
      volumes: [{ name: 'v', configMap: { name: 'vol', items: [{ key: 'k', path: 'p' }] } }],
    };
    const instance = Object.assign(new V1PodSpec(), {
      containers: [
        Object.assign(new V1Container(), {
          name: 'c',
          image: 'busybox',
          envFrom: [Object.assign(new V1EnvFromSource(), { configMapRef: { name: 'env-whole' } })],
          env: [
            Object.assign(new V1EnvVar(), {
              name: 'A',
              valueFrom: Object.assign(new V1EnvVarSource(), {
                configMapKeyRef: Object.assign(new V1ConfigMapKeySelector(), { name: 'env-key', key: 'a', optional: true }),
              }),
            }),
          ],
        }),
      ],
      volumes: [
        Object.assign(new V1Volume(), {
          name: 'v',
          configMap: Object.assign(new V1ConfigMapVolumeSource(), {
            name: 'vol',
            items: [Object.assign(new V1KeyToPath(), { key: 'k', path: 'p' })],
          }),
        }),
      ],
    });
    const expected = [
      { name: 'env-key', optional: true, keys: ['a'] },
      { name: 'env-whole', optional: false, keys: null },
      { name: 'vol', optional: false, keys: ['k'] },
    ];
    expect(consumedConfigMaps(plain, referenced)).to.deep.equal(expected);
    expect(consumedConfigMaps(instance, referenced)).to.deep.equal(expected);
  });
});

describe('references: Secrets beside ConfigMaps', () => {
  it('reads every Secret path — volume (secretName, items), projected source, envFrom, secretKeyRef — in containers and initContainers', () => {
    const spec = {
      initContainers: [container({ envFrom: [{ secretRef: { name: 'init-env' } }] })],
      containers: [container({
        envFrom: [{ secretRef: { name: 'env-whole', optional: true } }, { configMapRef: { name: 'same-name' } }],
        env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
      })],
      volumes: [
        { name: 'tls', secret: { secretName: 'tls', items: [{ key: 'tls.crt', path: 'c' }, { key: 'tls.key', path: 'k' }] } },
        { name: 'whole', secret: { secretName: 'same-name' } },
        { name: 'p', projected: { sources: [{ secret: { name: 'proj', items: [{ key: 'token', path: 't' }] } }, { configMap: { name: 'proj-cm' } }] } },
      ],
      imagePullSecrets: [{ name: 'registry' }],
    };
    expect(consumedSources(spec, referenced, BOTH)).to.deep.equal([
      { kind: 'ConfigMap', name: 'proj-cm', optional: false, keys: null },
      { kind: 'ConfigMap', name: 'same-name', optional: false, keys: null },
      { kind: 'Secret', name: 'db', optional: false, keys: ['password'] },
      { kind: 'Secret', name: 'env-whole', optional: true, keys: null },
      { kind: 'Secret', name: 'init-env', optional: false, keys: null },
      { kind: 'Secret', name: 'proj', optional: false, keys: ['token'] },
      { kind: 'Secret', name: 'same-name', optional: false, keys: null },
      { kind: 'Secret', name: 'tls', optional: false, keys: ['tls.crt', 'tls.key'] },
    ]);
  });

  it('never counts imagePullSecrets, and drops Secrets when they are not watched', () => {
    const spec = { containers: [container({ envFrom: [{ secretRef: { name: 's' } }] })], imagePullSecrets: [{ name: 'registry' }] };
    expect(consumedSources(spec, referenced, BOTH).map((s) => s.name)).to.deep.equal(['s']);
    expect(consumedSources(spec, referenced, new Set(['ConfigMap']))).to.deep.equal([]);
  });

  it('adds the Secrets named by the secrets annotation, as optional and whole', () => {
    const optIn: OptIn & { kind: 'in' } = { kind: 'in', referenced: false, extraConfigMaps: ['cm'], extraSecrets: ['api-token'] };
    expect(consumedSources({ containers: [container({ envFrom: [{ secretRef: { name: 'ignored' } }] })] }, optIn, BOTH)).to.deep.equal([
      { kind: 'ConfigMap', name: 'cm', optional: true, keys: null },
      { kind: 'Secret', name: 'api-token', optional: true, keys: null },
    ]);
  });
});
