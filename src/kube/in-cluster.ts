// The in-cluster ServiceAccount as the operator's credentials, without client-node: what a pod
// is given is all there is — a token file the kubelet rotates (about hourly, well before it
// expires), the cluster's CA, and KUBERNETES_SERVICE_HOST/PORT. client-node's kubeconfig module
// imports every generated API and model (about 60 MiB of RSS) to do the same; this path keeps
// the operator's idle floor at what it uses (docs/figures.md, "Memory floor").
//
// As client-go's rest.InClusterConfig: the token is read again when the file changes, at the
// latest a minute after the last read, and after every 401 (src/kube/token-file.ts); the CA is
// read once, at start.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.ts';
import type { Authorization, Connection } from './connection.ts';
import { newAgent } from './http-transport.ts';
import { TokenFile } from './token-file.ts';

/** Where the kubelet mounts the ServiceAccount's token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Another directory holding token and ca.crt: for tests, which cannot write the path above. */
export const SERVICE_ACCOUNT_DIR_ENV = 'CONFIG_RELOAD_SERVICE_ACCOUNT_DIR';

type Env = Record<string, string | undefined>;

export interface InClusterOptions {
  /** The directory of token and ca.crt (default: $CONFIG_RELOAD_SERVICE_ACCOUNT_DIR, else SERVICE_ACCOUNT_DIR). */
  dir?: string;
  /** The clock of the minute between token re-reads (default Date.now). */
  now?: () => number;
}

export function serviceAccountDir(env: Env): string {
  return env[SERVICE_ACCOUNT_DIR_ENV] || SERVICE_ACCOUNT_DIR;
}

/** The pod's environment says it runs in a cluster (the kubelet sets both for every pod). */
export function inClusterEnv(env: Env): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST) && Boolean(env.KUBERNETES_SERVICE_PORT);
}

/** The environment says in-cluster and the token the kubelet mounts is there. */
export function inClusterAvailable(env: Env, dir = serviceAccountDir(env)): boolean {
  return inClusterEnv(env) && existsSync(path.join(dir, 'token'));
}

/**
 * The connection of the pod's ServiceAccount. A missing or unreadable file is a ConfigError
 * naming the file (never its content); so is a host and port that make no URL.
 */
export function inClusterConnection(env: Env, opts: InClusterOptions = {}): Connection {
  const dir = opts.dir ?? serviceAccountDir(env);
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new ConfigError('in-cluster service account: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set');
  // An IPv6 service address is bracketed in a URL (client-go: net.JoinHostPort).
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  try {
    new URL(server);
  } catch {
    throw new ConfigError('in-cluster service account: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT do not make a URL');
  }
  const tokenPath = path.join(dir, 'token');
  const caPath = path.join(dir, 'ca.crt');
  const token = readOrSay(tokenPath, () => new TokenFile(tokenPath, opts.now));
  const ca = readOrSay(caPath, () => readFileSync(caPath));
  if (ca.length === 0) throw new ConfigError(`in-cluster service account: ${caPath} is empty`);
  // One socket pool for every request: connections are reused (src/kube/http-transport.ts says
  // what a fresh one per call cost), and the cluster's CA is the only one trusted.
  const agent = newAgent(server, { ca });
  // Which read of the token file each request's credentials came from: a 401 re-reads the file
  // only when nothing read it since (requests in flight refused together read it once).
  const readOf = new WeakMap<Authorization, number>();
  return {
    server,
    source: `in-cluster service account (${dir})`,
    authorize: async (): Promise<Authorization> => {
      const auth = { headers: { authorization: `Bearer ${token.current()}` }, agent };
      readOf.set(auth, token.generation);
      return auth;
    },
    rejected: (sent) => token.invalidate(sent === undefined ? undefined : readOf.get(sent)),
  };
}

/** Reads a file of the ServiceAccount, saying which one failed and why, never what it holds. */
function readOrSay<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file (is the ServiceAccount token mounted? automountServiceAccountToken: false leaves it out)'
      : code === 'EACCES' ? 'permission denied'
        : (err as Error).message;
    throw new ConfigError(`in-cluster service account: ${file}: ${why}`);
  }
}
