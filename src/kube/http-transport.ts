// The operator's HTTP client: Node's own node:https (node:http for a plain-http server), one
// keep-alive Agent per connection, HTTP/1.1. It replaced undici's fetch, which the idle operator
// paid 14.6 MiB of RSS for against 7.3 MiB for node:https (bench/results/experiments/
// dependency-floor.json). Responses are read as Node's IncomingMessage: an async iterable of
// Buffers, which the readers of src/kube/json-stream.ts take as they are.
//
// Connections are reused: one Agent for every request of a connection (a fresh TLS connection
// per call cost 14.2 against 8.1 ms per patch, bench/experiments/connection-reuse.ts). No cap on
// sockets, as undici's Agent had none: every watch holds one for its life (HTTP/1.1), and a cap
// would make the patches wait behind them.
import type { Agent, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { AgentOptions } from 'node:https';

// Taken as require() would (process.getBuiltinModule), not imported: an ES module import of
// node:http reads every export, and its lazy WebSocket, CloseEvent and MessageEvent load Node's
// own copy of undici (13.8 MiB of RSS; src/observability/http-server.ts says the same). Not
// createRequire(import.meta.url): the kubectl plugin's bundle (explain) is CommonJS.
const http = process.getBuiltinModule('node:http');
const https = process.getBuiltinModule('node:https');

/** The TLS setup of a connection's sockets: the cluster's CA, a client certificate, the name to verify. */
export type TlsMaterial = Pick<AgentOptions, 'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'rejectUnauthorized' | 'servername'>;

/**
 * An idle socket is closed after this long: a burst of patches leaves no pile of open TLS
 * connections behind, and it is well under the apiserver's own idle timeout (90 s), so a request
 * never goes out on a socket the server is closing.
 */
export const IDLE_SOCKET_MS = 30_000;

/**
 * Idle sockets kept for the next requests; one freed beyond them is closed at once. A storm's
 * burst of patches and Events opened 20-odd sockets, each about 0.15-0.2 MiB of TLS state, that
 * lingered for IDLE_SOCKET_MS (bench:quick, "sockets after" the storm: 22-27 against undici's 6);
 * four serve the default four workers.
 */
export const MAX_FREE_SOCKETS = 4;

/**
 * The pool of keep-alive sockets for `server` (its scheme picks TLS or not), trusting `tls.ca`
 * only when given (else Node's bundled roots).
 */
export function newAgent(server: string, tls: TlsMaterial = {}, idleMs = IDLE_SOCKET_MS): Agent {
  // keepAliveMsecs: TCP keep-alive probes after 30 s of silence, as client-go's dialer; timeout:
  // the idle limit of a free socket (Node destroys only free sockets on it: a quiet watch stays).
  const pool = { keepAlive: true, keepAliveMsecs: 30_000, timeout: idleMs, maxFreeSockets: MAX_FREE_SOCKETS, scheduling: 'lifo' as const };
  if (new URL(server).protocol === 'http:') return new http.Agent(pool);
  const defined = Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined && v !== null));
  return new https.Agent({ ...pool, ...defined });
}

export interface SendOptions {
  method: string;
  headers: OutgoingHttpHeaders;
  agent: Agent;
  /** Aborts the request, and the reading of its body: whatever was read rejects with the signal's reason. */
  signal: AbortSignal;
  body?: string | undefined;
}

/**
 * Sends one request; resolves with the response once its status line and headers arrived (the
 * body is the caller's to read, or to destroy). Rejects with the network failure (a refused
 * connection, a certificate not trusted), or with `signal.reason` once the signal aborts — then
 * also the body's reading fails with it, and the socket is closed, not reused.
 */
export function send(url: URL, opts: SendOptions): Promise<IncomingMessage> {
  const { signal } = opts;
  if (signal.aborted) return Promise.reject(signal.reason);
  const client = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const headers = opts.body === undefined ? opts.headers : { ...opts.headers, 'content-length': Buffer.byteLength(opts.body) };
    const req = client.request(url, { method: opts.method, headers, agent: opts.agent });
    let res: IncomingMessage | undefined;
    const onAbort = () => {
      // Destroying the response (or the request, before one) closes the socket: a half-read body
      // never goes back to the pool.
      if (res) res.destroy(signal.reason as Error);
      else req.destroy(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const done = () => signal.removeEventListener('abort', onAbort);
    req.once('response', (r: IncomingMessage) => {
      res = r;
      r.once('close', done);
      resolve(r);
    });
    // on, not once: a socket can fail again after the first error, and an 'error' without a listener throws.
    req.on('error', (err) => {
      done();
      reject(signal.aborted ? signal.reason : err);
    });
    req.end(opts.body);
  });
}

/** A response header, one value (Node joins repeated ones, or keeps an array for a few names). */
export function header(res: IncomingMessage, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Stops reading a response: what is left is dropped with its socket. A response read to the end is left alone. */
export function discard(res: IncomingMessage): void {
  if (!res.readableEnded) res.destroy();
}
