// A fault-injecting HTTPS proxy between a client (the operator under test) and the apiserver.
// It terminates TLS with a certificate of its own and re-originates each request to the
// apiserver, streaming both ways (a watch passes through chunk by chunk). A test steers it:
// pass through; delay responses; answer a share of requests with 429 (and Retry-After) or a
// 5xx; reset connections, before or mid-response, or every open watch at once; stall a watch
// (headers sent, then silence); cut a body part-way. It counts what it saw, so that a test can
// assert that a client backed off instead of hammering.
//
// Only bearer tokens survive it (the Authorization header is forwarded; a client certificate
// cannot be), hence kubeconfigThroughProxy.
//
//   const proxy = await startFaultProxy({ upstream: cp.server, upstreamCaData });
//   proxy.set([{ kind: 'status', status: 429, share: 1, retryAfterSeconds: 2, match: { verb: 'patch' } }]);
//   proxy.counts().byStatus['429'];
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export type FaultVerb = 'list' | 'watch' | 'get' | 'patch' | 'create' | 'update' | 'delete';
export type FaultMatch = { verb?: FaultVerb; resource?: string /* plural, e.g. 'configmaps' */ };
// `limit`: the fault strikes at most this many requests, then passes them through (a test that
// needs "this patch fails, then that one" says so, instead of hoping a share draws it).
export type Fault =
  | { kind: 'delay'; ms: number; match?: FaultMatch }
  | { kind: 'status'; status: 429 | 500 | 503 | 504; share: number /* 0..1 */; retryAfterSeconds?: number; limit?: number; match?: FaultMatch }
  // Destroy the client socket before the request reaches the apiserver, or once part of the
  // answer went out (the request was applied, unacknowledged); `at` unset: either, by a coin.
  | { kind: 'reset'; share: number; at?: 'before' | 'mid-response'; limit?: number; match?: FaultMatch }
  | { kind: 'stall-watch'; match?: FaultMatch } // watch opens (headers sent), then no bytes ever
  | { kind: 'truncate'; share: number; match?: FaultMatch }; // cut the body part-way, then close

export interface FaultCounts {
  total: number;
  byVerb: Record<string, number>;
  /** By the status sent to the client; 'reset' for a connection destroyed before any status. */
  byStatus: Record<string, number>;
}

/** One request as the proxy saw it (for tests that look at timing, e.g. Retry-After). */
export interface ProxiedRequest {
  at: number;
  verb: FaultVerb | 'other';
  resource: string | undefined;
  /** The status sent, 'reset' when the connection was destroyed first. */
  outcome: string;
  /** The fault that struck it, if one did (a reset mid-response keeps the upstream's status as outcome). */
  fault?: 'status' | 'reset' | 'truncate' | 'stall-watch';
}

export interface FaultProxy {
  readonly url: string; // https://127.0.0.1:PORT (its own self-signed cert; CA in caData)
  readonly caData: string; // base64 PEM of the proxy's CA, for kubeconfigs
  set(faults: Fault[]): void; // replaces the active faults (empty = pass through)
  resetWatches(): void; // destroys every open watch connection now
  counts(): FaultCounts; // since start or last resetCounts
  resetCounts(): void;
  close(): Promise<void>;
  /** Every request since start or the last resetCounts, in arrival order. */
  requests(match?: FaultMatch): ProxiedRequest[];
  /** Watch connections open now (passing through or stalled). */
  openWatches(match?: FaultMatch): number;
}

interface Classified {
  verb: FaultVerb | 'other';
  resource: string | undefined;
}

/**
 * The verb and resource of a request, as the apiserver's RequestInfo would name them: a GET on
 * a collection is a list (a watch with watch=true|1), on a name a get.
 */
