// How the operator's own HTTP layer (src/kube/http-cluster-api.ts) reaches the apiserver: a
// server URL, and per request the credentials and the socket pool (its TLS setup) to send it with. Two kinds:
// the in-cluster ServiceAccount (src/kube/in-cluster.ts, no client-node at all) and a kubeconfig
// (src/kube/kubeconfig-connection.ts, through client-node, loaded only when one is used).
import type { Agent } from 'node:http';

/** What one request carries: its credential headers, and the Agent holding the TLS setup (src/kube/http-transport.ts). */
export interface Authorization {
  /** Names in lower case. */
  headers: Record<string, string>;
  /** The connection's keep-alive socket pool; undefined: the HTTP layer's own, with Node's default TLS setup. */
  agent?: Agent | undefined;
}

export interface Connection {
  /** The apiserver's URL, without a trailing slash. */
  readonly server: string;
  /** Where the credentials come from, for the start-up log: never the credentials themselves. */
  readonly source: string;
  /** The credentials for one request, read as they are now (a rotated token is picked up). */
  authorize(url: URL, method: string): Promise<Authorization>;
  /** The apiserver answered 401 to a request sent with `sent`: read the credentials again before the next request. */
  rejected?(sent?: Authorization): void;
}
