// A kubeconfig as a Connection: client-node reads it and authenticates each request (client
// certificates, tokens and token files, exec plugins, OIDC), and the operator's own HTTP layer
// sends the request on its own keep-alive Agent (src/kube/http-transport.ts). This module and
// what it imports (client-node: about 60 MiB of RSS) are loaded only when a kubeconfig is used
// (src/kube/connect.ts imports it dynamically).
import type { KubeConfig } from '@kubernetes/client-node';
import type { Agent } from 'node:http';
import type { Authorization, Connection } from './connection.ts';
import { newAgent } from './http-transport.ts';
import { loadKubeConfig } from './kubeconfig.ts';
import { requestOptions } from './shared-connections.ts';

/**
 * The connection of a loaded KubeConfig (its current context). Credentials in headers are read
 * per request; the TLS setup (CA, client certificate, an exec plugin's certificate included) is
 * the first request's, fixed for the connection's life, as in most controllers. A cluster with a
 * proxy-url goes through client-node's proxy Agent, which keeps no connection alive.
 */
export function kubeconfigConnection(kc: KubeConfig, source = 'kubeconfig'): Connection {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig has no current cluster');
  let agent: Agent | undefined;
  return {
    server: server.replace(/\/+$/, ''),
    source,
    async authorize(): Promise<Authorization> {
      // A rotated token file or an exec plugin's new token is picked up without a restart.
      const request = await requestOptions(kc);
      agent ??= request.proxyAgent ?? newAgent(server, request.tls);
      return { headers: request.headers, agent };
    },
  };
}

/** Loads the kubeconfig (src/kube/kubeconfig.ts: --kubeconfig, $KUBECONFIG, ~/.kube/config) as a Connection. */
export function loadKubeconfigConnection(explicitPath: string | undefined, env: Record<string, string | undefined>): Connection {
  return kubeconfigConnection(loadKubeConfig(explicitPath, env), explicitPath || env.KUBECONFIG ? 'kubeconfig' : 'kubeconfig (~/.kube/config)');
}
