// The operator's HTTP client on node:https (src/kube/http-transport.ts), against HTTPS (and plain
// HTTP) servers on loopback with certificates made for the test (testbed/certs.ts): connections
// reused, idle ones closed while a quiet watch stays, a watch line over the cap abandoned with its
// socket, a stalled body ended by its deadline; a kubeconfig's client certificate, exec plugin and
// plain-http server; and the in-cluster path loading no undici, neither the package nor Node's own.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { CONFIGMAPS, SECRETS } from '../../src/kube/cluster-api.ts';
import type { Connection } from '../../src/kube/connection.ts';
import { HttpClusterApi } from '../../src/kube/http-cluster-api.ts';
import { MAX_FREE_SOCKETS, newAgent } from '../../src/kube/http-transport.ts';
import { inClusterConnection } from '../../src/kube/in-cluster.ts';
import { OversizedObjectError } from '../../src/kube/json-stream.ts';
import { loadKubeconfigConnection } from '../../src/kube/kubeconfig-connection.ts';
import { makeCerts, type TestbedCerts } from '../../testbed/certs.ts';
import { scratchDir } from '../scratch-dir.ts';
import { serviceAccount } from './service-account.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Checks waiting for the next thing the test sees happen; each is tried again at every one. */
const waiting = new Set<() => void>();
/** Something happened: a connection, a socket closed, a request served, a watch event. */
function changed(): void {
  for (const attempt of [...waiting]) attempt();
}

/** Resolves once `check` holds, tried at every change; fails after `ms`. */
function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      waiting.delete(attempt);
      reject(new Error(`not within ${ms} ms: ${what}`));
    }, ms);
    const attempt = () => {
      if (!check()) return;
      clearTimeout(deadline);
      waiting.delete(attempt);
      resolve();
    };
    waiting.add(attempt);
    attempt();
  });
}

