import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import winston from 'winston';
import { httpAddr } from '../../src/config/values.ts';
import { HEADERS_TIMEOUT_MS, MAX_CONNECTIONS, startHttpServer } from '../../src/observability/http-server.ts';
import { OperatorMetrics } from '../../src/observability/metrics.ts';

const silent = winston.createLogger({ silent: true });

describe('http-server: probes and metrics', () => {
  let alive = true;
  let ready = false;
  let metrics: OperatorMetrics;
  let server: { port: number; close(): Promise<void> };
  const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;

  beforeEach(async () => {
    alive = true;
    ready = false;
    metrics = new OperatorMetrics();
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      health: { isAlive: () => alive, isReady: () => ready },
      metrics,
      log: silent,
    });
  });

  afterEach(() => server.close());

  it('listens on an ephemeral port when asked for port 0', () => {
    expect(server.port).to.be.a('number').greaterThan(0);
  });

  it('/healthz answers 200 "ok" while alive and 500 once not', async () => {
    let res = await fetch(url('/healthz'));
    expect([res.status, await res.text()]).to.deep.equal([200, 'ok']);
    alive = false;
    res = await fetch(url('/healthz'));
    expect(res.status).to.equal(500);
  });

  it('/readyz answers 503 "not ready" before sync and 200 "ok" after, read live on each request', async () => {
    let res = await fetch(url('/readyz'));
    expect([res.status, await res.text()]).to.deep.equal([503, 'not ready']);
    ready = true;
    res = await fetch(url('/readyz'));
    expect([res.status, await res.text()]).to.deep.equal([200, 'ok']);
    ready = false;
    res = await fetch(url('/readyz'));
    expect(res.status).to.equal(503);
  });

  it('ignores a query string on the probe paths', async () => {
    ready = true;
    const res = await fetch(url('/readyz?verbose'));
    expect(res.status).to.equal(200);
  });

  it('/metrics serves the Prometheus text format with the current values', async () => {
    metrics.rolls.inc({ namespace: 'shop', dry_run: 'false' });
    const res = await fetch(url('/metrics'));
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    const lines = (await res.text()).split('\n');
    expect(lines).to.include('config_reload_rolls_total{namespace="shop",dry_run="false"} 1');
  });

  it('answers 404 on any other path and 405 on a non-GET method', async () => {
    expect((await fetch(url('/'))).status).to.equal(404);
    expect((await fetch(url('/metricsx'))).status).to.equal(404);
    const post = await fetch(url('/healthz'), { method: 'POST' });
    expect(post.status).to.equal(405);
    expect(post.headers.get('allow')).to.equal('GET, HEAD');
  });

  it('close() resolves even with a keep-alive connection open, and the port stops answering', async () => {
    await fetch(url('/healthz')); // fetch keeps the connection alive in its pool
    const port = server.port;
    await server.close();
    let refused = false;
    try {
      await fetch(`http://127.0.0.1:${port}/healthz`);
    } catch {
      refused = true;
    }
    expect(refused).to.equal(true);
    // afterEach closes again: a second close must not hang or throw.
    server = { port, close: async () => {} };
  });

  it('rejects when the port is taken', async () => {
    let error: unknown;
    try {
      await startHttpServer({ host: '127.0.0.1', port: server.port, health: { isAlive: () => true, isReady: () => true }, metrics, log: silent });
    } catch (err) {
      error = err;
    }
    expect((error as NodeJS.ErrnoException | undefined)?.code).to.equal('EADDRINUSE');
  });
});

/** A raw connection to `port` on `host`, once connected. */
function rawSocket(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server sends until it closes the connection, and when it closed (ms after `since`). */
function untilClosed(socket: Socket, since: number): Promise<{ text: string; afterMs: number }> {
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.once('close', () => resolve({ text, afterMs: performance.now() - since })));
}

describe('http-server: hardening (issue 21)', () => {
  const warnings: unknown[] = [];
  const log = winston.createLogger({
    level: 'debug',
    transports: [new winston.transports.Console({ silent: true })],
  });
  log.on('data', (entry: { level: string }) => {
    if (entry.level === 'warn' || entry.level === 'error') warnings.push(entry);
  });
  const health = { isAlive: () => true, isReady: () => true };
  let servers: Array<{ close(): Promise<void> }> = [];
  const start = async (opts: { host?: string; maxConnections?: number; headersTimeoutMs?: number } = {}) => {
    const server = await startHttpServer({ host: '127.0.0.1', port: 0, health, metrics: new OperatorMetrics(), log, ...opts });
    servers.push(server);
    return server;
  };

  beforeEach(() => {
    warnings.length = 0;
  });
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });

  it('by default (--http-addr :PORT, no host) listens dual-stack: probes answer on IPv4 and IPv6 alike', async () => {
    const server = await start({ host: httpAddr(':0', '--http-addr').host });
    for (const host of ['127.0.0.1', '[::1]']) {
      const res = await fetch(`http://${host}:${server.port}/healthz`);
      expect([host, res.status, await res.text()]).to.deep.equal([host, 200, 'ok']);
    }
  });

  it('odd paths answer 404, not 500, and log nothing', async () => {
    const server = await start();
    for (const target of ['//', '//evil.example/metrics', '///healthz', 'http://x/healthz', '/%', '/healthz/', '*']) {
      const socket = await rawSocket(server.port);
      const closed = untilClosed(socket, performance.now());
      socket.end(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      const { text } = await closed;
      expect(text.split('\r\n')[0], target).to.equal('HTTP/1.1 404 Not Found');
    }
    expect(warnings).to.deep.equal([]);
  });

  it('drops a client still sending its headers after the headers timeout (seconds, not 30 s)', async () => {
    expect(HEADERS_TIMEOUT_MS).to.be.at.most(5_000);
    const server = await start({ headersTimeoutMs: 1_000 });
    // One sends half its headers and never the blank line; one connects and sends nothing.
    for (const sent of ['GET /healthz HTTP/1.1\r\nHost: x\r\n', '']) {
      const socket = await rawSocket(server.port);
      const closed = untilClosed(socket, performance.now());
      if (sent !== '') socket.write(sent);
      const { text, afterMs } = await closed;
      expect(text.split('\r\n')[0], JSON.stringify(sent)).to.equal('HTTP/1.1 408 Request Timeout');
      // The deadline plus at most one check interval (1 s), with room for a loaded machine.
      expect(afterMs, JSON.stringify(sent)).to.be.within(900, 4_000);
    }
  });

  it('caps open connections: one more is closed on arrival, and a slot freed serves again', async () => {
    expect(MAX_CONNECTIONS).to.be.within(8, 1024);
    const server = await start({ maxConnections: 2 });
    const held = [await rawSocket(server.port), await rawSocket(server.port)];
    const extra = await rawSocket(server.port);
    const { text } = await untilClosed(extra, performance.now());
    expect(text).to.equal('');
    const freed = untilClosed(held[0]!, performance.now());
    held[0]!.destroy();
    await freed;
    const res = await fetch(`http://127.0.0.1:${server.port}/healthz`, { headers: { connection: 'close' } });
    expect(res.status).to.equal(200);
    held[1]!.destroy();
  });
});

