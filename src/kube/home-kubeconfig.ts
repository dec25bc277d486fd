// ~/.kube/config, apart from the kubeconfig loader so that the in-cluster path can ask for it
// without loading client-node.
import os from 'node:os';
import path from 'node:path';

/**
 * ~/.kube/config, or undefined for a process without a home: HOME unset and no passwd entry for
 * its uid (an arbitrary uid in a minimal image), where os.homedir() throws.
 */
export function homeKubeconfig(): string | undefined {
  try {
    return path.join(os.homedir(), '.kube', 'config');
  } catch {
    return undefined;
  }
}
