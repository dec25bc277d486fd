// Bad input about reaching the apiserver (docs/troubleshooting.md, the bad-input table): an
// apiserver unreachable at start, and a token revoked while running. The operator reaches the
// apiserver through a TCP forwarder this test controls (closed at first, then open; later it cuts
// every connection, the operator's watches included), and authenticates with a kubeconfig
// `tokenFile` holding a ServiceAccount token bound to a Secret: deleting the Secret revokes it.
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, connect, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { scratchDir } from '../scratch-dir.ts';
import { testbed } from './hooks.ts';
import { OperatorProcess } from './operator-process.ts';
import {
  clients, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, httpGet,
  podSpecWithVolume, recordedHash, replicaSetsOf, rewriteConfigMap, sentinelRoll, waitFor, waitForReplicaSets,
} from './support.ts';

/** A TCP forwarder to the apiserver on a fixed port, opened and closed at will. */
class Forwarder {
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;

  constructor(readonly port: number, readonly target: number) {}

  /** A port nothing listens on now (the forwarder opens it later). */
  static async freePort(): Promise<number> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return port;
  }

  async open(): Promise<void> {
    this.#server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.#server!.listen(this.port, '127.0.0.1', resolve));
  }

  /** Resets every connection through it (open watches included); new ones are accepted. */
  cutAll(): number {
    const n = this.#sockets.size;
    for (const s of this.#sockets) s.destroy();
    return n;
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

const admin = () => readFileSync(testbed().kubeconfigPath, 'utf8');
const caData = () => /certificate-authority-data: (\S+)/.exec(admin())?.[1] ?? '';
const apiPort = () => Number(new URL(/server: (\S+)/.exec(admin())?.[1] ?? '').port);

/** The HTTP status the apiserver answers GET /api with, for this bearer token. */
function statusFor(token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port: apiPort(), path: '/api', headers: { authorization: `Bearer ${token}` },
      ca: Buffer.from(caData(), 'base64'), timeout: 5000,
    }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('operator: the apiserver unreachable at start, and a revoked token', () => {
  let ns: string;
  let op: OperatorProcess | undefined;
  let forwarder: Forwarder;
  let tokenFile: string;
  let binding: string;

  /** A token of ServiceAccount `op`, valid until the Secret `anchor` is deleted. */
  async function boundToken(anchor: string): Promise<string> {
    const { core } = clients();
    const secret = await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: anchor } } });
    const tr = await core.createNamespacedServiceAccountToken({ namespace: ns, name: 'op', body: { spec: {
      audiences: [], expirationSeconds: 3600,
      boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: anchor, uid: secret.metadata?.uid ?? '' },
    } } });
    const token = tr.status?.token;
    if (!token) throw new Error('TokenRequest returned no token');
    return token;
  }

  /** Replaces the token file in one step, as the kubelet does. */
  function writeToken(token: string): void {
    writeFileSync(`${tokenFile}.new`, token);
    renameSync(`${tokenFile}.new`, tokenFile);
  }

  before(async () => {
    ns = await createNamespace('badstart');
    binding = `${ns}-op`;
    const { core, kc } = clients();
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'op' } } });
    await kc.makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({ body: {
      metadata: { name: binding },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'op', namespace: ns }],
    } });
    forwarder = new Forwarder(await Forwarder.freePort(), apiPort());
    const dir = scratchDir('badstart');
    tokenFile = path.join(dir, 'token');
    writeToken(await boundToken('anchor-1'));
    writeFileSync(path.join(dir, 'kubeconfig'), `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:${forwarder.port}", certificate-authority-data: ${caData()}}}]
users: [{name: op, user: {tokenFile: token}}]
contexts: [{name: c, context: {cluster: c, user: op}}]
current-context: c
`);
    op = await OperatorProcess.start({ args: ['--kubeconfig', path.join(dir, 'kubeconfig'), '--namespace', ns], env: { KUBECONFIG: '' }, waitFor: 'spawned' });
  });
  after(async () => {
    await op?.stop();
    await forwarder?.close();
    await clients().kc.makeApiClient(RbacAuthorizationV1Api).deleteClusterRoleBinding({ name: binding }).catch(() => undefined);
    await deleteNamespace(ns);
  });

  it('unreachable at start: alive but not ready, retrying with a reason, no exit; reachable, it syncs and serves', async () => {
    const keyRetry = 'cannot load the digest key: not ready, retrying';
    await op!.waitForLog('a second retry', (l) => l.message === keyRetry && op!.logs.filter((x) => x.message === keyRetry).length >= 2, 60_000);
    const retry = op!.logs.find((l) => l.message === keyRetry)!;
    expect(retry.level).to.equal('error');
    expect(String(retry.error)).to.contain(`ECONNREFUSED 127.0.0.1:${forwarder.port}`);
    const port = await op!.httpPort();
    expect((await httpGet(port, '/readyz')).status).to.equal(503);
    expect((await httpGet(port, '/healthz')).status).to.equal(200);

    await forwarder.open();
    await op!.waitForLog('workers started', (l) => l.message === 'resync' && l.why === 'start', 90_000);
    expect((await httpGet(port, '/readyz')).status).to.equal(200);
    await createConfigMap(ns, 'cfg', { v: '1' });
    await createDeployment(ns, deployment('web', { annotations: ENABLED, podSpec: podSpecWithVolume('cfg') }));
    await recordedHash(ns, 'web');
  });

  it('a revoked token (401): a clear error, retries without exiting, and the rotated token file is used', async () => {
    const revoked = readFileSync(tokenFile, 'utf8');
    await clients().core.deleteNamespacedSecret({ namespace: ns, name: 'anchor-1' });
    // The apiserver caches authentications for a few seconds.
    await waitFor('the token rejected', async () => ((await statusFor(revoked)) === 401 ? true : undefined), 60_000);
    const mark = op!.logs.length;
    expect(forwarder.cutAll(), 'the operator\'s connections, its watches among them').to.be.above(0);
    const line = await op!.waitForLog('a 401', (l) => op!.logs.indexOf(l) >= mark && l.message === 'list/watch failed: retrying' && /HTTP 401/.test(String(l.error)));
    expect(String(line.error)).to.contain('the apiserver rejected the credentials (an expired or revoked token?)');
    await rewriteConfigMap(ns, 'cfg', { v: '2' });
    const port = await op!.httpPort();
    expect((await httpGet(port, '/healthz')).status).to.equal(200);

    writeToken(await boundToken('anchor-2'));
    await waitForReplicaSets(ns, 'web', 2, 90_000);
    await sentinelRoll(ns);
    expect(await replicaSetsOf(ns, 'web')).to.have.length(2);
    expect(await op!.stop()).to.equal(0);
    op = undefined;
  });
});
