// The in-cluster path (src/kube/in-cluster.ts, src/kube/connect.ts): the ServiceAccount's token,
// CA and service address as the operator's credentials, without client-node. Files in scratch
// directories and an HTTPS apiserver stand-in on loopback, its certificate signed by a CA made
// for the test (testbed/certs.ts): the token re-read on rotation, a minute after the last read
// and after a 401; missing files said by name, never a token quoted; the Lease, digest-key Secret
// and Event verbs over the operator's own HTTP layer with its error type and deadlines. Against
// the real apiserver, the bundle runs this way in test/e2e/image-bundle.test.ts.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from 'winston';
import { ConfigError } from '../../src/core/errors.ts';
import { ApiError, httpStatus } from '../../src/kube/api-error.ts';
import { SECRETS } from '../../src/kube/cluster-api.ts';
import { clusterSecretApi } from '../../src/kube/digest-key.ts';
import { HttpClusterApi } from '../../src/kube/http-cluster-api.ts';
import { inClusterConnection } from '../../src/kube/in-cluster.ts';
import { clusterLeaseApi } from '../../src/leader/lease-api.ts';
import { EventRecorder } from '../../src/observability/events.ts';
import { microTime } from '../../src/leader/lease-rules.ts';
import { makeCerts, type TestbedCerts } from '../../testbed/certs.ts';
import { scratchDir } from '../scratch-dir.ts';
import { serviceAccount } from './service-account.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ENV = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '6443' };

