// Adversarial histories (review 2) of the in-cluster credentials (src/kube/in-cluster.ts,
// token-file.ts, connect.ts): a 401 storm from requests in flight reads the token file once,
// not once per refused request (client-go's ResetTokenOlderThan); the token is never quoted in
// an error; the CA missing; the order --kubeconfig, $KUBECONFIG, in-cluster, ~/.kube/config.
// Files in scratch directories and an HTTPS stand-in on loopback (testbed/certs.ts).
import { expect } from 'chai';
import { mkdirSync, readFileSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { httpStatus } from '../../src/kube/api-error.ts';
import { SECRETS } from '../../src/kube/cluster-api.ts';
import { connect } from '../../src/kube/connect.ts';
import { HttpClusterApi } from '../../src/kube/http-cluster-api.ts';
import { inClusterConnection } from '../../src/kube/in-cluster.ts';
import { makeCerts, type TestbedCerts } from '../../testbed/certs.ts';
import { scratchDir } from '../scratch-dir.ts';

const ENV = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '6443' };

/** A ServiceAccount directory whose token file looks unchanged after each rewrite (same inode, size, mtime). */
function account(token: string, ca: Buffer | string | null = 'not checked here') {
  const dir = scratchDir('sa-review');
  const file = path.join(dir, 'token');
  const rewrite = (t: string) => {
    writeFileSync(file, t);
    utimesSync(file, 1_700_000_000, 1_700_000_000);
  };
  rewrite(token);
  if (ca !== null) writeFileSync(path.join(dir, 'ca.crt'), ca);
  return { dir, rewrite };
}

