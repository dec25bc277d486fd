// The control plane for one scenario: the testbed's (etcd, kube-apiserver, controller-manager,
// scheduler, kwok) with an audit log that records every request of the processes under test —
// the operator, the baseline watcher and the peers (--peer) — and nothing else. Each gets its own
// identity (a ServiceAccount token), so the audit log attributes requests authoritatively.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ControlPlane } from '../../testbed/controlplane.ts';
import { Kube } from './kube.ts';

export const OPERATOR_NS = 'config-reload-system';
export const OPERATOR_SA = 'config-reload-operator';
export const OPERATOR_USER = `system:serviceaccount:${OPERATOR_NS}:${OPERATOR_SA}`;
export const BASELINE_NS = 'bench-system';
export const BASELINE_SA = 'bench-baseline';
export const BASELINE_USER = `system:serviceaccount:${BASELINE_NS}:${BASELINE_SA}`;
/** Each peer runs as ServiceAccount <peer name> of this namespace. */
export const PEERS_NS = 'bench-peers';
export const peerUser = (peer: string) => `system:serviceaccount:${PEERS_NS}:${peer}`;
/**
 * What the peers may do: the union of what Reloader's and Wave's charts grant (Wave updates
 * ConfigMaps and Secrets, Reloader lists workloads of every kind and may create Jobs), so that
 * neither fails for want of a permission it would have when installed as documented.
 */
