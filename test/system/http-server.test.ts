import { expect } from 'chai';
import winston from 'winston';
import { startHttpServer } from '../../src/observability/http-server.ts';
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