/** A ServiceAccount directory as the kubelet mounts it: token, ca.crt, namespace. */
async function bearer(conn: ReturnType<typeof inClusterConnection>): Promise<string | undefined> {
  return (await conn.authorize(new URL(`${conn.server}/api`), 'GET')).headers['authorization'];
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('in-cluster credentials: the ServiceAccount token, CA and service address', () => {
  it('sends the token, and a rotated token (the kubelet swaps the file) from the next request on', async () => {
    const dir = serviceAccount('token-one');
    const conn = inClusterConnection(ENV, { dir });
    expect(conn.server).to.equal('https://127.0.0.1:6443');
    expect(conn.source).to.contain('in-cluster service account');
    expect(await bearer(conn)).to.equal('Bearer token-one');
    // As the kubelet: the new token written beside, then renamed over (a new inode).
    writeFileSync(path.join(dir, 'token.new'), 'token-two-longer');
    renameSync(path.join(dir, 'token.new'), path.join(dir, 'token'));
    expect(await bearer(conn)).to.equal('Bearer token-two-longer');
  });

  it('reads an unchanged-looking file again a minute after the last read, and at once after a 401', async () => {
    const dir = serviceAccount('aaaa-token');
    const file = path.join(dir, 'token');
    // Same inode, size and mtime (whole seconds, set again after each write): the file looks
    // unchanged, so only the clock or a 401 re-reads it.
    const rewrite = (token: string) => {
      writeFileSync(file, token);
      utimesSync(file, 1_700_000_000, 1_700_000_000);
    };
    rewrite('aaaa-token');
    let now = 1_000_000;
    const conn = inClusterConnection(ENV, { dir, now: () => now });
    expect(await bearer(conn)).to.equal('Bearer aaaa-token');
    rewrite('bbbb-token');
    now += 59_000;
    expect(await bearer(conn), 'within the minute').to.equal('Bearer aaaa-token');
    now += 2_000;
    expect(await bearer(conn), 'past the minute').to.equal('Bearer bbbb-token');
    rewrite('cccc-token');
    expect(await bearer(conn)).to.equal('Bearer bbbb-token');
    conn.rejected?.();
    expect(await bearer(conn), 'after a 401').to.equal('Bearer cccc-token');
  });

  it('keeps the last token while the file is briefly absent (mid-rotation)', async () => {
    const dir = serviceAccount('kept-token');
    const conn = inClusterConnection(ENV, { dir });
    renameSync(path.join(dir, 'token'), path.join(dir, 'token.away'));
    conn.rejected?.();
    expect(await bearer(conn)).to.equal('Bearer kept-token');
  });

  it('missing or empty files: a ConfigError naming the file, never quoting the token', () => {
    const token = 'eyJhbGciOiJSUzI1NiJ9.secret-part';
    const noToken = serviceAccount(undefined);
    let err = errorOf(() => inClusterConnection(ENV, { dir: noToken }));
    expect(err).to.be.instanceOf(ConfigError);
    expect(err.message).to.contain(path.join(noToken, 'token')).and.to.contain('automountServiceAccountToken');

    const noCa = serviceAccount(token, null);
    err = errorOf(() => inClusterConnection(ENV, { dir: noCa }));
    expect(err).to.be.instanceOf(ConfigError);
    expect(err.message).to.contain(path.join(noCa, 'ca.crt')).and.not.to.contain('secret-part');

    err = errorOf(() => inClusterConnection(ENV, { dir: serviceAccount('  \n') }));
    expect(err).to.be.instanceOf(ConfigError);
    expect(err.message).to.match(/token.*empty/);

    err = errorOf(() => inClusterConnection(ENV, { dir: serviceAccount(token, '') }));
    expect(err.message).to.match(/ca\.crt is empty/).and.not.to.contain('secret-part');
  });

  it('the service address: both variables needed; an IPv6 host is bracketed', () => {
    const dir = serviceAccount('t');
    expect(errorOf(() => inClusterConnection({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, { dir }))).to.be.instanceOf(ConfigError);
    expect(inClusterConnection({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, { dir }).server).to.equal('https://[fd00::1]:443');
  });
});

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

describe('in-cluster verbs: Lease, digest-key Secret and Event over the operator\'s HTTP layer (HTTPS on loopback)', function () {
  this.timeout(60_000);
  let certs: TestbedCerts;
  let server: Server;
  let port: number;
  let dir: string;
  const seen: Seen[] = [];
  /** Answers by "METHOD path": status and body; anything else 404. */
  let routes: Record<string, (body: unknown, auth: string | undefined) => [number, unknown] | 'hang'>;

  before(async () => {
    certs = makeCerts(scratchDir('certs'));
    server = createServer({ cert: readFileSync(certs.servingCert), key: readFileSync(certs.servingKey) }, (req: IncomingMessage, res: ServerResponse) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const body = text === '' ? undefined : JSON.parse(text) as unknown;
        const url = new URL(req.url ?? '/', 'https://x');
        seen.push({ method: req.method ?? '', url: `${url.pathname}${url.search}`, authorization: req.headers.authorization, contentType: req.headers['content-type'], body });
        const route = routes[`${req.method} ${url.pathname}`];
        const answer = route ? route(body, req.headers.authorization) : [404, { kind: 'Status', code: 404, message: 'not found' }] as [number, unknown];
        if (answer === 'hang') return;
        res.writeHead(answer[0], { 'content-type': 'application/json' }).end(JSON.stringify(answer[1]));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    seen.length = 0;
    routes = {};
    dir = serviceAccount('sa-token', readFileSync(certs.caCert));
  });

  const api = () => new HttpClusterApi(inClusterConnection({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port) }, { dir }));
  const LEASE = '/apis/coordination.k8s.io/v1/namespaces/ns/leases';

  it('Lease: read (404 as an ApiError), create (201), replace (409 on a stale resourceVersion), the token and JSON on each', async () => {
    const leases = clusterLeaseApi(api(), 'ns', 'lock');
    const signal = AbortSignal.timeout(10_000);
    const missing = await leases.read(signal).catch((err: unknown) => err);
    expect(missing).to.be.instanceOf(ApiError);
    expect(httpStatus(missing)).to.equal(404);

    const spec = { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: microTime(Date.UTC(2026, 0, 1)), leaseTransitions: 0 };
    routes[`POST ${LEASE}`] = (body) => [201, { ...(body as object), metadata: { name: 'lock', namespace: 'ns', resourceVersion: '7' } }];
    const created = await leases.create({ metadata: { name: 'lock', namespace: 'ns' }, spec }, signal);
    expect(created.metadata?.resourceVersion).to.equal('7');
    expect(created.spec?.renewTime).to.equal('2026-01-01T00:00:00.000000Z');

    routes[`PUT ${LEASE}/lock`] = (body) => ((body as { metadata: { resourceVersion: string } }).metadata.resourceVersion === '7'
      ? [200, { ...(body as object), metadata: { name: 'lock', namespace: 'ns', resourceVersion: '8' } }]
      : [409, { kind: 'Status', code: 409, message: 'the object has been modified' }]);
    const replaced = await leases.replace({ metadata: { name: 'lock', namespace: 'ns', resourceVersion: '7' }, spec }, signal);
    expect(replaced.metadata?.resourceVersion).to.equal('8');
    const stale = await leases.replace({ metadata: { name: 'lock', namespace: 'ns', resourceVersion: '6' }, spec }, signal).catch((err: unknown) => err);
    expect(httpStatus(stale)).to.equal(409);
    expect((stale as ApiError).detail).to.equal('the object has been modified');

    expect(seen.map((s) => `${s.method} ${s.url}`)).to.deep.equal([
      `GET ${LEASE}/lock`, `POST ${LEASE}?fieldManager=config-reload-operator`, `PUT ${LEASE}/lock?fieldManager=config-reload-operator`,
      `PUT ${LEASE}/lock?fieldManager=config-reload-operator`,
    ]);
    expect(seen.every((s) => s.authorization === 'Bearer sa-token')).to.equal(true);
    expect(seen.filter((s) => s.method !== 'GET').every((s) => s.contentType === 'application/json')).to.equal(true);
    expect((seen[1]?.body as { spec: unknown }).spec).to.deep.equal(spec);
  });

  it('a Lease call ends when its signal aborts (the elector\'s renew deadline), whatever the server does', async () => {
    routes[`GET ${LEASE}/lock`] = () => 'hang';
    const t0 = performance.now();
    const err = await clusterLeaseApi(api(), 'ns', 'lock').read(AbortSignal.timeout(300)).catch((e: unknown) => e);
    expect((err as Error).name).to.equal('TimeoutError');
    expect(performance.now() - t0).to.be.below(5_000);
  });

  it('digest-key Secret: read and create, a 409 said as an ApiError; the key is never in an error', async () => {
    const secrets = clusterSecretApi(api());
    const where = { namespace: 'ns', name: 'key' };
    const data = { key: Buffer.alloc(32, 7).toString('base64') };
    routes['GET /api/v1/namespaces/ns/secrets/key'] = () => [200, { kind: 'Secret', metadata: { name: 'key' }, data }];
    expect((await secrets.read(where)).data).to.deep.equal(data);
    routes['POST /api/v1/namespaces/ns/secrets'] = () => [409, { kind: 'Status', code: 409, message: 'secrets "key" already exists' }];
    const err = await secrets.create(where, { metadata: { name: 'key', namespace: 'ns' }, data }).catch((e: unknown) => e);
    expect(httpStatus(err)).to.equal(409);
    expect(String((err as Error).message)).not.to.contain(data.key);
    // An answer that is not a Status (a Secret where an error belongs) is described, not quoted.
    routes['POST /api/v1/namespaces/ns/secrets'] = () => [500, { kind: 'Secret', data }];
    const odd = await secrets.create(where, { metadata: { name: 'key', namespace: 'ns' }, data }).catch((e: unknown) => e);
    expect(String((odd as Error).message)).to.contain('not quoted').and.not.to.contain(data.key);
    expect(seen[1]?.body).to.deep.include({ data });
  });

  it('Event: created with its timestamps, a repeat patched (merge patch, count 2) rather than created again', async () => {
    routes['POST /api/v1/namespaces/ns/events'] = (body) => [201, { ...(body as object), metadata: { name: 'app.1', namespace: 'ns' } }];
    routes['PATCH /api/v1/namespaces/ns/events/app.1'] = (body) => [200, { metadata: { name: 'app.1' }, ...(body as object) }];
    const recorder = new EventRecorder(api(), { log: createLogger({ silent: true }), host: 'replica-0' });
    const target = { kind: 'Deployment' as const, apiVersion: 'apps/v1' as const, namespace: 'ns', name: 'app', uid: 'u-1' };
    await recorder.normal(target, 'Rolled', 'rolled for ConfigMap app-cm');
    await recorder.normal(target, 'Rolled', 'rolled for ConfigMap app-cm');
    expect(seen.map((s) => `${s.method} ${s.url}`)).to.deep.equal([
      'POST /api/v1/namespaces/ns/events?fieldManager=config-reload-operator', 'PATCH /api/v1/namespaces/ns/events/app.1?fieldManager=config-reload-operator',
    ]);
    const created = seen[0]?.body as Record<string, unknown>;
    expect(created).to.deep.include({ type: 'Normal', reason: 'Rolled', count: 1, reportingInstance: 'replica-0' });
    expect(created.involvedObject).to.deep.equal(target);
    expect(created.firstTimestamp).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(seen[1]?.contentType).to.equal('application/merge-patch+json');
    expect(seen[1]?.body).to.deep.include({ count: 2 });
  });

  it('a 401 makes the next request read the token file again, even when it looks unchanged', async () => {
    const file = path.join(dir, 'token');
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    routes['GET /api/v1/namespaces/ns/secrets/key'] = (_body, auth) => (auth === 'Bearer new-tokn'
      ? [200, { kind: 'Secret', metadata: { name: 'key' } }] : [401, { kind: 'Status', code: 401, message: 'Unauthorized' }]);
    const http = api();
    writeFileSync(file, 'new-tokn'); // the length of sa-token: same size, same inode
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    const first = await http.get(SECRETS, 'ns', 'key').catch((e: unknown) => e);
    expect(httpStatus(first)).to.equal(401);
    expect((await http.get(SECRETS, 'ns', 'key')).metadata?.name).to.equal('key');
    expect(seen.map((s) => s.authorization)).to.deep.equal(['Bearer sa-token', 'Bearer new-tokn']);
  });

  it('trusts the ServiceAccount\'s CA only: a CA that did not sign the server fails the request (no status), naming no token', async () => {
    const other = makeCerts(scratchDir('other-ca'));
    dir = serviceAccount('sa-token', readFileSync(other.caCert));
    const err = await api().get(SECRETS, 'ns', 'key').catch((e: unknown) => e);
    expect(httpStatus(err)).to.equal(undefined);
    expect(String(err)).not.to.contain('sa-token');
    expect(seen).to.have.length(0);
  });
});

describe('in-cluster start-up: client-node is not loaded', function () {
  this.timeout(60_000);

  /** connect() in a child process whose module hooks record every @kubernetes/client-node resolution. */
  function loadsClientNode(env: Record<string, string>): { loaded: boolean; source: string } {
    const script = `
      import { registerHooks } from 'node:module';
      let loaded = false;
      registerHooks({ resolve(specifier, context, next) { if (specifier.includes('@kubernetes/client-node')) loaded = true; return next(specifier, context); } });
      const { connect } = await import(${JSON.stringify(path.join(root, 'src/kube/connect.ts'))});
      const conn = await connect(undefined, process.env);
      process.stdout.write(JSON.stringify({ loaded, source: conn.source }));
    `;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '', HOME: scratchDir('home'), ...env },
    });
    if (res.status !== 0) throw new Error(`child failed: ${res.stderr}`);
    return JSON.parse(res.stdout) as { loaded: boolean; source: string };
  }

  it('in a cluster (token, CA, service variables; no kubeconfig given): not loaded', () => {
    const dir = serviceAccount('t', 'ca');
    const r = loadsClientNode({ ...ENV, CONFIG_RELOAD_SERVICE_ACCOUNT_DIR: dir });
    expect(r.source).to.contain('in-cluster');
    expect(r.loaded).to.equal(false);
  });

  it('in a pod whose token is not mounted, and no kubeconfig: exit 2, one line naming the missing file', () => {
    const dir = serviceAccount(undefined);
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root, encoding: 'utf8', timeout: 30_000,
      env: { PATH: process.env.PATH ?? '', HOME: scratchDir('home'), KUBECONFIG: '', ...ENV, CONFIG_RELOAD_SERVICE_ACCOUNT_DIR: dir },
    });
    expect(res.status).to.equal(2);
    expect(res.stderr.trim().split('\n')).to.have.length(1);
    expect(res.stderr).to.contain(`config-reload-operator: error: in-cluster service account: ${path.join(dir, 'token')}: no such file`);
  });

  it('a process without a home (HOME unset, a uid with no passwd entry, where os.homedir() throws): the same one line', () => {
    const dir = serviceAccount(undefined);
    // A user namespace maps this process to uid 54321, which /etc/passwd does not name.
    const res = spawnSync('unshare', ['--user', '--map-user=54321', '--map-group=54321', process.execPath, '--import', 'tsx', 'src/main.ts'], {
      cwd: root, encoding: 'utf8', timeout: 30_000,
      env: { PATH: process.env.PATH ?? '', KUBECONFIG: '', ...ENV, CONFIG_RELOAD_SERVICE_ACCOUNT_DIR: dir },
    });
    expect(res.status, res.stderr).to.equal(2);
    expect(res.stderr.trim().split('\n')).to.have.length(1);
    expect(res.stderr).to.contain(`config-reload-operator: error: in-cluster service account: ${path.join(dir, 'token')}: no such file`);
  });

  it('with a kubeconfig: loaded (its exec plugins, OIDC and client certificates are client-node\'s)', () => {
    const kc = path.join(scratchDir('kc'), 'config');
    writeFileSync(kc, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\n'
      + 'users: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n');
    const r = loadsClientNode({ ...ENV, KUBECONFIG: kc, CONFIG_RELOAD_SERVICE_ACCOUNT_DIR: serviceAccount('t', 'ca') });
    expect(r.source).to.equal('kubeconfig');
    expect(r.loaded).to.equal(true);
  });
});