const PEER_RULES = [
  { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
  { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['apps'], resources: ['deployments', 'daemonsets', 'statefulsets'], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
  { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch', 'update'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
];

export interface BenchCluster {
  cp: ControlPlane;
  admin: Kube;
  auditLog: string;
  operatorKubeconfig: string;
  baselineKubeconfig: string;
  /** Peer name → a kubeconfig of its own ServiceAccount. */
  peerKubeconfigs: Record<string, string>;
  /** How the operator's RBAC was installed: from manifests/base or the built-in fallback. */
  rbacSource: string;
  k8sVersion: string;
  stop(): Promise<void>;
}

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    users: ["${OPERATOR_USER}", "${BASELINE_USER}"]
  - level: None
`;

export async function startCluster(workDir: string, operatorDir: string, log: (line: string) => void, peers: readonly string[] = []): Promise<BenchCluster> {
  mkdirSync(workDir, { recursive: true });
  const policy = path.join(workDir, 'audit-policy.yaml');
  const auditLog = path.join(workDir, 'audit.log');
  const users = [OPERATOR_USER, BASELINE_USER, ...peers.map(peerUser)];
  writeFileSync(policy, AUDIT_POLICY.replace(`["${OPERATOR_USER}", "${BASELINE_USER}"]`, JSON.stringify(users)));
  const cp = await ControlPlane.start({
    nodes: 1,
    log: (line) => log(`testbed: ${line}`),
    apiServerFlags: [
      `--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`, '--audit-log-maxsize=0',
    ],
  });
  try {
    const admin = Kube.fromFiles(cp.server, path.join(cp.dir, 'ca.crt'), path.join(cp.dir, 'admin.crt'), path.join(cp.dir, 'admin.key'));
    const kubectl = (...args: string[]) => execFileSync(cp.bins.kubectl, ['--kubeconfig', cp.kubeconfigPath, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const version = (await admin.request<{ gitVersion: string }>('GET', '/version')).body.gitVersion;

    // The operator: its own manifests (namespace, ServiceAccount, ClusterRole, binding), so the
    // benchmark also proves that the shipped RBAC suffices.
    let rbacSource = 'manifests/base (namespace, serviceaccount, clusterrole, clusterrolebinding)';
    try {
      for (const f of ['namespace.yaml', 'serviceaccount.yaml', 'clusterrole.yaml', 'clusterrolebinding.yaml']) {
        const file = path.join(operatorDir, 'manifests/base', f);
        if (!existsSync(file)) throw new Error(`${file} missing`);
        kubectl('apply', '-f', file);
      }
    } catch (err) {
      rbacSource = `built-in fallback (manifests/base unusable: ${String(err).split('\n')[0]})`;
      log(`operator RBAC: ${rbacSource}`);
      await applyFallbackRbac(admin);
    }
    const operatorKubeconfig = await serviceAccountKubeconfig(admin, cp, OPERATOR_NS, OPERATOR_SA, workDir);

    // The baseline watcher: the least it needs.
    await ensure(admin, '/api/v1/namespaces', { metadata: { name: BASELINE_NS } });
    await ensure(admin, `/api/v1/namespaces/${BASELINE_NS}/serviceaccounts`, { metadata: { name: BASELINE_SA } });
    await ensure(admin, '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
      metadata: { name: BASELINE_SA },
      rules: [
        { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch'] },
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'] },
      ],
    });
    await ensure(admin, '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      metadata: { name: BASELINE_SA },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: BASELINE_SA },
      subjects: [{ kind: 'ServiceAccount', name: BASELINE_SA, namespace: BASELINE_NS }],
    });
    const baselineKubeconfig = await serviceAccountKubeconfig(admin, cp, BASELINE_NS, BASELINE_SA, workDir);

    const peerKubeconfigs: Record<string, string> = {};
    if (peers.length) {
      await ensure(admin, '/api/v1/namespaces', { metadata: { name: PEERS_NS } });
      await ensure(admin, '/apis/rbac.authorization.k8s.io/v1/clusterroles', { metadata: { name: 'bench-peer' }, rules: PEER_RULES });
      for (const peer of peers) {
        await ensure(admin, `/api/v1/namespaces/${PEERS_NS}/serviceaccounts`, { metadata: { name: peer } });
        await ensure(admin, '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
          metadata: { name: `bench-peer-${peer}` },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'bench-peer' },
          subjects: [{ kind: 'ServiceAccount', name: peer, namespace: PEERS_NS }],
        });
        peerKubeconfigs[peer] = await serviceAccountKubeconfig(admin, cp, PEERS_NS, peer, workDir);
      }
    }

    return {
      cp, admin, auditLog, operatorKubeconfig, baselineKubeconfig, peerKubeconfigs, rbacSource, k8sVersion: version,
      async stop() {
        admin.close();
        await cp.stop();
      },
    };
  } catch (err) {
    await cp.stop();
    throw err;
  }
}

async function ensure(kube: Kube, collection: string, body: unknown): Promise<void> {
  await kube.requestRetry('POST', collection, body, 'application/json', (s) => s === 409);
}

async function applyFallbackRbac(admin: Kube): Promise<void> {
  await ensure(admin, '/api/v1/namespaces', { metadata: { name: OPERATOR_NS } });
  await ensure(admin, `/api/v1/namespaces/${OPERATOR_NS}/serviceaccounts`, { metadata: { name: OPERATOR_SA } });
  await ensure(admin, '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    metadata: { name: OPERATOR_SA },
    rules: [
      { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['list', 'watch', 'patch'] },
      { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
    ],
  });
  await ensure(admin, '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    metadata: { name: OPERATOR_SA },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: OPERATOR_SA },
    subjects: [{ kind: 'ServiceAccount', name: OPERATOR_SA, namespace: OPERATOR_NS }],
  });
}

/** A kubeconfig carrying a TokenRequest token of the ServiceAccount (valid for 6 h). */
async function serviceAccountKubeconfig(admin: Kube, cp: ControlPlane, ns: string, sa: string, dir: string): Promise<string> {
  const res = await admin.requestRetry<{ status: { token: string } }>('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 6 * 3600 },
  });
  const file = path.join(dir, `kubeconfig-${sa}`);
  const ca = admin.creds.ca.toString('base64');
  writeFileSync(file, `apiVersion: v1
kind: Config
clusters:
- name: testbed
  cluster:
    server: ${cp.server}
    certificate-authority-data: ${ca}
users:
- name: ${sa}
  user:
    token: ${res.body.status.token}
contexts:
- name: ${sa}
  context: {cluster: testbed, user: ${sa}}
current-context: ${sa}
`, { mode: 0o600 });
  return file;
}
