// A kubeconfig as a Connection: client-node reads it and authenticates each request (client
// certificates, tokens and token files, exec plugins, OIDC), and the operator's own HTTP layer
// sends the request. This module and what it imports (client-node: about 60 MiB of RSS) are
// loaded only when a kubeconfig is used (src/kube/connect.ts imports it dynamically).
import { HttpMethod, type KubeConfig, RequestContext } from '@kubernetes/client-node';
import type { Dispatcher } from 'undici';
import type { Authorization, Connection } from './connection.ts';
import { loadKubeConfig } from './kubeconfig.ts';

const METHODS: Record<string, HttpMethod> = {
  GET: HttpMethod.GET, POST: HttpMethod.POST, PUT: HttpMethod.PUT, PATCH: HttpMethod.PATCH, DELETE: HttpMethod.DELETE,
};

/** The connection of a loaded KubeConfig (its current context). */
export function kubeconfigConnection(kc: KubeConfig, source = 'kubeconfig'): Connection {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig has no current cluster');
  return {
    server: server.replace(/\/+$/, ''),
    source,
    async authorize(url: URL, method: string): Promise<Authorization> {
      const ctx = new RequestContext(url.toString(), METHODS[method] ?? HttpMethod.GET);
      // Credentials are applied per request: a rotated token file or an exec plugin's new token
      // is picked up without a restart.
      await kc.applySecurityAuthentication(ctx);
      return { headers: ctx.getHeaders(), dispatcher: ctx.getDispatcher() as Dispatcher | undefined };
    },
  };
}

/** Loads the kubeconfig (src/kube/kubeconfig.ts: --kubeconfig, $KUBECONFIG, ~/.kube/config) as a Connection. */
export function loadKubeconfigConnection(explicitPath: string | undefined, env: Record<string, string | undefined>): Connection {
  return kubeconfigConnection(loadKubeConfig(explicitPath, env), explicitPath || env.KUBECONFIG ? 'kubeconfig' : 'kubeconfig (~/.kube/config)');
}
