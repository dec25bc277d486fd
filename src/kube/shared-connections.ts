// client-node 2.0.1 builds a new undici Agent for every request (inside
// applySecurityAuthentication), so every API call opens a fresh TLS connection. Measured
// (bench/experiments/connection-reuse.ts): 200 sequential patches opened 200 connections at
// 14.2 ms per call; with one shared dispatcher, none after the first, at 8.1 ms per call — and
// a change storm no longer spends its CPU on TLS handshakes. This KubeConfig keeps the first
// dispatcher and reuses it; the per-call agent is closed unused. Credentials carried in headers
// (tokens, including the in-cluster one, re-read by client-node on every call) still apply per
// request; client certificates are fixed at start-up, as in most controllers.
//
// It also honours a user's `tokenFile` (src/kube/token-file.ts), which client-node ignores.
import { type Cluster, type Context, KubeConfig, loadYaml, type RequestContext, type User } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TokenFile } from './token-file.ts';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

interface RawKubeconfig {
  users?: Array<{ name?: unknown; user?: Record<string, unknown> | null }> | null;
}

/** A kubeconfig file that is not YAML: its name and the line, never its content (tokens). */
export class KubeconfigSyntaxError extends Error {}

export class SharedConnectionsKubeConfig extends KubeConfig {
  #dispatcher: Dispatcher | undefined;
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

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const user = this.getCurrentUser();
    const tokenFile = user ? this.#tokenFiles.get(user.name) : undefined;
    // client-go: when both are set, the last value read from tokenFile wins over token.
    if (tokenFile) context.setHeaderParam('Authorization', `Bearer ${tokenFile.current()}`);
    const created = context.getDispatcher();
    if (!created) return;
    if (this.#dispatcher === undefined) {
      this.#dispatcher = created;
    } else if (created !== this.#dispatcher) {
      context.setDispatcher(this.#dispatcher);
      void created.close();
    }
  }
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

