// The operator's KubeConfig: client-node's, with what it lacks for the operator's own HTTP layer
// (src/kube/kubeconfig-connection.ts, src/kube/http-transport.ts):
// - requestOptions(): one request's credential headers and the connection's TLS material, as
//   client-node computes them (client certificates, tokens, exec plugins, OIDC), for a
//   node:https Agent the operator keeps — client-node 2.0.1 built a new connection pool for
//   every request, so every API call opened a fresh TLS connection (bench/experiments/
//   connection-reuse.ts: 200 patches, 200 connections, 14.2 against 8.1 ms per call);
// - a user's `tokenFile` (src/kube/token-file.ts), which client-node ignores;
// - kubectl's merge of a $KUBECONFIG list (loadFromFiles).
import { type Cluster, type Context, KubeConfig, loadYaml, type RequestContext, type User } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import type { Agent } from 'node:http';
import type { RequestOptions } from 'node:https';
import path from 'node:path';
import type { TlsMaterial } from './http-transport.ts';
import { TokenFile } from './token-file.ts';

/** What one request needs from the kubeconfig. */
export interface KubeconfigRequest {
  /** Credential headers (Authorization, Impersonate-User), names in lower case. */
  headers: Record<string, string>;
  /** The cluster's CA, the client certificate (a file's, or an exec plugin's), skip-verify, the TLS server name. */
  tls: TlsMaterial;
  /** client-node's Agent for a cluster with a proxy-url (HTTP or SOCKS proxy); undefined otherwise. */
  proxyAgent: Agent | undefined;
}

interface RawKubeconfig {
  users?: Array<{ name?: unknown; user?: Record<string, unknown> | null }> | null;
}

/** A kubeconfig file that is not YAML: its name and the line, never its content (tokens). */
export class KubeconfigSyntaxError extends Error {}

export class SharedConnectionsKubeConfig extends KubeConfig {
  /** Per user name: the token file kubectl would read for it. */
  readonly #tokenFiles = new Map<string, TokenFile>();

  override loadFromFile(file: string, opts?: Parameters<KubeConfig['loadFromFile']>[1]): void {
    this.loadFromFiles([file], opts);
  }

  /**
   * Several kubeconfig files merged as kubectl merges a $KUBECONFIG list (client-go's loading
   * rules): for a cluster, user or context named in more than one file, the first file's entry
   * wins whole; the first file that sets current-context sets it; relative paths (a tokenFile, a
   * certificate) are relative to the file that names them; an empty file adds nothing.
   * client-node's own merge lets a later current-context win, refuses a name twice, and reads
   * the tokenFile of no file at all: a user of the second file went out unauthenticated.
   */
  loadFromFiles(files: readonly string[], opts?: Parameters<KubeConfig['loadFromFile']>[1]): void {
    const clusters = new Map<string, Cluster>();
    const users = new Map<string, User>();
    const contexts = new Map<string, Context>();
    let currentContext: string | undefined;
    this.#tokenFiles.clear();
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const raw = parseKubeconfig(text, file);
      if (raw === undefined) continue;
      const part = new KubeConfig();
      part.loadFromString(text, opts);
      part.makePathsAbsolute(path.dirname(file));
      for (const c of part.clusters) if (!clusters.has(c.name)) clusters.set(c.name, c);
      for (const c of part.contexts) if (!contexts.has(c.name)) contexts.set(c.name, c);
      for (const u of part.users) {
        if (users.has(u.name)) continue;
        users.set(u.name, u);
        const entry = (raw.users ?? []).find((e) => e.name === u.name);
        // kubectl's field is tokenFile; client-node knows a token-file key (read once, at load).
        const tokenFile = entry?.user?.['tokenFile'] ?? entry?.user?.['token-file'];
        if (typeof tokenFile !== 'string' || tokenFile === '') continue;
        // As kubectl: a relative path is relative to its kubeconfig's directory. An unreadable
        // file throws here, which the loader reports as bad start-up configuration.
        this.#tokenFiles.set(u.name, new TokenFile(path.resolve(path.dirname(file), tokenFile)));
      }
      currentContext ??= part.currentContext || undefined;
    }
    this.loadFromOptions({ clusters: [...clusters.values()], users: [...users.values()], contexts: [...contexts.values()], currentContext: currentContext ?? '' });
  }

  /** client-node's own clients (makeApiClient) read the tokenFile too. */
  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    // client-go: when both are set, the last value read from tokenFile wins over token.
    const token = this.tokenFileToken();
    if (token !== undefined) context.setHeaderParam('Authorization', `Bearer ${token}`);
  }

  /** The token of the current user's tokenFile, as the file holds it now; undefined without one. */
  tokenFileToken(): string | undefined {
    const user = this.getCurrentUser();
    return user ? this.#tokenFiles.get(user.name)?.current() : undefined;
  }
}

/**
 * One request's credentials, read as they are now (an exec plugin's new token, a rotated token
 * file), and the TLS material of the current cluster and user, as client-node computes them. As
 * its applySecurityAuthentication: a bearer token wins over username and password, and a
 * tokenFile's last read (SharedConnectionsKubeConfig) over a token.
 */
export async function requestOptions(kc: KubeConfig): Promise<KubeconfigRequest> {
  const opts: RequestOptions = {};
  // Also throws as client-node does for an http:// server without insecure-skip-tls-verify.
  await kc.applyToHTTPSOptions(opts);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(opts.headers ?? {})) if (value !== undefined) headers[name.toLowerCase()] = String(value);
  if (opts.auth && headers['authorization'] === undefined) headers['authorization'] = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
  const token = kc instanceof SharedConnectionsKubeConfig ? kc.tokenFileToken() : undefined;
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = opts;
  const proxied = Boolean(kc.getCurrentCluster()?.proxyUrl);
  return { headers, tls: { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername }, proxyAgent: proxied ? opts.agent as Agent : undefined };
}

/**
 * The file's YAML, or undefined when it holds none (empty, or comments only). A syntax error is
 * said by file, line and column: the YAML parser's own message quotes the lines around the
 * fault, and in a kubeconfig those are tokens and keys.
 */
function parseKubeconfig(text: string, file: string): RawKubeconfig | undefined {
  if (text.split('\n').every((line) => /^\s*(#.*)?$/.test(line))) return undefined;
  try {
    return loadYaml<RawKubeconfig>(text) ?? undefined;
  } catch (err) {
    const mark = (err as { mark?: { line?: unknown; column?: unknown } }).mark;
    if (mark && typeof mark.line === 'number') {
      const column = typeof mark.column === 'number' ? `, column ${mark.column + 1}` : '';
      throw new KubeconfigSyntaxError(`${file}: not valid YAML at line ${mark.line + 1}${column} (content not shown: it may hold credentials)`);
    }
    // client-node's loadYaml refuses a document that is empty or only comments: nothing to merge.
    if ((err as Error).message === 'Failed to load YAML') return undefined;
    throw new KubeconfigSyntaxError(`${file}: not a kubeconfig (content not shown: it may hold credentials)`);
  }
}