describe('review 2: in-cluster token under a 401 storm', () => {
  it('401s of requests that took their token before the last read do not read the file again; a 401 of the newest token does', async () => {
    const { dir, rewrite } = account('tok-0000');
    const conn = inClusterConnection(ENV, { dir, now: () => 0 });
    const url = new URL(`${conn.server}/api`);
    const inFlight = await Promise.all(Array.from({ length: 10 }, () => conn.authorize(url, 'GET')));
    expect(new Set(inFlight.map((a) => a.headers['authorization']))).to.deep.equal(new Set(['Bearer tok-0000']));
    rewrite('tok-0001');
    conn.rejected?.(inFlight[0]);
    const next = await conn.authorize(url, 'GET');
    expect(next.headers['authorization'], 'the first 401 reads the file again').to.equal('Bearer tok-0001');
    rewrite('tok-0002');
    for (const sent of inFlight.slice(1)) conn.rejected?.(sent);
    expect((await conn.authorize(url, 'GET')).headers['authorization'], 'the other nine 401s, of the old read: no read').to.equal('Bearer tok-0001');
    conn.rejected?.(next);
    expect((await conn.authorize(url, 'GET')).headers['authorization'], 'a 401 of the newest read: read again').to.equal('Bearer tok-0002');
  });

  describe('over HTTPS', function () {
    this.timeout(60_000);
    let certs: TestbedCerts;
    let server: Server;
    let port: number;
    const seen: Array<string | undefined> = [];
    /** Requests held until `hold` of them arrived, then all answered 401. */
    let hold = 1;
    let held: ServerResponse[] = [];

    before(async () => {
      certs = makeCerts(scratchDir('certs-review'));
      server = createServer({ cert: readFileSync(certs.servingCert), key: readFileSync(certs.servingKey) }, (req: IncomingMessage, res: ServerResponse) => {
        req.resume();
        req.on('end', () => {
          seen.push(req.headers.authorization);
          held.push(res);
          if (held.length < hold) return;
          for (const r of held) r.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 401, message: 'Unauthorized' }));
          held = [];
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    after(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('eight requests refused together, the file rewritten meanwhile (looking unchanged): the next request carries the new token, each refused token read again once; no error quotes a token', async () => {
      const { dir, rewrite } = account('sa-token-1', readFileSync(certs.caCert));
      const http = new HttpClusterApi(inClusterConnection({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port) }, { dir, now: () => 0 }));
      hold = 8;
      const storm = Array.from({ length: 8 }, () => http.get(SECRETS, 'ns', 'key').catch((e: unknown) => e));
      rewrite('sa-token-2');
      const errors = await Promise.all(storm);
      for (const err of errors) {
        expect(httpStatus(err)).to.equal(401);
        expect(String(err) + JSON.stringify(err)).not.to.match(/sa-token/);
      }
      hold = 1;
      rewrite('sa-token-2');
      await http.get(SECRETS, 'ns', 'key').catch(() => undefined);
      rewrite('sa-token-3');
      await http.get(SECRETS, 'ns', 'key').catch(() => undefined);
      // The 401 of the request sent with sa-token-2 re-reads (sa-token-3), as a refused token must.
      await http.get(SECRETS, 'ns', 'key').catch(() => undefined);
      expect(seen).to.deep.equal([...Array(8).fill('Bearer sa-token-1'), 'Bearer sa-token-2', 'Bearer sa-token-3', 'Bearer sa-token-3']);
    });
  });
});

describe('review 2: in-cluster files and the order of credentials', () => {
  it('a missing CA is a ConfigError naming the file, never the token', () => {
    const { dir } = account('secret-token-value', null);
    let err: unknown;
    try {
      inClusterConnection(ENV, { dir });
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/ca\.crt: no such file/);
    expect(String(err)).not.to.contain('secret-token-value');
  });

  it('a token file that becomes empty mid-rotation keeps the last token (never an empty Bearer)', async () => {
    const { dir, rewrite } = account('kept-token-x');
    const conn = inClusterConnection(ENV, { dir, now: () => 0 });
    writeFileSync(path.join(dir, 'token'), '');
    conn.rejected?.();
    expect((await conn.authorize(new URL(`${conn.server}/api`), 'GET')).headers['authorization']).to.equal('Bearer kept-token-x');
    rewrite('next-token-y');
    conn.rejected?.();
    expect((await conn.authorize(new URL(`${conn.server}/api`), 'GET')).headers['authorization']).to.equal('Bearer next-token-y');
  });

  it('--kubeconfig, then $KUBECONFIG, then in-cluster: a given kubeconfig wins over the ServiceAccount even in a pod', async () => {
    const { dir } = account('in-cluster-token');
    const kcDir = scratchDir('kc-review');
    const kubeconfig = (server: string) => {
      const file = path.join(kcDir, `${server.replace(/\W/g, '')}.yaml`);
      writeFileSync(file, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${server}"}}]\nusers: [{name: u, user: {token: kc-token}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`);
      return file;
    };
    const env = { ...ENV, CONFIG_RELOAD_SERVICE_ACCOUNT_DIR: dir };
    const flag = kubeconfig('https://flag.example:1');
    const fromEnv = kubeconfig('https://env.example:2');
    expect((await connect(flag, { ...env, KUBECONFIG: fromEnv })).server).to.equal('https://flag.example:1');
    expect((await connect(undefined, { ...env, KUBECONFIG: fromEnv })).server).to.equal('https://env.example:2');
    const inCluster = await connect(undefined, env);
    expect(inCluster.server).to.equal('https://127.0.0.1:6443');
    expect(inCluster.source).to.match(/in-cluster/);
    expect(inCluster.source).not.to.contain('in-cluster-token');
    unlinkSync(flag);
  });

  it('in a pod: the ServiceAccount before ~/.kube/config; without its token mounted, ~/.kube/config', async () => {
    const home = scratchDir('home-review');
    mkdirSync(path.join(home, '.kube'));
    writeFileSync(path.join(home, '.kube', 'config'), 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://home.example:3"}}]\nusers: [{name: u, user: {token: home-token}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n');
    const saved = process.env.HOME;
    process.env.HOME = home;
    try {
      const { dir } = account('pod-token');
      expect((await connect(undefined, { ...ENV, CONFIG_RELOAD_SERVICE_ACCOUNT_DIR: dir })).server).to.equal('https://127.0.0.1:6443');
      const noToken = scratchDir('sa-no-token');
      expect((await connect(undefined, { ...ENV, CONFIG_RELOAD_SERVICE_ACCOUNT_DIR: noToken })).server).to.equal('https://home.example:3');
      expect((await connect(undefined, {})).server, 'outside a pod').to.equal('https://home.example:3');
    } finally {
      process.env.HOME = saved;
    }
  });
});
