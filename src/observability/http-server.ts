// The operator's only listening socket: kubelet probes and the Prometheus scrape. Plain
// node:http — three read-only routes do not justify a framework in a hardened image.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'winston';
import type { OperatorMetrics } from './metrics.ts';

// node:http is required, not imported: an ES module import of it makes Node 24 read every export
// of the module, and its lazy WebSocket, CloseEvent and MessageEvent load Node's own copy of
// undici, which the operator never uses (it has its own). require() leaves them unread: 1.5-2
// MiB less RSS for the idle operator (docs/figures.md, "Memory floor").
const { createServer } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

/** What the probes report. Both are read on every request, never cached. */
export interface HealthSources {
  /** False only when the process is wedged and a restart would help (liveness). */
  isAlive(): boolean;
  /** True once the watchers have synced; standby replicas are ready too (readiness). */
  isReady(): boolean;
}

export interface HttpServerOptions {
  /** '' : every interface of both stacks (`::`, dual-stack), or every IPv4 one where there is no IPv6. */
  host: string;
  /** 0 picks an ephemeral port; the real one is returned. */
  port: number;
  health: HealthSources;
  metrics: OperatorMetrics;
  log: Logger;
  /** Connections open at once; more are closed on arrival. Default MAX_CONNECTIONS. */
  maxConnections?: number;
  /** How long a client may take to send its request headers. Default HEADERS_TIMEOUT_MS. */
  headersTimeoutMs?: number;
}

/**
 * Probes and a scrape or two at a time need a handful of connections; the cap keeps a flood of
 * them from costing memory and file descriptors the watches need.
 */
export const MAX_CONNECTIONS = 64;
/** A kubelet or Prometheus sends its headers at once; a client still sending after this is dropped. */
export const HEADERS_TIMEOUT_MS = 5_000;

export interface RunningHttpServer {
  port: number;
  close(): Promise<void>;
}

export function startHttpServer(opts: HttpServerOptions): Promise<RunningHttpServer> {
  const { health, metrics, log } = opts;

  const server = createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.warn('http handler failed', { path: req.url?.slice(0, 200), error: String(err) });
      if (!res.headersSent) send(res, 500, 'internal error');
      else res.destroy();
    });
  });
  // Probes and scrapes are short; a connection idle longer than this is a leak, not a client.
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 10_000;
  // A slow-header client (slowloris) is cut after headersTimeout; Node checks the deadlines of
  // open connections every connectionsCheckingInterval (30 s by default, which let one hold a
  // connection that long), so the check runs every second.
  server.headersTimeout = opts.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  server.maxConnections = opts.maxConnections ?? MAX_CONNECTIONS;
  // A socket with no byte either way for this long (a connection opened and left silent) is closed.
  server.timeout = 15_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'method not allowed');
      return;
    }
    // Only the path matters: probes may add a query string (e.g. ?verbose). Taken as written,
    // not through new URL(), which throws on `//` (a 500 and a warning per request) and reads
    // `//host/metrics` as a host: anything but the three paths exactly is a 404.
    const path = (req.url ?? '/').split('?', 1)[0];
    switch (path) {
      case '/healthz':
        if (health.isAlive()) send(res, 200, 'ok');
        else send(res, 500, 'not alive');
        return;
      case '/readyz':
        if (health.isReady()) send(res, 200, 'ok');
        else send(res, 503, 'not ready');
        return;
      case '/metrics': {
        const body = await metrics.registry.metrics();
        send(res, 200, body, metrics.registry.contentType);
        return;
      }
      default:
        send(res, 404, 'not found');
    }
  }

  return listen(server, opts.host, opts.port).then((address) => {
    // After start-up a socket error must not crash the operator: log it and keep serving.
    server.on('error', (err) => log.error('http server error', { error: String(err) }));
    log.info('http server listening', { host: address.address, port: address.port, maxConnections: server.maxConnections });
    return {
      port: address.port,
      close: () =>
        new Promise<void>((done) => {
          // Idle keep-alive connections (Prometheus keeps one) would hold close() open.
          server.close(() => done());
          server.closeIdleConnections();
        }),
    };
  });
}

/** Errors of binding `::` on a host without IPv6 (disabled in the kernel, or no IPv6 address). */
const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT', 'EINVAL']);

/**
 * Binds `host`; '' is `::`, which libuv opens dual-stack (IPV6_V6ONLY off, whatever the sysctl):
 * kubelet probes reach it over IPv4 and IPv6 alike, an IPv6-only cluster included. A host
 * without IPv6 falls back to 0.0.0.0.
 */
async function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  if (host !== '') return listenOn(server, host, port);
  try {
    return await listenOn(server, '::', port);
  } catch (err) {
    if (!NO_IPV6.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    return listenOn(server, '0.0.0.0', port);
  }
}

function listenOn(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onListenError = (err: Error) => reject(err);
    server.once('error', onListenError);
    server.listen(port, host, () => {
      server.off('error', onListenError);
      resolve(server.address() as AddressInfo);
    });
  });
}

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    // A probe or scrape answer is only true at the instant it was produced.
    'Cache-Control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