describe('http transport: node:https against an HTTPS server on loopback', function () {
  this.timeout(60_000);
  let certs: TestbedCerts;
  let server: Server;
  let port: number;
  let handler: Handler;
  /** Every TLS connection the server accepted, open or closed. */
  const sockets: TLSSocket[] = [];
  let closed = 0;

  before(async () => {
    certs = makeCerts(scratchDir('certs'));
    // requestCert without rejecting: a test reads whether (and which) client certificate came.
    server = createServer({ cert: readFileSync(certs.servingCert), key: readFileSync(certs.servingKey), ca: readFileSync(certs.caCert), requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        handler(req, res);
        changed();
      });
    server.on('secureConnection', (s: TLSSocket) => {
      sockets.push(s);
      s.on('close', () => {
        closed++;
        changed();
      });
      changed();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    handler = (_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","code":404,"message":"not found"}');
  });

  const env = () => ({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port) });
  const secret = (name: string) => ({ kind: 'Secret', metadata: { name, namespace: 'ns' } });

  it('in-cluster: 50 sequential requests and 4 concurrent ones share the connections they opened (keep-alive)', async () => {
    handler = (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(secret(path.basename(req.url ?? '')), null, 1));
    const before = sockets.length;
    const api = new HttpClusterApi(inClusterConnection(env(), { dir: serviceAccount('sa-token', readFileSync(certs.caCert)) }));
    for (let i = 0; i < 50; i++) expect((await api.get(SECRETS, 'ns', `s${i}`)).metadata?.name).to.equal(`s${i}`);
    expect(sockets.length - before, 'one TLS connection for 50 sequential requests').to.equal(1);
    await Promise.all(Array.from({ length: 4 }, (_, i) => api.get(SECRETS, 'ns', `c${i}`)));
    await Promise.all(Array.from({ length: 4 }, (_, i) => api.get(SECRETS, 'ns', `d${i}`)));
    expect(sockets.length - before, 'four at once: at most four connections, kept for the next four').to.be.within(2, 4);
  });

  it(`a burst of 12 requests at once leaves at most ${MAX_FREE_SOCKETS} idle sockets open; the rest are closed as they are freed`, async () => {
    // Every answer held until all 12 requests arrived: they are in flight together.
    const held: ServerResponse[] = [];
    handler = (_req, res) => {
      held.push(res);
      if (held.length === 12) for (const r of held) r.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(secret('b')));
    };
    const api = new HttpClusterApi(inClusterConnection(env(), { dir: serviceAccount('sa-token', readFileSync(certs.caCert)) }));
    const closedBefore = closed;
    const opened = sockets.length;
    await Promise.all(Array.from({ length: 12 }, () => api.get(SECRETS, 'ns', 'b')));
    expect(sockets.length - opened, 'the burst opened a socket per request').to.be.above(MAX_FREE_SOCKETS);
    await until(() => (sockets.length - opened) - (closed - closedBefore) <= MAX_FREE_SOCKETS, `at most ${MAX_FREE_SOCKETS} left open`);
    expect((sockets.length - opened) - (closed - closedBefore)).to.equal(MAX_FREE_SOCKETS);
  });

  it('an idle socket is closed after the idle limit; a watch quiet for longer stays open and delivers', async () => {
    let watchRes: ServerResponse | undefined;
    handler = (req, res) => {
      if (req.url?.includes('watch=1')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        watchRes = res;
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(secret('a')));
    };
    const server = `https://127.0.0.1:${port}`;
    const agent = newAgent(server, { ca: readFileSync(certs.caCert) }, 300);
    const connection: Connection = { server, source: 'test', authorize: async () => ({ headers: { authorization: 'Bearer t' }, agent }) };
    const api = new HttpClusterApi(connection);
    const closedBefore = closed;
    const opened = sockets.length;
    await api.get(SECRETS, 'ns', 'a');
    const events: string[] = [];
    const watch = api.watch(CONFIGMAPS, { namespace: 'ns', resourceVersion: '1', timeoutSeconds: 60 }, (e) => {
      events.push(`${e.type} ${e.object.metadata?.name}`);
      changed();
    });
    await until(() => watchRes !== undefined, 'the watch reached the server');
    // A get after the watch started frees its socket now: once every socket but the watch's has
    // closed idle (300 ms after it was freed), the watch has been quiet for longer than that.
    await api.get(SECRETS, 'ns', 'a');
    await until(() => closed - closedBefore >= sockets.length - opened - 1, 'every socket but the watch\'s closed idle');
    watchRes!.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'late' } } })}\n`);
    await until(() => events.length === 1, 'the event after the idle limit of silence');
    expect(events).to.deep.equal(['ADDED late']);
    const total = sockets.length - opened;
    // Free sockets closed after 300 ms: those not carrying the watch.
    expect(closed - closedBefore, 'the idle sockets, not the watch\'s').to.equal(total - 1);
    watch.abort();
    await watch.ended;
    await until(() => closed - closedBefore === total, 'the aborted watch closes its socket');
  });

  it('a watch line over 16 MiB: OversizedObjectError naming the cap and quoting nothing; its socket is closed', async () => {
    let sent = 0;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'small' } } })}\n`);
      const chunk = Buffer.alloc(1024 * 1024, 'x');
      const more = () => {
        while (sent < 40 && res.write(chunk)) sent++;
        if (sent < 40 && !res.destroyed) res.once('drain', () => { sent++; more(); });
      };
      more();
    };
    const api = new HttpClusterApi(inClusterConnection(env(), { dir: serviceAccount('sa-token', readFileSync(certs.caCert)) }));
    const closedBefore = closed;
    const opened = sockets.length;
    const events: string[] = [];
    const watch = api.watch(CONFIGMAPS, { namespace: 'ns', resourceVersion: '1', timeoutSeconds: 60 }, (e) => events.push(String(e.object.metadata?.name)));
    const err = await watch.ended.then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(OversizedObjectError);
    expect((err as Error).message).to.match(/^WATCH \/api\/v1\/namespaces\/ns\/configmaps: an object of more than 16 MiB of JSON/).and.not.to.contain('xxxx');
    expect(events).to.deep.equal(['small']);
    await until(() => closed - closedBefore === sockets.length - opened, 'the socket of the abandoned watch is closed');
    expect(sent, 'the server was not read to the end').to.be.below(40);
  });

  it('a body that stalls part-way ends at the caller\'s deadline (TimeoutError), and its socket is closed', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"kind":"Secret","metadata":');
    };
    const api = new HttpClusterApi(inClusterConnection(env(), { dir: serviceAccount('sa-token', readFileSync(certs.caCert)) }));
    const closedBefore = closed;
    const opened = sockets.length;
    const t0 = performance.now();
    const err = await api.get(SECRETS, 'ns', 'slow', AbortSignal.timeout(300)).catch((e: unknown) => e);
    expect((err as Error).name).to.equal('TimeoutError');
    expect(performance.now() - t0).to.be.below(5_000);
    await until(() => closed - closedBefore === sockets.length - opened, 'the stalled socket is closed');
  });

  it('kubeconfig: the client certificate is presented, an exec plugin\'s token sent (headers once, lower case), connections reused', async () => {
    const seen: Array<{ authorization: string | undefined; userAgent: string | undefined; rawNames: string[]; peer: string | undefined; authorized: boolean }> = [];
    handler = (req, res) => {
      const tls = req.socket as TLSSocket;
      const peer = tls.getPeerCertificate();
      seen.push({
        authorization: req.headers.authorization, userAgent: req.headers['user-agent'], rawNames: req.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase()),
        peer: peer && 'subject' in peer && peer.subject ? String(peer.subject.CN) : undefined, authorized: tls.authorized,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(secret('k')));
    };
    const dir = scratchDir('kc');
    const plugin = path.join(dir, 'token-plugin.sh');
    writeFileSync(plugin, '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-token"}}\'\n');
    chmodSync(plugin, 0o755);
    const kubeconfig = path.join(dir, 'config');
    writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}", certificate-authority: ${certs.caCert}}}]
users: [{name: u, user: {client-certificate: ${certs.adminCert}, client-key: ${certs.adminKey}, exec: {apiVersion: client.authentication.k8s.io/v1, command: ${plugin}, interactiveMode: Never}}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`);
    const before = sockets.length;
    const api = new HttpClusterApi(loadKubeconfigConnection(kubeconfig, {}));
    for (let i = 0; i < 5; i++) await api.get(SECRETS, 'ns', 'k');
    expect(sockets.length - before, 'one connection for five requests').to.equal(1);
    expect(seen).to.have.length(5);
    for (const s of seen) {
      expect(s.authorization).to.equal('Bearer exec-token');
      expect(s.userAgent, 'named as client-go names a binary').to.match(/^config-reload-operator\/\d+\.\d+\.\d+\S* \(linux\/\w+\) \S+$/);
      expect(s.rawNames.filter((n) => n === 'authorization'), 'one Authorization header').to.have.length(1);
      expect(s.peer).to.equal('testbed-admin');
      expect(s.authorized, 'the client certificate verifies against the CA').to.equal(true);
    }
  });

  it('kubeconfig: a plain-http server (insecure-skip-tls-verify, as a test apiserver) is reached over HTTP, the token sent', async () => {
    const seen: Array<string | undefined> = [];
    const plain = createHttpServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(secret('p')));
    });
    const conns: Socket[] = [];
    plain.on('connection', (s: Socket) => conns.push(s));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const kubeconfig = path.join(scratchDir('kc'), 'config');
      writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:${(plain.address() as AddressInfo).port}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: plain-token}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`);
      const api = new HttpClusterApi(loadKubeconfigConnection(kubeconfig, {}));
      for (let i = 0; i < 3; i++) expect((await api.get(SECRETS, 'ns', 'p')).metadata?.name).to.equal('p');
      expect(seen).to.deep.equal(['Bearer plain-token', 'Bearer plain-token', 'Bearer plain-token']);
      expect(conns, 'one connection for three requests').to.have.length(1);
    } finally {
      plain.closeAllConnections();
      await new Promise((resolve) => plain.close(resolve));
    }
  });

  it('in-cluster: a list, a watch and a patch load no undici — neither the package nor Node\'s own (process.moduleLoadList)', () => {
    const dir = serviceAccount('sa-token', readFileSync(certs.caCert));
    // The child serves itself (node:https required, not imported: nothing of the test's own
    // loads Node's undici), then connects as the operator does in a pod.
    const script = `
      import { createRequire, registerHooks } from 'node:module';
      import { readFileSync } from 'node:fs';
      let resolved = false;
      registerHooks({ resolve(specifier, context, next) { if (/(^|\\/)undici(\\/|$)/.test(specifier)) resolved = true; return next(specifier, context); } });
      const https = createRequire(import.meta.url)('node:https');
      const server = https.createServer({ cert: readFileSync(${JSON.stringify(certs.servingCert)}), key: readFileSync(${JSON.stringify(certs.servingKey)}) }, (req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        if (req.url.includes('watch=1')) { res.end('{"type":"ADDED","object":{"metadata":{"name":"w"}}}\\n'); return; }
        res.end(req.method === 'PATCH' ? '{"metadata":{"name":"p"}}' : '{"metadata":{"resourceVersion":"5"},"items":[{"metadata":{"name":"i"}}]}');
      });
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      process.env.KUBERNETES_SERVICE_PORT = String(server.address().port);
      const { connect } = await import(${JSON.stringify(path.join(root, 'src/kube/connect.ts'))});
      const { HttpClusterApi } = await import(${JSON.stringify(path.join(root, 'src/kube/http-cluster-api.ts'))});
      const { CONFIGMAPS, DEPLOYMENTS } = await import(${JSON.stringify(path.join(root, 'src/kube/cluster-api.ts'))});
      const api = new HttpClusterApi(await connect(undefined, process.env));
      const items = [];
      const page = await api.listPage(CONFIGMAPS, { namespace: 'ns', limit: 10, continueToken: undefined }, (i) => items.push(i.metadata.name));
      const events = [];
      await api.watch(CONFIGMAPS, { namespace: 'ns', resourceVersion: page.resourceVersion, timeoutSeconds: 5 }, (e) => events.push(e.object.metadata.name)).ended;
      const patched = await api.mergePatch(DEPLOYMENTS, { namespace: 'ns', name: 'p', body: { a: 1 }, fieldManager: 'x' });
      server.close();
      const internal = process.moduleLoadList.filter((m) => m.includes('undici'));
      process.stdout.write(JSON.stringify({ resolved, internal, items, events, patched: patched.metadata.name }));
    `;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8', timeout: 30_000,
      env: { PATH: process.env.PATH ?? '', HOME: scratchDir('home'), KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '1', CONFIG_RELOAD_SERVICE_ACCOUNT_DIR: dir },
    });
    if (res.status !== 0) throw new Error(`child failed: ${res.stderr}`);
    const r = JSON.parse(res.stdout) as { resolved: boolean; internal: string[]; items: string[]; events: string[]; patched: string };
    expect({ items: r.items, events: r.events, patched: r.patched }, 'the calls worked').to.deep.equal({ items: ['i'], events: ['w'], patched: 'p' });
    expect(r.resolved, 'the undici package resolved').to.equal(false);
    expect(r.internal, "Node's own undici loaded").to.deep.equal([]);
  });
});
