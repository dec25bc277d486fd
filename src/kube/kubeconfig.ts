// Where the operator's credentials come from: --kubeconfig, else $KUBECONFIG, else
// ~/.kube/config, else the in-cluster service account. Anything unreadable is a start-up error,
// said by file (and line, for YAML) without quoting the file: a kubeconfig holds tokens and keys.
import type { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { homeKubeconfig } from './home-kubeconfig.ts';
import { KubeconfigSyntaxError, SharedConnectionsKubeConfig } from './shared-connections.ts';

/**
 * The files a kubeconfig setting names: one file, or a list as $KUBECONFIG holds one (`a:b`,
 * the platform's path delimiter). As kubectl, files of a list that do not exist are skipped;
 * none existing is an error.
 */
export function kubeconfigFiles(setting: string): string[] {
  if (existsSync(setting)) return [setting];
  const listed = [...new Set(setting.split(path.delimiter).filter((f) => f !== ''))];
  const present = listed.filter((f) => existsSync(f));
  if (present.length === 0) throw new ConfigError(`kubeconfig ${setting}: no such file${listed.length > 1 ? ' (none of the list exists)' : ''}`);
  return present;
}

/**
 * `explicitPath`: --kubeconfig, whose variable is $KUBECONFIG: a list too, merged as kubectl
 * merges one. `context`: use that context instead of the current one (explain's --context).
 */
export function loadKubeConfig(explicitPath: string | undefined, env: Record<string, string | undefined>, context?: string): KubeConfig {
  const kc = new SharedConnectionsKubeConfig();
  const home = homeKubeconfig();
  const setting = explicitPath || env.KUBECONFIG || undefined;
  let source: string;
  try {
    if (setting !== undefined) {
      source = setting === env.KUBECONFIG && !explicitPath ? `$KUBECONFIG (${setting})` : setting;
      kc.loadFromFiles(kubeconfigFiles(setting));
    } else if (home !== undefined && existsSync(home)) {
      source = home;
      kc.loadFromFile(home);
    } else if (env.KUBERNETES_SERVICE_HOST) {
      source = 'in-cluster service account';
      kc.loadFromCluster();
    } else {
      throw new ConfigError('no kubeconfig: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a cluster');
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    // The syntax error names its file itself (one of a list).
    if (err instanceof KubeconfigSyntaxError) throw new ConfigError(`kubeconfig ${err.message}`);
    throw new ConfigError(`kubeconfig ${setting ?? home ?? 'in-cluster service account'}: ${(err as Error).message}`);
  }
  if (context !== undefined) {
    if (!kc.getContextObject(context)) throw new ConfigError(`kubeconfig from ${source}: no context named ${JSON.stringify(context)}`);
    kc.setCurrentContext(context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) throw new ConfigError(`kubeconfig from ${source}: no current context with a cluster server`);
  try {
    new URL(cluster.server);
  } catch {
    // Not quoted: a server URL may carry user:password.
    throw new ConfigError(`kubeconfig from ${source}: the server of cluster ${JSON.stringify(cluster.name)} is not a URL`);
  }
  return kc;
}
