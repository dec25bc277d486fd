// A $KUBECONFIG list merged as kubectl merges it, and kubeconfig errors that never quote the file
// (issue 21). Files in a temporary directory; the requests' Authorization header is read from
// client-node's request context, as the operator's HTTP client applies it.
import { HttpMethod, RequestContext } from '@kubernetes/client-node';
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/config.ts';
import { loadKubeConfig } from '../../src/kube/kubeconfig.ts';

async function authorization(kc: ReturnType<typeof loadKubeConfig>): Promise<string | undefined> {
  const ctx = new RequestContext('https://127.0.0.1:1/api', HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  return ctx.getHeaders()['Authorization'];
}

const errorOf = (f: () => unknown): Error => {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('no error');
};

describe('kubeconfig: a $KUBECONFIG list, merged as kubectl does', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const at = path.join(dir, name);
    writeFileSync(at, text);
    return at;
  };
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cro-kubeconfig-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a:b with the context in a and its tokenFile user in b: requests carry b\'s token (operator flag and variable, explain alike)', async () => {
    const a = file('a', `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: ctx, context: {cluster: c, user: robot}}]
current-context: ctx
`);
    mkdtempSync(path.join(dir, 'x'));
    const bDir = mkdtempSync(path.join(dir, 'b-'));
    writeFileSync(path.join(bDir, 'token'), 'token-from-b\n');
    const b = path.join(bDir, 'config');
    writeFileSync(b, `apiVersion: v1
kind: Config
users: [{name: robot, user: {tokenFile: token}}]
`);
    const list = `${a}${path.delimiter}${b}`;
    // The operator: --kubeconfig, whose variable is KUBECONFIG. explain: the loader reads $KUBECONFIG.
    expect(await authorization(loadKubeConfig(list, {}))).to.equal('Bearer token-from-b');
    expect(await authorization(loadKubeConfig(undefined, { KUBECONFIG: list }))).to.equal('Bearer token-from-b');
  });

  it('first file wins: a name in both takes the first file\'s entry whole, and the first current-context; no "duplicate" error', async () => {
    writeFileSync(path.join(dir, 'token-a'), 'token-a');
    writeFileSync(path.join(dir, 'token-b'), 'token-b');
    const a = file('a', `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://a.example:6443"}}]
users: [{name: u, user: {tokenFile: token-a}}]
contexts: [{name: ctx-a, context: {cluster: c, user: u}}]
current-context: ctx-a
`);
    const b = file('b', `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://b.example:6443"}}]
users: [{name: u, user: {tokenFile: token-b}}]
contexts: [{name: ctx-a, context: {cluster: c, user: other}}, {name: ctx-b, context: {cluster: c, user: u}}]
current-context: ctx-b
`);
    const kc = loadKubeConfig(undefined, { KUBECONFIG: `${a}${path.delimiter}${b}` });
    expect(kc.getCurrentContext()).to.equal('ctx-a');
    expect(kc.getCurrentCluster()?.server).to.equal('https://a.example:6443');
    expect(kc.getContextObject('ctx-a')?.user).to.equal('u');
    expect(kc.getContextObject('ctx-b')).to.not.equal(null);
    expect(await authorization(kc)).to.equal('Bearer token-a');
    // explain --context ctx-b: the same user u, still a's entry.
    expect(await authorization(loadKubeConfig(undefined, { KUBECONFIG: `${a}${path.delimiter}${b}` }, 'ctx-b'))).to.equal('Bearer token-a');
  });

  it('skips files of the list that do not exist and empty ones; none existing is a start-up error', () => {
    const a = file('a', `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: ctx, context: {cluster: c, user: u}}]
current-context: ctx
`);
    const empty = file('empty', '# nothing yet\n');
    const kc = loadKubeConfig(undefined, { KUBECONFIG: [path.join(dir, 'missing'), empty, a].join(path.delimiter) });
    expect(kc.getCurrentContext()).to.equal('ctx');
    const err = errorOf(() => loadKubeConfig(undefined, { KUBECONFIG: [path.join(dir, 'm1'), path.join(dir, 'm2')].join(path.delimiter) }));
    expect(err).to.be.instanceOf(ConfigError);
    expect(err.message).to.match(/no such file \(none of the list exists\)/);
  });
});

describe('kubeconfig: errors never quote the file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cro-kubeconfig-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const BROKEN = `apiVersion: v1
kind: Config
users:
- name: admin
  user:
    token: eyJhbGciOiJSUzI1NiJ9.SECRET-TOKEN-VALUE
    client-key-data: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t
   password: hunter2
current-context: x
`;

  it('a YAML error names the file, the line and column, and no content (tokens sit on the lines around it)', () => {
    const bad = path.join(dir, 'config');
    writeFileSync(bad, BROKEN);
    const good = path.join(dir, 'good');
    writeFileSync(good, 'apiVersion: v1\nkind: Config\n');
    for (const [explicit, env] of [[bad, {}], [undefined, { KUBECONFIG: `${good}${path.delimiter}${bad}` }]] as const) {
      const err = errorOf(() => loadKubeConfig(explicit, env));
      expect(err).to.be.instanceOf(ConfigError);
      expect(err.message).to.equal(`kubeconfig ${bad}: not valid YAML at line 8, column 4 (content not shown: it may hold credentials)`);
      for (const secret of ['SECRET-TOKEN-VALUE', 'LS0tLS1CRUdJTi', 'hunter2', 'token:', 'admin']) expect(err.message).not.to.contain(secret);
    }
  });

  it('a server that is not a URL is named by its cluster, not quoted (it may carry user:password)', () => {
    const file = path.join(dir, 'config');
    writeFileSync(file, `apiVersion: v1
kind: Config
clusters: [{name: prod, cluster: {server: "https://admin:s3cret@[bad"}}]
users: [{name: u, user: {}}]
contexts: [{name: ctx, context: {cluster: prod, user: u}}]
current-context: ctx
`);
    const err = errorOf(() => loadKubeConfig(file, {}));
    expect(err.message).to.equal(`kubeconfig from ${file}: the server of cluster "prod" is not a URL`);
  });
});
