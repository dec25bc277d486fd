// Where the operator's credentials come from: --kubeconfig, else $KUBECONFIG, else
// ~/.kube/config, else the in-cluster service account. Anything unreadable is a start-up error.
import type { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { SharedConnectionsKubeConfig } from './shared-connections.ts';

/** `context`: use that context of the kubeconfig instead of its current one (explain's --context). */
export function loadKubeConfig(explicitPath: string | undefined, env: Record<string, string | undefined>, context?: string): KubeConfig {
  const kc = new SharedConnectionsKubeConfig();
  const home = path.join(os.homedir(), '.kube', 'config');
  let source: string;
  try {
    if (explicitPath) {
      if (!existsSync(explicitPath)) throw new Error('no such file');
      source = explicitPath;
      kc.loadFromFile(explicitPath);
    } else if (env.KUBECONFIG) {
      source = `$KUBECONFIG (${env.KUBECONFIG})`;
      kc.loadFromDefault();
    } else if (existsSync(home)) {
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
    throw new ConfigError(`kubeconfig ${explicitPath ?? env.KUBECONFIG ?? home}: ${(err as Error).message}`);
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
    throw new ConfigError(`kubeconfig from ${source}: cluster server ${JSON.stringify(cluster.server)} is not a URL`);
  }
  return kc;
}
