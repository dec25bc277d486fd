// Which credentials the operator uses, as controller-runtime chooses them: --kubeconfig, else
// $KUBECONFIG, else the in-cluster ServiceAccount, else ~/.kube/config. In a cluster with no
// kubeconfig given, client-node is never loaded (src/kube/in-cluster.ts); the kubeconfig path
// (exec plugins, OIDC, client certificates) imports it only when taken.
import { existsSync } from 'node:fs';
import type { Connection } from './connection.ts';
import { inClusterAvailable, inClusterConnection, inClusterEnv } from './in-cluster.ts';
import { homeKubeconfig } from './home-kubeconfig.ts';

type Env = Record<string, string | undefined>;

/** The connection the operator runs with; a ConfigError when none can be made (said without credentials). */
export async function connect(explicitPath: string | undefined, env: Env): Promise<Connection> {
  const kubeconfigGiven = Boolean(explicitPath || env.KUBECONFIG);
  if (!kubeconfigGiven && inClusterEnv(env)) {
    // A pod without its token (automountServiceAccountToken: false) but with a kubeconfig in
    // its home uses that; without either, the in-cluster error names the missing file.
    const home = homeKubeconfig();
    if (inClusterAvailable(env) || home === undefined || !existsSync(home)) return inClusterConnection(env);
  }
  const { loadKubeconfigConnection } = await import('./kubeconfig-connection.ts');
  return loadKubeconfigConnection(explicitPath, env);
}
