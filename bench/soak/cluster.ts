// The soak's access to the control plane: the admin's client (from the testbed's kubeconfig,
// client certificates) for the driver and the oracle, and a ServiceAccount token for the
// operator (a token survives the TLS-terminating fault proxy; client certificates do not).
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kube } from '../lib/kube.ts';

export interface AdminAccess {
  kube: Kube;
  server: string;
  caData: string;
}

export function adminFromKubeconfig(file: string): AdminAccess {
  const text = readFileSync(file, 'utf8');
  const field = (name: string) => {
    const v = new RegExp(`${name}:\\s*(\\S+)`).exec(text)?.[1];
    if (!v) throw new Error(`${file}: no ${name} (the soak needs a kubeconfig with client-certificate data, as the testbed writes)`);
    return v;
  };
  const server = field('server');
  const caData = field('certificate-authority-data');
  const kube = new Kube({
    server,
    ca: Buffer.from(caData, 'base64'),
    cert: Buffer.from(field('client-certificate-data'), 'base64'),
    key: Buffer.from(field('client-key-data'), 'base64'),
  });
  return { kube, server, caData };
}

async function ensure(kube: Kube, collection: string, body: unknown): Promise<void> {
  await kube.requestRetry('POST', collection, body, 'application/json', (s) => s === 409);
}

/**
 * A ServiceAccount for the operator in `namespace`, bound to cluster-admin by a binding named
 * `bindingName` (what the operator may do is not what the soak tests), and a token of it.
 */
export async function operatorToken(kube: Kube, namespace: string, bindingName: string): Promise<string> {
  await ensure(kube, `/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name: 'soak-operator' } });
  await ensure(kube, '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    metadata: { name: bindingName },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: 'soak-operator', namespace }],
  });
  const res = await kube.requestRetry<{ status: { token: string } }>('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/soak-operator/token`, {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 12 * 3600 },
  });
  return res.body.status.token;
}

export function tokenKubeconfig(dir: string, name: string, server: string, caData: string, token: string): string {
  const file = path.join(dir, `kubeconfig-${name}`);
  writeFileSync(file, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: ${server}, certificate-authority-data: ${caData}}}]
users: [{name: u, user: {token: ${token}}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`, { mode: 0o600 });
  return file;
}

/** A digest key file for the operator (base64 of 32 random bytes): it needs no Secret access. */
export function digestKeyFile(dir: string): string {
  const file = path.join(dir, 'digest-key');
  writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  return file;
}
