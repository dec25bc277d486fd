// The operator's only listening socket: kubelet probes and the Prometheus scrape. Plain
// node:http — three read-only routes do not justify a framework in a hardened image.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'winston';
import type { OperatorMetrics } from './metrics.ts';

/** What the probes report. Both are read on every request, never cached. */
export interface HealthSources {
  /** False only when the process is wedged and a restart would help (liveness). */
  isAlive(): boolean;
  /** True once the watchers have synced; standby replicas are ready too (readiness). */
  isReady(): boolean;
}

export interface HttpServerOptions {
  host: string;
  /** 0 picks an ephemeral port; the real one is returned. */
  port: number;
  health: HealthSources;
  metrics: OperatorMetrics;
  log: Logger;
}

export interface RunningHttpServer {
  port: number;
  close(): Promise<void>;
}

export function startHttpServer(opts: HttpServerOptions): Promise<RunningHttpServer> {
  const { health, metrics, log } = opts;

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.warn('http handler failed', { path: req.url, error: String(err) });
      if (!res.headersSent) send(res, 500, 'internal error');
      else res.destroy();
    });
  });
  // Probes and scrapes are short; a connection idle longer than this is a leak, not a client.
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 10_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'method not allowed');
      return;
    }
    // Only the path matters: probes may add a query string (e.g. ?verbose).
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
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

  return new Promise((resolve, reject) => {
    const onListenError = (err: Error) => reject(err);
    server.once('error', onListenError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onListenError);
      // After start-up a socket error must not crash the operator: log it and keep serving.
      server.on('error', (err) => log.error('http server error', { error: String(err) }));
      const { port } = server.address() as AddressInfo;
      log.info('http server listening', { host: opts.host, port });
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            // Idle keep-alive connections (Prometheus keeps one) would hold close() open.
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
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
