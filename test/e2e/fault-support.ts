// Helpers for the fault tests: a fault proxy in front of the testbed's apiserver, and an
// operator whose only way to the apiserver is through it (with a ServiceAccount token, since
// the admin's client certificate cannot cross a TLS-terminating proxy).
import { AuthorizationV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type FaultProxy, kubeconfigThroughProxy, startFaultProxy } from '../../testbed/fault-proxy.ts';
import type { ControlPlane } from '../../testbed/controlplane.ts';
import { scratchDir } from '../scratch-dir.ts';
import { testbed } from './hooks.ts';
import { clients, createNamespace, deleteNamespace, waitFor } from './support.ts';

export function localControlPlane(why: string): ControlPlane {
  const cp = testbed().controlPlane;
  if (!cp) throw new Error(`${why}: it needs the local control plane object, not USE_EXISTING_CLUSTER, in the serial group (test/mocharc.e2e-serial.json)`);
  return cp;
}

/** A proxy in front of the testbed's apiserver (no control plane object needed: parallel-safe). */
export async function proxyToTestbed(): Promise<FaultProxy> {
  const { kubeconfigPath, server } = testbed();
  const ca = /certificate-authority-data: (\S+)/.exec(readFileSync(kubeconfigPath, 'utf8'))?.[1];
  if (!ca) throw new Error('the admin kubeconfig has no certificate-authority-data');
  return startFaultProxy({ upstream: server, upstreamCaData: ca });
}

/**
 * A ServiceAccount `name` of `namespace` bound to cluster-admin (the operator's own RBAC is
 * tested elsewhere; here only the path to the apiserver matters) and a TokenRequest token for it.
 * Returns the token and an undo for the ClusterRoleBinding.
 */
export async function adminToken(namespace: string, name: string): Promise<{ token: string; unbind: () => Promise<void> }> {
  const { core, kc } = clients();
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const binding = `${namespace}-${name}`;
  await rbac.createClusterRoleBinding({ body: {
    metadata: { name: binding },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
  } });
  const tr = await core.createNamespacedServiceAccountToken({ namespace, name, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const token = tr.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  // The apiserver's authorizer learns of a new binding through its own watch: until then the
  // token is refused (403; seen in CI). A SubjectAccessReview asks that same authorizer.
  const authz = kc.makeApiClient(AuthorizationV1Api);
  await waitFor(`the binding of ${namespace}/${name} to take effect`, async () => {
    const review = await authz.createSubjectAccessReview({ body: { spec: {
      user: `system:serviceaccount:${namespace}:${name}`, resourceAttributes: { namespace, verb: 'list', resource: 'configmaps' },
    } } });
    return review.status?.allowed === true ? true : undefined;
  }, 30_000);
  return { token, unbind: async () => void (await rbac.deleteClusterRoleBinding({ name: binding }).catch(() => undefined)) };
}

/** Writes kubeconfigThroughProxy to a scratch file: its path. */
export function proxyKubeconfigFile(proxy: FaultProxy, token: string): string {
  const file = path.join(scratchDir('fault-proxy'), 'kubeconfig');
  writeFileSync(file, kubeconfigThroughProxy(proxy, token));
  return file;
}

export interface ProxiedNamespace {
  ns: string;
  proxy: FaultProxy;
  kubeconfig: string;
}

/** before/after hooks: a namespace, a proxy and a kubeconfig through it; all undone after. */
export function namespaceBehindProxy(prefix: string): ProxiedNamespace {
  const s = {} as ProxiedNamespace;
  let unbind: (() => Promise<void>) | undefined;
  before(async () => {
    s.ns = await createNamespace(prefix);
    s.proxy = await proxyToTestbed();
    const t = await adminToken(s.ns, 'operator');
    unbind = t.unbind;
    s.kubeconfig = proxyKubeconfigFile(s.proxy, t.token);
  });
  after(async () => {
    await s.proxy?.close();
    await unbind?.();
    if (s.ns) await deleteNamespace(s.ns);
  });
  return s;
}