export function classify(method: string, url: string): Classified {
  const u = new URL(url, 'https://proxy');
  const segs = u.pathname.split('/').filter(Boolean);
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 2) rest = segs.slice(2);
  else if (segs[0] === 'apis' && segs.length >= 3) rest = segs.slice(3);
  else return { verb: 'other', resource: undefined };
  let resource: string | undefined;
  let name: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) [, , resource, name] = rest;
  else [resource, name] = rest;
  const watch = ['true', '1'].includes(u.searchParams.get('watch') ?? '');
  let verb: Classified['verb'];
  switch (method) {
    case 'GET': verb = watch ? 'watch' : name === undefined ? 'list' : 'get'; break;
    case 'PATCH': verb = 'patch'; break;
    case 'POST': verb = 'create'; break;
    case 'PUT': verb = 'update'; break;
    case 'DELETE': verb = 'delete'; break;
    default: verb = 'other';
  }
  return { verb, resource };
}

function matches(m: FaultMatch | undefined, c: Classified): boolean {
  if (!m) return true;
  return (m.verb === undefined || m.verb === c.verb) && (m.resource === undefined || m.resource === c.resource);
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

export async function startFaultProxy(opts: { upstream: string; upstreamCaData: string }): Promise<FaultProxy> {
  const tls = makeProxyCert();
  const upstream = new URL(opts.upstream);
  const agent = new Agent({ keepAlive: true, ca: Buffer.from(opts.upstreamCaData, 'base64') });
  let faults: Fault[] = [];
  /** How many requests each active fault has struck (for `limit`); a new set() starts afresh. */
  let struck = new Map<Fault, number>();
  let log: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const watches = new Set<{ c: Classified; kill: () => void }>();

  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    void handle(req, res);
  });
  // A watch lives for minutes: no server-side deadline on it.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 30_000;
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => undefined);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const c = classify(req.method ?? 'GET', req.url ?? '/');
    const entry: ProxiedRequest = { at: Date.now(), verb: c.verb, resource: c.resource, outcome: 'pending' };
    log.push(entry);
    const socket = req.socket;
    const reset = () => {
      if (entry.outcome === 'pending') entry.outcome = 'reset';
      socket.destroy();
    };
    const active = faults.filter((f) => matches(f.match, c));
    /** Whether fault f strikes this request: its share drawn, and its limit (if any) not spent. */
    const strikes = (f: Fault & { share: number; limit?: number }): boolean => {
      if ((f.limit !== undefined && (struck.get(f) ?? 0) >= f.limit) || !(Math.random() < f.share)) return false;
      struck.set(f, (struck.get(f) ?? 0) + 1);
      return true;
    };

    const delayMs = active.reduce((sum, f) => sum + (f.kind === 'delay' ? f.ms : 0), 0);
    if (delayMs > 0) {
      await new Promise((r) => setTimeout(r, delayMs));
      if (socket.destroyed) return void (entry.outcome = 'reset');
    }
    for (const f of active) {
      if (f.kind === 'status' && strikes(f)) {
        entry.outcome = String(f.status);
        entry.fault = 'status';
        req.resume();
        const body = JSON.stringify({
          kind: 'Status', apiVersion: 'v1', status: 'Failure', code: f.status,
          reason: f.status === 429 ? 'TooManyRequests' : 'InternalError', message: `fault proxy: injected ${f.status}`,
        });
        res.writeHead(f.status, {
          'content-type': 'application/json',
          ...(f.retryAfterSeconds !== undefined ? { 'retry-after': String(f.retryAfterSeconds) } : {}),
        });
        res.end(body);
        return;
      }
      if (f.kind === 'stall-watch' && c.verb === 'watch') {
        entry.outcome = '200';
        entry.fault = 'stall-watch';
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        const w = { c, kill: reset };
        watches.add(w);
        res.once('close', () => watches.delete(w));
        return;
      }
    }
    const resetFault = active.find((f) => f.kind === 'reset' && strikes(f));
    if (resetFault) entry.fault = 'reset';
    // Before the request reaches the apiserver, or once part of the answer has gone out.
    if (resetFault?.kind === 'reset' && (resetFault.at ?? (Math.random() < 0.5 ? 'before' : 'mid-response')) === 'before') return reset();
    const truncate = active.some((f) => f.kind === 'truncate' && strikes(f));
    if (truncate) entry.fault ??= 'truncate';

    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    const up = request({
      agent, host: upstream.hostname, port: upstream.port || 443, method: req.method, path: req.url, headers,
    }, (upRes) => {
      entry.outcome = String(upRes.statusCode);
      const outHeaders: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(upRes.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) outHeaders[k] = v;
      res.writeHead(upRes.statusCode ?? 502, outHeaders);
      if (c.verb === 'watch') {
        res.flushHeaders();
        const w = { c, kill: reset };
        watches.add(w);
        res.once('close', () => watches.delete(w));
      }
      let first = true;
      upRes.on('data', (chunk: Buffer) => {
        if (socket.destroyed) return;
        if (first && (resetFault || truncate)) {
          // Half the first chunk (at least a byte short of it), then the connection goes.
          res.write(chunk.subarray(0, Math.floor(chunk.length / 2)));
          setImmediate(reset);
          upRes.destroy();
          return;
        }
        first = false;
        res.write(chunk);
      });
      upRes.on('end', () => {
        if (resetFault || truncate) {
          // An empty body: nothing to cut, so the cut is the close itself.
          if (first) reset();
          return;
        }
        res.end();
      });
      upRes.on('error', reset);
    });
    up.on('error', () => {
      if (!res.headersSent && !socket.destroyed) {
        entry.outcome = '502';
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 502, message: 'fault proxy: upstream unreachable' }));
      } else {
        reset();
      }
    });
    // The answer is over, or the client went away (or was cut): so is the upstream request, a
    // watch included. (On the response, not the keep-alive socket, so listeners do not pile up.)
    res.once('close', () => up.destroy());
    req.pipe(up);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (typeof addr !== 'object' || addr === null) throw new Error('fault proxy: no address');
  const select = (m: FaultMatch | undefined) => (r: { verb: Classified['verb']; resource: string | undefined }) =>
    matches(m, { verb: r.verb, resource: r.resource });

  return {
    url: `https://127.0.0.1:${addr.port}`,
    caData: Buffer.from(tls.cert).toString('base64'),
    set(next) {
      faults = [...next];
      struck = new Map();
    },
    resetWatches() {
      for (const w of [...watches]) w.kill();
    },
    counts() {
      const byVerb: Record<string, number> = {};
      const byStatus: Record<string, number> = {};
      for (const r of log) {
        byVerb[r.verb] = (byVerb[r.verb] ?? 0) + 1;
        byStatus[r.outcome] = (byStatus[r.outcome] ?? 0) + 1;
      }
      return { total: log.length, byVerb, byStatus };
    },
    resetCounts() {
      log = [];
    },
    requests(m) {
      return log.filter(select(m)).map((r) => ({ ...r }));
    },
    openWatches(m) {
      return [...watches].filter((w) => select(m)(w.c)).length;
    },
    async close() {
      faults = [];
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      agent.destroy();
      await closed;
    },
  };
}

/** A kubeconfig (YAML text) that reaches the apiserver through the proxy with a bearer token. */
export function kubeconfigThroughProxy(proxy: FaultProxy, token: string, namespace?: string): string {
  return `apiVersion: v1
kind: Config
clusters: [{name: fault-proxy, cluster: {server: ${proxy.url}, certificate-authority-data: ${proxy.caData}}}]
users: [{name: token, user: {token: ${JSON.stringify(token)}}}]
contexts: [{name: fault-proxy, context: {cluster: fault-proxy, user: token${namespace ? `, namespace: ${namespace}` : ''}}}]
current-context: fault-proxy
`;
}

/** A self-signed certificate for 127.0.0.1 (its own CA), made with openssl as testbed/certs.ts does. */
function makeProxyCert(): { key: string; cert: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cro-fault-proxy-'));
  try {
    const key = path.join(dir, 'proxy.key');
    const cert = path.join(dir, 'proxy.crt');
    const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key);
    openssl('req', '-new', '-x509', '-key', key, '-subj', '/CN=config-reload-fault-proxy', '-days', '30',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,digitalSignature,keyCertSign', '-out', cert);
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
