// The operator's write is a merge patch of its own annotation, under its own field manager:
// every other field survives — including ones a client library may not model — and the
// user's own `kubectl apply` keeps working afterwards.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../scratch-dir.ts';
import { testbed } from './hooks.ts';
import { OperatorProcess } from './operator-process.ts';
import {
  createConfigMap, createNamespace, deleteNamespace, HASH, readDeployment, recordedHash, rewriteConfigMap, waitFor,
  waitForReplicaSets,
} from './support.ts';

function manifest(ns: string, image: string): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'rich', namespace: ns, annotations: { 'config-reload.dev/enabled': 'true' }, labels: { tier: 'web' } },
    spec: {
      replicas: 1,
      revisionHistoryLimit: 7,
      progressDeadlineSeconds: 321,
      selector: { matchLabels: { app: 'rich' } },
      template: {
        metadata: { labels: { app: 'rich' }, annotations: { 'user.example/keep': 'me' } },
        spec: {
          terminationGracePeriodSeconds: 17,
          containers: [{
            name: 'app', image,
            startupProbe: { httpGet: { path: '/started', port: 8080 }, failureThreshold: 30, periodSeconds: 2 },
            readinessProbe: { tcpSocket: { port: 8080 } },
            resources: { requests: { cpu: '10m', memory: '16Mi' } },
            volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }],
          }],
          volumes: [{ name: 'cfg', configMap: { name: 'rich-cm' } }],
        },
      },
    },
  });
}

describe('operator: patch safety', () => {
  let ns: string;
  let op: OperatorProcess;
  let dir: string;
  const kubectl = (...args: string[]) =>
    execFileSync(testbed().kubectl, ['--kubeconfig', testbed().kubeconfigPath, ...args], { encoding: 'utf8' });

  before(async () => {
    ns = await createNamespace('patch');
    dir = scratchDir('patch');
    op = await OperatorProcess.start({ args: ['--namespace', ns] });
  });
  after(async () => {
    await op?.stop();
    await deleteNamespace(ns);
  });

  it('12. leaves every field it does not own intact, and a later kubectl apply with a new image still works', async () => {
    await createConfigMap(ns, 'rich-cm', { v: '1' });
    const file = path.join(dir, 'rich.json');
    writeFileSync(file, manifest(ns, 'registry.example/app:1'));
    kubectl('apply', '-f', file);
    await recordedHash(ns, 'rich');
    const before = await readDeployment(ns, 'rich');

    await rewriteConfigMap(ns, 'rich-cm', { v: '2' });
    const rolled = await waitForReplicaSets(ns, 'rich', 2);
    // Everything but our annotation is as it was.
    const strip = (d: typeof before) => {
      const spec = structuredClone(d.spec);
      delete spec?.template?.metadata?.annotations?.[HASH];
      return spec;
    };
    expect(strip(rolled)).to.deep.equal(strip(before));
    const c = rolled.spec?.template?.spec?.containers[0];
    expect(c?.startupProbe?.httpGet?.path).to.equal('/started');
    expect(rolled.spec?.template?.metadata?.annotations?.['user.example/keep']).to.equal('me');
    expect(rolled.metadata?.labels?.tier).to.equal('web');
    const ours = (rolled.metadata?.managedFields ?? []).filter((f) => f.manager === 'config-reload-operator');
    expect(ours).to.have.length(1);
    expect(ours[0]?.operation).to.equal('Update');
    const owned = JSON.stringify(ours[0]?.fieldsV1);
    expect(owned).to.contain(`f:${HASH}`);
    expect(owned).to.not.contain('f:containers');

    writeFileSync(file, manifest(ns, 'registry.example/app:2'));
    kubectl('apply', '-f', file);
    const updated = await waitFor('image 2 rolled out', async () => {
      const d = await readDeployment(ns, 'rich');
      const done = d.spec?.template?.spec?.containers[0]?.image === 'registry.example/app:2' && (d.status?.updatedReplicas ?? 0) === 1
        && (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
      return done ? d : undefined;
    });
    expect(updated.spec?.template?.metadata?.annotations?.[HASH]).to.equal(rolled.spec?.template?.metadata?.annotations?.[HASH]);
    expect(updated.spec?.template?.spec?.containers[0]?.startupProbe?.failureThreshold).to.equal(30);
  });
});
