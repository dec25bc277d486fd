// Helm keeps every release in a Secret of type helm.sh/release.v1 (up to 1 MiB, never mounted).
// The operator excludes them at the watch, so they are never sent to it: proven from the
// apiserver's audit log of every request on Secrets.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { testbed } from './hooks.ts';
import { namespaceWithOperator } from './operator-process.ts';
import { clients, createDeployment, deployment, ENABLED, recordedHash, waitForReplicaSets } from './support.ts';

interface AuditEvent {
  verb: string;
  requestURI: string;
  objectRef?: { resource?: string; namespace?: string; name?: string };
  user?: { username?: string };
}

function auditOfSecrets(namespace: string): AuditEvent[] {
  const file = testbed().secretsAuditLog;
  if (!file) throw new Error('e2e: no audit log (USE_EXISTING_CLUSTER runs cannot prove what the apiserver was asked)');
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.objectRef?.resource === 'secrets' && (e.objectRef.namespace === namespace || e.objectRef.namespace === undefined));
}

describe('helm release Secrets are never listed or watched', () => {
  const s = namespaceWithOperator('helmrel');

  it('every LIST and WATCH of Secrets carries fieldSelector type!=helm.sh/release.v1; no release Secret is read', async () => {
    const { core } = clients();
    const release = 'x'.repeat(64 * 1024);
    await core.createNamespacedSecret({ namespace: s.ns, body: { metadata: { name: 'sh.helm.release.v1.app.v1' }, type: 'helm.sh/release.v1', data: { release: Buffer.from(release).toString('base64') } } });
    await core.createNamespacedSecret({ namespace: s.ns, body: { metadata: { name: 'creds' }, data: { password: Buffer.from('one').toString('base64') } } });
    const podSpec = { containers: [{ name: 'app', image: 'registry.example/app:1', envFrom: [{ secretRef: { name: 'creds' } }] }] };
    await createDeployment(s.ns, deployment('uses-creds', { annotations: ENABLED, podSpec }));
    await recordedHash(s.ns, 'uses-creds');
    // The operator still sees ordinary Secrets: a change rolls their consumer.
    await core.patchNamespacedSecret(
      { namespace: s.ns, name: 'creds', body: { data: { password: Buffer.from('two').toString('base64') } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await waitForReplicaSets(s.ns, 'uses-creds', 2);

    const events = auditOfSecrets(s.ns);
    const reads = events.filter((e) => e.verb === 'list' || e.verb === 'watch');
    const operatorReads = reads.filter((e) => e.requestURI.startsWith(`/api/v1/namespaces/${s.ns}/secrets?`));
    expect(operatorReads.some((e) => e.verb === 'list'), 'the operator listed Secrets').to.equal(true);
    expect(operatorReads.some((e) => e.verb === 'watch'), 'the operator watched Secrets').to.equal(true);
    for (const e of operatorReads) {
      const query = new URL(e.requestURI, 'https://apiserver').searchParams;
      expect(query.get('fieldSelector'), `${e.verb} ${e.requestURI}`).to.equal('type!=helm.sh/release.v1');
    }
    const touched = events.filter((e) => e.objectRef?.name === 'sh.helm.release.v1.app.v1' && e.verb !== 'create');
    expect(touched, 'no request named the release Secret').to.deep.equal([]);
  });
});
